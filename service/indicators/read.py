"""Read an indicator file (CSV, CSV.GZ, XLSX, HXL-tagged) into a table of cells, with what the
file says about its own columns: an HXL hashtag row and a Dictionary sheet.

The XLSX sheet is the one named, else the one that holds the data (the most filled cells,
leaving out dictionaries and read-me sheets: DTM Nigeria's file also has two pivot sheets).
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from service.indicators.errors import IndicatorFileError

DICTIONARY_SHEETS = re.compile(r"dictionar|codebook|read ?me|metadata|about", re.I)


def norm(name: str) -> str:
    """A header as a key: lower case, letters and digits only (``State PCode`` = ``State_Pcode``)."""
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


@dataclass
class RawTable:
    file: str
    frame: pd.DataFrame  # cells as read (str from CSV; str/int/float/datetime from XLSX)
    first_line: int  # the file's line (or sheet row) of the first data row
    sheet: str | None = None
    hxl: dict[str, str] = field(default_factory=dict)  # header -> hashtag
    dictionary: dict[str, str] = field(default_factory=dict)  # norm(header) -> description

    def line(self, index: int) -> int:
        return self.first_line + index


def read_table(path: str | Path, sheet: str | None = None) -> RawTable:
    path = Path(path)
    if not path.exists():
        raise IndicatorFileError(path.name, None, None, "file not found")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        raw = path.read_bytes()
        if name.endswith(".gz"):
            try:
                raw = gzip.decompress(raw)
            except OSError as exc:
                raise IndicatorFileError(path.name, None, None, f"not a gzip file: {exc}") from None
        try:
            data = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            data = raw.decode("cp1256")
        sep = (
            "\t"
            if name.endswith(".tsv") or data.split("\n", 1)[0].count("\t") > data.split("\n", 1)[0].count(",")
            else ","
        )
        try:
            frame = pd.read_csv(io.StringIO(data), dtype=str, keep_default_na=False, sep=sep)
        except pd.errors.ParserError as exc:
            raise IndicatorFileError(path.name, None, None, f"not a readable CSV: {exc}") from None
        table = RawTable(path.name, frame, 2)
    elif name.endswith((".xlsx", ".xlsm")):
        table = _read_xlsx(path, sheet)
    else:
        raise IndicatorFileError(path.name, None, None, "unsupported file type; expected .csv, .csv.gz, .tsv or .xlsx")
    frame = table.frame
    frame.columns = [str(c).strip() for c in frame.columns]
    dup = [c for c in frame.columns if list(frame.columns).count(c) > 1]
    if dup:
        raise IndicatorFileError(path.name, 1, dup[0], "the header names this column twice")
    # an HXL hashtag row right under the header
    if len(frame) and all(_is_tag(v) for v in frame.iloc[0]) and any(str(v).strip() for v in frame.iloc[0]):
        table.hxl = {c: str(v).strip() for c, v in zip(frame.columns, frame.iloc[0]) if str(v).strip()}
        table.frame = frame.iloc[1:].reset_index(drop=True)
        table.first_line += 1
    if table.frame.empty:
        raise IndicatorFileError(path.name, None, None, "no data rows")
    return table


def _is_tag(v) -> bool:
    s = str(v).strip() if v is not None and not (isinstance(v, float) and pd.isna(v)) else ""
    return s == "" or bool(re.fullmatch(r"#[a-z][a-z0-9_]*(\s*\+\s*[a-z][a-z0-9_]*)*", s, re.I))


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, header=None, engine="calamine")
    except Exception as exc:  # a corrupt workbook: openpyxl raises many kinds
        raise IndicatorFileError(path.name, None, None, f"not a readable XLSX: {exc}") from None
    if sheet is not None and sheet not in sheets:
        raise IndicatorFileError(path.name, None, None, f"no sheet {sheet!r}; sheets: {', '.join(sheets)}")
    data_sheets = {k: v for k, v in sheets.items() if not DICTIONARY_SHEETS.search(k)}
    chosen = sheet or max(data_sheets or sheets, key=lambda k: int(sheets[k].notna().sum().sum()))
    grid = sheets[chosen].dropna(how="all").dropna(axis=1, how="all")
    if grid.empty:
        raise IndicatorFileError(path.name, None, None, f"sheet {chosen!r} is empty")
    header_row = grid.index[0]
    frame = grid.iloc[1:].copy()
    frame.columns = [
        str(c).strip() if c is not None and not (isinstance(c, float) and pd.isna(c)) else f"column_{i + 1}"
        for i, c in enumerate(grid.iloc[0])
    ]
    frame = frame.reset_index(drop=True).astype(object).where(frame.notna().reset_index(drop=True), None)
    table = RawTable(path.name, frame, int(header_row) + 2, chosen)
    for k, v in sheets.items():
        if k != chosen and DICTIONARY_SHEETS.search(k):
            table.dictionary.update(_dictionary(v))
    return table


def _dictionary(grid: pd.DataFrame) -> dict[str, str]:
    """``FIELD NAME | DESCRIPTION`` rows of a dictionary sheet (the header row found by its words)."""
    out: dict[str, str] = {}
    start = None
    for i, row in enumerate(grid.itertuples(index=False)):
        cells = [str(c).strip().lower() for c in row if c is not None and not (isinstance(c, float) and pd.isna(c))]
        if any(c in ("field name", "field", "column", "variable", "name") for c in cells) and any(
            "descr" in c or "label" in c for c in cells
        ):
            start = i
            break
    if start is None:
        return out
    for row in grid.iloc[start + 1 :].itertuples(index=False):
        cells = [c for c in row if c is not None and not (isinstance(c, float) and pd.isna(c))]
        if len(cells) >= 2:
            out[norm(cells[0])] = " ".join(str(cells[1]).split())
    return out
