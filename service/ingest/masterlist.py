"""Parser for IOM DTM master lists (IDP and returnee location lists).

Pure Python + pandas, no database.  ``parse_masterlist`` turns one file into a
``ParsedMasterlist``: one plain ``dict`` per location row plus a list of row-level
problems (``RowIssue``).  Whole-file problems raise ``MasterlistError``.

Three input shapes are accepted (see ``docs/formats.md``):

* ``dtm-wide`` -- the master lists as DTM publishes them: one row per location, core
  columns (Location ID, Latitude, Families, ...) followed by one column per governorate of
  origin, per shelter type and per period of displacement.  Column sets change between
  rounds, so columns are recognised by *normalised* name (case, spaces, underscores and
  punctuation ignored) through alias tables, and breakdown columns are classified by known
  governorate names, shelter keywords and period patterns.  Anything not recognised is
  kept, as text, in each record's ``extra`` dict.
* ``hxl`` -- the same, with a row of HXL hashtags right after the header (or instead of
  it); columns are recognised by tag first (via libhxl), then by header text.
* ``long`` -- our tidy format: snake_case core columns, one location row per location and
  optional breakdown rows (``breakdown`` / ``category`` / ``families``).

Design notes:

* Columns are handled as whole numpy arrays.  Text columns are read as text (ids keep
  leading zeros).  Numeric columns (coordinates, counts, breakdowns) are parsed by pandas'
  C parser when every cell is a number; otherwise they arrive as text and are parsed with
  checks, so a bad cell becomes a ``RowIssue`` (line number + column name) instead of
  breaking the column or silently turning into NaN.  Per-cell Python only runs for the
  (rare) rejected cells and for building the output dicts.
* ``RowIssue.row`` / ``record['row']`` are the line numbers a person sees: 1-based, header
  = line 1 (or the header's real line if title rows precede it), counted in physical text
  lines for CSV (quoted multi-line cells are accounted for) and in sheet rows for XLSX.
* No cross-field plausibility checks here (swapped coordinates, household size, points
  outside polygons): the database layer does those with the boundaries at hand.

The parser in four rooms: ``decode`` (bytes to text, the CSV / XLSX body as columns),
``header`` (the header row, HXL tags, every column's role), ``records`` (columns to checked
records and row issues), and this module, which runs them in that order.  Whole-file errors
are ``stage.MasterlistError`` (importable from here as well).
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from service.ingest.decode import STRIP, Source, read_csv, read_xlsx
from service.ingest.header import normalise_population, plan_header
from service.ingest.records import Issue, attach_breakdowns, build_records, filled_cells
from service.ingest.stage import (
    BREAKDOWNS,
    CodeColumn,
    MasterlistError,
    RowIssue,
    dates_seen,
    is_index_column,
    normalise_name,
    reporting_date,
)

__all__ = [
    "MasterlistError",
    "ParsedMasterlist",
    "RowIssue",
    "parse_masterlist",
]


@dataclass
class ParsedMasterlist:
    file: str  # file name (no directories), as used in messages
    population: str  # 'idp' | 'returnee'
    format: str  # 'dtm-wide' | 'hxl' | 'long'
    sheet: str | None  # chosen XLSX sheet (None for CSV)
    reporting_date: dt.date | None  # most common per-row date, if the file has a date column
    columns_found: list[str]  # source column names in file order ('' = unnamed column)
    records: list[dict]
    issues: list[RowIssue] = field(default_factory=list)
    code_columns: list[CodeColumn] = field(default_factory=list)  # declared P-code columns


def parse_masterlist(
    path: str | PathLike[str],
    population: str,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    max_bytes: int | None = None,
) -> ParsedMasterlist:
    """Parse one DTM master list (.csv or .xlsx; DTM wide, HXL-tagged or tidy long).

    ``population``: 'idp' or 'returnee' ('idps'/'returnees' accepted, any case).
    ``sheet``: XLSX sheet name (ignored for CSV); without it a workbook must have one sheet,
    or exactly one sheet that looks like a master list.  ``encoding``: CSV text encoding
    (default: detected).  ``max_bytes``: refuse larger files.

    Raises ``MasterlistError`` for whole-file problems; row problems become ``issues``.
    """
    p = Path(path)
    file = p.name or str(path)
    pop = normalise_population(population, file)
    ext = p.suffix.lower()
    if ext not in (".csv", ".xlsx"):
        raise MasterlistError(file, f"unsupported file type {ext or '(no extension)'}; expected .csv or .xlsx")
    if not p.exists():
        raise MasterlistError(file, "file not found")
    if not p.is_file():
        raise MasterlistError(file, "not a regular file")
    size = p.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise MasterlistError(file, f"file is {size:,} bytes; the limit is {max_bytes:,}")
    if size == 0:
        raise MasterlistError(file, "file is empty")

    src = read_csv(p, file, encoding) if ext == ".csv" else read_xlsx(p, file, sheet)
    # Building a million small dicts makes CPython's cyclic GC rescan the growing heap
    # over and over (5 s of a 15 s parse); nothing here creates cycles, so pause it.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_source(src, pop, file)
    finally:
        if gc_was_enabled:
            gc.enable()


def _report_undecodable(cols, lines, plan, issues: list) -> None:
    """Cells holding U+FFFD: bytes that were not UTF-8 in a mostly UTF-8 file (decode.mostly_utf8)."""
    for j, col in enumerate(cols):
        if col.dtype != object or not len(col):
            continue
        hit = np.flatnonzero(np.fromiter(("\ufffd" in v for v in col.tolist()), dtype=bool, count=len(col)))
        name = plan.names[j] if j < len(plan.names) else None
        for i in hit[:200]:
            issues.append(
                (
                    int(lines[i]),
                    j,
                    name,
                    "undecodable_bytes",
                    f"{name or 'a cell'}: {str(col[i])[:80]!r} held bytes that are not UTF-8 (shown as \ufffd); "
                    "the file is otherwise UTF-8 and was read as such",
                )
            )


def _parse_source(src: Source, pop: str, file: str) -> ParsedMasterlist:
    head = plan_header(src.preview, pop, file)
    plan, after = head.plan, head.after

    numeric: frozenset[int] = frozenset()
    if plan.fmt != "long":
        numeric = frozenset(
            [plan.core[f] for f in ("lat", "lon", "families", "individuals")]
            + [j for kind in BREAKDOWNS for j in plan.breakdown[kind]]
        )
    cols, lines = src.load(after, head.width, numeric)
    cols = [STRIP(c) if c.dtype == object and len(c) else c for c in cols]
    plan.widen(len(cols))  # rows wider than the header: unnamed extra columns
    # Drop trailing unnamed, empty columns (trailing commas, formatted-but-empty XLSX cells).
    while len(cols) > 1 and not plan.names[-1] and not filled_cells(cols[-1]).any():
        cols.pop()
        plan.drop_last()
    # The unnamed leading index column added by CSV converters (pandas' 'Unnamed: 0').
    if plan.may_have_index_column() and is_index_column(cols[0]):
        plan.ignore_index_column()

    if len(lines) == 0:
        raise MasterlistError(file, "no data rows after the header")
    # Fully blank rows are skipped.  The index and date columns do not count: DTM's
    # trailing "blank" row carries only those.
    skip = plan.blank_row_exempt()
    keep = np.zeros(len(lines), dtype=bool)
    for j, col in enumerate(cols):
        if j not in skip:
            keep |= filled_cells(col)
    if not keep.any():
        raise MasterlistError(file, "no data rows (only blank rows after the header)")
    if not keep.all():
        cols, lines = [c[keep] for c in cols], lines[keep]

    issues: list[Issue] = []
    if plan.fmt == "long" and plan.kind_col is not None:
        is_loc = np.array([normalise_name(v) in ("", "total") for v in cols[plan.kind_col].tolist()], dtype=bool)
        loc = [c[is_loc] for c in cols]
        records = build_records(loc, lines[is_loc], plan, issues)
        attach_breakdowns([c[~is_loc] for c in cols], lines[~is_loc], loc, records, plan, issues)
    else:
        records = build_records(cols, lines, plan, issues)

    _report_undecodable(cols, lines, plan, issues)
    issues.sort(key=lambda t: (t[0], t[1]))
    return ParsedMasterlist(
        file=file,
        population=pop,
        format=plan.fmt,
        sheet=src.sheet,
        reporting_date=reporting_date(dates_seen((r["reporting_date"], r["row"]) for r in records)),
        columns_found=list(plan.names),
        records=records,
        issues=[RowIssue(row, fld, code, msg) for row, _pos, fld, code, msg in issues],
        code_columns=plan.code_columns(),
    )
