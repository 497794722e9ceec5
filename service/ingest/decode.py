"""Reading and decoding master-list files: bytes to text (encoding detection), the CSV
delimiter and first records, XLSX sheets, and the data body as whole numpy columns.

:func:`read_csv` / :func:`read_xlsx` give a :class:`Source`: the preview records where the
header is sought (``header.plan_header``) and a loader for the body once the header is known.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from service.ingest.header import PREVIEW_RECORDS, PreviewRecord, looks_like_masterlist
from service.ingest.stage import MasterlistError

_NON_SPACE_RE = re.compile(r"\S")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_ARABIC_RE = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff\u200c-\u200f]")


Columns = list[np.ndarray]
# The data body as columns: one numpy array per column, all the same length; text columns
# are object arrays of str ('' = empty), columns named in ``numeric`` may instead come back
# as float64 (NaN = empty) when every cell parsed as a number.
# load(after_line, width, numeric) -> (columns, source line number per row)
_Loader = Callable[[int, int, frozenset[int]], tuple[Columns, np.ndarray]]
STRIP = np.frompyfunc(str.strip, 1, 1)


@dataclass
class Source:
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
    mostly = mostly_utf8(data)
    if mostly is not None:  # a few stray bytes in a UTF-8 file: never re-decode the whole file
        return mostly, False
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


#: A file is read as UTF-8 despite invalid bytes when they are at most this share of its
#: non-ASCII bytes (and at most ``MAX_BAD_BYTES``): a stray Latin-1 byte in a UTF-8 list must
#: not turn every Arabic name into cp1256 mojibake. Those cells are reported (``undecodable_bytes``).
MAX_BAD_SHARE = 0.01
MAX_BAD_BYTES = 1000


def mostly_utf8(data: bytes) -> str | None:
    """The text of a file that is UTF-8 but for a few invalid bytes (each read as U+FFFD),
    or None when it is not mostly UTF-8."""
    text = data.decode("utf-8", errors="surrogateescape")
    bad = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    valid_multibyte = sum(1 for ch in text if ord(ch) > 0x7F and not "\udc80" <= ch <= "\udcff")
    if valid_multibyte == 0 or bad > MAX_BAD_BYTES or bad > MAX_BAD_SHARE * (valid_multibyte + bad):
        return None
    return data.decode("utf-8", errors="replace")


def line_offset(text: str, lines: int) -> int:
    """Character offset where physical line ``lines + 1`` starts."""
    pos = 0
    for _ in range(lines):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def read_csv(path: Path, file: str, encoding: str | None) -> Source:
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

    def load(after: int, width: int, numeric: frozenset[int]) -> tuple[Columns, np.ndarray]:
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

    return Source(None, preview, load)


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


def _read_csv_ragged(data: str, delim: str, after: int, width: int, file: str) -> tuple[Columns, np.ndarray]:
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


def _columns_of(rows: Sequence[Sequence[str]], width: int) -> Columns:
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


# a formula cell whose cached value is missing or empty: <c ...><f ...>...</f></c> (or <v/>, <v></v>)
_FORMULA_NO_VALUE = re.compile(
    rb'<c\b[^>]*?r="([A-Z]+[0-9]+)"[^>]*>\s*<f\b[^>]*?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>'
)


def _refuse_formulas_without_values(path: Path, file: str, sheet: str, member: str | None) -> None:
    """Formulas are read as the values the spreadsheet stored with them (``data_only``); a
    workbook written without those values (by a script, not by Excel or LibreOffice) would
    read as empty cells -- 0 IDPs -- so it is refused, saying so."""
    if not member:
        return
    try:
        with zipfile.ZipFile(path) as zf:
            xml = zf.read(member.lstrip("/"))
    except (KeyError, zipfile.BadZipFile, OSError):
        return
    if b"<f" not in xml:
        return
    cells = _FORMULA_NO_VALUE.findall(xml)
    if cells:
        shown = ", ".join(c.decode() for c in cells[:5])
        raise MasterlistError(
            file,
            f"sheet {sheet!r} has formulas without values: {len(cells):,} formula cells ({shown}"
            f"{', ...' if len(cells) > 5 else ''}) carry no stored result; open the workbook in Excel or "
            "LibreOffice and save it (that stores the values), or export the sheet as CSV",
        )


def read_xlsx(path: Path, file: str, sheet: str | None) -> Source:
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
                if ws is not None and looks_like_masterlist(_preview_of(_sheet_rows(ws, PREVIEW_RECORDS))):
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
        _refuse_formulas_without_values(path, file, chosen, getattr(ws, "_worksheet_path", None))
        rows = _sheet_rows(ws)
    finally:
        wb.close()

    def load(after: int, width: int, numeric: frozenset[int]) -> tuple[Columns, np.ndarray]:
        body = rows[after:]
        return _columns_of(body, width), np.arange(after + 1, after + 1 + len(body), dtype=np.int64)

    return Source(chosen, _preview_of(rows[:PREVIEW_RECORDS]), load)


def _preview_of(rows: Sequence[list[str]]) -> list[PreviewRecord]:
    return [PreviewRecord(i + 1, i + 1, list(r)) for i, r in enumerate(rows)]
