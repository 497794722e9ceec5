"""Generalise a level of admin units as a coverage, once per zoom band.

``shapely.coverage_simplify`` simplifies shared edges once, so neighbours keep common borders
and no gaps or slivers appear at any zoom. The result is stored in Web Mercator for tiles and
in lon/lat for GeoJSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from tiles.zoom import MAX_BAND, MIN_BAND, geojson_decimals, tolerance_m


@dataclass
class GeneralisedBand:
    zband: int
    pcodes: list[str]
    geoms_4326: np.ndarray
    geoms_3857: np.ndarray
    # units smaller than a pixel at this band, kept as a one-pixel square at a point inside them
    # (tile snapping would otherwise drop them: a unit must never disappear from the map)
    minimal: list[str] = field(default_factory=list)


def _multi(geoms: np.ndarray) -> np.ndarray:
    out = []
    for g in geoms:
        if g is None or g.is_empty:
            out.append(None)
            continue
        if not g.is_valid:
            g = shapely.make_valid(g)
        polys = [p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")]
        flat = []
        for p in polys:
            flat.extend(getattr(p, "geoms", [p]))
        out.append(shapely.MultiPolygon(flat) if flat else None)
    return np.array(out, dtype=object)


def coverage_report(units: gpd.GeoDataFrame) -> dict:
    """Is the level a valid coverage (no overlaps, matching edges)? Reported, not enforced."""
    geoms = units.to_crs(3857).geometry.values
    valid = bool(shapely.coverage_is_valid(geoms, gap_width=0.0))
    return {"coverage_valid": valid}


def _minimal(source: np.ndarray, simplified: np.ndarray, pixel_m: float) -> list[int]:
    """Indices of the units whose band geometry fits in less than a pixel each way (or is
    missing): replaced in ``simplified`` by a square of one pixel around a point on the unit."""
    out = []
    bounds = shapely.bounds(simplified)
    for i, g in enumerate(simplified):
        if g is not None and not g.is_empty:
            w, h = bounds[i, 2] - bounds[i, 0], bounds[i, 3] - bounds[i, 1]
            if w >= pixel_m or h >= pixel_m:
                continue
        pt = shapely.point_on_surface(source[i])
        half = pixel_m / 2
        simplified[i] = shapely.MultiPolygon([shapely.box(pt.x - half, pt.y - half, pt.x + half, pt.y + half)])
        out.append(i)
    return out


def generalise_level(units: gpd.GeoDataFrame, bands: range = range(MIN_BAND, MAX_BAND + 1)) -> list[GeneralisedBand]:
    """``units``: one level's polygons (EPSG:4326) with a ``pcode`` column."""
    merc = units.to_crs(3857)
    source = np.asarray(merc.geometry.values, dtype=object)
    pcodes = list(units["pcode"])
    result = []
    for z in bands:
        simplified = shapely.coverage_simplify(source, tolerance_m(z), simplify_boundary=True)
        g3857 = _multi(simplified)
        # a unit that collapsed entirely keeps its source geometry so it never disappears
        for i, g in enumerate(g3857):
            if g is None:
                g3857[i] = _multi(np.array([source[i]], dtype=object))[0]
        minimal = _minimal(source, g3857, tolerance_m(z))
        g4326 = gpd.GeoSeries(g3857, crs=3857).to_crs(4326).values
        # snapped to the grid GeoJSON at this zoom is written with, so the output stays valid
        grid = 10.0 ** -geojson_decimals(z)
        g4326 = _multi(shapely.set_precision(np.asarray(g4326, dtype=object), grid))
        # a narrow unit (wider than a pixel one way, thinner than the grid the other) can collapse
        # on that grid: it keeps one grid cell at a point inside it, like the sub-pixel units above
        for i in _collapsed(g4326):
            g4326[i] = _grid_cell(shapely.point_on_surface(units.geometry.values[i]), grid)
            if i not in minimal:
                minimal.append(i)
        result.append(GeneralisedBand(z, pcodes, g4326, g3857, [pcodes[i] for i in minimal]))
    return result


def _collapsed(geoms: np.ndarray) -> list[int]:
    return [i for i, g in enumerate(geoms) if g is None or g.is_empty or not g.is_valid]


def _grid_cell(pt, grid: float):
    """One cell of ``grid`` (degrees) with its corner on the grid nearest ``pt``: stays a valid,
    non-empty square when written with the band's decimals."""
    x0, y0 = round(pt.x / grid) * grid, round(pt.y / grid) * grid
    return shapely.MultiPolygon([shapely.box(x0, y0, x0 + grid, y0 + grid)])
