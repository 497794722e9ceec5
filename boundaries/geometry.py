"""Geometries of a boundary file: reprojected to EPSG:4326, checked to be polygons, invalid
ones repaired (and reported as :class:`Repair`), every unit a MultiPolygon.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from shapely.validation import explain_validity

from .source import BoundaryFileError, listing

_POLYGON, _MULTIPOLYGON = 3, 6


@dataclass
class Repair:
    pcode: str
    reason: str  # shapely.validation.explain_validity, e.g. 'Ring Self-intersection[44.1 33.2]'


# --------------------------------------------------------------------------- geometry


def is_lonlat_wgs84(crs: CRS) -> bool:
    try:
        return crs.equals(CRS.from_epsg(4326), ignore_axis_order=True)
    except Exception:
        return False


def parse_crs(value: str, name: str, path: Path) -> CRS:
    """A CRS given by the user (``--crs EPSG:32638``, ``32638``, a WKT or PROJ string)."""
    text_ = str(value).strip()
    try:
        return CRS.from_user_input(int(text_) if text_.isdigit() else text_)
    except Exception:
        raise BoundaryFileError(
            name,
            f"--crs {text_[:80]!r} is not a coordinate reference system; give e.g. --crs EPSG:32638",
            path=str(path),
        ) from None


def _lonlat_bounds(geoms: np.ndarray) -> tuple[bool, tuple[float, float, float, float] | None]:
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(present):
        return True, None
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(present))
    ok = -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    return ok, (minx, miny, maxx, maxy)


def _not_lonlat(
    name: str, path: Path, bounds: tuple[float, float, float, float], declared: CRS | None, given: str | None
) -> BoundaryFileError:
    minx, miny, maxx, maxy = bounds
    if given is not None:
        said = f"--crs {given} is longitude/latitude"
    elif declared is None:
        said = "the file declares no coordinate reference system"
    else:
        said = f"the file declares {declared.to_string()} (GeoJSON without a crs member is read as lon/lat)"
    return BoundaryFileError(
        name,
        f"{said}, but its coordinates are not longitude/latitude (bounds {minx:.6g}, {miny:.6g}, "
        f"{maxx:.6g}, {maxy:.6g}; projected metres?). Say which system they are in with --crs, "
        "e.g. --crs EPSG:32638 (UTM zone 38N), or add a .prj / crs member to the file",
        path=str(path),
    )


def to_4326(frame: gpd.GeoDataFrame, name: str, path: Path, crs: str | None = None) -> np.ndarray:
    """The frame's geometries in EPSG:4326. ``crs`` (the user's ``--crs``) says which system the
    coordinates are in, over what the file declares. Coordinates outside lon/lat ranges under no CRS
    or under lon/lat are refused with a message naming ``--crs`` (never handed on to GEOS/GDAL)."""
    geoms = np.asarray(frame.geometry.array, dtype=object)
    declared = frame.crs
    src = parse_crs(crs, name, path) if crs is not None else declared
    if src is None or is_lonlat_wgs84(src) or src.is_geographic:
        ok, bounds = _lonlat_bounds(geoms)
        if not ok:
            raise _not_lonlat(name, path, bounds, declared, crs)
        if src is None or is_lonlat_wgs84(src):
            return geoms
    try:
        out = gpd.GeoSeries(geoms, crs=src).to_crs(4326)
    except Exception as exc:
        raise BoundaryFileError(
            name, f"cannot reproject from {src.to_string()} to EPSG:4326 ({exc})", path=str(path)
        ) from None
    out_geoms = np.asarray(out.array, dtype=object)
    ok, bounds = _lonlat_bounds(out_geoms)
    if not ok or not np.all(np.isfinite(bounds or (0, 0, 0, 0))):
        raise BoundaryFileError(
            name,
            f"the coordinates do not fit {src.to_string()}: reprojected they fall outside longitude/latitude "
            "ranges; check --crs (or the file's .prj / crs member)",
            path=str(path),
        )
    return out_geoms


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry | None:
    parts = shapely.get_parts(geom)
    polys = []
    for p in parts:
        tid = shapely.get_type_id(p)
        if tid == _POLYGON:
            polys.append(p)
        elif tid == _MULTIPOLYGON:
            polys.extend(shapely.get_parts(p))
        elif tid == 7:  # nested GeometryCollection
            sub = _polygonal_part(p)
            if sub is not None:
                polys.extend(shapely.get_parts(sub))
    polys = [p for p in polys if not p.is_empty]
    if not polys:
        return None
    merged = shapely.union_all(polys) if len(polys) > 1 else polys[0]
    return merged


def clean_geometries(geoms: np.ndarray, codes: list[str], name: str, path: Path) -> tuple[np.ndarray, list[Repair]]:
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        bad = [codes[i] for i in np.flatnonzero(missing)]
        raise BoundaryFileError(name, f"no geometry for P-code {listing(bad)}", path=str(path))
    types = shapely.get_type_id(geoms)
    polygonal = (types == _POLYGON) | (types == _MULTIPOLYGON)
    if not polygonal.all():
        found = sorted({g.geom_type for g in geoms})
        if not polygonal.any():
            raise BoundaryFileError(name, f"expected polygons, found {listing(found)}", path=str(path))
        raise BoundaryFileError(
            name, f"mixed geometry types ({listing(found)}); expected polygons only", path=str(path)
        )
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    repairs: list[Repair] = []
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        idx = np.flatnonzero(invalid)
        reasons = explain_validity(geoms[idx])
        fixed = shapely.make_valid(geoms[idx])
        geoms = geoms.copy()
        for i, reason, g in zip(idx, reasons, fixed):
            poly = _polygonal_part(g)
            if poly is None or poly.is_empty:
                raise BoundaryFileError(
                    name,
                    f"geometry of P-code {codes[i]} is invalid ({reason}) and has no area once repaired",
                    path=str(path),
                )
            if not poly.is_valid:
                poly = _polygonal_part(shapely.make_valid(poly.buffer(0)))
            geoms[i] = poly
            repairs.append(Repair(pcode=codes[i], reason=str(reason)))
        types = shapely.get_type_id(geoms)
    single = types == _POLYGON
    if single.any():
        geoms = geoms.copy()
        geoms[single] = shapely.multipolygons(geoms[single][:, np.newaxis])
    return geoms, repairs
