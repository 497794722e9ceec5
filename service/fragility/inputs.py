"""Inputs of a fragility run, per sub-district: DTM figures, population, indicator tables.

* ``dtm_figures``: read from the aggregates the imports stored (``unit_figure``,
  ``unit_breakdown``); one set-based query per round.
* ``population_table``: a table of residents per unit by name (the 2014 estimates in
  ``shared/data/population/``), matched governorate -> district -> sub-district through the
  crosswalk plus the boundary set's own names; rows that match nothing are reported.
* ``raster_zonal_sums``: residents from a raster, coverage-weighted (exactextract: the share
  of each cell inside the polygon), polygons reprojected to the raster's CRS; a density
  raster (people per km2) is turned into counts by each cell's area first.
* ``indicator_table``: a CSV/XLSX/HXL table keyed by P-code, by names or by DTM location ID,
  one column per indicator; location rows are aggregated to their sub-district.

Every reader raises ``InputError`` (file, row, field in the message) for what cannot be used
and returns the rows it could not place as ``issues`` (reported, the rest kept).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from boundaries.crosswalk import Crosswalk, name_key
from boundaries.pcode import normalize_pcode
from service.core.errors import Unprocessable
from service.core.files import sha256_of
from service.fragility.method import DtmRules, Population, Table

UNASSIGNED = "UNASSIGNED"


class InputError(Unprocessable):
    """An input that cannot be used; the message names the file, row and field (HTTP 422)."""

    @property
    def detail(self) -> str:
        return f"the fragility method's inputs cannot be used: {self}"


@dataclass
class Issue:
    file: str
    row: int | None
    field: str | None
    message: str

    def to_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message}


@dataclass
class Loaded:
    """Values per sub-district P-code, the issues met, and what was read (for the method card)."""

    values: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    source: dict = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read once per (path, mtime, size): every request checks the inputs'
    fingerprint, and a large raster is not re-read for it. (Keyed by the file's own stamp, not
    the data version: a file outside the database changes without an import.)"""
    st = Path(path).stat()
    return _sha256(str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=256)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    return sha256_of(path)


# ---------------------------------------------------------------------------------- units
def units(conn: Connection, boundary_set_id: int) -> pd.DataFrame:
    """Sub-districts of the set with their district and governorate, by P-code."""
    rows = (
        conn.execute(
            text(
                """
            SELECT u3.pcode, u3.name_en, u3.name_ar, u2.pcode AS adm2, u2.parent_pcode AS adm1
            FROM admin_unit u3 JOIN admin_unit u2
              ON u2.boundary_set_id = u3.boundary_set_id AND u2.level = 2 AND u2.pcode = u3.parent_pcode
            WHERE u3.boundary_set_id = :s AND u3.level = 3 ORDER BY u3.pcode
            """
            ),
            {"s": boundary_set_id},
        )
        .mappings()
        .all()
    )
    if not rows:
        raise InputError(f"boundary set {boundary_set_id} has no sub-districts (level 3): import them first")
    return pd.DataFrame(rows).set_index("pcode")


def crosswalk_for(conn: Connection, boundary_set_id: int, country: str = "IRQ") -> Crosswalk:
    """The country's crosswalk plus every name of the set's units at levels 1-3."""
    rows = (
        conn.execute(
            text(
                """
            SELECT level, n AS name, pcode, CASE WHEN level > 1 THEN parent_pcode END AS parent_pcode
            FROM admin_unit, LATERAL unnest(array_remove(ARRAY[name_en, name_ar] || alt_names, NULL)) AS n
            WHERE boundary_set_id = :s AND level IN (1, 2, 3)
            """
            ),
            {"s": boundary_set_id},
        )
        .mappings()
        .all()
    )
    return Crosswalk.load(country, [dict(r) for r in rows])


# ---------------------------------------------------------------------------------- DTM
def _matches(category: str, keywords: list[str]) -> bool:
    key = name_key(category)
    return any(name_key(k) in key for k in keywords)


def dtm_figures(
    conn: Connection, idp_round: dict, returnee_round: dict | None, rules: DtmRules, pcodes: list[str]
) -> pd.DataFrame:
    """The DTM variables of ``method.DTM_VARIABLES`` (but population-based rates) per
    sub-district. A unit without a row in a round has no IDPs (returnees) in it: 0. Shares and
    ratios whose denominator is 0 are NaN (the method's ``when_undefined`` decides)."""
    rid = idp_round["id"]
    fig = pd.DataFrame(
        conn.execute(
            text(
                "SELECT pcode, individuals, families, locations, change_share FROM unit_figure "
                "WHERE round_id = :r AND level = 3 AND pcode <> :u"
            ),
            {"r": rid, "u": UNASSIGNED},
        )
        .mappings()
        .all(),
        columns=["pcode", "individuals", "families", "locations", "change_share"],
    ).set_index("pcode")
    out = pd.DataFrame(index=pd.Index(pcodes, name="pcode"))
    out["idps"] = fig["individuals"].reindex(out.index).fillna(0).astype(float)
    out["idp_families"] = fig["families"].reindex(out.index).fillna(0).astype(float)
    out["idp_locations"] = fig["locations"].reindex(out.index).fillna(0).astype(float)
    out["idp_change_share"] = fig["change_share"].reindex(out.index).astype(float)
    # a unit without a row this round whose IDPs of the previous round all left: -1 (-100 %)
    prev = dict(
        conn.execute(
            text(
                "SELECT p.pcode, p.individuals FROM unit_figure n JOIN unit_figure p ON p.round_id = n.prev_round_id "
                "AND p.level = 3 AND p.pcode <> :u WHERE n.round_id = :r AND n.level = 0 AND p.individuals > 0"
            ),
            {"r": rid, "u": UNASSIGNED},
        ).all()
    )
    gone = [c for c in out.index if c in prev and c not in fig.index]
    out.loc[gone, "idp_change_share"] = -1.0

    br = pd.DataFrame(
        conn.execute(
            text(
                "SELECT pcode, dimension, category, families FROM unit_breakdown "
                "WHERE round_id = :r AND level = 3 AND dimension IN ('shelter', 'period') AND pcode <> :u"
            ),
            {"r": rid, "u": UNASSIGNED},
        )
        .mappings()
        .all(),
        columns=["pcode", "dimension", "category", "families"],
    )
    for dim, rule, name in (
        ("shelter", rules.critical_shelter, "critical_shelter_share"),
        ("period", rules.protracted_periods, "protracted_share"),
    ):
        part = br[br["dimension"] == dim]
        if part.empty:
            out[name] = np.nan
            continue
        hit = part["category"].map(lambda c, kw=rule.keywords: _matches(c, kw))
        total = part.groupby("pcode")["families"].sum().astype(float)
        sel = part[hit].groupby("pcode")["families"].sum().astype(float)
        share = sel.reindex(total.index).fillna(0) / total.where(total > 0)
        out[name] = share.reindex(out.index)

    if returnee_round is not None:
        ret = pd.DataFrame(
            conn.execute(
                text(
                    "SELECT pcode, individuals, locations FROM unit_figure "
                    "WHERE round_id = :r AND level = 3 AND pcode <> :u"
                ),
                {"r": returnee_round["id"], "u": UNASSIGNED},
            )
            .mappings()
            .all(),
            columns=["pcode", "individuals", "locations"],
        ).set_index("pcode")
        out["returnees"] = ret["individuals"].reindex(out.index).fillna(0).astype(float)
        out["returnee_locations"] = ret["locations"].reindex(out.index).fillna(0).astype(float)
    else:
        out["returnees"] = np.nan
        out["returnee_locations"] = np.nan
    out["returnees_per_idp"] = out["returnees"] / out["idps"].where(out["idps"] > 0)
    return out


def add_rates(values: pd.DataFrame, residents: pd.Series | None) -> pd.DataFrame:
    """``residents``, ``idps_per_1000`` and ``returnees_per_1000`` (NaN without residents)."""
    out = values.copy()
    res = residents.reindex(out.index).astype(float) if residents is not None else pd.Series(np.nan, index=out.index)
    out["residents"] = res
    pos = res.where(res > 0)
    out["idps_per_1000"] = out["idps"] / pos * 1000
    out["returnees_per_1000"] = out["returnees"] / pos * 1000
    return out


# ---------------------------------------------------------------------------------- tables
def _number(raw: object) -> float | None:
    """``" 1,305,790 "`` -> 1305790.0; blank -> None; anything else raises ValueError."""
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return None if isinstance(raw, float) and math.isnan(raw) else float(raw)
    s = str(raw).strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
    if s in ("", "-"):
        return None
    v = float(s)  # ValueError for text
    if not math.isfinite(v):
        raise ValueError(s)
    return v


def read_rows(path: Path, sheet: str | None = None) -> tuple[list[str], list[dict], dict[str, str], int]:
    """Header, rows (dicts by header, values as read), HXL hashtag -> header, and the file row
    number of the first data row (1-based, header = 1). CSV (UTF-8, BOM allowed) or XLSX."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - the reason goes to the user
            raise InputError(f"{path}: not a readable XLSX file ({exc})") from None
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        grid = [list(r) for r in ws.iter_rows(values_only=True)]
    else:
        try:
            textdata = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV") from None
        grid = list(csv.reader(io.StringIO(textdata)))
    grid = [r for r in grid if any(c not in (None, "") and str(c).strip() for c in r)] if grid else []
    if not grid:
        raise InputError(f"{path}: the file is empty")
    header = [str(c).strip() if c is not None else "" for c in grid[0]]
    first = 2
    hxl: dict[str, str] = {}
    if (
        len(grid) > 1
        and all(str(c or "").strip().startswith("#") or not str(c or "").strip() for c in grid[1])
        and any(str(c or "").strip() for c in grid[1])
    ):
        for h, tag in zip(header, grid[1]):
            t = str(tag or "").strip().lower()
            if t:
                hxl[t] = h
                hxl[t.split("+")[0]] = hxl.get(t.split("+")[0], h)
        grid = [grid[0]] + grid[2:]
        first = 3
    rows = [dict(zip(header, r + [None] * (len(header) - len(r)))) for r in grid[1:]]
    return header, rows, hxl, first


def _column(name: str, header: list[str], hxl: dict[str, str], path: Path) -> str:
    if name in header:
        return name
    stripped = {h.strip(): h for h in header}
    if name.strip() in stripped:
        return stripped[name.strip()]
    if name.lower() in hxl:
        return hxl[name.lower()]
    raise InputError(f"{path}: no column {name!r}; columns: {', '.join(h for h in header if h)}")


def population_table(path: Path, spec: Population, crosswalk: Crosswalk, units_df: pd.DataFrame) -> Loaded:
    """Residents per sub-district from a table by names (governorate, district, sub-district;
    English or Arabic) or P-code. Rows of one unit are summed; unmatched rows are issues."""
    header, rows, hxl, first = read_rows(path)
    col = _column(spec.column, header, hxl, path)
    lower = {h.strip().lower(): h for h in header}
    pc_col = next((lower[c] for c in ("adm3_pcode", "pcode") if c in lower), None)
    names = {
        k: [lower[c] for c in cands if c in lower]
        for k, cands in (
            ("gov", ("gov_en", "governorate", "gov_ar")),
            ("dis", ("dis_en", "district", "dis_ar")),
            ("sub", ("subdistrict_en", "sub_district", "subdistrict", "subdistrict_ar")),
        )
    }
    if pc_col is None and not all(names.values()):
        raise InputError(
            f"{path}: needs a P-code column (adm3_pcode) or governorate, district and sub-district "
            f"name columns (gov_en, dis_en, subdistrict_en)"
        )
    issues: list[Issue] = []
    similar: list[Issue] = []
    sums: dict[str, float] = {}
    matched = 0
    known = set(units_df.index)
    districts: dict[str, list[tuple[str, str, str]]] = {}
    for code, u in units_df.iterrows():
        districts.setdefault(u["adm2"], []).append((code, u.get("name_en") or "", u.get("name_ar") or ""))
    for n, row in enumerate(rows, start=first):
        try:
            value = _number(row.get(col))
        except ValueError:
            raise InputError(f"{path}: row {n}, field {col!r}: {row.get(col)!r} is not a number") from None
        code = None
        if pc_col is not None and row.get(pc_col):
            try:
                code = normalize_pcode(str(row[pc_col]))
            except ValueError:
                code = None
        else:

            def first_hit(level, cols, parent):
                for c in cols:
                    hit = crosswalk.resolve(level, row.get(c), parent)
                    if hit:
                        return hit
                return None

            g = first_hit(1, names["gov"], None)
            # a district the table files under another governorate (Makhmur: Ninewa in 2014,
            # Erbil in COD-AB 2019) is taken by its name alone when that is unambiguous
            d = (first_hit(2, names["dis"], g) or first_hit(2, names["dis"], None)) if g else None
            code = first_hit(3, names["sub"], d) if d else None
            if code is None and d is not None:
                code, score, name = _similar(row, names["sub"], districts.get(d, []))
                if code is not None:
                    label = " / ".join(str(row.get(c[0]) or "") for c in (names["gov"], names["dis"], names["sub"]))
                    similar.append(
                        Issue(
                            str(path),
                            n,
                            "sub-district",
                            f"{label}: matched by spelling to {name} ({code}, similarity {score:.2f})",
                        )
                    )
            if code is None:
                where = "governorate" if g is None else ("district" if d is None else "sub-district")
                label = " / ".join(str(row.get(c[0]) or "") for c in (names["gov"], names["dis"], names["sub"]))
                issues.append(Issue(str(path), n, where, f"{label}: the {where} matches no unit of the boundary set"))
                continue
        if code not in known:
            issues.append(Issue(str(path), n, pc_col, f"{code}: no such sub-district in the boundary set"))
            continue
        matched += 1
        if value is not None:
            sums[code] = sums.get(code, 0.0) + value
    if not sums:
        raise InputError(f"{path}: no row matched a sub-district ({len(issues)} unmatched)")
    values = pd.DataFrame({"residents": pd.Series(sums, dtype=float)}).reindex(units_df.index)
    return Loaded(
        values,
        issues,
        {
            "matched_by_spelling": [i.to_dict() for i in similar],
            "kind": "table",
            "file": path.name,
            "sha256": file_sha256(path),
            "column": col,
            "rows": len(rows),
            "rows_matched": matched,
            "rows_unmatched": len(issues),
            "units_with_population": int(values["residents"].notna().sum()),
            "units": len(units_df),
            "label": spec.label,
            "year": spec.year,
        },
    )


_AL_WORD = re.compile(r"(^|\s|-)(al|el)(?=[\s-])", re.IGNORECASE)
SIMILARITY_MIN = 0.82


def _loose_key(name: str) -> str:
    """name_key without any ``al-`` article and without "markaz"/"qadha" words and "center"."""
    text = _AL_WORD.sub(" ", str(name or ""))
    text = re.sub(r"\b(markaz|center|centre|qadha|qada)\b", " ", text, flags=re.IGNORECASE)
    text = re.sub("(مركز|قضاء)", " ", text)
    return name_key(text)


def _similar(row: dict, cols: list[str], candidates: list[tuple[str, str, str]]) -> tuple[str | None, float, str]:
    """The one sub-district of the district whose English or Arabic name is most similar
    (difflib ratio of the loose keys, >= ``SIMILARITY_MIN``; a tie matches nothing)."""
    from difflib import SequenceMatcher

    best: dict[str, tuple[float, str]] = {}
    for c in cols:
        mine = _loose_key(row.get(c))
        if not mine:
            continue
        for code, en, ar in candidates:
            for theirs in (_loose_key(en), _loose_key(ar)):
                if theirs:
                    r = 1.0 if mine == theirs else SequenceMatcher(None, mine, theirs).ratio()
                    if r > best.get(code, (0.0, ""))[0]:
                        best[code] = (r, en)
    ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
    if not ranked or ranked[0][1][0] < SIMILARITY_MIN or (len(ranked) > 1 and ranked[1][1][0] == ranked[0][1][0]):
        return None, 0.0, ""
    return ranked[0][0], ranked[0][1][0], ranked[0][1][1]


def indicator_table(
    path: Path,
    spec: Table,
    columns: list[str],
    crosswalk: Crosswalk,
    units_df: pd.DataFrame,
    location_units: dict[str, str] | None = None,
    residents: pd.Series | None = None,
) -> Loaded:
    """The ``columns`` of an indicator table per sub-district. Unknown keys are issues (the row
    is skipped); a non-numeric value or a duplicated key is an ``InputError``."""
    header, rows, hxl, first = read_rows(path, spec.sheet)
    key_col = _column(spec.key_column, header, hxl, path)
    parent_col = _column(spec.parent_column, header, hxl, path) if spec.parent_column else None
    cols = {c: _column(c, header, hxl, path) for c in columns}
    weight_col = _column(spec.weight_column, header, hxl, path) if spec.weight_column else None
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    recs = []
    known = set(units_df.index)
    for n, row in enumerate(rows, start=first):
        raw_key = row.get(key_col)
        key = str(raw_key).strip() if raw_key is not None else ""
        if key.endswith(".0") and spec.key == "location_id":
            key = key[:-2]
        if not key:
            issues.append(Issue(str(path), n, key_col, "empty key"))
            continue
        dup_key = (key, str(row.get(parent_col) or "")) if parent_col else key
        if dup_key in seen:
            raise InputError(
                f"{path}: row {n}, field {key_col!r}: key {key!r} repeats row {seen[dup_key]}; one row per key"
            )
        seen[dup_key] = n
        if spec.key == "pcode":
            try:
                code = normalize_pcode(key)
            except ValueError:
                code = None
            if code not in known:
                issues.append(Issue(str(path), n, key_col, f"{key!r}: no such sub-district P-code in the boundary set"))
                continue
        elif spec.key == "name":
            parent = None
            if parent_col:
                parent = crosswalk.resolve(2, row.get(parent_col))
                if parent is None:
                    issues.append(Issue(str(path), n, parent_col, f"{row.get(parent_col)!r}: no such district"))
                    continue
            code = crosswalk.resolve(3, key, parent)
            if code is None or code not in known:
                issues.append(
                    Issue(
                        str(path),
                        n,
                        key_col,
                        f"{key!r}: no sub-district of that name"
                        + ("" if parent_col else " (or the name is ambiguous: add a district column)"),
                    )
                )
                continue
        else:
            code = (location_units or {}).get(key)
            if code is None:
                issues.append(Issue(str(path), n, key_col, f"location {key!r} is not in the round's master lists"))
                continue
            if code == UNASSIGNED:
                issues.append(Issue(str(path), n, key_col, f"location {key!r} has no sub-district in the round"))
                continue
        rec = {"pcode": code}
        for c, h in cols.items():
            try:
                rec[c] = _number(row.get(h))
            except ValueError:
                raise InputError(f"{path}: row {n}, field {h!r}: {row.get(h)!r} is not a number") from None
        if weight_col:
            try:
                rec["_w"] = _number(row.get(weight_col))
            except ValueError:
                raise InputError(
                    f"{path}: row {n}, field {weight_col!r}: {row.get(weight_col)!r} is not a number"
                ) from None
        recs.append(rec)
    if not recs:
        raise InputError(f"{path}: no row matched a sub-district ({len(issues)} rows reported)")
    df = pd.DataFrame(recs)
    for c in columns:
        df[c] = df[c].astype(float)
    if spec.aggregate == "sum":
        agg = df.groupby("pcode")[columns].sum(min_count=1)
    elif spec.aggregate == "mean":
        agg = df.groupby("pcode")[columns].mean()
    else:  # population-weighted: by the row's weight column, else by the unit's residents
        if "_w" in df:
            w = df["_w"].astype(float)
        elif residents is not None:
            w = df["pcode"].map(residents).astype(float)
        else:
            raise InputError(f"{path}: aggregate population_weighted_mean needs weight_column or a population input")
        out = {}
        for c in columns:
            ok = df[c].notna() & w.notna() & (w > 0)
            num = (df[c].where(ok) * w.where(ok)).groupby(df["pcode"]).sum(min_count=1)
            den = w.where(ok).groupby(df["pcode"]).sum(min_count=1)
            out[c] = num / den
        agg = pd.DataFrame(out)
    agg = agg.reindex(units_df.index)
    return Loaded(
        agg,
        issues,
        {
            "kind": "table",
            "id": spec.id,
            "file": path.name,
            "sha256": file_sha256(path),
            "key": spec.key,
            "rows": len(rows),
            "rows_used": len(recs),
            "rows_reported": len(issues),
            "aggregate": spec.aggregate,
            "label": spec.label,
        },
    )


def location_units(conn: Connection, round_ids: list[int]) -> dict[str, str]:
    """DTM location ID -> sub-district P-code in the given rounds (first round wins)."""
    out: dict[str, str] = {}
    for rid in round_ids:
        for loc, adm3 in conn.execute(
            text(
                "SELECT DISTINCT ON (location_id) location_id, adm3 FROM location_figure "
                "WHERE round_id = :r AND location_id IS NOT NULL ORDER BY location_id, source_row"
            ),
            {"r": rid},
        ).all():
            out.setdefault(loc, adm3)
    return out


# ---------------------------------------------------------------------------------- raster
def _cell_areas_km2(crs, transform, height: int) -> np.ndarray:
    """Area (km2) of one cell of each row: geodesic on the CRS's ellipsoid for geographic
    rasters (a row's cells all have the same area), |a * e| for projected ones."""
    if crs.is_geographic:
        from pyproj import CRS, Geod

        geod = CRS.from_wkt(crs.to_wkt()).get_geod() or Geod(ellps="WGS84")
        dx = abs(transform.a)
        x0 = transform.c
        areas = np.empty(height)
        for r in range(height):
            y_top = transform.f + r * transform.e
            y_bot = y_top + transform.e
            a, _ = geod.polygon_area_perimeter([x0, x0 + dx, x0 + dx, x0], [y_bot, y_bot, y_top, y_top])
            areas[r] = abs(a) / 1e6
        return areas
    factor = crs.linear_units_factor[1] if crs.linear_units_factor else 1.0
    return np.full(height, abs(transform.a * transform.e) * factor * factor / 1e6)


def raster_zonal_sums(
    path: Path, geoms: dict[str, object], kind: str = "count", progress=None, min_coverage: float = 0.999
) -> Loaded:
    """Coverage-weighted sums of a raster per polygon (``geoms``: P-code -> shapely geometry in
    EPSG:4326). A unit with less than ``min_coverage`` of its area on the raster is reported and
    gets no sum (a partial sum would understate it). Raises ``InputError`` for a raster without
    a CRS or one that misses every polygon."""
    import rasterio
    from exactextract import exact_extract
    from exactextract.feature import JSONFeatureSource
    from exactextract.raster import NumPyRasterSource
    from pyproj import Transformer
    from shapely import transform as shp_transform
    from shapely.geometry import box, mapping

    try:
        ds = rasterio.open(path)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a readable raster ({exc})") from None
    with ds:
        if ds.crs is None:
            raise InputError(f"{path}: the raster has no CRS; set one (e.g. gdal_edit.py -a_srs EPSG:4326)")
        band = ds.read(1, masked=True).astype("float64")
        transform, crs, height, width = ds.transform, ds.crs, ds.height, ds.width
        bounds = ds.bounds
    arr = band.filled(0.0)
    if kind == "density_per_km2":
        arr = arr * _cell_areas_km2(crs, transform, height)[:, None]
    to_raster = Transformer.from_crs("EPSG:4326", crs.to_wkt(), always_xy=True)
    extent = box(*bounds)
    feats = []
    partial: list[Issue] = []
    for pcode, g in geoms.items():
        pg = shp_transform(g, lambda xy: np.column_stack(to_raster.transform(xy[:, 0], xy[:, 1])))
        if not pg.intersects(extent):
            continue
        inside = pg.intersection(extent).area / pg.area if pg.area > 0 else 1.0
        if inside < min_coverage:
            partial.append(
                Issue(
                    str(path),
                    None,
                    pcode,
                    f"{pcode}: only {inside:.1%} of the unit lies on the raster; no population taken from it",
                )
            )
            continue
        feats.append({"type": "Feature", "properties": {"pcode": pcode}, "geometry": mapping(pg)})
    if not feats and partial:
        raise InputError(f"{path}: the raster covers none of the {len(geoms)} units whole ({len(partial)} partly)")
    if not feats:
        raise InputError(
            f"{path}: the raster ({bounds.left:.4f}, {bounds.bottom:.4f}, {bounds.right:.4f}, "
            f"{bounds.top:.4f} in {crs.to_string()}) overlaps none of the {len(geoms)} units"
        )
    # rows from the top: NumPyRasterSource takes the extent; a north-up grid is assumed
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        raise InputError(f"{path}: only north-up rasters without rotation are supported")
    src = NumPyRasterSource(arr, bounds.left, bounds.bottom, bounds.right, bounds.top, srs_wkt=crs.to_wkt())
    parts = []
    step = 64  # features per call, so that a progress bar moves
    for k in range(0, len(feats), step):
        res = exact_extract(
            src, JSONFeatureSource(feats[k : k + step]), ["sum"], include_cols=["pcode"], output="pandas"
        )
        parts.append(pd.Series(res["sum"].to_numpy(dtype=float), index=res["pcode"]))
        if progress is not None:
            progress("zonal statistics", min(k + step, len(feats)), len(feats))
    sums = pd.concat(parts)
    values = pd.DataFrame({"residents": sums}).reindex(list(geoms))
    covered = ~values["residents"].isna()
    return Loaded(
        values,
        partial,
        {
            "kind": "raster",
            "file": Path(path).name,
            "sha256": file_sha256(Path(path)),
            "raster_kind": kind,
            "crs": crs.to_string(),
            "size": [width, height],
            "units_covered": int(covered.sum()),
            "units_partly_covered": len(partial),
            "units": len(geoms),
        },
    )
