"""The vector-tile layers: what each holds, at which zooms, and how many features at most.

A layer's SQL lives in ``tiles.mvt``; this registry is what the API, TileJSON and the
offline export read. Polygon layers are the admin levels of the current boundary set with
the figures of a round joined; point layers are the locations of a round and the sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# zoom range served at all (tile requests above this are 400); clients overzoom past maxzoom
MAX_REQUEST_ZOOM = 22

ADMIN_FIELDS = {
    "pcode": "String",
    "name_en": "String",
    "name_ar": "String",
    "level": "Number",
    "value": "Number",
    "class": "Number",
    "families": "Number",
    "individuals": "Number",
}
LOCATION_FIELDS = {
    "location_id": "String",
    "name_en": "String",
    "name_ar": "String",
    "families": "Number",
    "individuals": "Number",
    "adm1": "String",
    "adm2": "String",
    "adm3": "String",
    "fragility_class": "String",  # the sub-district's class in the stored default fragility run (service.fragility)
}
FRAGILITY_FIELDS = {  # service.fragility: the stored default run of the round (none computed: null class)
    "pcode": "String",
    "name_en": "String",
    "name_ar": "String",
    "status": "String",
    "index": "Number",
    "class": "Number",
    "class_key": "String",
    "completeness": "Number",
    "p_high": "Number",
    "rank_p5": "Number",
    "rank_p50": "Number",
    "rank_p95": "Number",
    "hotspot": "Boolean",
}
SITE_FIELDS = {
    "site_id": "String",
    "name_en": "String",
    "name_ar": "String",
    "site_type": "String",
    "status": "String",
    "households": "Number",
    "individuals": "Number",
    "adm1": "String",
    "adm2": "String",
    "adm3": "String",
}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per layer
class Layer:
    id: str
    kind: str  # "admin" | "locations" | "sites" | "fragility"
    geometry: str  # "polygon" | "point"
    minzoom: int
    maxzoom: int  # the last zoom with its own tiles; MapLibre overzooms above it
    feature_limit: int
    description: str
    fields: dict[str, str] = field(default_factory=dict)
    level: int | None = None  # admin level for kind == "admin"
    # Tile grid: 4096 units over the 512 CSS px MapLibre draws a tile on (8 per pixel). A
    # coarser grid (1024) saves ~1% of the bytes (a point costs ~2 bytes either way) but its
    # snapping leaves pixel-sized specks between neighbours; 4096 keeps them below 1/4 px.
    extent: int = 4096
    # in tile units: polygons spill 4 CSS px over the tile edge, so outlines drawn along a
    # border just outside the tile still reach into it (no seams); points get 16 px
    buffer: int = 32

    def extent_for(self, z: int) -> int:
        return self.extent

    def buffer_for(self, z: int) -> int:
        return self.buffer

    @property
    def uses_round(self) -> bool:
        return self.kind in ("admin", "locations", "fragility")

    def covers(self, z: int) -> bool:
        """Does the layer have features at zoom ``z``? (Requests above maxzoom still get them.)"""
        return z >= self.minzoom

    def tilejson(self) -> dict:
        return {
            "id": self.id,
            "description": self.description,
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "fields": dict(self.fields),
        }


LAYERS: dict[str, Layer] = {
    layer.id: layer
    for layer in (
        Layer(
            "governorates",
            "admin",
            "polygon",
            0,
            14,
            1000,
            "Governorates (admin level 1) with the figures of the round",
            ADMIN_FIELDS,
            level=1,
        ),
        Layer(
            "districts",
            "admin",
            "polygon",
            3,
            14,
            2000,
            "Districts (admin level 2) with the figures of the round",
            ADMIN_FIELDS,
            level=2,
        ),
        Layer(
            "subdistricts",
            "admin",
            "polygon",
            4,
            14,
            5000,
            "Sub-districts (admin level 3) with the figures of the round",
            ADMIN_FIELDS,
            level=3,
        ),
        Layer(
            "locations",
            "locations",
            "point",
            6,
            14,
            20000,
            "DTM locations of the round (one point per master-list row with coordinates); "
            "the largest first when a tile holds more than the limit",
            LOCATION_FIELDS,
            buffer=128,
        ),
        Layer(
            "sites",
            "sites",
            "point",
            5,
            14,
            20000,
            "Displacement sites (camps, informal sites)",
            SITE_FIELDS,
            buffer=128,
        ),
        Layer(
            "fragility",
            "fragility",
            "polygon",
            4,
            14,
            5000,
            "Fragility class of each sub-district (the default method's stored run of the round; service.fragility)",
            FRAGILITY_FIELDS,
            level=3,
        ),
    )
}
ADMIN_LAYER_OF_LEVEL = {layer.level: layer.id for layer in LAYERS.values() if layer.kind == "admin"}


class LayerError(ValueError):
    """A bad layer list: ``status`` 404 for an unknown layer, 400 for a malformed list."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_layers(spec: str) -> list[Layer]:
    """``"districts"`` or a comma-separated list ``"governorates,locations"`` (order kept)."""
    ids = [s.strip() for s in spec.split(",")]
    if not ids or any(not s for s in ids):
        raise LayerError(f"no layer named in {spec!r}; layers: {', '.join(LAYERS)}")
    out: list[Layer] = []
    for s in ids:
        layer = LAYERS.get(s)
        if layer is None:
            raise LayerError(f"unknown layer {s!r}; layers: {', '.join(LAYERS)} (several: comma-separated)", 404)
        if layer in out:
            raise LayerError(f"layer {s!r} named twice in {spec!r}")
        out.append(layer)
    return out
