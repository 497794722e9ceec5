"""Fast staging of CSV master lists: the file goes into PostgreSQL as it is, casts happen in SQL.

``rounds.import_masterlist`` stages a master list into the temp table ``stage`` (one row per
source row; see ``STAGE_COLUMNS``) before placement and aggregation.  The Python path
(``masterlist.parse_masterlist`` + ``COPY`` of one tuple per record) builds a dict per row
and costs ~20 us per row; this module builds the *same* ``stage`` for plain CSV files at
a few microseconds per row:

1. Only the header is read in Python, with the parser's own header planner
   (``decode.csv_preview`` and ``header.plan_header``), so columns are recognised
   exactly as the parser recognises them.
2. The bytes after the header are streamed with ``COPY fast_raw_<backend pid> FROM STDIN
   (FORMAT csv)`` into a table of the import transaction (``raw_table``) whose
   identity column numbers the data lines (UTF-8 files go through
   untouched; other encodings are decoded with the parser's ``decode_text`` and re-encoded).
   Latitude, longitude, families and individuals are float8 columns: COPY's float8in
   reads them (correctly rounded, as ``float()``); a cell it refuses -- or reads where the
   parser would not (hexadecimal, 'nan') -- and the file is copied again with text columns
   only.  While streaming, Python checks with C-speed byte scans what could make
   PostgreSQL's CSV reading differ from pandas': quotes that do not wrap whole fields,
   quoted cells over several lines, the ``\\.`` end-of-data line, lone carriage returns,
   and lines where a cell starts or ends with whitespace other than spaces (NBSP, tab...).
3. A fast ``CREATE TEMP TABLE stage AS SELECT`` (parallel workers compute it) handles the
   common case -- plain cells: '13.0',
   '0.0', '1101001.0', '37.09' -- in a few cheap tests per cell, and marks every row with
   any other cell (empty required value, text, negative, fraction, thousands separator,
   exponent, padding, odd whitespace, ...) as a problem row.  Problem rows are deleted and
   computed again by a second statement with the complete rules: the same numbers, issue
   codes and messages as the parser (``stage_sql``).  Cells even those rules cannot read
   exactly (exotic digits, huge exponents, ...) make the whole file fall back.
4. Whole-column decisions the parser makes after reading (leading index column, trailing
   empty unnamed columns, breakdown columns that are mostly text, the most common date,
   duplicate ids) are small follow-up queries; row issues are counted in SQL and the first
   ``ISSUE_LIMIT`` are turned into ``RowIssue``s with the parser's message texts.

Anything the fast path cannot take exactly (XLSX, long format, ragged or multi-line rows,
broken encodings, odd quoting, uncertain cells, and every file-level error) makes
``stage_csv_fast`` return ``None`` after rolling back to its savepoint: the import
transaction is untouched and the caller uses the Python path, which also produces the
error messages.

Three rooms: ``fast_copy`` (steps 1-2: header, streaming COPY and its byte checks),
``fast_plan`` (step 3: the SQL expressions and statements) and this module (the whole run,
step 4, and the result).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, text

from service.core.bulk import raw
from service.figures.placement import DUPLICATE_IDS, find_duplicate_ids
from service.ingest.fast_copy import (
    FastStageUnavailable,
    Header,
    StreamStats,
    TypedRefused,
    copy_raw,
    raw_table,
    read_header,
)
from service.ingest.fast_plan import Layout, Sql, categories, fast_sql, stage_sql
from service.ingest.stage import (
    BREAKDOWNS,
    CodeColumn,
    RowIssue,
    is_index_column,
    issue_code,
    issue_message,
    parse_date,
    reporting_date,
    show_cell,
)

__all__ = [
    "FastStageResult",
    "FastStageUnavailable",
    "stage_csv",
    "stage_csv_fast",
]


ISSUE_LIMIT = 1000  # row issues returned with the result (all are counted)


@dataclass
class FastStageResult:
    file: str
    population: str
    format: str  # 'dtm-wide' | 'hxl'
    reporting_date: dt.date | None
    rows: int
    columns_found: list[str]
    issues: list[RowIssue]  # the first ISSUE_LIMIT, ordered by line and column
    issue_count: int
    issue_counts: dict[str, int]
    sheet: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)  # typed COPY or not, rows recomputed, ...
    code_columns: list[CodeColumn] = field(default_factory=list)  # declared P-code columns
    categories: dict[str, list[str]] | None = None  # the keys the breakdown documents may hold (fast_plan.categories)


# --------------------------------------------------------------------------- whole-column decisions


def _trailing_and_index(conn: Connection, h: Header, sql: Sql, width: int) -> int:
    """The parser's post-read plan changes (trailing empty unnamed columns, leading index
    column); returns the number of columns kept."""
    plan = h.plan
    table = raw_table(conn)
    while width > 1 and not plan.names[-1]:
        j = width - 1
        if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {sql.filled(f'c{j}')})")).scalar():
            break
        width -= 1
        plan.drop_last()
    if plan.may_have_index_column():
        odd = (
            conn.execute(
                text(rf"SELECT DISTINCT c0 FROM {table} WHERE c0 IS NOT NULL AND c0 !~ '^[0-9]*(\.0*)?$' LIMIT 1000")
            )
            .scalars()
            .all()
        )
        values = np.array([v.strip() for v in odd], dtype=object)
        is_index = is_index_column(values)
        if is_index and len(odd) >= 1000:
            raise FastStageUnavailable("index column check needs every value")
        if is_index:
            plan.ignore_index_column()
    return width


def _layout(h: Header, width: int, demoted: set[int]) -> Layout:
    plan = h.plan
    skip = plan.blank_row_exempt()
    breakdown = {k: [j for j in plan.breakdown[k] if j not in demoted] for k in BREAKDOWNS}
    return Layout(plan, width, breakdown, sorted(set(plan.extra) | demoted), skip)


def _shown(cell: str, as_float: bool) -> str:
    """The cell as the parser shows it: as a float where it read the column as floats."""
    if as_float:
        try:
            return show_cell(float(cell))
        except ValueError:
            pass
    return show_cell(cell)


def _reporting_date(conn: Connection, h: Header) -> tuple[dt.date | None, list[str]]:
    """The most common parsed date (ties: the earliest line), and the raw values that are
    not dates."""
    if "reporting_date" not in h.plan.core:
        return None, []
    rows = conn.execute(text("SELECT _date, count(*), min(source_row) FROM stage GROUP BY _date")).all()
    per_date: dict[dt.date, tuple[int, int]] = {}
    bad = []
    for raw_value, n, first in rows:
        value = (raw_value or "").strip()
        if not value:
            continue
        d = parse_date(value)
        if d is None:
            bad.append(raw_value)
            continue
        seen, seen_first = per_date.get(d, (0, first))
        per_date[d] = (seen + n, min(seen_first, first))
    return reporting_date(per_date), bad


def _add_issue(conn: Connection, where: str, code: str, detail_sql: str, params: dict) -> None:
    conn.execute(
        text(f"""
        UPDATE stage s SET
          issues = ARRAY(SELECT DISTINCT i COLLATE "C" FROM unnest(s.issues || '{code}'::text) i ORDER BY 1),
          _detail = coalesce(s._detail, '{{}}') || ({detail_sql})
        {where}
    """),
        params,
    )


# --------------------------------------------------------------------------- entry point


def stage_csv_fast(conn: Connection, path: str | PathLike[str], population: str, **options) -> FastStageResult | None:
    """Build the ``stage`` temp table for a CSV master list with COPY + set-based SQL.

    Runs inside the caller's transaction, under a savepoint.  Returns ``None`` -- the
    savepoint rolled back, nothing left behind -- when the file needs the Python parser:
    XLSX, long format, ragged or multi-line rows, broken encodings, odd quoting, cells whose
    reading is uncertain, and every whole-file error (the parser then raises it with its
    own message).  ``stage_csv`` does the same but says why, with FastStageUnavailable;
    ``options`` are its keyword arguments.
    """
    try:
        return stage_csv(conn, path, population, **options)
    except FastStageUnavailable:
        return None


def stage_csv(
    conn: Connection,
    path: str | PathLike[str],
    population: str,
    *,
    encoding: str | None = None,
    max_bytes: int | None = None,
    file_name: str | None = None,
) -> FastStageResult:
    """``stage_csv_fast`` that raises FastStageUnavailable(reason) instead of returning None."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    path = Path(path)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    h = read_header(path, file_name or path.name, population, encoding, max_bytes)
    timings["header_s"] = time.perf_counter() - t
    if raw(conn).info.encoding != "utf-8":
        raise FastStageUnavailable("client encoding is not UTF-8")
    width = len(h.plan.names)
    core = h.plan.core
    typed = frozenset(core[f] for f in ("lat", "lon", "families", "individuals")) | frozenset(
        j for kind in BREAKDOWNS for j in h.plan.breakdown[kind]
    )
    refused = (psycopg.errors.InvalidTextRepresentation, psycopg.errors.NumericValueOutOfRange)
    try:
        with conn.begin_nested():
            # First with lat/lon/families/individuals read by COPY itself (float8in: fast,
            # correctly rounded like float()); a cell it refuses, or reads differently from
            # the parser (hexadecimal, NaN), and everything is done again with text columns.
            try:
                with conn.begin_nested():
                    result = _copy_and_build(conn, h, width, typed, timings)
                    result.notes["typed_copy"] = True
                    return result
            except (TypedRefused, *refused, DBAPIError) as exc:
                if isinstance(exc, DBAPIError) and not isinstance(exc.orig, refused):
                    raise
                timings = {k: v for k, v in timings.items() if k == "header_s"}
                result = _copy_and_build(conn, h, width, frozenset(), timings)
                result.notes["typed_copy_refused"] = (
                    str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
                )
                return result
    except (psycopg.Error, DBAPIError) as exc:
        # COPY refusing the data (ragged rows, invalid UTF-8, NUL, ...) or a cast the
        # guards let through: the savepoint is rolled back, the Python path takes over.
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise FastStageUnavailable(f"PostgreSQL refused: {first[0] if first else type(exc).__name__}") from exc


def _copy_and_build(conn: Connection, h: Header, width: int, typed: frozenset[int], timings: dict) -> FastStageResult:
    t = time.perf_counter()
    n_raw, stats = copy_raw(conn, h, width, typed)
    timings["copy_s"] = time.perf_counter() - t
    expected = stats.lines + (0 if stats.ends_with_newline else 1)
    if n_raw == 0:
        raise FastStageUnavailable("no data rows")
    if n_raw != expected:
        raise FastStageUnavailable("a quoted cell spans lines (line numbers would shift)")
    return _build_stage(conn, h, width, stats, typed, timings)


def _build_stage(
    conn: Connection, h: Header, width: int, stats: StreamStats, typed: frozenset[int], timings: dict[str, float]
) -> FastStageResult:
    sql = Sql(stats.odd_whitespace, typed)  # the fast query: spaces-only strip unless needed
    full_sql = Sql(True, typed)  # problem rows, whole-column checks: exactly str.strip()
    plan = h.plan
    table = raw_table(conn)
    notes: dict[str, object] = {
        "typed_copy": False,
        "odd_whitespace": stats.odd_whitespace,
        "odd_whitespace_lines": len(stats.odd_lines),
    }
    t = time.perf_counter()
    width = _trailing_and_index(conn, h, full_sql, width)
    timings["columns_s"] = time.perf_counter() - t

    t = time.perf_counter()
    demoted: set[int] = set()
    while True:
        layout = _layout(h, width, demoted)
        t1 = time.perf_counter()
        conn.execute(text("DROP TABLE IF EXISTS pg_temp.stage"))
        rows = conn.execute(text(fast_sql(layout, sql, h.after, table))).rowcount
        timings["insert_s"] = time.perf_counter() - t1
        if rows == 0:
            raise FastStageUnavailable("no data rows (only blank rows)")
        # rows with any non-plain cell: again, with the complete rules (most files have none:
        # no table of them then)
        problems = 0
        if stats.odd_lines or conn.execute(text("SELECT EXISTS (SELECT FROM stage WHERE _problem)")).scalar():
            problems = conn.execute(
                text(
                    f"CREATE TEMP TABLE fast_problem ON COMMIT DROP AS SELECT source_row - {h.after} AS n "
                    f"FROM stage WHERE _problem UNION SELECT unnest(CAST(:odd AS integer[]))"
                ),
                {"odd": sorted(stats.odd_lines)},
            ).rowcount
            if problems:
                conn.execute(
                    text(
                        f"ANALYZE fast_problem; DELETE FROM stage "
                        f"WHERE source_row - {h.after} IN (SELECT n FROM fast_problem)"
                    )
                )
                conn.execute(text(stage_sql(layout, full_sql, h.after, f"{table} JOIN fast_problem USING (n)")))
            conn.execute(text("DROP TABLE fast_problem"))
        notes["problem_rows"] = problems
        t1 = time.perf_counter()
        kinds = conn.execute(
            text(
                "SELECT split_part(d, ':', 1)::int AS pos, split_part(d, ':', 2) AS kind, count(*), "
                "       bool_or(lower(split_part(d, ':', 3)) NOT IN "
                "               ('inf', '+inf', '-inf', 'infinity', '+infinity', '-infinity')) AS texty "
                "FROM stage, unnest(_detail) d WHERE _detail IS NOT NULL GROUP BY 1, 2"
            )
        ).all()
        timings["kinds_s"] = time.perf_counter() - t1
        uncertain = {pos for pos, kind, _, _ in kinds if kind == "uncertain"}
        if uncertain & typed:
            raise TypedRefused("NaN in a float8 column: the parser reads 'nan' as text")
        if uncertain:
            raise FastStageUnavailable("cells whose reading needs the Python parser")
        # breakdown columns that are mostly text are not counts (records.build_records)
        bad = Counter({pos: n for pos, kind, n, _ in kinds if kind == "non_numeric" and pos in _bd_positions(layout)})
        newly = set()
        for pos, n_bad in bad.items():
            filled = conn.execute(
                text(
                    f"SELECT count(*) FROM stage s JOIN {table} r ON r.n = s.source_row - {h.after} "
                    f"WHERE {full_sql.filled(f'r.c{pos}')}"
                )
            ).scalar()
            if filled and n_bad * 2 > filled:
                newly.add(pos)
        if not newly:
            break
        demoted |= newly
    timings["cast_s"] = time.perf_counter() - t

    t = time.perf_counter()
    counts: Counter[str] = Counter()
    for _pos, kind, n, _ in kinds:
        if kind != "textnum":
            counts[issue_code(kind)] += n
    reporting_date, bad_dates = _reporting_date(conn, h)
    if bad_dates:
        j = plan.core["reporting_date"]
        _add_issue(
            conn,
            "WHERE s._date = ANY(:bad)",
            "bad_date",
            f"ARRAY['{j}:bad_date:' || {full_sql.strip('s._date')}]",
            {"bad": bad_dates},
        )
        counts["bad_date"] += conn.execute(
            text("SELECT count(*) FROM stage WHERE _date = ANY(:bad)"), {"bad": bad_dates}
        ).scalar()
    find_duplicate_ids(conn)
    dups = conn.execute(
        text(
            "SELECT location_id, array_agg(source_row ORDER BY source_row) FROM stage "
            f"WHERE location_id IN (SELECT location_id FROM {DUPLICATE_IDS}) GROUP BY 1"
        )
    ).all()
    if dups:
        later, first = [], []
        for _id, lines in dups:
            later += lines[1:]
            first += [lines[0]] * (len(lines) - 1)
        j = plan.core["location_id"]
        _add_issue(
            conn,
            "FROM unnest(CAST(:r AS int[]), CAST(:f AS int[])) u(r, f) WHERE s.source_row = u.r",
            "duplicate_id",
            f"ARRAY['{j}:duplicate_id:' || u.f]",
            {"r": later, "f": first},
        )
        counts["duplicate_id"] += len(later)
    timings["checks_s"] = time.perf_counter() - t

    t = time.perf_counter()
    issues = _row_issues(conn, h, layout, kinds)
    conn.execute(text("ALTER TABLE stage DROP COLUMN _detail, DROP COLUMN _date, DROP COLUMN _problem"))
    conn.execute(text(f"DROP TABLE {table}"))
    timings["issues_s"] = time.perf_counter() - t
    return FastStageResult(
        file=h.file,
        population=h.population,
        format=plan.fmt,
        reporting_date=reporting_date,
        rows=rows,
        columns_found=list(plan.names),
        issues=issues,
        issue_count=sum(counts.values()),
        issue_counts=dict(counts),
        timings=timings,
        notes=notes,
        code_columns=plan.code_columns(),
        categories=categories(layout),
    )


def _bd_positions(layout: Layout) -> set[int]:
    return {j for kind in BREAKDOWNS for j in layout.breakdown[kind]}


def _row_issues(conn: Connection, h: Header, layout: Layout, kinds) -> list[RowIssue]:
    """The first ISSUE_LIMIT issues, ordered like the parser's (line, column)."""
    plan = h.plan
    rows = conn.execute(
        text(
            "SELECT source_row, location_id, _detail FROM stage WHERE cardinality(issues) > 0 "
            "ORDER BY source_row LIMIT :n"
        ),
        {"n": ISSUE_LIMIT},
    ).all()
    # a count column the parser read as floats shows its values as floats in messages
    text_cols = {
        pos for pos, kind, _n, texty in kinds if kind in ("non_numeric", "coord_nan") and texty or kind == "textnum"
    }
    limits = {plan.core["lat"]: 90.0, plan.core["lon"]: 180.0}
    out: list[RowIssue] = []
    for line, loc_id, detail in rows:
        entries = []
        for d in detail:
            pos_s, kind, cell = d.split(":", 2)
            entries.append((int(pos_s), kind, cell))
        entries.sort(key=lambda e: e[0])
        for pos, kind, cell in entries:
            if kind == "textnum":
                continue
            label = plan.labels[pos]
            msg = issue_message(
                kind,
                label,
                _shown(cell, pos not in text_cols),
                limit=limits.get(pos),
                location_id=loc_id,
                first_line=cell,
            )
            out.append(RowIssue(line, label, issue_code(kind), msg))
            if len(out) >= ISSUE_LIMIT:
                return out
    return out
