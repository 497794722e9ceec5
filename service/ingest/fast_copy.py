"""The fast path's reading: the header of a CSV master list, planned by the parser's own
header planner, and the data lines streamed into PostgreSQL with ``COPY ... FROM STDIN``
while C-speed byte scans check for whatever PostgreSQL's CSV reading would take differently
from the parser's (see ``fast_stage`` for the whole path).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, text

from service.core.bulk import raw
from service.ingest.decode import csv_preview, decode_text, line_offset
from service.ingest.header import PREVIEW_RECORDS, normalise_population, plan_header
from service.ingest.stage import ColumnPlan, MasterlistError

_HEAD_BYTES = 1 << 20  # first read: the header and the parser's preview records
_MAX_HEAD_BYTES = 16 << 20
_BLOCK = 4 << 20  # COPY chunk


def raw_table(conn: Connection) -> str:
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


# --------------------------------------------------------------------------- header


@dataclass
class Header:
    path: Path
    file: str
    population: str
    plan: ColumnPlan
    after: int  # physical lines before the data (header, tag row, title rows)
    delimiter: str
    data_offset: int | None  # byte offset of the data (UTF-8 files streamed as they are)
    text: str | None  # decoded text (other encodings: re-encoded while streaming)
    size: int


def read_header(path: Path, file: str, population: str, encoding: str | None, max_bytes: int | None) -> Header:
    """The parser's header logic on the first bytes of the file."""
    if path.suffix.lower() != ".csv":
        raise FastStageUnavailable("not a .csv file")
    try:
        pop = normalise_population(population, file)
    except MasterlistError:
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
        while len(head) < size and head.count(b"\n") <= PREVIEW_RECORDS + 1:
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
            text_all, _ = decode_text(path.read_bytes(), file, encoding)
        except MasterlistError:
            raise FastStageUnavailable("cannot decode") from None
        head_text = text_all
        complete = True

    if "\x00" in head_text:
        raise FastStageUnavailable("NUL bytes")
    if "\r" in head_text and "\n" not in head_text:
        raise FastStageUnavailable("classic Mac line endings")
    # The parser's delimiter, preview, header / tag row and column plan.
    try:
        delim, preview = csv_preview(head_text, file)
    except MasterlistError:
        raise FastStageUnavailable("malformed CSV in the header") from None
    if not complete and preview and preview[-1].end >= head_text.count("\n"):
        raise FastStageUnavailable("preview runs past the head")
    try:
        head_plan = plan_header(preview, pop, file)
    except MasterlistError:
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
    return Header(path, file, pop, plan, after, delim, offset, text_all, size)


# --------------------------------------------------------------------------- streaming

WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())  # what str.strip() strips
# Whitespace to str.strip() other than ' ' and the line ends, as UTF-8.
_ODD_WS = tuple(c.encode() for c in WHITESPACE if c not in " \n\r")
_QUOTED = re.compile(rb'"[^"\n]*"')  # a quoted part on one line ('"a""b"': two, adjacent)
_LONE_CR = re.compile(rb"\r(?!\n)")
_ODD_WS_LEAD = tuple({bytes([w[0]]) for w in _ODD_WS})
_ODD_WS_ANY = re.compile(b"|".join(re.escape(w) for w in _ODD_WS))  # (no sequence is a prefix of another)
# the bytes that never call for a closer look at a block (deleted before scanning what is left)
_PLAIN_BYTES = bytes(b for b in range(256) if bytes([b]) not in (b'"', b"\r", b"\\", b"x", b"X", *_ODD_WS_LEAD))
_END_MARKER = re.compile(rb"(?:^|\n)\\\.\r?(?:\n|$)")


@dataclass
class StreamStats:
    lines: int = 0  # b'\n' count
    ends_with_newline: bool = True
    odd_whitespace: bool = False  # strip like str.strip() everywhere (else only on odd_lines)
    odd_lines: set[int] = field(default_factory=set)  # data lines with a cell edged by NBSP & co
    bytes: int = 0


def _byte_chunks(h: Header) -> Iterator[bytes]:
    if h.text is None:
        with open(h.path, "rb") as fh:
            fh.seek(h.data_offset or 0)
            while chunk := fh.read(_BLOCK):
                yield chunk
    else:
        data = h.text[line_offset(h.text, h.after) :]
        for i in range(0, len(data), _BLOCK):
            yield data[i : i + _BLOCK].encode("utf-8")


def _check_block(block: bytes, delim: bytes, stats: StreamStats, typed: bool = False) -> None:
    """Raise FastStageUnavailable where PostgreSQL's CSV reading could differ from the
    parser's (pandas / csv module) on these complete lines.  C-speed byte scans only."""
    base = stats.lines
    stats.lines += block.count(b"\n")
    stats.bytes += len(block)
    sig = block.translate(None, _PLAIN_BYTES)  # the rare bytes that call for a closer look
    if not sig:
        return
    if typed and (b"x" in sig or b"X" in sig) and (b"0x" in block or b"0X" in block):
        raise TypedRefused("hexadecimal numbers: float8in reads them, float() does not")
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
    # one pass for all the sequences (a search per sequence read a block ~15 times when it
    # holds any U+2xxx character: ~8 ms a file); ``sig`` is what the caller already looked at
    for m in _ODD_WS_ANY.finditer(block):
        p, k = m.span()
        i = p - 1
        while i >= 0 and block[i] == 32:
            i -= 1
        while k < n and block[k] == 32:
            k += 1
        if i < 0 or k >= n or block[i] in edge or block[k] in edge:
            yield p


class TypedRefused(Exception):
    """The typed COPY cannot be used for this file: stage it with all-text columns."""


def copy_raw(conn: Connection, h: Header, width: int, typed: frozenset[int]) -> tuple[int, StreamStats]:
    """COPY the data lines into the raw table (``raw_table``); columns in ``typed`` are float8, so
    PostgreSQL's float8in (correctly rounded, as Python's float()) reads them."""
    cols = ", ".join(f"c{j}" for j in range(width))
    table = raw_table(conn)
    conn.execute(
        text(
            f"CREATE TABLE {table} (n integer GENERATED ALWAYS AS IDENTITY, "
            f"{', '.join(f'c{j} ' + ('float8' if j in typed else 'text') for j in range(width))})"
        )
    )
    delim = h.delimiter
    stats = StreamStats()
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
