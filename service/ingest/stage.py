"""The staging contract: what a master list becomes before placement, whichever path staged it.

A master list is staged into the temp table ``stage`` of its import transaction, one row per
source row, by one of two paths that must give the same rows, issues and messages (the
tests compare them row by row):

* the parser (``masterlist.parse_masterlist``: pandas/numpy, every format) whose records
  ``rounds`` COPYs into ``stage``;
* the fast path (``fast_stage.stage_csv``: the CSV file COPYed as it is, casts in SQL) for
  plain CSV files.

Both take from here: the whole-file error (:class:`MasterlistError`), the table
(:data:`STAGE_TYPES`, :func:`create_stage_table`), the column plan of a header
(:class:`ColumnPlan`, made by ``header.plan_header``), the row issues (:data:`ISSUE_CODES`,
:class:`RowIssue`, :func:`issue_message`), the cell rules that decide whole columns
(:func:`is_index_column`) and the reporting date (:func:`parse_date`, :func:`reporting_date`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Connection, text

FORMATS: tuple[str, ...] = ("dtm-wide", "hxl", "long")
BREAKDOWNS: tuple[str, ...] = ("origin", "shelter", "period")

# --------------------------------------------------------------------------- the error


class MasterlistError(Exception):
    """Whole-file problem (unreadable, wrong type, missing columns, no data, ...).

    ``str()`` reads like ``'IDPs.csv: missing required column(s) families; found: ...'``;
    ``row`` / ``field`` are set when the problem sits at a known line / column.
    """

    def __init__(self, file: str, reason: str, *, row: int | None = None, field: str | None = None) -> None:
        self.file = file
        self.row = row
        self.field = field
        self.reason = reason
        super().__init__(file, reason)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", line {self.row}"
        if self.field is not None:
            where += f", column {self.field!r}"
        return f"{where}: {self.reason}"


# --------------------------------------------------------------------------- the table

#: ``stage``: one row per kept source row (blank rows are skipped).
STAGE_TYPES: dict[str, str] = {
    "source_row": "integer",
    "location_id": "text",
    "place_id": "text",
    "name_en": "text",
    "name_ar": "text",
    "lat": "double precision",
    "lon": "double precision",
    "families": "integer",
    "individuals": "integer",
    "origin": "jsonb",
    "shelter": "jsonb",
    "period": "jsonb",
    "extra": "jsonb",
    "gov_name": "text",
    "dist_name": "text",
    "adm1_code": "text",
    "adm2_code": "text",
    "adm3_code": "text",
    "issues": "text[]",
}
STAGE_COLUMNS: list[str] = list(STAGE_TYPES)


def create_stage_table(conn: Connection) -> None:
    """The empty ``stage`` temp table of an import transaction (the fast path makes its own
    with CREATE TABLE AS, in the same columns and types)."""
    cols = ", ".join(f"{c} {t}" for c, t in STAGE_TYPES.items())
    conn.execute(text(f"CREATE TEMP TABLE stage ({cols}) ON COMMIT DROP"))


# --------------------------------------------------------------------------- the header plan


@functools.lru_cache(maxsize=8192)  # (the header of every file of a history: the same names)
def normalise_name(name: str) -> str:
    """Normalised column name: casefolded, letters and digits only ('Place_ID' -> 'placeid')."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())


#: Names under which CSV converters write a leading column of row numbers (pandas' 'Unnamed: 0').
_INDEX_NAMES = ("", "unnamed0", "index")


@dataclass
class ColumnPlan:
    """The role of every column of a master list, decided from its header (names, HXL tags)."""

    fmt: str  # one of FORMATS
    names: list[str]  # column name per position ('' = unnamed); -> columns_found
    labels: list[str]  # name used in issues / as extra key (never empty)
    core: dict[str, int] = field(default_factory=dict)  # field -> position
    breakdown: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in BREAKDOWNS})
    extra: list[int] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)  # leading unnamed index column
    kind_col: int | None = None  # long format 'breakdown' column
    category_col: int | None = None  # long format 'category' column
    tags: dict[str, str] = field(default_factory=dict)  # P-code field -> the HXL tag it was read by

    def code_columns(self) -> list[CodeColumn]:
        """The declared P-code columns, by level (``service.ingest.declared`` checks them)."""
        return [
            CodeColumn(fld, self.labels[self.core[fld]], self.tags.get(fld))
            for fld in ("admin1_pcode", "admin2_pcode", "admin3_pcode")
            if fld in self.core
        ]

    def widen(self, width: int) -> None:
        """Data rows wider than the header: the extra positions are unnamed extra columns."""
        for j in range(len(self.names), width):
            self.names.append("")
            self.labels.append(f"column {j + 1}")
            self.extra.append(j)

    def drop_last(self) -> None:
        """Forget the last position (an unnamed, empty extra column)."""
        j = len(self.names) - 1
        self.names.pop()
        self.labels.pop()
        self.extra.remove(j)

    def may_have_index_column(self) -> bool:
        """Whether the first column is unnamed (or 'index') and unused: a converter's row
        numbers, if :func:`is_index_column` says so of its values."""
        return 0 in self.extra and normalise_name(self.names[0]) in _INDEX_NAMES

    def ignore_index_column(self) -> None:
        self.extra.remove(0)
        self.ignored.append(0)

    def blank_row_exempt(self) -> set[int]:
        """Columns that do not make a row non-blank: the index and the date column (DTM's
        trailing "blank" row carries only those)."""
        skip = set(self.ignored)
        if "reporting_date" in self.core:
            skip.add(self.core["reporting_date"])
        return skip


@dataclass(frozen=True)
class CodeColumn:
    """A declared P-code column of a list: its field (``admin1_pcode`` ..), its name in the
    file and the HXL tag it was read by (None: by its name)."""

    field: str
    label: str
    tag: str | None = None


@dataclass
class HeaderPlan:
    """Where the data starts and what its columns are."""

    plan: ColumnPlan
    after: int  # physical lines before the data (title rows, header, tag row)
    width: int  # cells in the header


_INDEX_RE = re.compile(r"\d*(\.0*)?")


def is_index_column(col: np.ndarray) -> bool:
    """Whether a column holds only row numbers ('0', '1', ... or '' / '3.0')."""
    if col.dtype.kind == "f" or len(col) == 0:
        return True
    u = col.astype(str)
    ok = (u == "") | np.strings.isdigit(u)
    return bool(ok.all()) or all(_INDEX_RE.fullmatch(v) for v in u[~ok].tolist())


# --------------------------------------------------------------------------- row issues


@dataclass
class RowIssue:
    """A problem with one row (the row is still staged)."""

    row: int  # 1-based line number as seen in a text editor / spreadsheet (header = line 1)
    field: str | None  # source column name
    code: str  # see ISSUE_CODES
    message: str


#: Codes used in ``RowIssue.code`` and in ``stage.issues``.
ISSUE_CODES: dict[str, str] = {
    "missing_id": "location id cell is empty",
    "duplicate_id": "location id already used on an earlier line (record kept)",
    "missing_value": "a required value (families, individuals, latitude, longitude) is empty",
    "non_numeric": "a count is not a number (value set to None / dropped from the breakdown)",
    "negative": "a count is negative (value set to None / dropped)",
    "non_integer": "a count has a fractional part (value set to None / dropped)",
    "bad_coordinate": "latitude/longitude not numeric or out of range (lat and lon set to None)",
    "bad_date": "date cell not recognised (reporting_date None)",
    "undecodable_bytes": "bytes that are not UTF-8 in a file that otherwise is (shown as \ufffd; the rest kept)",
    # long format only
    "orphan_breakdown": "breakdown row whose location id has no location row",
    "missing_category": "breakdown row with an empty category",
    "duplicate_breakdown": "same location/breakdown/category given twice (first kept)",
    "ignored_value": "breakdown row carries a value that differs from its location row",
}

#: What went wrong in a cell, where the issue code alone does not say it (a coordinate that
#: is not a number, or is out of range, are both ``bad_coordinate``).
_CODE_OF_KIND = {"coord_nan": "bad_coordinate", "coord_out": "bad_coordinate"}


def issue_code(kind: str) -> str:
    """The issue code of a cell problem (:func:`issue_message`'s kinds)."""
    return _CODE_OF_KIND.get(kind, kind)


def show_cell(v: object) -> str:
    """A cell for a message: text quoted, floats without a needless '.0'."""
    if isinstance(v, float):  # np.float64 too: shown as a plain number, not 'np.float64(2.5)'
        v = float(v)
        return str(int(v)) if v.is_integer() else repr(v)
    return repr(v)


def issue_message(
    kind: str,
    label: str,
    shown: str = "",
    *,
    limit: float | None = None,
    location_id: str | None = None,
    first_line: int | str | None = None,
) -> str:
    """The message of a row issue, the same from both paths. ``kind`` is an issue code or
    ``coord_nan``/``coord_out``; ``shown`` the cell as :func:`show_cell` writes it."""
    if kind == "missing_id":
        return "location id is empty"
    if kind == "duplicate_id":
        return f"location id {location_id} already used on line {first_line}"
    if kind == "missing_value":
        return f"{label} is empty"
    if kind in ("non_numeric", "coord_nan"):
        return f"{label}: {shown} is not a number"
    if kind == "negative":
        return f"{label}: {shown} is negative"
    if kind == "non_integer":
        return f"{label}: {shown} is not a whole number"
    if kind == "coord_out":
        return f"{label}: {shown} is outside [-{limit:g}, {limit:g}]"
    if kind == "bad_date":
        return f"{label}: {shown} is not a recognised date"
    return kind


# --------------------------------------------------------------------------- the reporting date

_DATE_FORMATS: tuple[str, ...] = (
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d/%m/%y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y%m%d",
)


def parse_date(raw: str) -> dt.date | None:
    """A date cell ('Feb 28, 2021', '2021-02-28', '28/02/2021', an Excel day number, ...)."""
    s = " ".join(raw.split())
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.0*)?", s):  # Excel serial day number
        serial = int(float(s))
        if 20000 <= serial <= 80000:
            return dt.date(1899, 12, 30) + dt.timedelta(days=serial)
    return None


def reporting_date(per_date: Mapping[dt.date, tuple[int, int]]) -> dt.date | None:
    """The file's reporting date: the date of most rows; of equally common dates, the one
    seen first. ``per_date``: date -> (rows, first line)."""
    if not per_date:
        return None
    return max(per_date.items(), key=lambda kv: (kv[1][0], -kv[1][1]))[0]


def dates_seen(dates: Iterable[tuple[dt.date | None, int]]) -> dict[dt.date, tuple[int, int]]:
    """(date, line) pairs -> date -> (rows, first line), for :func:`reporting_date`."""
    out: dict[dt.date, tuple[int, int]] = {}
    for d, line in dates:
        if d is None:
            continue
        n, first = out.get(d, (0, line))
        out[d] = (n + 1, min(first, line))
    return out
