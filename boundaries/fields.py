"""Which field of a boundary file is what: the convention (COD-AB, the lower-case COD schema,
geoBoundaries, custom), the level, the P-code, parent and name fields; then the codes
themselves (placeholders such as "Unspecified" recorded, not rejected), the country and the
checks of codes against their level.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from . import pcode as pc
from .source import ADM_PCODE, BoundaryFileError, clean_text, level_from_name, listing

_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
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


# --------------------------------------------------------------------------- schema


@dataclass
class Schema:
    source: str
    level: int | None
    pcode_col: str
    parent_col: str | None
    name_col: str | None
    name_ar_col: str | None
    alt_cols: list[str]
    level_col: str | None = None  # geoBoundaries shapeType


def _is_arabic_column(series: pd.Series) -> bool:
    values = [v for v in (clean_text(x) for x in series) if v]
    if not values:
        return False
    arabic = sum(1 for v in values if _ARABIC.search(v))
    return arabic * 2 >= len(values)


def _lang_of(frame: pd.DataFrame, col: str | None) -> str | None:
    if col is None:
        return None
    vals = {v.lower() for v in (clean_text(x) for x in frame[col]) if v}
    return vals.pop() if len(vals) == 1 else None


def detect_schema(
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
) -> Schema:
    lower = {f.lower(): f for f in fields}

    def col(key: str | None) -> str | None:
        return lower.get(key.lower()) if key else None

    def explicit(arg: str | None, what: str) -> str | None:
        if arg is None:
            return None
        found = col(arg)
        if found is None:
            raise BoundaryFileError(
                name, f"{what} field not found; fields: {listing(fields, 50)}", field=arg, path=str(path)
            )
        return found

    pcode_col = explicit(pcode_field, "P-code")
    name_col = explicit(name_field, "name")
    parent_col = explicit(parent_field, "parent P-code")
    name_ar_col = explicit(name_ar_field, "Arabic name")

    adm_cols = {int(m.group(1)): f for f in fields if (m := ADM_PCODE.match(f))}
    shape_id = col("shapeID")
    level_col = None

    if pcode_col is not None:
        m = ADM_PCODE.match(pcode_col)
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
                level = level_from_name(pcode_col)
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
            f"fields: {listing(fields, 50) or 'none'}; pass pcode_field=",
            path=str(path),
        )

    if source == "geoBoundaries" and level_col is not None:
        types = {v.upper() for v in (clean_text(x) for x in frame[level_col]) if v}
        levels = {int(m.group(1)) for t in types if (m := re.fullmatch(r"ADM(\d)", t))}
        if len(levels) > 1:
            raise BoundaryFileError(
                name, f"mixed levels in one file: {listing(sorted(types))}", field=level_col, path=str(path)
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

    return Schema(
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


def read_codes(
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
        text = clean_text(raw)
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


def country_of(
    frame: pd.DataFrame,
    fields: list[str],
    schema: Schema,
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
        vals = {v for v in (clean_text(x) for x in frame[c]) if v}
        try:
            isos = {pc.country_of_pcode(v) for v in vals}
        except ValueError as exc:
            raise BoundaryFileError(name, str(exc), field=c, path=str(path)) from None
        if len(isos) != 1:
            raise BoundaryFileError(
                name, f"expected one country, found {listing(sorted(isos)) or 'none'}", field=c, path=str(path)
            )
        iso3 = isos.pop()
    elif schema.source == "geoBoundaries" and (c := lower.get("shapegroup")) is not None:
        vals = {v for v in (clean_text(x) for x in frame[c]) if v}
        try:
            isos = {pc.normalize_country(v) for v in vals}
        except ValueError as exc:
            raise BoundaryFileError(name, str(exc), field=c, path=str(path)) from None
        if len(isos) != 1:
            raise BoundaryFileError(
                name, f"expected one country, found {listing(sorted(isos)) or 'none'}", field=c, path=str(path)
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
                f"P-codes of several countries ({listing(sorted(isos))}); pass country=",
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


def check_level(
    schema: Schema, level: int, iso3: str, codes: list[str], parents: list[str | None], name: str, path: Path
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


def fill_placeholders(
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


def read_valid_on(frame: pd.DataFrame, fields: list[str]) -> dt.date | None:
    lower = {f.lower(): f for f in fields}
    c = lower.get("validon") or lower.get("valid_on")
    if c is None:
        return None
    values = frame[c]
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values.map(clean_text), errors="coerce", format="mixed", utc=True)
    latest = values.max()
    if latest is None or pd.isna(latest):
        return None
    return latest.date()
