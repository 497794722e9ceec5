"""Records of a master list: the columns of the data body, once the header is planned, become
one plain ``dict`` per location row (numbers parsed with checks, ids normalised, breakdowns
folded in), and every flawed cell becomes an issue (line, column, code, message).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from service.ingest.decode import Columns
from service.ingest.header import LONG_KINDS
from service.ingest.stage import (
    BREAKDOWNS,
    ColumnPlan,
    issue_code,
    issue_message,
    normalise_name,
    parse_date,
    show_cell,
)

_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}([,٬]\d{3})+([.٫]\d*)?")

Issue = tuple[int, int, str, str, str]  # (line, column position, column label, code, message)


def filled_cells(col: np.ndarray) -> np.ndarray:
    """Non-empty cells of a column (text or float)."""
    return ~np.isnan(col) if col.dtype.kind == "f" else col != ""


def _fallback_number(raw: str) -> float | None:
    """Slow path for cells the vectorised parse rejected: '1,234', Arabic separators."""
    s = raw.strip()
    if _THOUSANDS_RE.fullmatch(s):
        s = s.replace(",", "").replace("٬", "")
    s = s.replace("٫", ".")
    try:
        return float(s)  # float() also accepts Arabic-Indic digits
    except ValueError:
        return None


@dataclass
class _Numbers:
    vals: np.ndarray  # float64, NaN where empty or not a number
    empty: np.ndarray  # bool: cell empty (or whitespace only)
    bad: np.ndarray  # bool: cell not empty but not a finite number


def _numbers(arr: np.ndarray) -> _Numbers:
    """Parse a column.  Float columns (already parsed by pandas) pass through; for text
    numpy's str->float cast is ~10x cheaper per call than pd.to_numeric on master-list-sized
    columns, and the cells it rejects take the slow path."""
    if arr.dtype.kind == "f":
        empty = np.isnan(arr)
        bad = np.isinf(arr)
        vals = arr.copy()
        vals[bad] = np.nan
        return _Numbers(vals, empty, bad)
    empty = arr == ""
    try:
        vals = np.where(empty, "nan", arr).astype(np.float64)
    except (ValueError, TypeError):
        vals = pd.to_numeric(arr, errors="coerce").astype(np.float64)
        for k in np.flatnonzero(np.isnan(vals) & ~empty):
            raw = arr[k]
            if not raw.strip():
                empty[k] = True
            else:
                v = _fallback_number(raw)
                if v is not None:
                    vals[k] = v
    bad = ~np.isfinite(vals) & ~empty  # includes literal 'nan' / 'inf'
    vals[bad] = np.nan
    return _Numbers(vals, empty, bad)


def _counts(
    arr: np.ndarray,
    pos: int,
    label: str,
    lines: np.ndarray,
    issues: list[Issue],
    *,
    required: bool,
    parsed: _Numbers | None = None,
) -> np.ndarray:
    """Parse a count column; flawed cells -> issue + NaN."""
    num = parsed if parsed is not None else _numbers(arr)
    vals = num.vals
    with np.errstate(invalid="ignore"):
        neg = vals < 0
        frac = ~neg & (vals != np.floor(vals)) & ~np.isnan(vals)
    for code, where in (
        ("non_numeric", num.bad),
        ("negative", neg),
        ("non_integer", frac),
        ("missing_value", num.empty if required else ()),
    ):
        for k in np.flatnonzero(where):
            issues.append((int(lines[k]), pos, label, code, issue_message(code, label, show_cell(arr[k]))))
    vals = vals.copy()
    vals[neg | frac] = np.nan
    return vals


def _int_list(vals: np.ndarray) -> list[int | None]:
    return [None if v != v else int(v) for v in vals.tolist()]


def _text_list(arr: np.ndarray) -> list[str | None]:
    return np.where(arr == "", None, arr).tolist()


def _norm_id(v: str) -> str:
    """IOM ids written as floats: '1101001.0' -> '1101001', '1.101001E6' -> '1101001'."""
    if v[-2:] == ".0" and v[:-2].isdigit():  # fast path: the usual case
        return v[:-2]
    head, dot, tail = v.partition(".")
    if dot and head.isdigit() and (not tail or tail.strip("0") == ""):
        return head
    if "e" in v or "E" in v:
        try:
            d = Decimal(v)
        except InvalidOperation:
            return v
        if d.is_finite() and d == d.to_integral_value() and d >= 0:
            return str(int(d))
    return v


_NORM_ID = np.frompyfunc(_norm_id, 1, 1)


def _ids(arr: np.ndarray) -> np.ndarray:
    return _NORM_ID(arr) if len(arr) else arr


def build_records(cols: Columns, lines: np.ndarray, plan: ColumnPlan, issues: list[Issue]) -> list[dict]:
    """One record per row of ``cols`` (already stripped, blank rows removed)."""
    n = len(lines)
    lab = plan.labels
    core = plan.core
    none: list[None] = [None] * n

    def text(fld: str, upper: bool = False) -> list[str | None]:
        if fld not in core:
            return none
        values = _text_list(cols[core[fld]])
        return [v.upper() if v else v for v in values] if upper else values

    # Location id
    pos = core["location_id"]
    id_arr = _ids(cols[pos])
    ids = _text_list(id_arr)
    for k in np.flatnonzero(id_arr == ""):
        issues.append((int(lines[k]), pos, lab[pos], "missing_id", issue_message("missing_id", lab[pos])))
    dup = pd.Series(id_arr).duplicated(keep="first").to_numpy() & (id_arr != "")
    if dup.any():
        dup_ids = set(id_arr[dup].tolist())
        first_line: dict[str, int] = {}
        for k in np.flatnonzero(np.isin(id_arr, list(dup_ids))):
            line = int(lines[k])
            seen = first_line.setdefault(ids[k], line)
            if seen != line:
                issues.append(
                    (
                        line,
                        pos,
                        lab[pos],
                        "duplicate_id",
                        issue_message("duplicate_id", lab[pos], location_id=ids[k], first_line=seen),
                    )
                )
    place_ids = _text_list(_ids(cols[core["place_id"]])) if "place_id" in core else none

    # Counts
    fam_pos, ind_pos = core["families"], core["individuals"]
    fam = _int_list(_counts(cols[fam_pos], fam_pos, lab[fam_pos], lines, issues, required=True))
    ind = _int_list(_counts(cols[ind_pos], ind_pos, lab[ind_pos], lines, issues, required=True))

    # Coordinates: a pair is kept only if both halves are valid.
    coords: dict[str, np.ndarray] = {}
    valid = np.ones(n, dtype=bool)
    for fld, limit in (("lat", 90.0), ("lon", 180.0)):
        pos = core[fld]
        raw = cols[pos]
        num = _numbers(raw)
        with np.errstate(invalid="ignore"):
            out = np.abs(num.vals) > limit
        for kind, where in (("coord_nan", num.bad), ("coord_out", out), ("missing_value", num.empty)):
            for k in np.flatnonzero(where):
                issues.append(
                    (
                        int(lines[k]),
                        pos,
                        lab[pos],
                        issue_code(kind),
                        issue_message(kind, lab[pos], show_cell(raw[k]), limit=limit),
                    )
                )
        valid &= ~np.isnan(num.vals) & ~out
        coords[fld] = num.vals
    valid_l = valid.tolist()
    lat = [v if ok else None for v, ok in zip(coords["lat"].tolist(), valid_l)]
    lon = [v if ok else None for v, ok in zip(coords["lon"].tolist(), valid_l)]

    # Dates: few distinct values, so parse each once.
    dates: list[dt.date | None] = none
    if "reporting_date" in core:
        pos = core["reporting_date"]
        raw_l = cols[pos].tolist()
        parsed = {u: parse_date(u) for u in set(raw_l) if u}
        dates = [parsed.get(v) for v in raw_l]
        for k, v in enumerate(raw_l):
            if v and parsed[v] is None:
                issues.append(
                    (int(lines[k]), pos, lab[pos], "bad_date", issue_message("bad_date", lab[pos], show_cell(v)))
                )

    # Breakdowns (wide / HXL): zeros and flawed cells dropped, flawed cells reported.
    breakdown: dict[str, list[dict[str, int]]] = {}
    demoted: list[int] = []
    for kind in BREAKDOWNS:
        dicts: list[dict[str, int]] = [{} for _ in range(n)]
        breakdown[kind] = dicts
        for pos in plan.breakdown[kind]:
            num = _numbers(cols[pos])
            filled = n - int(num.empty.sum())  # (float columns are never demoted)
            if filled and int(num.bad.sum()) * 2 > filled:
                demoted.append(pos)  # mostly text: a name clash, not a count column
                continue
            vals = _counts(cols[pos], pos, lab[pos], lines, issues, required=False, parsed=num)
            # Column by column, so each row's dict gets its keys in file column order.
            key = plan.names[pos] or lab[pos]
            nz = np.flatnonzero(np.nan_to_num(vals, nan=0.0))
            for i, v in zip(nz.tolist(), vals[nz].astype(np.int64).tolist()):
                dicts[i][key] = v

    # Unrecognised columns, as text (empty cells omitted).
    extras: list[dict[str, str]] = [{} for _ in range(n)]
    for pos in sorted(plan.extra + demoted):
        arr = cols[pos]
        key = lab[pos]
        for k in np.flatnonzero(arr != ""):
            extras[k][key] = arr[k]

    return [
        {
            "row": r,
            "location_id": i,
            "place_id": p,
            "governorate": g,
            "district": d,
            "name_en": ne,
            "name_ar": na,
            "lat": la,
            "lon": lo,
            "families": f,
            "individuals": iv,
            "origin": o,
            "shelter": sh,
            "period": pe,
            "extra": ex,
            "admin1_pcode": c1,
            "admin2_pcode": c2,
            "admin3_pcode": c3,
            "reporting_date": rd,
        }
        for r, i, p, g, d, ne, na, la, lo, f, iv, o, sh, pe, ex, c1, c2, c3, rd in zip(
            lines.tolist(),
            ids,
            place_ids,
            text("governorate"),
            text("district"),
            text("name_en"),
            text("name_ar"),
            lat,
            lon,
            fam,
            ind,
            breakdown["origin"],
            breakdown["shelter"],
            breakdown["period"],
            extras,
            text("admin1_pcode", True),
            text("admin2_pcode", True),
            text("admin3_pcode", True),
            dates,
        )
    ]


def attach_breakdowns(
    bd: Columns, bd_lines: np.ndarray, loc: Columns, records: list[dict], plan: ColumnPlan, issues: list[Issue]
) -> None:
    """Long format: fold breakdown rows into their location records (``loc`` are the
    location rows' columns, in the same order as ``records``)."""
    assert plan.kind_col is not None and plan.category_col is not None
    n = len(bd_lines)
    if n == 0:
        return
    lab = plan.labels
    id_pos, fam_pos = plan.core["location_id"], plan.core["families"]
    kind_pos, cat_pos = plan.kind_col, plan.category_col
    ids = _text_list(_ids(bd[id_pos]))
    kinds_raw = bd[kind_pos].tolist()
    kinds = [LONG_KINDS.get(normalise_name(k)) for k in kinds_raw]
    known = np.array([k is not None for k in kinds], dtype=bool)
    cats = bd[cat_pos].tolist()
    fam_raw = bd[fam_pos]
    fam = np.full(n, np.nan)
    if known.any():
        fam[known] = _counts(fam_raw[known], fam_pos, lab[fam_pos], bd_lines[known], issues, required=True)

    # Location row (index into records / loc) for each breakdown row; -1 = none.
    first: dict[str, int] = {}
    for r, rec in enumerate(records):
        if rec["location_id"] is not None:
            first.setdefault(rec["location_id"], r)
    ref = np.array([first.get(i, -1) if i is not None else -1 for i in ids], dtype=np.int64)
    has_ref = ref >= 0

    # Other cells on a breakdown row must be blank or repeat the location row's value;
    # anything else would be silently lost, so it is reported.
    skip = {id_pos, fam_pos, kind_pos, cat_pos, *plan.ignored}
    for pos in range(len(bd)):
        if pos in skip:
            continue
        mine = bd[pos]
        theirs = np.where(has_ref, loc[pos][np.where(has_ref, ref, 0)] if len(loc[pos]) else "", "")
        for k in np.flatnonzero(has_ref & (mine != "") & (mine != theirs)):
            a, b = _fallback_number(mine[k]), _fallback_number(theirs[k])
            if a is not None and a == b:
                continue  # the same number written differently
            issues.append(
                (
                    int(bd_lines[k]),
                    pos,
                    lab[pos],
                    "ignored_value",
                    f"{lab[pos]}: {mine[k]!r} on a breakdown row differs from the "
                    f"location row ({theirs[k]!r}) and is not used",
                )
            )

    seen: set[tuple[str, str, str]] = set()
    for k in range(n):
        line = int(bd_lines[k])
        what = f"{kinds_raw[k]}/{cats[k]}"
        lid = ids[k]
        if lid is None:
            issues.append((line, id_pos, lab[id_pos], "missing_id", f"location id is empty on breakdown row {what}"))
            continue
        if not has_ref[k]:
            issues.append(
                (
                    line,
                    id_pos,
                    lab[id_pos],
                    "orphan_breakdown",
                    f"no location row for location id {lid}; breakdown {what} = {fam_raw[k]!r} not used",
                )
            )
            continue
        rec = records[ref[k]]
        if not cats[k]:
            issues.append(
                (line, cat_pos, lab[cat_pos], "missing_category", f"breakdown {kinds_raw[k]!r} row without a category")
            )
            continue
        kind = kinds[k]
        key = (lid, kind or normalise_name(kinds_raw[k]), cats[k])
        if key in seen:
            issues.append(
                (
                    line,
                    cat_pos,
                    lab[cat_pos],
                    "duplicate_breakdown",
                    f"{what} for location {lid} given twice; first value kept",
                )
            )
            continue
        seen.add(key)
        if kind is None:  # unknown breakdown: keep the text, unchecked
            if fam_raw[k]:
                rec["extra"][f"{kinds_raw[k]}:{cats[k]}"] = fam_raw[k]
        elif not np.isnan(fam[k]) and fam[k] != 0:
            rec[kind][cats[k]] = int(fam[k])


# --------------------------------------------------------------------------- entry point
