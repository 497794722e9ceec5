"""Fast staging of CSV master lists: the file goes into PostgreSQL as it is, casts happen in SQL.

``rounds.import_masterlist`` stages a master list into the temp table ``stage`` (one row per
source row; see ``STAGE_COLUMNS``) before placement and aggregation.  The Python path
(``masterlist.parse_masterlist`` + ``COPY`` of one tuple per record) builds a dict per row
and costs ~20 us per row; this module builds the *same* ``stage`` for plain CSV files at
a few microseconds per row:

1. Only the header is read in Python, with the parser's own header planner
   (``masterlist.csv_preview`` and ``masterlist.plan_header``), so columns are recognised
   exactly as the parser recognises them.
2. The bytes after the header are streamed with ``COPY fast_raw_<backend pid> FROM STDIN
   (FORMAT csv)`` into a table of the import transaction (``_raw_table``) whose
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
   codes and messages as the parser (``_stage_sql``).  Cells even those rules cannot read
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
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, text

from service.core.bulk import raw
from service.figures.placement import DUPLICATE_IDS, find_duplicate_ids
from service.ingest import masterlist as ml
from service.ingest.stage import (
    BREAKDOWNS,
    STAGE_COLUMNS,
    STAGE_TYPES,
    ColumnPlan,
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

_HELPER_TYPES = {"_detail": "text[]", "_date": "text", "_problem": "boolean"}  # the fast path's own columns

ISSUE_LIMIT = 1000  # row issues returned with the result (all are counted)
_HEAD_BYTES = 1 << 20  # first read: the header and the parser's preview records
_MAX_HEAD_BYTES = 16 << 20
_BLOCK = 4 << 20  # COPY chunk


def _raw_table(conn: Connection) -> str:
    """The import's table of raw cells: not TEMP, so that PostgreSQL's parallel workers can
    read it (they never read temp tables); named after the backend, as concurrent imports
    each have their own. Created and dropped inside the import transaction (a rolled-back
    import leaves nothing behind); with ``wal_level = minimal`` (the embedded cluster) its
    rows never reach the WAL. Not UNLOGGED: after a server killed during an import,
    PostgreSQL 15 could not finish its crash recovery over the files of an uncommitted
    unlogged table ("could not create file ...: File exists"; tests/service/test_crash.py).
    It goes in the first schema of the search path: a role that may not create tables
    there gets the Python path (same figures, slower; the import's ``staging`` says why)."""
    return f"fast_raw_{raw(conn).info.backend_pid}"


class FastStageUnavailable(Exception):
    """The file is not one the fast path can stage exactly (the reason is the message)."""


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


# --------------------------------------------------------------------------- header


@dataclass
class _Header:
    path: Path
    file: str
    population: str
    plan: ColumnPlan
    after: int  # physical lines before the data (header, tag row, title rows)
    delimiter: str
    data_offset: int | None  # byte offset of the data (UTF-8 files streamed as they are)
    text: str | None  # decoded text (other encodings: re-encoded while streaming)
    size: int


def _read_header(path: Path, file: str, population: str, encoding: str | None, max_bytes: int | None) -> _Header:
    """The parser's header logic on the first bytes of the file."""
    if path.suffix.lower() != ".csv":
        raise FastStageUnavailable("not a .csv file")
    try:
        pop = ml.normalise_population(population, file)
    except ml.MasterlistError:
        raise FastStageUnavailable("unknown population") from None
    if not path.is_file():
        raise FastStageUnavailable("not a file")
    size = path.stat().st_size
    if size == 0 or (max_bytes is not None and size > max_bytes):
        raise FastStageUnavailable("empty or over the size limit")

    utf8: bool | None = None  # None: decide from the bytes as the parser does
    if encoding:
        try:
            utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
        except LookupError:
            raise FastStageUnavailable("unknown encoding") from None

    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
        while len(head) < size and head.count(b"\n") <= ml.PREVIEW_RECORDS + 1:
            if len(head) >= _MAX_HEAD_BYTES:
                raise FastStageUnavailable("header lines too long")
            head += fh.read(_HEAD_BYTES)
    complete = len(head) >= size
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not utf8:
        raise FastStageUnavailable("UTF-16")

    text_all: str | None = None
    if utf8 is not False:
        # UTF-8 (the usual case): decode the head only; PostgreSQL checks the rest
        # (an invalid byte later makes the COPY fail: the Python path then decodes).
        cut = head if complete else head[: head.rfind(b"\n") + 1]
        try:
            head_text = cut.decode("utf-8")
        except UnicodeDecodeError:
            if utf8:
                raise FastStageUnavailable("not valid UTF-8") from None
            utf8 = False
        else:
            utf8 = True
            head_text = head_text.removeprefix("\ufeff")
    if not utf8:
        try:
            text_all, _ = ml.decode_text(path.read_bytes(), file, encoding)
        except ml.MasterlistError:
            raise FastStageUnavailable("cannot decode") from None
        head_text = text_all
        complete = True

    if "\x00" in head_text:
        raise FastStageUnavailable("NUL bytes")
    if "\r" in head_text and "\n" not in head_text:
        raise FastStageUnavailable("classic Mac line endings")
    # The parser's delimiter, preview, header / tag row and column plan.
    try:
        delim, preview = ml.csv_preview(head_text, file)
    except ml.MasterlistError:
        raise FastStageUnavailable("malformed CSV in the header") from None
    if not complete and preview and preview[-1].end >= head_text.count("\n"):
        raise FastStageUnavailable("preview runs past the head")
    try:
        head_plan = ml.plan_header(preview, pop, file)
    except ml.MasterlistError:
        raise FastStageUnavailable("header refused (the parser gives the message)") from None
    plan, after = head_plan.plan, head_plan.after
    if plan.fmt == "long":
        raise FastStageUnavailable("long format")

    offset = None
    if utf8:
        offset = 0
        for _ in range(after):
            nl = head.find(b"\n", offset)
            if nl < 0:
                raise FastStageUnavailable("no data after the header")
            offset = nl + 1
    return _Header(path, file, pop, plan, after, delim, offset, text_all, size)


# --------------------------------------------------------------------------- streaming

_WS = "".join(c for c in map(chr, range(0x110000)) if c.isspace())  # what str.strip() strips
# Whitespace to str.strip() other than ' ' and the line ends, as UTF-8.
_ODD_WS = tuple(c.encode() for c in _WS if c not in " \n\r")
_QUOTED = re.compile(rb'"[^"\n]*"')  # a quoted part on one line ('"a""b"': two, adjacent)
_LONE_CR = re.compile(rb"\r(?!\n)")
_ODD_WS_LEAD = tuple({bytes([w[0]]) for w in _ODD_WS})
# the bytes that never call for a closer look at a block (deleted before scanning what is left)
_PLAIN_BYTES = bytes(b for b in range(256) if bytes([b]) not in (b'"', b"\r", b"\\", b"x", b"X", *_ODD_WS_LEAD))
_END_MARKER = re.compile(rb"(?:^|\n)\\\.\r?(?:\n|$)")


@dataclass
class _StreamStats:
    lines: int = 0  # b'\n' count
    ends_with_newline: bool = True
    odd_whitespace: bool = False  # strip like str.strip() everywhere (else only on odd_lines)
    odd_lines: set[int] = field(default_factory=set)  # data lines with a cell edged by NBSP & co
    bytes: int = 0


def _byte_chunks(h: _Header) -> Iterator[bytes]:
    if h.text is None:
        with open(h.path, "rb") as fh:
            fh.seek(h.data_offset or 0)
            while chunk := fh.read(_BLOCK):
                yield chunk
    else:
        data = h.text[ml.line_offset(h.text, h.after) :]
        for i in range(0, len(data), _BLOCK):
            yield data[i : i + _BLOCK].encode("utf-8")


def _check_block(block: bytes, delim: bytes, stats: _StreamStats, typed: bool = False) -> None:
    """Raise FastStageUnavailable where PostgreSQL's CSV reading could differ from the
    parser's (pandas / csv module) on these complete lines.  C-speed byte scans only."""
    base = stats.lines
    stats.lines += block.count(b"\n")
    stats.bytes += len(block)
    sig = block.translate(None, _PLAIN_BYTES)  # the rare bytes that call for a closer look
    if not sig:
        return
    if typed and (b"x" in sig or b"X" in sig) and (b"0x" in block or b"0X" in block):
        raise _TypedRefused("hexadecimal numbers: float8in reads them, float() does not")
    if b'"' in sig:
        # Quotes must wrap whole fields ('"a, b"', '"say ""hi"""'): PostgreSQL also treats
        # a quote inside a field as opening a quoted part, pandas keeps it as a character.
        marked = _QUOTED.sub(b"\x00", block)
        if b'"' in marked:
            raise FastStageUnavailable("unbalanced quotes, or a quoted cell over several lines")
        after, before = _quote_edges(delim)
        if after.search(marked) or before.search(marked[::-1]):
            raise FastStageUnavailable("a quote inside a field")
    if b"\\" in sig and _END_MARKER.search(block):
        raise FastStageUnavailable(r"a '\.' line (COPY's end-of-data marker)")
    if b"\r" in sig and _LONE_CR.search(block):
        raise FastStageUnavailable("carriage return inside a line")
    if delim == b"\t" or len(stats.odd_lines) > 10_000:
        stats.odd_whitespace = True
    if not stats.odd_whitespace and any(b in sig for b in _ODD_WS_LEAD):
        stats.odd_lines.update(base + block.count(b"\n", 0, p) + 1 for p in _odd_ws_at_edge(block, delim, sig))


_QUOTE_EDGES: dict[bytes, tuple[re.Pattern, re.Pattern]] = {}


def _quote_edges(delim: bytes) -> tuple[re.Pattern, re.Pattern]:
    """Patterns for a quoted part (marked NUL) not followed / not preceded (searched in the
    reversed block) by the delimiter, a line end or another quoted part (the doubled quote
    of '"a""b"'); both start with the literal NUL: fast."""
    if delim not in _QUOTE_EDGES:
        d = re.escape(delim)
        _QUOTE_EDGES[delim] = (
            re.compile(rb"\x00(?:[^\x00" + d + rb"\r\n]|\r(?!\n))"),
            re.compile(rb"\x00[^\x00" + d + rb"\n]"),
        )
    return _QUOTE_EDGES[delim]


def _odd_ws_at_edge(block: bytes, delim: bytes, sig: bytes) -> Iterator[int]:
    """Positions of whitespace other than spaces (NBSP, tab, ...) that may start or end a
    cell: SQL must strip those cells like str.strip() (slower, so only on their lines).
    Such characters inside a cell ('Al<NBSP>Hay') do not matter.  An edge: next to the
    delimiter, a quote, a line end (spaces skipped)."""
    edge = (delim[0], ord('"'), ord("\n"), ord("\r"))
    n = len(block)
    for seq in _ODD_WS:
        if seq[:1] not in sig:
            continue
        p = block.find(seq)
        while p >= 0:
            i = p - 1
            while i >= 0 and block[i] == 32:
                i -= 1
            k = p + len(seq)
            while k < n and block[k] == 32:
                k += 1
            if i < 0 or k >= n or block[i] in edge or block[k] in edge:
                yield p
            p = block.find(seq, p + len(seq))


class _TypedRefused(Exception):
    """The typed COPY cannot be used for this file: stage it with all-text columns."""


def _copy_raw(conn: Connection, h: _Header, width: int, typed: frozenset[int]) -> tuple[int, _StreamStats]:
    """COPY the data lines into the raw table (``_raw_table``); columns in ``typed`` are float8, so
    PostgreSQL's float8in (correctly rounded, as Python's float()) reads them."""
    cols = ", ".join(f"c{j}" for j in range(width))
    table = _raw_table(conn)
    conn.execute(
        text(
            f"CREATE TABLE {table} (n integer GENERATED ALWAYS AS IDENTITY, "
            f"{', '.join(f'c{j} ' + ('float8' if j in typed else 'text') for j in range(width))})"
        )
    )
    delim = h.delimiter
    stats = _StreamStats()
    d = delim.encode()
    opts = "FORMAT csv" + ("" if delim == "," else ", DELIMITER E'\\t'" if delim == "\t" else ", DELIMITER ';'")
    if typed:  # a quoted empty cell is empty, as an unquoted one
        opts += f", FORCE_NULL ({', '.join(f'c{j}' for j in sorted(typed))})"
    from psycopg.copy import QueuedLibpqWriter

    with raw(conn).cursor() as cur:
        # a writer thread sends while this one reads and checks the next block
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN ({opts})", writer=QueuedLibpqWriter(cur)) as cp:
            rest = b""
            for chunk in _byte_chunks(h):
                buf = rest + chunk if rest else chunk
                cut = buf.rfind(b"\n") + 1
                if cut == 0:
                    rest = buf
                    continue
                block, rest = buf[:cut], buf[cut:]
                _check_block(block, d, stats, bool(typed))
                cp.write(block)
            if rest:
                stats.ends_with_newline = False
                _check_block(rest, d, stats, bool(typed))
                cp.write(rest)
        n = cur.rowcount
    return n, stats


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


class _Sql:
    """SQL expressions over the text columns ``c0..cN`` of the raw table."""

    def __init__(self, odd_whitespace: bool, typed: frozenset[int] = frozenset()) -> None:
        ws = "".join(f"\\u{ord(c):04x}" for c in _WS)
        self.ws = f"E'{ws}'" if odd_whitespace else None
        self.typed = typed  # float8 columns (the typed COPY read them)

    def cell(self, j: int, col: str | None = None) -> str:
        """The cell as text, for messages."""
        c = col or f"c{j}"
        return f"({c})::text" if j in self.typed else self.strip(c)

    def strip(self, c: str) -> str:
        return f"btrim({c}, {self.ws})" if self.ws else f"btrim({c})"

    def text(self, c: str) -> str:
        return f"nullif({self.strip(c)}, '')"

    def filled(self, c: str) -> str:
        return f"({c} IS NOT NULL AND {self.strip(c)} <> '')"

    def pcode(self, c: str) -> str:
        s = self.text(c)
        return f"CASE WHEN {s} ~ '^[ -~]*$' THEN upper({s} COLLATE \"C\") WHEN {s} IS NOT NULL THEN {_UNCERTAIN} END"

    def ident(self, c: str) -> str:
        """masterlist._norm_id of the stripped cell ('' -> NULL)."""
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
class _Layout:
    """What goes where: positions of the plan after the whole-column decisions."""

    plan: ColumnPlan
    width: int  # columns in the raw table
    breakdown: dict[str, list[int]]
    extra: list[int]
    skip: set[int]  # not looked at for blank rows (index column, date column)


def _keep_sql(layout: _Layout, sql: _Sql, fast: bool = False) -> str:
    """The parser's blank-row rule: a row is kept when a cell other than the index and the
    date column is filled (the id column first: it decides almost every row).  ``fast``:
    a cell whose first byte is above ' ' counts as filled without trimming it -- a cell
    that is only NBSP & co. then too, but its line is recomputed with the complete rules
    (``_StreamStats.odd_lines``)."""
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


def _json_key(layout: _Layout, j: int) -> str:
    """'"Anbar":' for a breakdown column (the parser's dict key: name, else label)."""
    return _lit(json.dumps(layout.plan.names[j] or layout.plan.labels[j], ensure_ascii=False) + ":")


_MARK = "E'\\u0001'"  # a flawed breakdown cell in the fast query's JSON fragments


def _fast_sql(layout: _Layout, sql: _Sql, after: int, source: str) -> str:
    """Every kept row, computed for the common case only: plain cells.  A row with any
    other cell (empty required value, negative, fractional, text, exponent, padded, ...)
    gets ``_problem`` and is recomputed by ``_stage_sql`` (the complete rules)."""
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
    pcodes = {
        fld: add(f"v_{fld}", sql.pcode(f"c{core[fld]}")) if fld in core else "NULL::text"
        for fld in ("admin1_pcode", "admin2_pcode")
    }
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
        "'{}'",
        "NULL",
        date,
        problem,
    ]
    types = {**STAGE_TYPES, **_HELPER_TYPES}
    items = ",\n               ".join(
        f"CAST({v} AS {t}) AS {c}" for v, (c, t) in zip(values, types.items(), strict=True)
    )
    # CREATE TABLE AS, not INSERT: PostgreSQL may compute it with parallel workers
    return f"""
        CREATE TEMP TABLE stage ON COMMIT DROP AS
        SELECT {items}
        FROM (SELECT {", ".join(inner)} FROM {source} WHERE {_keep_sql(layout, sql, fast=True)} OFFSET 0) v
    """


def _extra_json(layout: _Layout, sql: _Sql) -> str:
    """Unrecognised (and demoted) columns as text, empty cells left out."""
    if not layout.extra:
        return "'{}'::jsonb"
    pairs = [f"{_lit(layout.plan.labels[j])}, {sql.text(f'c{j}')}" for j in layout.extra]
    chunks = [f"jsonb_build_object({', '.join(pairs[i : i + 50])})" for i in range(0, len(pairs), 50)]
    return f"jsonb_strip_nulls({' || '.join(chunks)})"


def _stage_sql(layout: _Layout, sql: _Sql, after: int, source: str) -> str:
    """The complete rules (every issue, message details), for the rows of ``source``."""
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
    for fld in ("admin1_pcode", "admin2_pcode"):
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
    for fld in ("admin1_pcode", "admin2_pcode"):
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
        INSERT INTO stage ({", ".join([*STAGE_COLUMNS, *_HELPER_TYPES])})
        SELECT n + {after}, {loc}, {place or "NULL::text"}, {texts["name_en"]}, {texts["name_ar"]},
               CASE WHEN {valid_point} THEN {lat} END, CASE WHEN {valid_point} THEN {lon} END,
               CASE WHEN {fam} >= 0 THEN {fam}::integer END, CASE WHEN {ind} >= 0 THEN {ind}::integer END,
               {bd_json("origin")}, {bd_json("shelter")}, {bd_json("period")}, {extra},
               {texts["governorate"]}, {texts["district"]}, {pcodes["admin1_pcode"]}, {pcodes["admin2_pcode"]},
               CASE WHEN {problem} THEN {issues} ELSE '{{}}'::text[] END,
               array_remove(ARRAY[{", ".join(d for _, d in details)}], NULL),
               {date}, false
        FROM (SELECT {", ".join(inner)} FROM {source} WHERE {keep} OFFSET 0) v
    """


# --------------------------------------------------------------------------- whole-column decisions


def _trailing_and_index(conn: Connection, h: _Header, sql: _Sql, width: int) -> int:
    """The parser's post-read plan changes (trailing empty unnamed columns, leading index
    column); returns the number of columns kept."""
    plan = h.plan
    table = _raw_table(conn)
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


def _layout(h: _Header, width: int, demoted: set[int]) -> _Layout:
    plan = h.plan
    skip = plan.blank_row_exempt()
    breakdown = {k: [j for j in plan.breakdown[k] if j not in demoted] for k in BREAKDOWNS}
    return _Layout(plan, width, breakdown, sorted(set(plan.extra) | demoted), skip)


def _shown(cell: str, as_float: bool) -> str:
    """The cell as the parser shows it: as a float where it read the column as floats."""
    if as_float:
        try:
            return show_cell(float(cell))
        except ValueError:
            pass
    return show_cell(cell)


def _reporting_date(conn: Connection, h: _Header) -> tuple[dt.date | None, list[str]]:
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
    h = _read_header(path, file_name or path.name, population, encoding, max_bytes)
    timings["header_s"] = time.perf_counter() - t
    if raw(conn).info.encoding != "utf-8":
        raise FastStageUnavailable("client encoding is not UTF-8")
    width = len(h.plan.names)
    core = h.plan.core
    typed = frozenset(core[f] for f in ("lat", "lon", "families", "individuals"))
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
            except (_TypedRefused, *refused, DBAPIError) as exc:
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


def _copy_and_build(conn: Connection, h: _Header, width: int, typed: frozenset[int], timings: dict) -> FastStageResult:
    t = time.perf_counter()
    n_raw, stats = _copy_raw(conn, h, width, typed)
    timings["copy_s"] = time.perf_counter() - t
    expected = stats.lines + (0 if stats.ends_with_newline else 1)
    if n_raw == 0:
        raise FastStageUnavailable("no data rows")
    if n_raw != expected:
        raise FastStageUnavailable("a quoted cell spans lines (line numbers would shift)")
    return _build_stage(conn, h, width, stats, typed, timings)


def _build_stage(
    conn: Connection, h: _Header, width: int, stats: _StreamStats, typed: frozenset[int], timings: dict[str, float]
) -> FastStageResult:
    sql = _Sql(stats.odd_whitespace, typed)  # the fast query: spaces-only strip unless needed
    full_sql = _Sql(True, typed)  # problem rows, whole-column checks: exactly str.strip()
    plan = h.plan
    table = _raw_table(conn)
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
        rows = conn.execute(text(_fast_sql(layout, sql, h.after, table))).rowcount
        timings["insert_s"] = time.perf_counter() - t1
        if rows == 0:
            raise FastStageUnavailable("no data rows (only blank rows)")
        # rows with any non-plain cell: again, with the complete rules
        problems = conn.execute(
            text(
                f"CREATE TEMP TABLE fast_problem ON COMMIT DROP AS SELECT source_row - {h.after} AS n "
                f"FROM stage WHERE _problem UNION SELECT unnest(CAST(:odd AS integer[]))"
            ),
            {"odd": sorted(stats.odd_lines)},
        ).rowcount
        notes["problem_rows"] = problems
        if problems:
            conn.execute(
                text(
                    f"ANALYZE fast_problem; DELETE FROM stage "
                    f"WHERE source_row - {h.after} IN (SELECT n FROM fast_problem)"
                )
            )
            conn.execute(text(_stage_sql(layout, full_sql, h.after, f"{table} JOIN fast_problem USING (n)")))
        conn.execute(text("DROP TABLE fast_problem"))
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
            raise _TypedRefused("NaN in a float8 column: the parser reads 'nan' as text")
        if uncertain:
            raise FastStageUnavailable("cells whose reading needs the Python parser")
        # breakdown columns that are mostly text are not counts (masterlist._build_records)
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
    )


def _bd_positions(layout: _Layout) -> set[int]:
    return {j for kind in BREAKDOWNS for j in layout.breakdown[kind]}


def _row_issues(conn: Connection, h: _Header, layout: _Layout, kinds) -> list[RowIssue]:
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
