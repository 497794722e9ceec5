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

:func:`read_boundaries` runs three steps, each in its own module: ``source`` (open the file),
``fields`` (which field is what, the codes, the country) and ``geometry`` (reproject, check,
repair).
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import pcode as pc
from .fields import (
    check_level,
    country_of,
    detect_schema,
    fill_placeholders,
    read_codes,
    read_valid_on,
)
from .geometry import Repair, clean_geometries, is_lonlat_wgs84, to_4326
from .source import BoundaryFileError, clean_text, listing, read_frame, sha256_of

__all__ = [
    "BoundaryFileError",
    "Repair",
    "UnitNote",
    "BoundaryRead",
    "read_boundaries",
]


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


def read_boundaries(
    path: str | Path,
    *,
    level: int | None = None,
    country: str | None = None,
    pcode_field: str | None = None,
    name_field: str | None = None,
    parent_field: str | None = None,
    name_ar_field: str | None = None,
    crs: str | None = None,
) -> BoundaryRead:
    """Read one admin level from a boundary file; see the module docstring. ``crs`` (the CLI's
    ``--crs``) names the coordinates' reference system when the file declares none (or a wrong one)."""
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
    frame = read_frame(p, name, level)
    fields = [str(c) for c in frame.columns if c != frame.geometry.name]

    schema = detect_schema(
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
    codes_read = read_codes(
        frame, schema.pcode_col, name, p, normalise=normalise, required=True, placeholders=placeholder_rows
    )
    known: list[str] = [c for c in codes_read if c is not None]
    if not known:
        raise BoundaryFileError(
            name,
            f"every feature's P-code is a placeholder ({listing(sorted(set(placeholder_rows.values())))})",
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
            f"duplicate P-codes: {listing([f'{c} (x{seen[c]})' for c in dups])}",
            field=schema.pcode_col,
            path=str(p),
        )

    iso3 = country_of(frame, fields, schema, known, country, name, p)

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
        schema = detect_schema(
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
        parents = read_codes(
            frame, schema.parent_col, name, p, normalise=normalise, required=False, placeholders=parent_placeholders
        )
    codes = fill_placeholders(codes_read, parents, placeholder_rows, iso3, set(known))
    placeholder_idx = set(placeholder_rows)
    check_level(
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

    geoms = to_4326(frame, name, p, crs)
    geoms, repairs = clean_geometries(geoms, codes, name, p)
    parts = shapely.get_num_geometries(geoms)
    for i in np.flatnonzero(parts > 1):
        notes.append(
            UnitNote(codes[i], "multipart", f"{int(parts[i])} separate parts (islands or exclaves), kept as one unit")
        )
    source_crs = None
    if crs is not None:
        source_crs = f"{crs} (--crs)"
    elif frame.crs is not None and not is_lonlat_wgs84(frame.crs):
        source_crs = frame.crs.to_string()

    def texts(col: str | None) -> list[str | None]:
        if col is None:
            return [None] * len(codes)
        return [clean_text(v) for v in frame[col].tolist()]

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
        sha256=sha256_of(p),
        country_iso3=iso3,
        level=level_,
        source=schema.source,
        valid_on=read_valid_on(frame, fields),
        units=units,
        repairs=repairs,
        fields=fields,
        notes=notes,
        source_crs=source_crs,
    )
