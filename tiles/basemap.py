"""The context basemap as our own vector tiles: Natural Earth land, ocean, lakes, rivers and
populated places (``<shared data>/natural_earth``, public domain), and the world's countries
(npm ``world-atlas``'s Natural Earth 1:50m TopoJSON, in web/node_modules) with English names
and Arabic ones from pycountry's ISO 3166 translations (left empty where it has none).

Nothing is fetched at run time and nothing is stored in PostGIS: the files are read once per
process (``Basemap.load``), projected to Web Mercator, and each tile is cut from them with
shapely (clip to the tile plus a buffer, simplify to a quarter pixel of the zoom) and encoded
with mapbox-vector-tile. Tiles are kept in a small LRU; their URL carries ``stamp`` (the
files' sizes and times and the layer version), so the HTTP layer can serve them immutable.

Layers (``LAYERS``): ``ocean``, ``land``, ``countries`` (polygons: ``iso_n3``, ``name_en``,
``name_ar``), ``country_labels`` (one point per country, its largest part's label point),
``lakes``, ``rivers`` (``name``, ``scalerank``) and ``places`` (``name_en``, ``rank``,
``pop_max``, ``capital``), the latter by ``SCALERANK`` per zoom so labels fit.
"""

from __future__ import annotations

import gettext
import gzip
import hashlib
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import shapely
from shapely.geometry import shape

VERSION = "1"  # bump when the layers' content changes (part of the stamp)
MIN_ZOOM, MAX_ZOOM = 0, 8  # clients overzoom above
EXTENT = 4096
BUFFER = 64  # tile units around the tile (so lines and fills join across tiles)
HALF = 20037508.342789244  # Web Mercator half-width, metres

NE_FILES = {
    "ocean": "ne_50m_ocean.json.gz",
    "land": "ne_50m_land.json.gz",
    "lakes": "ne_50m_lakes.json.gz",
    "rivers": "ne_50m_rivers_lake_centerlines.json.gz",
    "places": "ne_10m_populated_places.json.gz",
}
COUNTRIES_FILE = "countries-50m.json"  # in node_modules/world-atlas
LAYERS = ("ocean", "land", "countries", "lakes", "rivers", "country_labels", "places")


class BasemapMissing(LookupError):
    """A file of the basemap is not there (HTTP 503, naming it and how to get it)."""


def _mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = np.clip(lat, -85.05112878, 85.05112878)
    x = lon * HALF / 180.0
    y = np.log(np.tan((90.0 + lat) * math.pi / 360.0)) * HALF / math.pi
    return x, y


def to_mercator(geom):
    return shapely.transform(geom, lambda xy: np.column_stack(_mercator(xy[:, 0], xy[:, 1])))


def _read_geojson(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["features"]


def _topojson_countries(path: Path) -> list[tuple[dict, object]]:
    """(properties, shapely geometry in lon/lat) of each country of a world-atlas TopoJSON."""
    topo = json.loads(path.read_text(encoding="utf-8"))
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:  # delta-encoded, quantized
        a = np.cumsum(np.asarray(arc, dtype=float), axis=0)
        arcs.append(np.column_stack((a[:, 0] * sx + tx, a[:, 1] * sy + ty)))

    def ring(indexes: list[int]) -> np.ndarray:
        parts = []
        for i in indexes:
            a = arcs[i] if i >= 0 else arcs[~i][::-1]
            parts.append(a if not parts else a[1:])
        return np.concatenate(parts)

    out = []
    for g in topo["objects"]["countries"]["geometries"]:
        if g.get("type") == "Polygon":
            polys = [g["arcs"]]
        elif g.get("type") == "MultiPolygon":
            polys = g["arcs"]
        else:
            continue
        parts = [shapely.Polygon(ring(p[0]), [ring(h) for h in p[1:]]) for p in polys]
        geom = shapely.make_valid(shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0])
        out.append(({"iso_n3": g.get("id"), "name_en": (g.get("properties") or {}).get("name")}, geom))
    return out


def arabic_country_name(iso_n3: str | None) -> str | None:
    """The country's Arabic name from pycountry's ISO 3166 translations (its common name's
    where translated), or None."""
    if not iso_n3:
        return None
    import pycountry

    country = pycountry.countries.get(numeric=str(iso_n3).zfill(3))
    if country is None:
        return None
    ar = _arabic()
    for name in (getattr(country, "common_name", None), country.name):
        if name and ar.gettext(name) != name:
            return ar.gettext(name)
    return None


_ar = None


def _arabic():
    global _ar
    if _ar is None:
        import pycountry

        _ar = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ar"], fallback=True)
    return _ar


@dataclass
class Layer:
    geoms: list
    props: list[dict]
    tree: shapely.STRtree = field(init=False)

    def __post_init__(self):
        self.tree = shapely.STRtree(self.geoms)


def stamp_of(paths: list[Path]) -> str:
    h = hashlib.sha256(VERSION.encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


class Basemap:
    """The basemap's layers in Web Mercator and a cache of encoded tiles."""

    def __init__(self, natural_earth_dir: Path, world_atlas_dir: Path, cache_size: int = 2048):
        self.ne_dir = Path(natural_earth_dir)
        self.atlas_dir = Path(world_atlas_dir)
        self.layers: dict[str, Layer] | None = None
        self._lock = threading.Lock()
        self._tiles: OrderedDict[tuple, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._stamp: str | None = None

    def paths(self) -> list[Path]:
        return [self.ne_dir / name for name in NE_FILES.values()] + [self.atlas_dir / COUNTRIES_FILE]

    def missing(self) -> list[Path]:
        return [p for p in self.paths() if not p.is_file()]

    @property
    def stamp(self) -> str:
        if self._stamp is None:
            missing = self.missing()
            if missing:
                raise BasemapMissing(
                    "the basemap's files are missing: "
                    + ", ".join(str(p) for p in missing)
                    + " (Natural Earth: the shared data folder, DTM_ATLAS_SHARED_DATA_DIR; world-atlas: web/install.sh)"
                )
            self._stamp = stamp_of(self.paths())
        return self._stamp

    def load(self) -> dict[str, Layer]:
        with self._lock:
            if self.layers is not None:
                return self.layers
            self.stamp  # noqa: B018 - raises BasemapMissing naming the missing files
            layers: dict[str, Layer] = {}
            for key in ("ocean", "land", "lakes", "rivers"):
                geoms, props = [], []
                for f in _read_geojson(self.ne_dir / NE_FILES[key]):
                    if not f.get("geometry"):
                        continue
                    p = f.get("properties") or {}
                    geoms.append(to_mercator(shape(f["geometry"])))
                    if key == "rivers":
                        props.append({"name": p.get("name") or "", "scalerank": int(p.get("scalerank") or 0)})
                    elif key == "lakes":
                        props.append({"name": p.get("name") or "", "scalerank": int(p.get("scalerank") or 0)})
                    else:
                        props.append({})
                layers[key] = Layer(geoms, props)
            countries, labels, label_props, cprops = [], [], [], []
            for props, geom in _topojson_countries(self.atlas_dir / COUNTRIES_FILE):
                name_ar = arabic_country_name(props["iso_n3"])
                props = {**props, **({"name_ar": name_ar} if name_ar else {})}
                merc = to_mercator(geom)
                countries.append(merc)
                cprops.append(props)
                parts = list(getattr(merc, "geoms", [merc]))
                biggest = max(parts, key=lambda g: g.area)
                labels.append(shapely.Point(*_label_point(biggest)))
                label_props.append({**props, "area_km2": round(biggest.area / 1e6)})
            layers["countries"] = Layer(countries, cprops)
            layers["country_labels"] = Layer(labels, label_props)
            geoms, props = [], []
            for f in _read_geojson(self.ne_dir / NE_FILES["places"]):
                p = f.get("properties") or {}
                if not f.get("geometry"):
                    continue
                geoms.append(to_mercator(shape(f["geometry"])))
                props.append(
                    {
                        "name_en": p.get("NAME_EN") or p.get("NAME") or "",
                        "rank": int(p.get("SCALERANK") or 0),
                        "pop_max": int(p.get("POP_MAX") or 0),
                        "capital": int(p.get("ADM0CAP") or 0),
                        "country": p.get("ADM0_A3") or "",
                    }
                )
            layers["places"] = Layer(geoms, props)
            self.layers = layers
            return layers

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The encoded tile ``z/x/y`` (``b""`` when it holds nothing)."""
        if not MIN_ZOOM <= z <= MAX_ZOOM:
            raise ValueError(f"basemap tiles go from zoom {MIN_ZOOM} to {MAX_ZOOM} (clients overzoom above); got {z}")
        n = 1 << z
        if not (0 <= x < n and 0 <= y < n):
            raise ValueError(f"tile {z}/{x}/{y} does not exist: at zoom {z}, x and y go from 0 to {n - 1}")
        key = (z, x, y)
        with self._lock:
            hit = self._tiles.get(key)
            if hit is not None:
                self._tiles.move_to_end(key)
                return hit
        data = self._render(z, x, y)
        with self._lock:
            self._tiles[key] = data
            while len(self._tiles) > self._cache_size:
                self._tiles.popitem(last=False)
        return data

    def _render(self, z: int, x: int, y: int) -> bytes:
        layers = self.load()
        size = 2 * HALF / (1 << z)
        minx, maxy = -HALF + x * size, HALF - y * size
        bounds = (minx, maxy - size, minx + size, maxy)
        pad = size * BUFFER / EXTENT
        box = (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
        tolerance = size / EXTENT * 4  # a quarter of a 256-px pixel
        out = []
        for name in LAYERS:
            layer = layers[name]
            features = []
            for i in layer.tree.query(shapely.box(*box)):
                props = layer.props[i]
                if name == "places" and not _place_fits(props, z):
                    continue
                if name == "rivers" and props["scalerank"] > z + 3:
                    continue
                geom = layer.geoms[i]
                if geom.geom_type != "Point":
                    geom = shapely.clip_by_rect(geom, *box)
                    if geom.is_empty:
                        continue
                    geom = _one_kind(shapely.simplify(geom, tolerance, preserve_topology=True), name)
                    if geom is None:
                        continue
                elif not (bounds[0] <= geom.x < bounds[2] and bounds[1] < geom.y <= bounds[3]):
                    continue  # a point is in one tile only: a label is never drawn twice
                features.append({"geometry": geom, "properties": props})
            if features:
                out.append({"name": name, "features": features})
        if not out:
            return b""
        return mapbox_vector_tile.encode(
            out, default_options={"quantize_bounds": bounds, "extents": EXTENT, "y_coord_down": False}
        )


LINE_LAYERS = ("rivers",)


def _one_kind(geom, layer: str):
    """``geom`` as one MVT geometry type (clipping can make collections): the lines of a line
    layer, the polygons of the others; None when nothing of that kind is left."""
    if geom.is_empty:
        return None
    want = ("LineString", "MultiLineString") if layer in LINE_LAYERS else ("Polygon", "MultiPolygon")
    if geom.geom_type in want:
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in want and not g.is_empty]
    flat = [q for g in parts for q in getattr(g, "geoms", [g])]
    if not flat:
        return None
    return shapely.MultiLineString(flat) if layer in LINE_LAYERS else shapely.MultiPolygon(flat)


def _place_fits(props: dict, z: int) -> bool:
    """Natural Earth's SCALERANK (0 the most important) shown from zoom rank - 2 (capitals at 2)."""
    if props["capital"]:
        return z >= 2
    return props["rank"] <= z + 1


def _label_point(geom) -> tuple[float, float]:
    p = shapely.point_on_surface(geom)
    return p.x, p.y
