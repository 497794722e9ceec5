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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from os import PathLike
from pathlib import Path

import charset_normalizer
import hxl
import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from service.core.constants import POPULATIONS
from service.ingest.stage import (
    BREAKDOWNS,
    FORMATS,
    ISSUE_CODES,
    ColumnPlan,
    HeaderPlan,
    RowIssue,
    dates_seen,
    is_index_column,
    issue_code,
    issue_message,
    normalise_name,
    parse_date,
    reporting_date,
    show_cell,
)

__all__ = [
    "BREAKDOWNS",
    "FORMATS",
    "ISSUE_CODES",
    "POPULATIONS",
    "MasterlistError",
    "PREVIEW_RECORDS",
    "ParsedMasterlist",
    "RowIssue",
    "csv_preview",
    "decode_text",
    "line_offset",
    "normalise_population",
    "parse_masterlist",
    "plan_header",
]

# --------------------------------------------------------------------------- public types


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


# --------------------------------------------------------------------------- vocabularies


_FIELD_LABELS: dict[str, str] = {
    "location_id": "location id",
    "place_id": "place id",
    "governorate": "governorate",
    "district": "district",
    "name_en": "location name",
    "name_ar": "arabic name",
    "lat": "latitude",
    "lon": "longitude",
    "families": "families",
    "individuals": "individuals",
    "admin1_pcode": "admin1 p-code",
    "admin2_pcode": "admin2 p-code",
    "reporting_date": "date",
}
_REQUIRED: tuple[str, ...] = ("location_id", "lat", "lon", "families", "individuals")

# Generic aliases (already normalised).  Canonical long-format names are included.
_CORE_ALIASES: dict[str, tuple[str, ...]] = {
    "location_id": (
        "locationid",
        "locid",
        "locationcode",
        "loccode",
        "iomlocationid",
        "dtmlocationid",
        "locationno",
        "locationnumber",
    ),
    "place_id": ("placeid", "placecode", "placeno"),
    "governorate": (
        "governorate",
        "governoratename",
        "governorateen",
        "gov",
        "province",
        "adm1",
        "adm1name",
        "adm1en",
        "admin1",
        "admin1name",
        "admin1en",
    ),
    "district": (
        "district",
        "districtname",
        "districten",
        "qadha",
        "qada",
        "adm2",
        "adm2name",
        "adm2en",
        "admin2",
        "admin2name",
        "admin2en",
    ),
    "name_en": (
        "locationname",
        "location",
        "locationnameen",
        "locationnameenglish",
        "locationnameinenglish",
        "locationen",
        "nameen",
        "englishname",
        "name",
        "placename",
    ),
    "name_ar": (
        "arabicname",
        "locationnamear",
        "locationnamearabic",
        "locationnameinarabic",
        "locationar",
        "namear",
        "nameinarabic",
        "arabic",
        "arname",
    ),
    "lat": ("latitude", "lat", "gpslatitude", "y"),
    "lon": ("longitude", "lon", "long", "lng", "gpslongitude", "x"),
    "families": ("families", "numberoffamilies", "nooffamilies", "totalfamilies", "familiesnumber", "households", "hh"),
    "individuals": (
        "individuals",
        "numberofindividuals",
        "noofindividuals",
        "totalindividuals",
        "individualsnumber",
        "ind",
        "persons",
        "people",
    ),
    "admin1_pcode": ("admin1pcode", "adm1pcode", "admin1code", "adm1code", "governoratepcode"),
    "admin2_pcode": ("admin2pcode", "adm2pcode", "admin2code", "adm2code", "districtpcode"),
    "reporting_date": (
        "date",
        "reportingdate",
        "datereported",
        "dateofreporting",
        "rounddate",
        "datadate",
        "snapshotdate",
        "reportdate",
    ),
}
_ALIAS_TO_FIELD: dict[str, str] = {a: f for f, aliases in _CORE_ALIASES.items() for a in aliases}


def _population_aliases() -> dict[str, tuple[str, str]]:
    """'returneefamilies' -> ('families', 'returnee') etc., in both word orders."""
    prefixes = {"idp": ("idp", "idps"), "returnee": ("returnee", "returnees", "ret")}
    words = {"families": ("families", "households", "hh"), "individuals": ("individuals", "ind", "persons", "people")}
    out: dict[str, tuple[str, str]] = {}
    for pop, pres in prefixes.items():
        for fld, ws in words.items():
            for p in pres:
                for w in ws:
                    for alias in (p + w, w + p, "numberof" + p + w, "total" + p + w):
                        out[alias] = (fld, pop)
    return out


_POP_ALIASES = _population_aliases()
# Header cells that count as evidence for a header row (see _find_header).
_HEADER_EVIDENCE: frozenset[str] = frozenset(
    {a for f in _REQUIRED for a in _CORE_ALIASES[f] if len(a) > 1} | set(_POP_ALIASES)
)

# The 18 governorates (COD-AB / DTM), keyed by DTM spelling, plus Halabja which the KRG
# treats as a 19th.  All spellings seen in DTM, COD-AB, HDX and 3W lists.
_GOVERNORATES: dict[str, tuple[str, ...]] = {
    "Anbar": ("anbar", "alanbar"),
    "Babylon": ("babylon", "babil", "babel", "albabil"),
    "Baghdad": ("baghdad",),
    "Basrah": ("basrah", "basra", "albasrah", "albasra"),
    "Dahuk": ("dahuk", "duhok", "dohuk", "dihok", "dahok"),
    "Diyala": ("diyala", "diyalah", "dyala"),
    "Erbil": ("erbil", "arbil", "irbil", "hawler", "hewler"),
    "Kerbala": ("kerbala", "karbala", "karbalaa"),
    "Kirkuk": ("kirkuk", "tameem", "altameem", "tamim", "altamim"),
    "Missan": ("missan", "maysan", "misan", "maisan"),
    "Muthanna": ("muthanna", "almuthanna", "muthana"),
    "Najaf": ("najaf", "alnajaf"),
    "Ninewa": ("ninewa", "nineveh", "ninawa", "nineva", "ninevah", "nainawa"),
    "Qadissiya": (
        "qadissiya",
        "qadisiya",
        "qadisiyah",
        "qadissiyah",
        "alqadisiyah",
        "alqadissiya",
        "diwaniya",
        "diwaniyah",
        "aldiwaniyah",
    ),
    "Salah al-Din": ("salahaldin", "salahaddin", "salaheddin", "salahuddin", "salahadin", "saladin", "salahaldeen"),
    "Sulaymaniyah": (
        "sulaymaniyah",
        "sulaymaniya",
        "sulaimaniya",
        "sulaimaniyah",
        "suleimaniya",
        "suleimaniyah",
        "sulaymani",
        "slemani",
        "sulemani",
        "sulaimani",
    ),
    "Thi Qar": ("thiqar", "dhiqar", "thigar", "dhigar", "zhiqar"),
    "Wassit": ("wassit", "wasit"),
    "Halabja": ("halabja", "halabjah"),
}
_GOV_ALIAS: dict[str, str] = {a: g for g, aliases in _GOVERNORATES.items() for a in aliases}
# Words that may wrap a governorate name in an origin column ('Origin_Anbar', 'From Anbar').
_ORIGIN_AFFIXES: tuple[str, ...] = (
    "governorateoforigin",
    "origingovernorate",
    "origin",
    "idpsfrom",
    "returneesfrom",
    "familiesfrom",
    "from",
    "families",
    "governorate",
    "gov",
)

_SHELTER_KEYWORDS: tuple[str, ...] = (
    "camp",
    "host",
    "informal",
    "rented",
    "rental",
    "unfinished",
    "abandoned",
    "religious",
    "school",
    "hotel",
    "motel",
    "habitual",
    "ownproperty",
    "owned",
    "shelter",
    "collective",
    "caravan",
    "building",
)
# Ambiguous names: shelter only when next to a shelter column (DTM puts 'Other' there).
_SHELTER_IF_NEIGHBOUR: frozenset[str] = frozenset({"other", "others", "unknown"})

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
# 'Jan19', 'August14', 'Post 17 October 16', 'June July14' (after normalisation).
_PERIOD_RE = re.compile(rf"(?:pre|post|since|after|before|from)?\d{{0,2}}(?:{_MONTHS})[a-z]*\d{{0,4}}[a-z]*\d{{2,4}}")


def _governorate_of(norm: str) -> str | None:
    """Canonical governorate for a (normalised) origin column name, else None."""
    if norm in _GOV_ALIAS:
        return _GOV_ALIAS[norm]
    for affix in _ORIGIN_AFFIXES:
        for cand in (norm.removeprefix(affix), norm.removesuffix(affix)):
            if cand != norm and cand in _GOV_ALIAS:
                return _GOV_ALIAS[cand]
    return None


def _breakdown_kind(norm: str) -> str | None:
    """Classify a wide-format column as 'origin' / 'shelter' / 'period' by its name."""
    if not norm:
        return None
    if "periodofdisplacement" in norm or "displacementperiod" in norm:
        return "period"
    if any(k in norm for k in _SHELTER_KEYWORDS):
        return "shelter"
    if _PERIOD_RE.fullmatch(norm):
        return "period"
    if _governorate_of(norm):
        return "origin"
    return None


# Long format: values of the `breakdown` column.
_LONG_KINDS: dict[str, str] = {
    "origin": "origin",
    "governorateoforigin": "origin",
    "origingovernorate": "origin",
    "shelter": "shelter",
    "sheltertype": "shelter",
    "period": "period",
    "periodofdisplacement": "period",
    "displacementperiod": "period",
}
_LONG_CANONICAL = frozenset({"location_id", "lat", "lon", "families", "individuals"})

# HXL: (field, tag patterns) in priority order; each column is used at most once.
_HXL_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("place_id", ("#loc+code+place", "#loc+id+place")),
    ("name_ar", ("#loc+name+i_ar",)),
    ("location_id", ("#loc+code", "#loc+id")),
    ("name_en", ("#loc+name+i_en", "#loc+name-i_ar-i_ku")),
    ("admin1_pcode", ("#adm1+code",)),
    ("governorate", ("#adm1+name", "#adm1-code")),
    ("admin2_pcode", ("#adm2+code",)),
    ("district", ("#adm2+name", "#adm2-code")),
    ("lat", ("#geo+lat",)),
    ("lon", ("#geo+lon",)),
    ("reporting_date", ("#date+reported", "#date")),
)
_HXL_COUNTS: dict[str, tuple[str, ...]] = {
    "families": ("#affected+hh", "#population+hh"),
    "individuals": ("#affected+ind", "#population+ind"),
}
_HXL_POP_ATTR: dict[str, str] = {"idps": "idp", "idp": "idp", "returnees": "returnee", "returnee": "returnee"}
_HXL_TAGS: dict[str, list[hxl.model.TagPattern]] = {
    f: [hxl.model.TagPattern.parse(p) for p in pats] for f, pats in (*_HXL_FIELDS, *_HXL_COUNTS.items())
}
_HXL_HINT_TAGS = ("#loc", "#geo", "#adm1", "#adm2", "#affected")

_NON_SPACE_RE = re.compile(r"\S")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_ARABIC_RE = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff\u200c-\u200f]")
PREVIEW_RECORDS = 30  # records scanned for the header row / HXL tag row
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}([,٬]\d{3})+([.٫]\d*)?")

# --------------------------------------------------------------------------- reading


@dataclass
class PreviewRecord:
    """One CSV record (or sheet row) of the file's first lines, where the header is sought."""

    start: int  # first physical line / sheet row of the record
    end: int  # last physical line (differs from start for quoted multi-line CSV cells)
    cells: list[str]


_Cols = list[np.ndarray]
# The data body as columns: one numpy array per column, all the same length; text columns
# are object arrays of str ('' = empty), columns named in ``numeric`` may instead come back
# as float64 (NaN = empty) when every cell parsed as a number.
# load(after_line, width, numeric) -> (columns, source line number per row)
_Loader = Callable[[int, int, frozenset[int]], tuple[_Cols, np.ndarray]]
_STRIP = np.frompyfunc(str.strip, 1, 1)


@dataclass
class _Source:
    sheet: str | None
    preview: list[PreviewRecord]
    load: _Loader


def decode_text(data: bytes, file: str, encoding: str | None) -> tuple[str, bool]:
    """Bytes -> (text, whether it was UTF-8): explicit encoding, else BOM, else UTF-8, else
    charset-normalizer, else cp1256."""
    if encoding:
        try:
            text = data.decode(encoding)
            utf8 = codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
        except LookupError:
            raise MasterlistError(file, f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise MasterlistError(file, f"cannot decode as {encoding}: {exc.reason} at byte {exc.start}") from None
        return text.removeprefix("\ufeff"), utf8
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), True
        except UnicodeDecodeError as exc:
            raise MasterlistError(file, f"invalid UTF-8 after BOM at byte {exc.start}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), False
    try:
        return data.decode("utf-8"), True
    except UnicodeDecodeError:
        pass
    # Legacy files: in practice Windows-1256 from Arabic Excel.  cp1256 maps every byte, so
    # accept it when the result reads as Arabic; charset-normalizer alone misreads short
    # Arabic samples (a one-word file came out as CJK).  Otherwise ask charset-normalizer.
    text = data.decode("cp1256")
    non_ascii = len(_NON_ASCII_RE.findall(text))
    if len(_ARABIC_RE.findall(text)) >= 0.8 * non_ascii:
        return text, False
    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        try:
            return data.decode(best.encoding), False
        except (LookupError, UnicodeDecodeError):
            pass
    return text, False


def line_offset(text: str, lines: int) -> int:
    """Character offset where physical line ``lines + 1`` starts."""
    pos = 0
    for _ in range(lines):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def _read_csv(path: Path, file: str, encoding: str | None) -> _Source:
    raw = path.read_bytes()
    text, raw_is_utf8 = decode_text(raw, file, encoding)
    # When the file is UTF-8 (the usual case) pandas reads the original bytes; otherwise
    # the decoded text is re-encoded as UTF-8 for it.
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    if "\x00" in text:
        raise MasterlistError(file, "file contains NUL bytes: binary, or UTF-16 without a BOM (pass encoding=...)")
    if "\r" in text and "\n" not in text:  # classic Mac line endings
        text = text.replace("\r", "\n")
        raw_is_utf8 = False
    delim, preview = csv_preview(text, file)

    def load(after: int, width: int, numeric: frozenset[int]) -> tuple[_Cols, np.ndarray]:
        offset = line_offset(text, after)
        if _NON_SPACE_RE.search(text, offset) is None:  # nothing after the header
            return [np.empty(0, dtype=object) for _ in range(width)], np.empty(0, np.int64)
        try:
            # Numeric columns are parsed by the C parser (much faster than text + cast);
            # a column with any non-number comes back as text and takes the checked path.
            # UTF-8 bytes: the C parser reads them directly (a StringIO costs ~2x).
            body = raw[bom + len(text[:offset].encode("utf-8")) :] if raw_is_utf8 else text[offset:].encode("utf-8")
            df = pd.read_csv(
                io.BytesIO(body),
                encoding="utf-8",
                sep=delim,
                header=None,
                names=range(width),
                dtype={j: object for j in range(width) if j not in numeric},
                na_values={j: [""] for j in numeric},
                keep_default_na=False,
                skip_blank_lines=False,
                index_col=False,
                engine="c",
            )
        except pd.errors.ParserError:
            # Ragged rows (more cells than the header): the csv module keeps every cell.
            return _read_csv_ragged(text[offset:], delim, after, width, file)
        cols = [_column_array(df[j], j in numeric) for j in range(width)]
        n = len(df)
        del df, body
        # Line numbers: one per record unless quoted cells contain newlines.
        physical = text.count("\n", offset) + (0 if text.endswith("\n") else 1)
        if physical == n:
            return cols, np.arange(after + 1, after + 1 + n, dtype=np.int64)
        extra_nl = np.zeros(n, dtype=np.int64)
        for col in cols:
            if col.dtype == object:
                extra_nl += np.fromiter((v.count("\n") for v in col), dtype=np.int64, count=n)
        starts = after + 1 + np.arange(n) + np.concatenate(([0], np.cumsum(extra_nl)[:-1]))
        return cols, starts.astype(np.int64)

    return _Source(None, preview, load)


def csv_preview(text: str, file: str) -> tuple[str, list[PreviewRecord]]:
    """The delimiter of CSV ``text`` and its first ``PREVIEW_RECORDS`` records.

    Delimiter: whichever of , ; TAB is most frequent on the busiest early line (the header),
    so a title row like "IDPs; Feb 2021" cannot decide it.  Ties -> comma."""
    head_lines = text[: line_offset(text, PREVIEW_RECORDS)].split("\n")
    delim = max((",", ";", "\t"), key=lambda d: (max((ln.count(d) for ln in head_lines), default=0), d == ","))
    preview: list[PreviewRecord] = []
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    try:
        last = 0
        for cells in reader:
            preview.append(PreviewRecord(last + 1, reader.line_num, cells))
            last = reader.line_num
            if len(preview) >= PREVIEW_RECORDS:
                break
    except csv.Error as exc:
        raise MasterlistError(file, f"malformed CSV: {exc}", row=reader.line_num) from None
    return delim, preview


def _column_array(s: pd.Series, numeric: bool) -> np.ndarray:
    """float64 for clean numeric columns, else an object array of str ('' for empty).
    Only ``numeric`` columns can hold NaN (text columns are read with no NA values)."""
    if s.dtype.kind in "iuf":
        return s.to_numpy(dtype=np.float64)
    arr = s.to_numpy(dtype=object)
    if s.dtype != object or (numeric and s.hasnans):  # a numeric column that fell back to text
        arr = np.array(["" if v is None or v != v else str(v) for v in arr.tolist()], dtype=object)
    return arr


def _read_csv_ragged(data: str, delim: str, after: int, width: int, file: str) -> tuple[_Cols, np.ndarray]:
    rows: list[list[str]] = []
    starts: list[int] = []
    reader = csv.reader(io.StringIO(data), delimiter=delim)
    last = 0
    try:
        for cells in reader:
            rows.append(cells)
            starts.append(after + last + 1)
            last = reader.line_num
    except csv.Error as exc:
        raise MasterlistError(file, f"malformed CSV: {exc}", row=after + reader.line_num) from None
    return _columns_of(rows, width), np.asarray(starts, np.int64)


def _columns_of(rows: Sequence[Sequence[str]], width: int) -> _Cols:
    """Row lists (possibly ragged) -> one object array per column, padded with ''."""
    ncols = max([width, *map(len, rows)])
    cols = []
    for j in range(ncols):
        col = np.empty(len(rows), dtype=object)
        col[:] = [r[j] if j < len(r) else "" for r in rows]
        cols.append(col)
    return cols


def _cell_text(v: object) -> str:
    """XLSX cell value -> the text a CSV export would hold."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v)


def _sheet_rows(ws: object, limit: int | None = None) -> list[list[str]]:
    rows: list[list[str]] = []
    for values in ws.iter_rows(values_only=True):  # type: ignore[attr-defined]
        rows.append([_cell_text(v) for v in values])
        if limit is not None and len(rows) >= limit:
            break
    return rows


def _read_xlsx(path: Path, file: str, sheet: str | None) -> _Source:
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise MasterlistError(file, f"not a readable .xlsx workbook ({exc})") from None
    try:
        names = list(wb.sheetnames)
        listing = ", ".join(repr(n) for n in names)

        def worksheet(name: str) -> object | None:
            ws = wb[name]
            if not hasattr(ws, "iter_rows"):  # chart sheet
                return None
            ws.reset_dimensions()  # some writers store a wrong 'A1' dimension
            return ws

        if sheet is not None:
            if sheet not in names:
                raise MasterlistError(file, f"sheet {sheet!r} not found; sheets: {listing}")
            chosen = sheet
        elif len(names) == 1:
            chosen = names[0]
        else:
            candidates = []
            for name in names:
                ws = worksheet(name)
                if ws is not None and _looks_like_masterlist(_preview_of(_sheet_rows(ws, PREVIEW_RECORDS))):
                    candidates.append(name)
            if len(candidates) != 1:
                which = (
                    "none" if not candidates else f"{len(candidates)} (" + ", ".join(repr(c) for c in candidates) + ")"
                )
                raise MasterlistError(
                    file,
                    f"workbook has {len(names)} sheets ({listing}) and {which} look like "
                    "a master list; choose one with sheet=...",
                )
            chosen = candidates[0]
        ws = worksheet(chosen)
        if ws is None:
            raise MasterlistError(file, f"sheet {chosen!r} is not a worksheet; sheets: {listing}")
        rows = _sheet_rows(ws)
    finally:
        wb.close()

    def load(after: int, width: int, numeric: frozenset[int]) -> tuple[_Cols, np.ndarray]:
        body = rows[after:]
        return _columns_of(body, width), np.arange(after + 1, after + 1 + len(body), dtype=np.int64)

    return _Source(chosen, _preview_of(rows[:PREVIEW_RECORDS]), load)


def _preview_of(rows: Sequence[list[str]]) -> list[PreviewRecord]:
    return [PreviewRecord(i + 1, i + 1, list(r)) for i, r in enumerate(rows)]


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(c.strip() for c in cells)


def _hxl_columns(cells: list[str], header: list[str] | None) -> list[hxl.model.Column] | None:
    """libhxl's own tag-row test (>= half of the non-empty cells are valid hashtags)."""
    if not any(c.strip().startswith("#") for c in cells):
        return None
    return hxl.model.Column.parse_list([c.strip() for c in cells], header)


def _find_header(preview: list[PreviewRecord]) -> int | None:
    """Index of the header record: the first row with most required-column names (>= 2),
    else the first non-blank row (title rows above a header are skipped that way)."""
    best, best_score = None, 1
    for k, rec in enumerate(preview):
        score = sum(1 for c in rec.cells if normalise_name(c) in _HEADER_EVIDENCE)
        if score > best_score:
            best, best_score = k, score
    if best is not None:
        return best
    return next((k for k, rec in enumerate(preview) if not _is_blank(rec.cells)), None)


def _looks_like_masterlist(preview: list[PreviewRecord]) -> bool:
    if any(sum(1 for c in r.cells if normalise_name(c) in _HEADER_EVIDENCE) >= 2 for r in preview):
        return True
    for rec in preview:
        tags = _hxl_columns(rec.cells, None)
        if tags and any(t.tag in _HXL_HINT_TAGS for t in tags):
            return True
    return False


# --------------------------------------------------------------------------- column plan


def _unique_labels(names: list[str]) -> list[str]:
    """Labels for issues / extra keys: unnamed -> 'column 3'; duplicates get '(column N)'."""
    seen: Counter[str] = Counter(n for n in names if n)
    out = []
    for j, n in enumerate(names):
        if not n:
            out.append(f"column {j + 1}")
        elif seen[n] > 1:
            out.append(f"{n} (column {j + 1})")
        else:
            out.append(n)
    return out


def _pop_of_tag(col: hxl.model.Column) -> str | None:
    pops = {_HXL_POP_ATTR[a] for a in col.attributes if a in _HXL_POP_ATTR}
    return pops.pop() if len(pops) == 1 else None


def _plan_columns(header: list[str], tags: list[hxl.model.Column] | None, pop: str, file: str) -> ColumnPlan:
    """Assign every header position a role (core field, breakdown, extra) from names/tags."""
    width = len(header)
    names = [h if h or tags is None or not tags[j].tag else tags[j].display_tag for j, h in enumerate(header)]
    norms = [normalise_name(h) for h in header]
    lowered = {h.lower() for h in header}
    if tags is not None:
        fmt = "hxl"
    elif "breakdown" in norms or _LONG_CANONICAL <= lowered:
        fmt = "long"
    else:
        fmt = "dtm-wide"
    plan = ColumnPlan(fmt, names, _unique_labels(names))
    used: set[int] = set()  # positions assigned to a core field
    blocked: set[int] = set()  # tagged for the other population: not a core field
    wrong_pop: dict[str, str] = {}  # field -> column that is for the other population

    if tags is not None:
        for fld, _pats in _HXL_FIELDS:
            for pat in _HXL_TAGS[fld]:
                j = next((j for j, t in enumerate(tags) if j not in used and t.tag and pat.match(t)), None)
                if j is not None:
                    plan.core[fld] = j
                    used.add(j)
                    break
        for fld in _HXL_COUNTS:
            cands = [
                j for j, t in enumerate(tags) if j not in used and t.tag and any(p.match(t) for p in _HXL_TAGS[fld])
            ]
            # Prefer this population's column, then a population-neutral one, fewest
            # attributes first (so '#affected+idps+hh+camp'-style breakdowns lose).
            ranked = sorted(
                (j for j in cands if _pop_of_tag(tags[j]) in (pop, None)),
                key=lambda j: (_pop_of_tag(tags[j]) != pop, len(tags[j].attributes), j),
            )
            if ranked:
                plan.core[fld] = ranked[0]
                used.add(ranked[0])
            elif cands:
                wrong_pop[fld] = f"{plan.labels[cands[0]]} ({tags[cands[0]].display_tag})"
                blocked.update(cands)  # the tag decides; no fallback to the header text

    for j in range(width):  # header aliases (for HXL: only where no tag matched)
        if j in used or j in blocked or (fmt == "long" and norms[j] in ("breakdown", "category")):
            continue
        hit = _POP_ALIASES.get(norms[j])
        if hit is not None and hit[1] != pop:
            wrong_pop.setdefault(hit[0], plan.labels[j])
            continue
        fld = hit[0] if hit is not None else _ALIAS_TO_FIELD.get(norms[j])
        if fld is not None and fld not in plan.core:
            plan.core[fld] = j
            used.add(j)

    for fld in ("families", "individuals"):
        if fld not in plan.core and fld in wrong_pop:
            other = "an IDP" if pop == "returnee" else "a returnee"
            raise MasterlistError(
                file,
                f"column {wrong_pop[fld]!r} holds {other.split()[1]} {fld} but "
                f"population={pop!r}; is this {other} master list?",
            )
    missing = [f for f in _REQUIRED if f not in plan.core]
    if missing:
        shown = ", ".join(n or f"(unnamed column {j + 1})" for j, n in enumerate(names))
        raise MasterlistError(
            file, f"missing required column(s) {', '.join(_FIELD_LABELS[f] for f in missing)}; found: {shown}"
        )

    if fmt == "long":
        plan.kind_col = next((j for j in range(width) if norms[j] == "breakdown"), None)
        plan.category_col = next((j for j in range(width) if norms[j] == "category"), None)
        if plan.kind_col is not None and plan.category_col is None:
            raise MasterlistError(file, "long format: a 'breakdown' column needs a 'category' column")
        used.update(j for j in (plan.kind_col, plan.category_col) if j is not None)
        plan.extra = [j for j in range(width) if j not in used]
        return plan

    # Wide / HXL: classify the remaining columns by name.
    kinds: dict[int, str | None] = {j: _breakdown_kind(norms[j]) for j in range(width) if j not in used}
    for j, kind in kinds.items():
        if kind is None and norms[j] in _SHELTER_IF_NEIGHBOUR and "shelter" in (kinds.get(j - 1), kinds.get(j + 1)):
            kind = "shelter"
        if kind is None:
            plan.extra.append(j)
        else:
            plan.breakdown[kind].append(j)
    return plan


# --------------------------------------------------------------------------- values

_Issue = tuple[int, int, str, str, str]  # (line, column position, column label, code, message)


def _filled(col: np.ndarray) -> np.ndarray:
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
    issues: list[_Issue],
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


# --------------------------------------------------------------------------- records


def _build_records(cols: _Cols, lines: np.ndarray, plan: ColumnPlan, issues: list[_Issue]) -> list[dict]:
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
            "reporting_date": rd,
        }
        for r, i, p, g, d, ne, na, la, lo, f, iv, o, sh, pe, ex, c1, c2, rd in zip(
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
            dates,
        )
    ]


def _attach_breakdowns(
    bd: _Cols, bd_lines: np.ndarray, loc: _Cols, records: list[dict], plan: ColumnPlan, issues: list[_Issue]
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
    kinds = [_LONG_KINDS.get(normalise_name(k)) for k in kinds_raw]
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


def normalise_population(population: object, file: str) -> str:
    key = population.strip().lower() if isinstance(population, str) else None
    canonical = {"idp": "idp", "idps": "idp", "returnee": "returnee", "returnees": "returnee"}
    if key not in canonical:
        raise MasterlistError(
            file,
            f"unknown population {population!r}; expected 'idp' or 'returnee' (also accepted: 'idps', 'returnees')",
        )
    return canonical[key]


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

    src = _read_csv(p, file, encoding) if ext == ".csv" else _read_xlsx(p, file, sheet)
    # Building a million small dicts makes CPython's cyclic GC rescan the growing heap
    # over and over (5 s of a 15 s parse); nothing here creates cycles, so pause it.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_source(src, pop, file)
    finally:
        if gc_was_enabled:
            gc.enable()


def plan_header(preview: Sequence[PreviewRecord], population: str, file: str) -> HeaderPlan:
    """The header row among the first records (title rows above it skipped), an HXL tag row
    under it (or instead of it), and the role of every column.  ``population`` must be
    normalised (:func:`normalise_population`).  Raises ``MasterlistError``."""
    k = _find_header(list(preview))
    if k is None:
        raise MasterlistError(file, "file is empty (no header row)")
    header = [c.strip() for c in preview[k].cells]
    after = preview[k].end
    tags = _hxl_columns(header, None)  # a hashtag row with no text header above it
    if tags is None and k + 1 < len(preview):
        tags = _hxl_columns(preview[k + 1].cells, header)
        if tags is not None:
            after = preview[k + 1].end
    if tags is not None:
        tags = tags[: len(header)] + [hxl.model.Column() for _ in range(len(header) - len(tags))]
    return HeaderPlan(_plan_columns(header, tags, population, file), after, len(header))


def _parse_source(src: _Source, pop: str, file: str) -> ParsedMasterlist:
    head = plan_header(src.preview, pop, file)
    plan, after = head.plan, head.after

    numeric: frozenset[int] = frozenset()
    if plan.fmt != "long":
        numeric = frozenset(
            [plan.core[f] for f in ("lat", "lon", "families", "individuals")]
            + [j for kind in BREAKDOWNS for j in plan.breakdown[kind]]
        )
    cols, lines = src.load(after, head.width, numeric)
    cols = [_STRIP(c) if c.dtype == object and len(c) else c for c in cols]
    plan.widen(len(cols))  # rows wider than the header: unnamed extra columns
    # Drop trailing unnamed, empty columns (trailing commas, formatted-but-empty XLSX cells).
    while len(cols) > 1 and not plan.names[-1] and not _filled(cols[-1]).any():
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
            keep |= _filled(col)
    if not keep.any():
        raise MasterlistError(file, "no data rows (only blank rows after the header)")
    if not keep.all():
        cols, lines = [c[keep] for c in cols], lines[keep]

    issues: list[_Issue] = []
    if plan.fmt == "long" and plan.kind_col is not None:
        is_loc = np.array([normalise_name(v) in ("", "total") for v in cols[plan.kind_col].tolist()], dtype=bool)
        loc = [c[is_loc] for c in cols]
        records = _build_records(loc, lines[is_loc], plan, issues)
        _attach_breakdowns([c[~is_loc] for c in cols], lines[~is_loc], loc, records, plan, issues)
    else:
        records = _build_records(cols, lines, plan, issues)

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
    )
