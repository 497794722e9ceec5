"""Neighbouring countries for context: Natural Earth 1:10m admin-0 countries as shipped by the
npm package ``world-atlas`` (``maps/node_modules/world-atlas/countries-10m.json``, installed by
``./dev``; nothing is downloaded at run time).

The file is TopoJSON; ``_Decoded`` turns it into shapely geometries (quantised,
delta-encoded arcs stitched into rings), so no Node.js step is needed at run time.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
from pathlib import Path

import numpy as np
import orjson
import shapely
from shapely.geometry import box

from service.core.settings import DEFAULT_SHARED_DIR

ROOT = Path(__file__).resolve().parents[2]
WORLD_ATLAS = ROOT / "maps" / "node_modules" / "world-atlas"
COUNTRIES = WORLD_ATLAS / "countries-10m.json"
SOURCE = "Natural Earth 1:10m admin-0 countries (public domain), via the npm package world-atlas"


class BasemapMissing(RuntimeError):
    pass


def _arcs(topology: dict) -> list[np.ndarray]:
    t = topology.get("transform")
    out = []
    for arc in topology["arcs"]:
        a = np.asarray(arc, dtype=float)[:, :2]
        if t:
            a = np.cumsum(a, axis=0) * np.asarray(t["scale"]) + np.asarray(t["translate"])
        out.append(a)
    return out


def _ring(arcs: list[np.ndarray], indexes: list[int]) -> np.ndarray:
    parts = []
    for n, i in enumerate(indexes):
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if n == 0 else a[1:])  # consecutive arcs share their end points
    return np.concatenate(parts)


def _polygon(arcs: list[np.ndarray], rings_arcs: list[list[int]]):
    # quantisation collapses the tiniest islands and lakes to fewer than 4 points: left out
    rings = [r for r in (_ring(arcs, a) for a in rings_arcs)]
    if len(rings[0]) < 4:
        return None
    return shapely.Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4])


def _geometry(arcs: list[np.ndarray], g: dict):
    kind = g.get("type")
    if kind == "Polygon":
        return _polygon(arcs, g["arcs"])
    if kind == "MultiPolygon":
        polys = [p for p in (_polygon(arcs, a) for a in g["arcs"]) if p is not None]
        return shapely.MultiPolygon(polys) if polys else None
    return None  # null geometries (and points, lines: not in this file)


def _arc_ids(g: dict) -> list[int]:
    nested = g.get("arcs") or []
    if g.get("type") == "Polygon":
        nested = [nested]
    return [i if i >= 0 else ~i for poly in nested for ring in poly for i in ring]


class _Decoded:
    """A TopoJSON object's geometries, each decoded (and made valid) when first asked for."""

    def __init__(self, topology: dict, obj: str):
        self.arcs = _arcs(topology)
        self.lo = np.array([a.min(axis=0) for a in self.arcs])
        self.hi = np.array([a.max(axis=0) for a in self.arcs])
        self.geometries = topology["objects"][obj]["geometries"]
        self.done: dict = {}  # geometry number (or number and region: invalid ones) -> geometry

    def within(self, region: tuple[float, float, float, float] | None):
        if region is not None:
            x0, y0, x1, y1 = region
            lo, hi = self.lo, self.hi
            near = (lo[:, 0] <= x1) & (hi[:, 0] >= x0) & (lo[:, 1] <= y1) & (hi[:, 1] >= y0)
        for n, g in enumerate(self.geometries):
            if region is not None and not any(near[i] for i in _arc_ids(g)):
                continue
            if n not in self.done:
                self.done[n] = _geometry(self.arcs, g)
            geom = self.done[n]
            if geom is not None and not geom.is_valid:
                # an invalid country is cut to the region before it is made valid: Russia,
                # whole, took 0.38 s; the part in a region's box the same area in 1 ms
                key = (n, region)
                if key not in self.done:
                    part = geom if region is None else shapely.clip_by_rect(geom, *region)
                    self.done[key] = None if part.is_empty else shapely.make_valid(part)
                geom = self.done[key]
            if geom is not None:
                yield g.get("id"), g.get("properties") or {}, geom


@functools.lru_cache(maxsize=1)
def _world() -> _Decoded:
    """The countries file, read once per process: every map of a package (national, governorate,
    inset windows) takes its neighbours from it (reading it and making its countries valid took
    0.9 s a window)."""
    with _collector_paused():
        return _Decoded(orjson.loads(COUNTRIES.read_bytes()), "countries")


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector paused while a big JSON file becomes lists: it would otherwise
    trace them (and every object of this process) again and again while they are made (the
    countries took 0.7 s instead of 0.2 in a process with the service loaded)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def window(bounds_lonlat: tuple[float, float, float, float], margin: float = 1.0) -> tuple[float, float, float, float]:
    """A lon/lat box widened by ``margin`` degrees and rounded outward to whole degrees (so the maps
    of one country share one decoded window, ``countries``)."""
    x0, y0, x1, y1 = bounds_lonlat
    return (
        max(-180.0, float(math.floor(x0 - margin))),
        max(-90.0, float(math.floor(y0 - margin))),
        min(180.0, float(math.ceil(x1 + margin))),
        min(90.0, float(math.ceil(y1 + margin))),
    )


def natural_earth_id(iso3: str) -> str | None:
    """The feature id of a country in world-atlas: its ISO 3166-1 numeric code (Iraq: '368')."""
    import pycountry

    c = pycountry.countries.get(alpha_3=iso3.strip().upper())
    return c.numeric if c is not None else None


@functools.lru_cache(maxsize=8)
def countries(region: tuple[float, float, float, float]) -> list[tuple[str | None, str, object]]:
    """``(ISO numeric id, name, lon/lat geometry)`` of the Natural Earth countries with a part in
    the lon/lat box ``region``."""
    if not COUNTRIES.exists():
        raise BasemapMissing(f"{COUNTRIES} is missing: run ./dev setup (npm ci in maps/) to install world-atlas")
    return [(i, p.get("name", ""), g) for i, p, g in _world().within(region)]


def neighbours(
    bounds_lonlat: tuple[float, float, float, float], exclude_id: str | None, region: tuple[float, float, float, float]
) -> list[tuple[str, object]]:
    """``(name, geometry)`` of the countries of ``region`` other than ``exclude_id`` (the mapped
    country), clipped to a lon/lat box within ``region``."""
    clip = box(*bounds_lonlat)
    out = []
    for cid, name, geom in countries(tuple(region)):
        if cid == exclude_id or not geom.intersects(clip):
            continue
        part = shapely.intersection(geom, clip)
        if not part.is_empty:
            out.append((name, part))
    return out


#: Natural Earth 1:10m populated places (the shared data folder's ``natural_earth/``)
PLACES_FILE = "ne_10m_populated_places.json.gz"
PLACES_SOURCE = "Natural Earth 1:10m populated places (public domain)"


def places_path(shared_dir: Path = DEFAULT_SHARED_DIR) -> Path:
    """The places file of the shared data folder ``shared_dir`` (the setting ``shared_data_dir``)."""
    return Path(shared_dir) / "natural_earth" / PLACES_FILE


@functools.lru_cache(maxsize=4)
def _all_places(path: str) -> tuple[tuple, ...]:
    import gzip

    with gzip.open(path, "rb") as fh, _collector_paused():
        features = orjson.loads(fh.read())["features"]
    out = []
    for f in features:
        p = f["properties"]
        kind = (
            "capital" if p.get("ADM0CAP") == 1 else "admin1" if "Admin-1 capital" in (p.get("FEATURECLA") or "") else ""
        )
        out.append(
            (
                p.get("ADM0_A3") or "",
                p.get("NAME_EN") or p.get("NAME"),
                float(p["LONGITUDE"]),
                float(p["LATITUDE"]),
                kind,
                int(p.get("POP_MAX") or 0),
            )
        )
    return tuple(out)


def places(iso3: str, min_population: int = 250_000, *, shared_dir: Path = DEFAULT_SHARED_DIR) -> list[dict]:
    """The capital, the first-level capitals and the cities of ``min_population`` or more of a
    country (Natural Earth 1:10m populated places): ``name``, ``lon``, ``lat``, ``kind``
    (``capital``, ``admin1`` or ``city``), ``population``; largest first. Empty when the file is
    not there (the maps then show no cities)."""
    path = places_path(shared_dir)
    if not path.exists():
        return []
    out = [
        {"name": n, "lon": x, "lat": y, "kind": k or "city", "population": pop}
        for a3, n, x, y, k, pop in _all_places(str(path))
        if a3 == iso3.upper() and (k or pop >= min_population)
    ]
    return sorted(out, key=lambda p: (p["kind"] != "capital", -p["population"]))
