"""The fast path's SQL plans: expressions that read the raw table's text cells exactly as the
parser reads them (``Sql``), and the two statements that build ``stage`` from them -- the
fast one for plain cells (:func:`fast_sql`) and the complete rules for the rows it marks as
problems (:func:`stage_sql`).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass

from service.ingest.fast_copy import WHITESPACE, FastStageUnavailable
from service.ingest.header import PCODE_FIELDS
from service.ingest.stage import BREAKDOWNS, STAGE_COLUMNS, STAGE_TYPES, ColumnPlan

HELPER_TYPES = {"_detail": "text[]", "_date": "text", "_problem": "boolean"}  # the fast path's own columns


# --------------------------------------------------------------------------- SQL pieces

_UNCERTAIN = "E'\\u0001?'"  # text sentinel: this cell needs the Python parser
_NUM_PLAIN = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$"
_NUM_THOUSANDS = r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$"
_NUM_EXPONENT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]{1,3}$"


def _char_ranges(chars: list[str]) -> str:
    """A regex bracket body for ``chars`` (consecutive code points as ranges)."""
    cps = sorted(ord(c) for c in chars)
    out, start, prev = [], cps[0], cps[0]
    for cp in cps[1:] + [-1]:
        if cp == prev + 1:
            prev = cp
            continue
        out.append(chr(start) if start == prev else f"{chr(start)}-{chr(prev)}")
        start = prev = cp
    return "".join(out)


# Every character Python's float() takes as a digit (Unicode Nd).
_DIGITS = _char_ranges([c for c in map(chr, range(0x110000)) if unicodedata.category(c) == "Nd"])
# Cells made of digits and number punctuation only: what float() / the parser's fallback
# might read as a number in a way this module does not replicate -> uncertain.
_NUMBERISH = f"^[{_DIGITS}_.,eE+\\-\u066b\u066c]*[{_DIGITS}][{_DIGITS}_.,eE+\\-\u066b\u066c]*$"


def _lit(value: str) -> str:
    """A SQL string literal (standard_conforming_strings)."""
    if "\x00" in value:
        raise FastStageUnavailable("NUL in a column name")
    return "'" + value.replace("'", "''") + "'"


class Sql:
    """SQL expressions over the text columns ``c0..cN`` of the raw table."""

    def __init__(self, odd_whitespace: bool, typed: frozenset[int] = frozenset()) -> None:
        ws = "".join(f"\\u{ord(c):04x}" for c in WHITESPACE)
        self.ws = f"E'{ws}'" if odd_whitespace else None
        self.typed = typed  # float8 columns (the typed COPY read them)
        self.stripped: dict[str, str] = {}  # column -> the name of its stripped value (``with_stripped``)

    def with_stripped(self, width: int) -> tuple["Sql", str]:
        """The same expressions over a source whose text columns ``c{j}`` come with their
        stripped value ``t{j}``, computed once per cell, and the SELECT list that adds them.
        The complete rules name a stripped cell ~20 times: written out, the statement was
        ~300 KB over a wide list and its planning alone took ~25 ms, for a handful of rows."""
        other = Sql.__new__(Sql)
        other.ws, other.typed = self.ws, self.typed
        cols = [j for j in range(width) if j not in self.typed]
        other.stripped = {f"c{j}": f"t{j}" for j in cols}
        return other, ", ".join(["*", *(f"{self.strip(f'c{j}')} AS t{j}" for j in cols)])

    def cell(self, j: int, col: str | None = None) -> str:
        """The cell as text, for messages."""
        c = col or f"c{j}"
        return f"({c})::text" if j in self.typed else self.strip(c)

    def strip(self, c: str) -> str:
        if c in self.stripped:
            return self.stripped[c]
        return f"btrim({c}, {self.ws})" if self.ws else f"btrim({c})"

    def text(self, c: str) -> str:
        return f"nullif({self.strip(c)}, '')"

    def filled(self, c: str) -> str:
        return f"({c} IS NOT NULL AND {self.strip(c)} <> '')"

    def pcode(self, c: str) -> str:
        s = self.text(c)
        return f"CASE WHEN {s} ~ '^[ -~]*$' THEN upper({s} COLLATE \"C\") WHEN {s} IS NOT NULL THEN {_UNCERTAIN} END"

    def ident(self, c: str) -> str:
        """records._norm_id of the stripped cell ('' -> NULL)."""
        s = self.strip(c)
        expo = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]"
        slow = (
            f"CASE WHEN {s} = '' THEN NULL "
            f"WHEN {s} ~ '^[0-9]+(\\.0*)?$' THEN split_part({s}, '.', 1) "
            f"WHEN strpos({s}, '.') = 0 AND strpos({s}, 'e') = 0 AND strpos({s}, 'E') = 0 THEN {s} "
            f"WHEN {s} ~ '[^ -~]|_' THEN {_UNCERTAIN} "
            f"WHEN {s} ~ '{expo}{{1,3}}$' THEN CASE WHEN {s}::numeric >= 0 AND {s}::numeric = trunc({s}::numeric) "
            f"THEN trunc({s}::numeric)::text ELSE {s} END "
            f"WHEN {s} ~ '{expo}+$' THEN {_UNCERTAIN} "
            f"ELSE {s} END"
        )
        return (
            f"CASE WHEN {c} IS NULL THEN NULL WHEN {c} ~ '^[0-9]+(\\.0*)?$' THEN split_part({c}, '.', 1) "
            f"ELSE {slow} END"
        )

    def _value(self, s: str) -> list[tuple[str, str]]:
        """(condition, float8 expression) pairs for a stripped numeric cell, as float()
        reads it (no overflow: bounded lengths and exponents)."""
        return [
            (f"octet_length({s}) <= 300 AND {s} ~ '{_NUM_PLAIN}'", f"({s})::float8"),
            (f"octet_length({s}) <= 200 AND {s} ~ '{_NUM_THOUSANDS}'", f"replace({s}, ',', '')::float8"),
            (
                f"octet_length({s}) <= 60 AND {s} ~ '{_NUM_EXPONENT}' AND (abs({s}::numeric) BETWEEN 1e-300 AND 1e300 "
                f"OR {s}::numeric = 0)",
                f"({s})::float8",
            ),
        ]

    def count(self, j: int) -> str:
        """int8: NULL empty, >= 0 the count, -1 negative, -2 non_integer, -3 non_numeric,
        -4 uncertain."""
        c = f"c{j}"
        if j in self.typed:  # NaN: the parser reads 'nan' as text, not as a float -> its path
            return (
                f"CASE WHEN {c} IS NULL THEN NULL WHEN {c} = 'NaN' THEN -4 "
                f"WHEN {c} IN ('Infinity', '-Infinity') THEN -3 WHEN {c} < 0 THEN -1 "
                f"WHEN {c} <> trunc({c}) THEN -2 WHEN {c} >= 1e15 THEN -4 ELSE {c}::int8 END"
            )
        s = self.strip(c)

        def from_float(f: str) -> str:
            return (
                f"CASE WHEN {f} < 0 THEN -1 WHEN {f} <> trunc({f}) THEN -2 WHEN {f} >= 1e15 THEN -4 "
                f"ELSE ({f})::int8 END"
            )

        known = " ".join(f"WHEN {cond} THEN {from_float(f)}" for cond, f in self._value(s))
        slow = f"CASE WHEN {s} = '' THEN NULL {known} WHEN {s} ~ '{_NUMBERISH}' THEN -4 ELSE -3 END"
        return (
            f"CASE WHEN {c} IS NULL THEN NULL WHEN {c} IN ('0', '0.0') THEN 0::int8 "
            f"WHEN octet_length({c}) <= 15 AND {c} ~ '^[0-9]+(\\.0*)?$' THEN split_part({c}, '.', 1)::int8 "
            f"ELSE {slow} END"
        )

    def coord(self, j: int) -> str:
        """float8: NULL empty, 'NaN' not a number, 'Infinity' uncertain, else the value."""
        c = f"c{j}"
        if j in self.typed:
            return (
                f"CASE WHEN {c} = 'NaN' THEN 'Infinity'::float8 WHEN {c} IN ('Infinity', '-Infinity') "
                f"THEN 'NaN'::float8 ELSE {c} END"
            )
        s = self.strip(c)
        known = " ".join(f"WHEN {cond} THEN {f}" for cond, f in self._value(s))
        slow = (
            f"CASE WHEN {s} = '' THEN NULL {known} "
            f"WHEN {s} ~ '{_NUMBERISH}' THEN 'Infinity'::float8 ELSE 'NaN'::float8 END"
        )
        return (
            f"CASE WHEN {c} IS NULL THEN NULL "
            f"WHEN octet_length({c}) <= 40 AND {c} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN {c}::float8 "
            f"ELSE {slow} END"
        )


# --------------------------------------------------------------------------- the stage query


@dataclass
class Layout:
    """What goes where: positions of the plan after the whole-column decisions."""

    plan: ColumnPlan
    width: int  # columns in the raw table
    breakdown: dict[str, list[int]]
    extra: list[int]
    skip: set[int]  # not looked at for blank rows (index column, date column)


def _keep_sql(layout: Layout, sql: Sql, fast: bool = False) -> str:
    """The parser's blank-row rule: a row is kept when a cell other than the index and the
    date column is filled (the id column first: it decides almost every row).  ``fast``:
    a cell whose first byte is above ' ' counts as filled without trimming it -- a cell
    that is only NBSP & co. then too, but its line is recomputed with the complete rules
    (``StreamStats.odd_lines``)."""
    first = layout.plan.core["location_id"]
    cols = [first] + [j for j in range(layout.width) if j not in layout.skip and j != first]

    def filled(j: int) -> str:
        c = f"c{j}"
        if j in sql.typed:
            return f"{c} IS NOT NULL"
        if fast and not sql.ws:
            return f"({c} COLLATE \"C\" > ' ' OR {sql.filled(c)})"
        return sql.filled(c)

    return " OR ".join(filled(j) for j in cols)


def _key(layout: Layout, j: int) -> str:
    """A breakdown column's key in its row's document (the parser's dict key: name, else label)."""
    return layout.plan.names[j] or layout.plan.labels[j]


def _json_key(layout: Layout, j: int) -> str:
    """'"Anbar":' for a breakdown column."""
    return _lit(json.dumps(_key(layout, j), ensure_ascii=False) + ":")


def categories(layout: Layout) -> dict[str, list[str]]:
    """Every key the staged breakdown documents may hold, per dimension (for the aggregates:
    ``service.figures.aggregate.categories_of``)."""
    return {kind: list(dict.fromkeys(_key(layout, j) for j in layout.breakdown[kind])) for kind in BREAKDOWNS}


_MARK = "E'\\u0001'"  # a flawed breakdown cell in the fast query's JSON fragments


def fast_sql(layout: Layout, sql: Sql, after: int, source: str) -> str:
    """Every kept row, computed for the common case only: plain cells.  A row with any
    other cell (empty required value, negative, fractional, text, exponent, padded, ...)
    gets ``_problem`` and is recomputed by ``stage_sql`` (the complete rules)."""
    core = layout.plan.core
    inner: list[str] = ["n"]

    def add(alias: str, expr: str) -> str:
        inner.append(f"{expr} AS {alias}")
        return alias

    # (a regex costs ~0.4 us a cell, about as much as any other exact test in SQL: only
    # cells other than '0.0' / '0' / empty get one)
    def digits_dot_zeros(c: str, first: str = "0") -> str:
        return f"{c} ~ '^[{first}-9][0-9]*(\\.0*)?$'"

    def ident(c: str, required: bool) -> str:
        empty = _UNCERTAIN if required else "NULL"
        return (
            f"CASE WHEN {digits_dot_zeros(c)} THEN split_part({c}, '.', 1) WHEN {c} IS NULL THEN {empty} "
            f"WHEN strpos({c}, '.') = 0 AND strpos({c}, 'e') = 0 AND strpos({c}, 'E') = 0 "
            f"THEN coalesce({sql.text(c)}, {empty}) ELSE {_UNCERTAIN} END"
        )

    def count(c: str) -> str:  # NULL: not plain
        if int(c[1:]) in sql.typed:
            return f"CASE WHEN {c} >= 0 AND {c} < 1e15 AND {c} = trunc({c}) THEN {c}::int8 END"
        return (
            f"CASE WHEN {c} = '0.0' OR {c} = '0' THEN 0::int8 WHEN octet_length({c}) <= 15 "
            f"AND {digits_dot_zeros(c, '1')} THEN split_part({c}, '.', 1)::int8 END"
        )

    def coord(c: str) -> str:  # NULL: not plain (NaN and infinities fail the range test)
        if int(c[1:]) in sql.typed:
            return c
        return f"CASE WHEN octet_length({c}) <= 40 AND {c} ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN {c}::float8 END"

    def fragment(j: int) -> str:
        c = f"c{j}"
        if j in sql.typed:  # (NaN and infinities fail the tests: the complete rules judge them)
            return (
                f"CASE WHEN {c} IS NULL OR {c} = 0 THEN NULL "
                f"WHEN {c} > 0 AND {c} < 1e15 AND {c} = trunc({c}) THEN {_json_key(layout, j)} || {c}::int8 "
                f"ELSE {_MARK} END"
            )
        return (
            f"CASE WHEN {c} = '0.0' THEN NULL WHEN {c} IS NULL THEN NULL WHEN {c} = '0' THEN NULL "
            f"WHEN octet_length({c}) <= 15 AND {digits_dot_zeros(c, '1')} "
            f"THEN {_json_key(layout, j)} || split_part({c}, '.', 1) ELSE {_MARK} END"
        )

    loc = add("v_loc", ident(f"c{core['location_id']}", True))
    place = add("v_place", ident(f"c{core['place_id']}", False)) if "place_id" in core else "NULL::text"
    texts = {
        fld: add(f"v_{fld}", sql.text(f"c{core[fld]}")) if fld in core else "NULL::text"
        for fld in ("name_en", "name_ar", "governorate", "district")
    }
    pcodes = {fld: add(f"v_{fld}", sql.pcode(f"c{core[fld]}")) if fld in core else "NULL::text" for fld in PCODE_FIELDS}
    lat = add("v_lat", coord(f"c{core['lat']}"))
    lon = add("v_lon", coord(f"c{core['lon']}"))
    fam = add("v_fam", count(f"c{core['families']}"))
    ind = add("v_ind", count(f"c{core['individuals']}"))
    frags = {
        kind: add(f"x_{kind}", f"concat_ws(',', {', '.join(fragment(j) for j in layout.breakdown[kind])})")
        for kind in BREAKDOWNS
        if layout.breakdown[kind]
    }
    extra = add("v_extra", _extra_json(layout, sql))
    date = add("v_date", f"c{core['reporting_date']}") if "reporting_date" in core else "NULL::text"

    def bd_json(kind: str) -> str:
        if kind not in frags:
            return "'{}'::jsonb"
        x = frags[kind]
        return (
            f"CASE WHEN {x} = '' THEN '{{}}'::jsonb WHEN strpos({x}, {_MARK}) = 0 THEN ('{{' || {x} || '}}')::jsonb END"
        )

    valid_point = f"abs({lat}) <= 90 AND abs({lon}) <= 180"
    problem = " OR ".join(
        [
            f"{loc} = {_UNCERTAIN}",
            f"{place} = {_UNCERTAIN}",
            *(f"{p} = {_UNCERTAIN}" for p in pcodes.values() if p != "NULL::text"),
            f"NOT coalesce({valid_point}, false)",
            f"{fam} IS NULL",
            f"{ind} IS NULL",
            *(f"strpos({x}, {_MARK}) > 0" for x in frags.values()),
        ]
    )
    values = [
        f"n + {after}",
        loc,
        place,
        texts["name_en"],
        texts["name_ar"],
        f"CASE WHEN {valid_point} THEN {lat} END",
        f"CASE WHEN {valid_point} THEN {lon} END",
        fam,
        ind,
        bd_json("origin"),
        bd_json("shelter"),
        bd_json("period"),
        extra,
        texts["governorate"],
        texts["district"],
        pcodes["admin1_pcode"],
        pcodes["admin2_pcode"],
        pcodes["admin3_pcode"],
        "'{}'",
        "NULL",
        date,
        problem,
    ]
    types = {**STAGE_TYPES, **HELPER_TYPES}
    items = ",\n               ".join(
        f"CAST({v} AS {t}) AS {c}" for v, (c, t) in zip(values, types.items(), strict=True)
    )
    # CREATE TABLE AS, not INSERT: PostgreSQL may compute it with parallel workers
    return f"""
        CREATE TEMP TABLE stage ON COMMIT DROP AS
        SELECT {items}
        FROM (SELECT {", ".join(inner)} FROM {source} WHERE {_keep_sql(layout, sql, fast=True)} OFFSET 0) v
    """


def _extra_json(layout: Layout, sql: Sql) -> str:
    """Unrecognised (and demoted) columns as text, empty cells left out."""
    if not layout.extra:
        return "'{}'::jsonb"
    pairs = [f"{_lit(layout.plan.labels[j])}, {sql.text(f'c{j}')}" for j in layout.extra]
    chunks = [f"jsonb_build_object({', '.join(pairs[i : i + 50])})" for i in range(0, len(pairs), 50)]
    return f"jsonb_strip_nulls({' || '.join(chunks)})"


def stage_sql(layout: Layout, sql: Sql, after: int, source: str) -> str:
    """The complete rules (every issue, message details), for the rows of ``source``."""
    sql, with_stripped = sql.with_stripped(layout.width)
    source = f"(SELECT {with_stripped} FROM {source} OFFSET 0) src"
    core = layout.plan.core
    inner: list[str] = ["n"]
    c = lambda j: f"c{j}"  # noqa: E731

    def add(alias: str, expr: str) -> str:
        inner.append(f"{expr} AS {alias}")
        return alias

    loc = add("v_loc", sql.ident(c(core["location_id"])))
    place = add("v_place", sql.ident(c(core["place_id"]))) if "place_id" in core else None
    texts = {}
    for fld in ("name_en", "name_ar", "governorate", "district"):
        texts[fld] = add(f"v_{fld}", sql.text(c(core[fld]))) if fld in core else "NULL::text"
    pcodes = {}
    for fld in PCODE_FIELDS:
        pcodes[fld] = add(f"v_{fld}", sql.pcode(c(core[fld]))) if fld in core else "NULL::text"
    lat = add("v_lat", sql.coord(core["lat"]))
    lon = add("v_lon", sql.coord(core["lon"]))
    fam = add("v_fam", sql.count(core["families"]))
    ind = add("v_ind", sql.count(core["individuals"]))
    bd: dict[int, str] = {}
    for kind in BREAKDOWNS:
        for j in layout.breakdown[kind]:
            bd[j] = add(f"v_b{j}", sql.count(j))
    extra = add("v_extra", _extra_json(layout, sql))
    date = add("v_date", c(core["reporting_date"])) if "reporting_date" in core else "NULL::text"
    raws = {j: add(f"r{j}", c(j)) for j in (core["lat"], core["lon"], core["families"], core["individuals"], *bd)}

    keep = _keep_sql(layout, sql)

    # breakdown dicts: zeros and flawed cells left out; the last non-zero column of a
    # repeated name wins, as in the parser's dict (and in jsonb's duplicate-key rule)
    def bd_json(kind: str) -> str:
        parts = [f"CASE WHEN {bd[j]} > 0 THEN {_json_key(layout, j)} || {bd[j]} END" for j in layout.breakdown[kind]]
        if not parts:
            return "'{}'::jsonb"
        return f"('{{' || concat_ws(',', {', '.join(parts)}) || '}}')::jsonb"

    # problems: details 'pos:kind:cell' (messages are made in Python) and issue codes
    counts = [(core["families"], fam, True), (core["individuals"], ind, True)] + [(j, bd[j], False) for j in sorted(bd)]
    uncertain = (
        [f"{loc} = {_UNCERTAIN}"]
        + ([f"{place} = {_UNCERTAIN}"] if place else [])
        + [f"{p} = {_UNCERTAIN}" for p in pcodes.values() if p != "NULL::text"]
        + [f"{v} = 'Infinity'" for v in (lat, lon)]
        + [f"{v} = -4" for _, v, _ in counts]
    )
    cell = lambda j: sql.cell(j, raws[j])  # noqa: E731
    details: list[tuple[int, str]] = []
    j = core["location_id"]
    details.append(
        (j, f"CASE WHEN {loc} IS NULL THEN '{j}:missing_id:' WHEN {loc} = {_UNCERTAIN} THEN '{j}:uncertain:' END")
    )
    if place:
        details.append((core["place_id"], f"CASE WHEN {place} = {_UNCERTAIN} THEN '{core['place_id']}:uncertain:' END"))
    for fld in PCODE_FIELDS:
        if fld in core:
            details.append((core[fld], f"CASE WHEN {pcodes[fld]} = {_UNCERTAIN} THEN '{core[fld]}:uncertain:' END"))
    for fld, v, limit in (("lat", lat, 90), ("lon", lon, 180)):
        j = core[fld]
        details.append(
            (
                j,
                f"CASE WHEN {v} IS NULL THEN '{j}:missing_value:' WHEN {v} = 'Infinity' THEN '{j}:uncertain:' "
                f"WHEN {v} = 'NaN' THEN '{j}:coord_nan:' || {cell(j)} "
                f"WHEN abs({v}) > {limit} THEN '{j}:coord_out:' || {cell(j)} END",
            )
        )
    for j, v, required in counts:
        empty = f"'{j}:missing_value:'" if required else "NULL"
        details.append(
            (
                j,
                f"CASE WHEN {v} IS NULL THEN {empty} WHEN {v} >= 0 THEN NULL "
                f"WHEN {v} = -1 THEN '{j}:negative:' || {cell(j)} "
                f"WHEN {v} = -2 THEN '{j}:non_integer:' || {cell(j)} "
                f"WHEN {v} = -3 THEN '{j}:non_numeric:' || {cell(j)} ELSE '{j}:uncertain:' END",
            )
        )
    # numbers pandas does not read as floats ('1,234') make the parser show that column's
    # cells as text in messages: noted as 'textnum' (not an issue)
    for j in sorted({core["lat"], core["lon"], *(j for j, _, _ in counts)} - sql.typed):
        details.append(
            (j, f"CASE WHEN strpos({raws[j]}, ',') > 0 AND {cell(j)} ~ '{_NUM_THOUSANDS}' THEN '{j}:textnum:' END")
        )
    details.sort(key=lambda d: d[0])
    count_vals = ", ".join(v for _, v, _ in counts)
    coord_bad = f"NOT coalesce(abs({lat}) <= 90 AND abs({lon}) <= 180, false)"
    problem = " OR ".join(
        [
            f"{loc} IS NULL",
            *uncertain,
            coord_bad,
            f"{fam} IS NULL",
            f"{ind} IS NULL",
            f"coalesce(least({count_vals}), 0) < 0",
        ]
    )
    coord_issue = (
        f"{lat} = 'NaN' OR {lon} = 'NaN' OR abs({lat}) > 90 AND {lat} <> 'Infinity' "
        f"OR abs({lon}) > 180 AND {lon} <> 'Infinity'"
    )
    codes = [
        ("bad_coordinate", coord_issue),
        ("missing_id", f"{loc} IS NULL"),
        ("missing_value", f"{lat} IS NULL OR {lon} IS NULL OR {fam} IS NULL OR {ind} IS NULL"),
        ("negative", f"-1 = ANY(ARRAY[{count_vals}])"),
        ("non_integer", f"-2 = ANY(ARRAY[{count_vals}])"),
        ("non_numeric", f"-3 = ANY(ARRAY[{count_vals}])"),
        ("uncertain", " OR ".join(uncertain)),
    ]
    issues = (
        "array_remove(ARRAY[" + ", ".join(f"CASE WHEN {cond} THEN '{code}' END" for code, cond in codes) + "], NULL)"
    )
    valid_point = f"abs({lat}) <= 90 AND abs({lon}) <= 180"
    return f"""
        INSERT INTO stage ({", ".join([*STAGE_COLUMNS, *HELPER_TYPES])})
        SELECT n + {after}, {loc}, {place or "NULL::text"}, {texts["name_en"]}, {texts["name_ar"]},
               CASE WHEN {valid_point} THEN {lat} END, CASE WHEN {valid_point} THEN {lon} END,
               CASE WHEN {fam} >= 0 THEN {fam}::integer END, CASE WHEN {ind} >= 0 THEN {ind}::integer END,
               {bd_json("origin")}, {bd_json("shelter")}, {bd_json("period")}, {extra},
               {texts["governorate"]}, {texts["district"]}, {pcodes["admin1_pcode"]}, {pcodes["admin2_pcode"]},
               {pcodes["admin3_pcode"]},
               CASE WHEN {problem} THEN {issues} ELSE '{{}}'::text[] END,
               array_remove(ARRAY[{", ".join(d for _, d in details)}], NULL),
               {date}, false
        FROM (SELECT {", ".join(inner)} FROM {source} WHERE {keep} OFFSET 0) v
    """
