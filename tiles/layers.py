"""The vector-tile layers: what each holds, at which zooms, and how many features at most.

The base layers' SQL lives in ``tiles.mvt``: polygon layers are the admin levels of the
current boundary set with the figures of a round joined; point layers are the locations of
a round and the sites. A kind of data adds layers of its own through the layer registry
(``service.core.registry``: ``Kind.tile_layers``), each a :class:`Layer` carrying its SQL
(``sql``). ``LAYERS`` holds both; it is what the API, TileJSON and the offline export read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.core.errors import BadRequest, ParamError
from service.core.registry import registry

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
    # then the kinds' location columns (service.core.registry.LocationColumn), e.g. fragility_class
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


@dataclass(frozen=True)
class Binding:
    """What a kind's layer makes of its own query parameters (``Layer.bind``), once per data
    version and query: ``params`` are SQL parameters (named without the layer's prefix:
    ``{"crisis": ...}`` is ``:{prefix}crisis`` in the layer's SQL); ``country`` the country its
    features belong to (a crisis's), which then needs no ``?country=``."""

    params: dict
    country: str | None = None


MAX_PARAM_LENGTH = 100  # characters of a layer's own query parameter (they go into cache keys)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per layer
class Layer:
    id: str
    kind: str  # "admin" | "locations" | "sites", or the name of the kind of data that adds the layer
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
    # a kind's layer: its SQL, (layer, parameter prefix, admin geometry source, extent, buffer)
    # -> an expression of the layer's MVT bytes (see tiles.mvt.admin_geometry for polygons)
    sql: Callable[..., str] | None = None
    round_based: bool = False  # a kind's layer reads the round (parameter :{prefix}round)
    # a kind's layer with query parameters of its own (e.g. ?crisis=&date=&from=&to=): their
    # names and descriptions, and bind(conn, {name: value}) -> Binding (raising ParamError or
    # NotFound for a bad value); the values are part of the tile's cache key
    params: dict[str, str] = field(default_factory=dict)
    bind: Callable[[Any, Mapping[str, str]], Binding] | None = None
    # bind also takes the application's settings (a third argument; None outside an app, e.g. an
    # offline export): a layer whose answer follows a setting (the disclosure rule)
    bind_settings: bool = False
    # features not of one country (flow lines across borders): a tile of such layers alone
    # needs no country (no ?country= even when several countries have boundaries)
    country_free: bool = False
    # the policy level of the layer's tiles when it is not its kind's: a kind's layer whose
    # binding serves only what anonymous readers may see (indicator datasets' public points)
    access: str | None = None
    # in an offline package (tiles.pmtiles_export) when no layers are named; a layer with
    # parameters of its own (a crisis, a period) is exported only when named
    default_export: bool = True

    def extent_for(self, z: int) -> int:
        return self.extent

    def buffer_for(self, z: int) -> int:
        return self.buffer

    @property
    def uses_round(self) -> bool:
        return self.kind in ("admin", "locations") or self.round_based

    def covers(self, z: int) -> bool:
        """Does the layer have features at zoom ``z``? (Requests above maxzoom still get them.)"""
        return z >= self.minzoom

    def tilejson(self) -> dict:
        out = {
            "id": self.id,
            "description": self.description,
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "fields": location_fields() if self.kind == "locations" else dict(self.fields),
        }
        if self.params:
            out["parameters"] = dict(self.params)
        return out


def location_fields() -> dict[str, str]:
    """The locations layer's attributes: its own, then the kinds' location columns."""
    return {**LOCATION_FIELDS, **{c.name: "String" for c in registry().location_columns()}}


BASE_LAYERS: dict[str, Layer] = {
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
    )
}
ADMIN_LAYER_OF_LEVEL = {layer.level: layer.id for layer in BASE_LAYERS.values() if layer.kind == "admin"}


class _Layers(Mapping):
    """The base layers, then the kinds' (read from the registry when asked)."""

    def _all(self) -> dict[str, Layer]:
        extra = {layer.id: layer for layer in registry().tile_layers()}
        clash = set(extra) & set(BASE_LAYERS)
        if clash:
            raise ValueError(f"tile layer ids taken: {sorted(clash)}")
        return {**BASE_LAYERS, **extra}

    def __getitem__(self, key: str) -> Layer:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


LAYERS: Mapping[str, Layer] = _Layers()


class LayerError(BadRequest):
    """A bad layer list: ``status`` 404 for an unknown layer, 400 for a malformed list."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message, status=status)


def layer_params(layers: list[Layer], query_params: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The values of the layers' own query parameters in ``query_params`` (sorted by name; empty
    ones left out), for ``TileQuery.extra``; 400 for a value longer than MAX_PARAM_LENGTH."""
    names = sorted({name for layer in layers for name in layer.params})
    out = []
    for name in names:
        value = query_params.get(name)
        if value is None or value == "":
            continue
        if len(value) > MAX_PARAM_LENGTH:
            raise ParamError(name, f"longer than {MAX_PARAM_LENGTH} characters")
        out.append((name, value))
    return tuple(out)


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
