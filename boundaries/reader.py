"""Read an administrative-boundary file into one normalised form.

Supported: GeoJSON (.geojson/.json), GeoPackage (.gpkg), Shapefile (.shp, or a
.zip holding one).  Field conventions recognised automatically:

* OCHA COD-AB: ``ADMn_PCODE``, ``ADMn_EN``, ``ADMn_AR``, ``ADMnALT1EN`` ...,
  ``ADMn_REF``, ``validOn``; parent ``ADM{n-1}_PCODE``; level = highest n present.
* the lower-case COD schema: ``admn_pcode``, ``admn_name`` (primary name),
  ``admn_name1``/``admn_name2`` (local/alternate names; Arabic ones, told by the
  ``lang1``/``lang2`` fields or by their script, become ``name_ar``),
  ``valid_on``.
* geoBoundaries: ``shapeID`` (the code, kept verbatim: it is not a P-code),
  ``shapeName``, ``shapeGroup`` (ISO3), ``shapeType`` (``ADM1`` -> level 1).

Everything that is wrong with a file raises :class:`BoundaryFileError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import re
import zipfile
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from shapely.validation import explain_validity

from . import pcode as pc

__all__ = [
    "BoundaryFileError",
    "Repair",
    "UnitNote",
    "BoundaryRead",
    "read_boundaries",
    "SUPPORTED_SUFFIXES",
    "PLACEHOLDER_PCODES",
]

SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
_MAX_LISTED = 10

_POLYGON, _MULTIPOLYGON = 3, 6
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_ADM_PCODE = re.compile(r"^adm(\d)_pcode$", re.IGNORECASE)
_ADM_IN_NAME = re.compile(r"adm(?:in)?[_ ]?(\d)(?!\d)", re.IGNORECASE)
# What COD-AB files of some countries write in a P-code field for a unit that has no code (an
# unnamed or unassigned area): such a unit is kept under a code made from its parent's
# (``<parent>UNSPECIFIED``, numbered when a parent has several) and reported, not rejected.
PLACEHOLDER_PCODES = frozenset(
    {
        "unspecified",
        "not specified",
        "unknown",
        "unk",
        "n/a",
        "na",
        "none",
        "null",
        "nil",
        "-",
        "--",
        "?",
        "undefined",
        "not applicable",
        "no data",
        "nodata",
    }
)
PLACEHOLDER_SUFFIX = "UNSPECIFIED"


class BoundaryFileError(Exception):
    """A boundary file cannot be used.  ``str()`` is ``'<file>: field <field>: <reason>'``
    (or ``'<file>: <reason>'`` when no single field is at fault)."""

    def __init__(self, file: str, reason: str, field: str | None = None, *, path: str | None = None):
        self.file = file
        self.field = field
        self.reason = reason
        self.path = path if path is not None else file
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.field:
            return f"{self.file}: field {self.field}: {self.reason}"
        return f"{self.file}: {self.reason}"


@dataclass
class Repair:
    pcode: str
    reason: str  # shapely.validation.explain_validity, e.g. 'Ring Self-intersection[44.1 33.2]'


@dataclass
class UnitNote:
    """Something about one unit that the import accepts and reports (it rejects nothing)."""

    pcode: str
    kind: str  # placeholder_pcode | placeholder_parent | multipart | minimal_geometry | parent_missing
    detail: str

    def to_dict(self) -> dict:
        return {"pcode": self.pcode, "kind": self.kind, "detail": self.detail}


@dataclass
class BoundaryRead:
    file: str  # file name (no directory)
    sha256: str  # of the file; for a bare .shp, of .shp+.shx+.dbf+.prj+.cpg in that order
    country_iso3: str
    level: int
    source: str  # 'COD-AB' | 'geoBoundaries' | 'custom'
    valid_on: dt.date | None
    units: gpd.GeoDataFrame  # pcode, parent_pcode, name_en, name_ar, alt_names, geometry
    repairs: list[Repair] = dc_field(default_factory=list)
    fields: list[str] = dc_field(default_factory=list)  # source field names
    notes: list[UnitNote] = dc_field(default_factory=list)  # per unit, accepted and reported
    source_crs: str | None = None  # the file's CRS when it was not lon/lat WGS 84 (reprojected)


# --------------------------------------------------------------------------- helpers


def _listing(items: list[str] | set[str], limit: int = _MAX_LISTED) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    if len(items) > limit:
        shown += f" ... ({len(items)} in all)"
    return shown


def _clean_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    files = [path]
    if path.suffix.lower() == ".shp":
        files = []
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            for cand in (path.with_suffix(ext), path.with_suffix(ext.upper())):
                if cand.exists():
                    files.append(cand)
                    break
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _level_from_name(name: str) -> int | None:
    m = _ADM_IN_NAME.search(name)
    return int(m.group(1)) if m else None


def _highest_adm_level(fields: list[str]) -> int | None:
    levels = [int(m.group(1)) for f in fields if (m := _ADM_PCODE.match(f))]
    return max(levels) if levels else None


# --------------------------------------------------------------------------- opening


@dataclass
class _Source:
    target: str  # what pyogrio opens
    layer: str | None


def _open_zip(path: Path, name: str, level: int | None) -> _Source:
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            bad = zf.testzip()
    except zipfile.BadZipFile as exc:
        raise BoundaryFileError(name, f"not a valid zip archive ({exc})", path=str(path)) from None
    except OSError as exc:
        raise BoundaryFileError(name, f"cannot read zip archive ({exc})", path=str(path)) from None
    if bad is not None:
        raise BoundaryFileError(name, f"corrupt zip archive (bad CRC in {bad})", path=str(path))
    shps = [
        m
        for m in members
        if m.lower().endswith(".shp") and not m.startswith("__MACOSX/") and not Path(m).name.startswith("._")
    ]
    if not shps:
        found = _listing([m for m in members if not m.endswith("/")]) or "nothing"
        raise BoundaryFileError(name, f"zip archive contains no .shp file (found: {found})", path=str(path))
    if len(shps) > 1:
        chosen = [m for m in shps if level is not None and _level_from_name(Path(m).name) == level]
        if len(chosen) != 1:
            hint = "" if level is not None else "; pass level= to choose one"
            raise BoundaryFileError(
                name, f"zip archive contains {len(shps)} shapefiles ({_listing(shps)}){hint}", path=str(path)
            )
        shps = chosen
    member = shps[0]
    stem = member[:-4]
    if not any(m.lower() == (stem + ".dbf").lower() for m in members):
        raise BoundaryFileError(name, f"{member} has no .dbf attribute file in the zip archive", path=str(path))
    return _Source(target=f"/vsizip/{path.resolve()}/{member}", layer=None)


def _open_gpkg(path: Path, name: str, level: int | None) -> _Source:
    try:
        layers = pyogrio.list_layers(str(path))
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise BoundaryFileError(name, f"cannot open GeoPackage ({exc})", path=str(path)) from None
    geo_layers = [str(row[0]) for row in layers if row[1] is not None]
    if not geo_layers:
        raise BoundaryFileError(name, "GeoPackage has no layer with geometries", path=str(path))
    if len(geo_layers) == 1:
        return _Source(target=str(path), layer=geo_layers[0])
    if level is None:
        raise BoundaryFileError(
            name,
            f"GeoPackage has {len(geo_layers)} layers ({_listing(geo_layers)}); pass level= to choose one",
            path=str(path),
        )
    by_fields, by_name = [], []
    for lyr in geo_layers:
        try:
            fields = [str(f) for f in pyogrio.read_info(str(path), layer=lyr)["fields"]]
        except Exception:
            fields = []
        if _highest_adm_level(fields) == level:
            by_fields.append(lyr)
        if _level_from_name(lyr) == level:
            by_name.append(lyr)
    for cands in (by_fields, by_name, sorted(set(by_fields) & set(by_name))):
        if len(cands) == 1:
            return _Source(target=str(path), layer=cands[0])
    raise BoundaryFileError(
        name,
        f"GeoPackage has {len(geo_layers)} layers ({_listing(geo_layers)}) and "
        f"{'none' if not (by_fields or by_name) else 'more than one'} matches level {level}",
        path=str(path),
    )


def _read_frame(path: Path, name: str, level: int | None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise BoundaryFileError(name, "file not found", path=str(path))
    if path.is_dir():
        raise BoundaryFileError(name, "is a directory, not a file", path=str(path))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "(no extension)"
        raise BoundaryFileError(
            name, f"unsupported format {shown}; expected .geojson, .json, .gpkg, .shp or .zip", path=str(path)
        )
    if path.stat().st_size == 0:
        raise BoundaryFileError(name, "file is empty (0 bytes)", path=str(path))
    if suffix == ".zip":
        src = _open_zip(path, name, level)
    elif suffix == ".gpkg":
        src = _open_gpkg(path, name, level)
    else:
        if suffix == ".shp":
            if not (path.with_suffix(".dbf").exists() or path.with_suffix(".DBF").exists()):
                raise BoundaryFileError(name, "shapefile has no .dbf attribute file next to it", path=str(path))
        src = _Source(target=str(path), layer=None)
    try:
        kwargs = {"layer": src.layer} if src.layer is not None else {}
        frame = pyogrio.read_dataframe(src.target, **kwargs)
    except Exception as exc:  # DataSourceError, DataLayerError, FieldError, ...
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = msg.replace(str(path.resolve()), name).replace(str(path), name)
        raise BoundaryFileError(name, f"cannot read file: {msg}", path=str(path)) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise BoundaryFileError(name, "file has no geometry column", path=str(path))
    if len(frame) == 0:
        raise BoundaryFileError(name, "file contains no features", path=str(path))
    return frame


# --------------------------------------------------------------------------- schema


@dataclass
class _Schema:
    source: str
    level: int | None
    pcode_col: str
    parent_col: str | None
    name_col: str | None
    name_ar_col: str | None
    alt_cols: list[str]
    level_col: str | None = None  # geoBoundaries shapeType


def _is_arabic_column(series: pd.Series) -> bool:
    values = [v for v in (_clean_text(x) for x in series) if v]
    if not values:
        return False
    arabic = sum(1 for v in values if _ARABIC.search(v))
    return arabic * 2 >= len(values)


def _lang_of(frame: pd.DataFrame, col: str | None) -> str | None:
    if col is None:
        return None
    vals = {v.lower() for v in (_clean_text(x) for x in frame[col]) if v}
    return vals.pop() if len(vals) == 1 else None


def _detect_schema(
    frame: gpd.GeoDataFrame,
    fields: list[str],
    name: str,
    path: Path,
    *,
    level: int | None,
    pcode_field: str | None,
    name_field: str | None,
    parent_field: str | None,
    name_ar_field: str | None,
) -> _Schema:
    lower = {f.lower(): f for f in fields}

    def col(key: str | None) -> str | None:
        return lower.get(key.lower()) if key else None

    def explicit(arg: str | None, what: str) -> str | None:
        if arg is None:
            return None
        found = col(arg)
        if found is None:
            raise BoundaryFileError(
                name, f"{what} field not found; fields: {_listing(fields, 50)}", field=arg, path=str(path)
            )
        return found

    pcode_col = explicit(pcode_field, "P-code")
    name_col = explicit(name_field, "name")
    parent_col = explicit(parent_field, "parent P-code")
    name_ar_col = explicit(name_ar_field, "Arabic name")

    adm_cols = {int(m.group(1)): f for f in fields if (m := _ADM_PCODE.match(f))}
    shape_id = col("shapeID")
    level_col = None

    if pcode_col is not None:
        m = _ADM_PCODE.match(pcode_col)
        if m:
            source = "COD-AB"
            if level is None:
                level = int(m.group(1))
        elif pcode_col == shape_id:
            source = "geoBoundaries"
            level_col = col("shapeType")
        else:
            source = "custom"
            if level is None:
                level = _level_from_name(pcode_col)
    elif adm_cols:
        source = "COD-AB"
        top = max(adm_cols)
        found = ", ".join(adm_cols[k] for k in sorted(adm_cols))
        if level is None:
            level = top
        elif level not in adm_cols:
            raise BoundaryFileError(
                name,
                f"no P-code field for level {level}; found {found} (a level-{top} file)",
                field=f"ADM{level}_PCODE",
                path=str(path),
            )
        elif level < top:
            raise BoundaryFileError(
                name,
                f"level {level} requested but this is a level-{top} file ({adm_cols[top]} present; "
                f"{adm_cols[level]} holds the parent units)",
                field=adm_cols[top],
                path=str(path),
            )
        pcode_col = adm_cols[level]
    elif shape_id is not None:
        source = "geoBoundaries"
        pcode_col = shape_id
        level_col = col("shapeType")
    else:
        raise BoundaryFileError(
            name,
            "no P-code field found (looked for ADMn_PCODE, admn_pcode, shapeID); "
            f"fields: {_listing(fields, 50) or 'none'}; pass pcode_field=",
            path=str(path),
        )

    if source == "geoBoundaries" and level_col is not None:
        types = {v.upper() for v in (_clean_text(x) for x in frame[level_col]) if v}
        levels = {int(m.group(1)) for t in types if (m := re.fullmatch(r"ADM(\d)", t))}
        if len(levels) > 1:
            raise BoundaryFileError(
                name, f"mixed levels in one file: {_listing(sorted(types))}", field=level_col, path=str(path)
            )
        if levels:
            file_level = levels.pop()
            if level is not None and level != file_level:
                raise BoundaryFileError(
                    name,
                    f"level {level} requested but the file holds ADM{file_level} units",
                    field=level_col,
                    path=str(path),
                )
            level = file_level

    alt_cols: list[str] = []
    if level is not None:
        n = level
        if name_col is None:
            for cand in (f"adm{n}_en", f"adm{n}_name", "shapeName", "name_en", "name"):
                if (c := col(cand)) is not None:
                    name_col = c
                    break
        if name_ar_col is None:
            name_ar_col = col(f"adm{n}_ar") or col("name_ar")
        # lower-case COD schema: adm{n}_name1/_name2 with optional lang1/lang2
        for suffix in ("1", "2"):
            c = col(f"adm{n}_name{suffix}")
            if c is None or c in (name_col, name_ar_col):
                continue
            lang = _lang_of(frame, col(f"lang{suffix}"))
            if name_ar_col is None and (lang == "ar" or (lang is None and _is_arabic_column(frame[c]))):
                name_ar_col = c
            else:
                alt_cols.append(c)
        for cand in (f"adm{n}alt1en", f"adm{n}alt2en", f"adm{n}alt1ar", f"adm{n}alt2ar", f"adm{n}_ref"):
            c = col(cand)
            if c is not None and c not in (name_col, name_ar_col, pcode_col):
                alt_cols.append(c)
        if parent_col is None and source != "geoBoundaries" and n > 0:
            parent_col = col(f"adm{n - 1}_pcode")
    elif name_col is None:
        name_col = col("shapeName") or col("name_en") or col("name")

    return _Schema(
        source=source,
        level=level,
        pcode_col=pcode_col,
        parent_col=parent_col,
        name_col=name_col,
        name_ar_col=name_ar_col,
        alt_cols=alt_cols,
        level_col=level_col,
    )


# --------------------------------------------------------------------------- codes


def _is_placeholder(text: str) -> bool:
    return " ".join(text.lower().split()) in PLACEHOLDER_PCODES


def _codes(
    frame: pd.DataFrame,
    column: str,
    name: str,
    path: Path,
    *,
    normalise: bool,
    required: bool,
    placeholders: dict[int, str] | None = None,
) -> list[str | None]:
    """The column's codes; with ``placeholders`` (a dict to fill), a placeholder such as
    "Unspecified" gives None and is recorded there (feature index -> text as written)."""
    out: list[str | None] = []
    for i, raw in enumerate(frame[column].tolist()):
        text = _clean_text(raw)
        if text is not None and placeholders is not None and _is_placeholder(text):
            placeholders[i] = text
            out.append(None)
            continue
        if text is None:
            if required:
                raise BoundaryFileError(name, f"feature {i} (0-based) has no value", field=column, path=str(path))
            out.append(None)
            continue
        if isinstance(raw, float) and raw.is_integer():
            text = str(int(raw))
        if normalise:
            try:
                text = pc.normalize_pcode(text)
            except ValueError as exc:
                raise BoundaryFileError(name, f"feature {i} (0-based): {exc}", field=column, path=str(path)) from None
        out.append(text)
    return out


def _country(
    frame: pd.DataFrame,
    fields: list[str],
    schema: _Schema,
    codes: list[str],
    country: str | None,
    name: str,
    path: Path,
) -> str:
    lower = {f.lower(): f for f in fields}
    if country is not None:
        try:
            iso3 = pc.normalize_country(country)
        except ValueError as exc:
            raise BoundaryFileError(name, f"country argument: {exc}", path=str(path)) from None
    elif (c := lower.get("adm0_pcode")) is not None:
        vals = {v for v in (_clean_text(x) for x in frame[c]) if v}
        try:
            isos = {pc.country_of_pcode(v) for v in vals}
        except ValueError as exc:
            raise BoundaryFileError(name, str(exc), field=c, path=str(path)) from None
        if len(isos) != 1:
            raise BoundaryFileError(
                name, f"expected one country, found {_listing(sorted(isos)) or 'none'}", field=c, path=str(path)
            )
        iso3 = isos.pop()
    elif schema.source == "geoBoundaries" and (c := lower.get("shapegroup")) is not None:
        vals = {v for v in (_clean_text(x) for x in frame[c]) if v}
        try:
            isos = {pc.normalize_country(v) for v in vals}
        except ValueError as exc:
            raise BoundaryFileError(name, str(exc), field=c, path=str(path)) from None
        if len(isos) != 1:
            raise BoundaryFileError(
                name, f"expected one country, found {_listing(sorted(isos)) or 'none'}", field=c, path=str(path)
            )
        iso3 = isos.pop()
    else:
        try:
            isos = {pc.country_of_pcode(v) for v in codes}
        except ValueError as exc:
            raise BoundaryFileError(
                name, f"cannot tell the country ({exc}); pass country=", field=schema.pcode_col, path=str(path)
            ) from None
        if len(isos) != 1:
            raise BoundaryFileError(
                name,
                f"P-codes of several countries ({_listing(sorted(isos))}); pass country=",
                field=schema.pcode_col,
                path=str(path),
            )
        iso3 = isos.pop()
    if schema.source == "COD-AB":
        for v in codes:
            try:
                other = pc.country_of_pcode(v)
            except ValueError:
                other = None
            if other != iso3:
                raise BoundaryFileError(
                    name,
                    f"P-code {v} does not belong to country {iso3}",
                    field=schema.pcode_col,
                    path=str(path),
                )
    return iso3


def _check_level(
    schema: _Schema, level: int, iso3: str, codes: list[str], parents: list[str | None], name: str, path: Path
) -> None:
    if schema.source == "geoBoundaries":
        return
    expected = pc.level_pattern(iso3, level)
    if iso3 in pc.PCODE_PATTERNS:
        for code in codes:
            got = pc.infer_level(code, iso3)
            if got != level:
                if expected is None:
                    reason = f"{iso3} has no level {level} (P-code {code})"
                else:
                    what = f"a level-{got} code" if got is not None else "no known pattern"
                    reason = f"P-code {code} is {what}; level {level} expects the pattern {expected}"
                raise BoundaryFileError(name, reason, field=schema.pcode_col, path=str(path))
        return
    for code, parent in zip(codes, parents):
        if parent is not None and not (code.startswith(parent) and len(code) > len(parent)):
            raise BoundaryFileError(
                name,
                f"P-code {code} does not extend its parent P-code {parent}; a level-{level} code is "
                "expected to be its parent's code plus a suffix",
                field=schema.pcode_col,
                path=str(path),
            )


# --------------------------------------------------------------------------- geometry


def _is_lonlat_wgs84(crs: CRS) -> bool:
    try:
        return crs.equals(CRS.from_epsg(4326), ignore_axis_order=True)
    except Exception:
        return False


def _to_4326(frame: gpd.GeoDataFrame, name: str, path: Path) -> np.ndarray:
    geoms = np.asarray(frame.geometry.array, dtype=object)
    crs = frame.crs
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if crs is None:
        if len(present):
            minx, miny, maxx, maxy = shapely.total_bounds(present)
            if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
                raise BoundaryFileError(
                    name,
                    "no coordinate reference system defined and coordinates are not longitude/latitude "
                    f"(bounds {minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g}); add a .prj or CRS",
                    path=str(path),
                )
        return geoms
    if _is_lonlat_wgs84(crs):
        return geoms
    try:
        out = frame.geometry.to_crs(4326)
    except Exception as exc:
        raise BoundaryFileError(
            name, f"cannot reproject from {crs.to_string()} to EPSG:4326 ({exc})", path=str(path)
        ) from None
    return np.asarray(out.array, dtype=object)


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


def _clean_geometries(geoms: np.ndarray, codes: list[str], name: str, path: Path) -> tuple[np.ndarray, list[Repair]]:
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        bad = [codes[i] for i in np.flatnonzero(missing)]
        raise BoundaryFileError(name, f"no geometry for P-code {_listing(bad)}", path=str(path))
    types = shapely.get_type_id(geoms)
    polygonal = (types == _POLYGON) | (types == _MULTIPOLYGON)
    if not polygonal.all():
        found = sorted({g.geom_type for g in geoms})
        if not polygonal.any():
            raise BoundaryFileError(name, f"expected polygons, found {_listing(found)}", path=str(path))
        raise BoundaryFileError(
            name, f"mixed geometry types ({_listing(found)}); expected polygons only", path=str(path)
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


# --------------------------------------------------------------------------- main


def _fill_placeholders(
    codes: list[str | None], parents: list[str | None], rows: dict[int, str], iso3: str, taken: set[str]
) -> list[str]:
    """Codes for the units whose P-code is a placeholder: ``<parent>UNSPECIFIED`` (the
    country's prefix without a parent), ``UNSPECIFIED2``... when taken."""
    out = list(codes)
    taken = set(taken)
    if rows:
        prefix = iso3 if iso3 in pc._ISO3_NATIVE_PREFIX else pc.iso2_from_iso3(iso3)
    for i in sorted(rows):
        base = (parents[i] or prefix) + PLACEHOLDER_SUFFIX
        code, n = base, 1
        while code in taken:
            n += 1
            code = f"{base}{n}"
        taken.add(code)
        out[i] = code
    return out  # type: ignore[return-value]


def _valid_on(frame: pd.DataFrame, fields: list[str]) -> dt.date | None:
    lower = {f.lower(): f for f in fields}
    c = lower.get("validon") or lower.get("valid_on")
    if c is None:
        return None
    values = frame[c]
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values.map(_clean_text), errors="coerce", format="mixed", utc=True)
    latest = values.max()
    if latest is None or pd.isna(latest):
        return None
    return latest.date()


def read_boundaries(
    path: str | Path,
    *,
    level: int | None = None,
    country: str | None = None,
    pcode_field: str | None = None,
    name_field: str | None = None,
    parent_field: str | None = None,
    name_ar_field: str | None = None,
) -> BoundaryRead:
    """Read one admin level from a boundary file; see the module docstring."""
    p = Path(path)
    name = p.name
    if level is not None:
        given = level
        try:
            if isinstance(level, bool):
                raise TypeError
            level = operator.index(level)
        except TypeError:
            level = -1
        if level < 0:
            raise BoundaryFileError(name, f"level must be a non-negative integer, got {given!r}", path=str(p))
    frame = _read_frame(p, name, level)
    fields = [str(c) for c in frame.columns if c != frame.geometry.name]

    schema = _detect_schema(
        frame,
        fields,
        name,
        p,
        level=level,
        pcode_field=pcode_field,
        name_field=name_field,
        parent_field=parent_field,
        name_ar_field=name_ar_field,
    )
    normalise = schema.source != "geoBoundaries"
    placeholder_rows: dict[int, str] = {}
    codes_read = _codes(
        frame, schema.pcode_col, name, p, normalise=normalise, required=True, placeholders=placeholder_rows
    )
    known: list[str] = [c for c in codes_read if c is not None]
    if not known:
        raise BoundaryFileError(
            name,
            f"every feature's P-code is a placeholder ({_listing(sorted(set(placeholder_rows.values())))})",
            field=schema.pcode_col,
            path=str(p),
        )
    seen: dict[str, int] = {}
    for c in known:
        seen[c] = seen.get(c, 0) + 1
    dups = sorted(c for c, n in seen.items() if n > 1)
    if dups:
        raise BoundaryFileError(
            name,
            f"duplicate P-codes: {_listing([f'{c} (x{seen[c]})' for c in dups])}",
            field=schema.pcode_col,
            path=str(p),
        )

    iso3 = _country(frame, fields, schema, known, country, name, p)

    level_ = schema.level
    if level_ is None:
        inferred = {pc.infer_level(c, iso3) for c in known} if normalise else {None}
        if len(inferred) == 1 and None not in inferred:
            level_ = inferred.pop()
        else:
            raise BoundaryFileError(
                name, "cannot tell the admin level from the fields or the P-codes; pass level=", path=str(p)
            )
    if schema.level is None:
        schema = _detect_schema(
            frame,
            fields,
            name,
            p,
            level=level_,
            pcode_field=schema.pcode_col,
            name_field=name_field,
            parent_field=parent_field,
            name_ar_field=name_ar_field,
        )

    notes: list[UnitNote] = []
    parent_placeholders: dict[int, str] = {}
    if level_ == 0 or schema.parent_col is None:
        parents: list[str | None] = [None] * len(codes_read)
    else:
        parents = _codes(
            frame, schema.parent_col, name, p, normalise=normalise, required=False, placeholders=parent_placeholders
        )
    codes = _fill_placeholders(codes_read, parents, placeholder_rows, iso3, set(known))
    placeholder_idx = set(placeholder_rows)
    _check_level(
        schema,
        level_,
        iso3,
        [c for i, c in enumerate(codes) if i not in placeholder_idx],
        [q for i, q in enumerate(parents) if i not in placeholder_idx],
        name,
        p,
    )
    for i, written in sorted(placeholder_rows.items()):
        notes.append(
            UnitNote(
                codes[i],
                "placeholder_pcode",
                f"feature {i} (0-based): {schema.pcode_col} holds the placeholder {written!r}; "
                f"kept as {codes[i]}" + (f" under its parent {parents[i]}" if parents[i] else ""),
            )
        )
    for i, written in sorted(parent_placeholders.items()):
        notes.append(
            UnitNote(
                codes[i],
                "placeholder_parent",
                f"{schema.parent_col} holds the placeholder {written!r}: the unit has no parent code",
            )
        )

    geoms = _to_4326(frame, name, p)
    geoms, repairs = _clean_geometries(geoms, codes, name, p)
    parts = shapely.get_num_geometries(geoms)
    for i in np.flatnonzero(parts > 1):
        notes.append(
            UnitNote(codes[i], "multipart", f"{int(parts[i])} separate parts (islands or exclaves), kept as one unit")
        )
    source_crs = None
    if frame.crs is not None and not _is_lonlat_wgs84(frame.crs):
        source_crs = frame.crs.to_string()

    def texts(col: str | None) -> list[str | None]:
        if col is None:
            return [None] * len(codes)
        return [_clean_text(v) for v in frame[col].tolist()]

    names_en = texts(schema.name_col)
    names_ar = texts(schema.name_ar_col)
    alt_values = [texts(c) for c in schema.alt_cols]
    alt_names: list[list[str]] = []
    for i in range(len(codes)):
        row: list[str] = []
        for vals in alt_values:
            v = vals[i]
            if v and v not in row and v != names_en[i] and v != names_ar[i]:
                row.append(v)
        alt_names.append(row)

    units = gpd.GeoDataFrame(
        {
            "pcode": pd.Series(codes, dtype=object),
            "parent_pcode": pd.Series(parents, dtype=object),
            "name_en": pd.Series(names_en, dtype=object),
            "name_ar": pd.Series(names_ar, dtype=object),
            "alt_names": pd.Series(alt_names, dtype=object),
        },
        geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    return BoundaryRead(
        file=name,
        sha256=_sha256(p),
        country_iso3=iso3,
        level=level_,
        source=schema.source,
        valid_on=_valid_on(frame, fields),
        units=units,
        repairs=repairs,
        fields=fields,
        notes=notes,
        source_crs=source_crs,
    )
