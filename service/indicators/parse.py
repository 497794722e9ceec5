"""Values of indicator files as their catalogue types them: multi-select answers ("a b c"),
Yes/No, numbers with thousands separators, areas ("31,533 sq.m"), dates as text or Excel
serials. A value that does not fit raises ``ValueError`` with what was found."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd

MISSING = {"", "null", "nan", "nat", "n/a", "#n/a", "na", "-"}
_NUM = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")
_AREA = re.compile(r"^([\d,]+(?:\.\d+)?)\s*(sq\.?\s*m|sqm|m2|m²|square met(?:er|re)s?|ha|hectares?|km2|km²)$", re.I)
_AREA_FACTOR = {"ha": 10_000.0, "hectare": 10_000.0, "hectares": 10_000.0, "km2": 1e6, "km²": 1e6}
TRUE = {"yes", "true", "y", "1", "1.0"}
FALSE = {"no", "false", "n", "0", "0.0"}
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%b-%d-%Y",
    "%d/%m/%Y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d, %Y",
    "%Y/%m/%d",
)
EXCEL_EPOCH = dt.date(1899, 12, 30)


def is_missing(v) -> bool:
    if v is None:
        return True
    if v.__class__ is str:
        return v.strip().lower() in MISSING
    if isinstance(v, float) and math.isnan(v):
        return True
    if v.__class__.__name__ == "NaTType":
        return True
    return isinstance(v, str) and v.strip().lower() in MISSING


def parse_number(v) -> float | int | None:
    """12 / "1,234" / "3.5" -> number; anything else -> None (no exception: for inference)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and math.isnan(v) else v
    s = str(v).strip()
    if not _NUM.match(s):
        return None
    f = float(s.replace(",", ""))
    return int(f) if f.is_integer() and "." not in s else f


def parse_area(v) -> float | None:
    # "30, 720 sq.m": a thousands separator followed by a stray space
    m = _AREA.match(re.sub(r"(?<=\d),\s+(?=\d{3}\b)", ",", str(v).strip()))
    if not m:
        return None
    unit = m.group(2).lower().replace(" ", "")
    return float(m.group(1).replace(",", "")) * _AREA_FACTOR.get(unit, 1.0)


def parse_date(v) -> dt.date | None:
    if hasattr(v, "date") and callable(v.date):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (int, float)) and 20_000 <= v <= 80_000:  # an Excel serial day (1954-2119)
        return EXCEL_EPOCH + dt.timedelta(days=int(v))
    s = str(v).strip()
    if re.fullmatch(r"\d{5}(\.0+)?", s) and 20_000 <= float(s) <= 80_000:
        return EXCEL_EPOCH + dt.timedelta(days=int(float(s)))
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    return None


def looks_like_date(s: str) -> bool:
    return not re.fullmatch(r"[\d.]+", s) and parse_date(s) is not None


def parse_value(typ: str, v):
    """The JSON value of a cell of type ``typ`` (None: missing); ValueError if it does not fit."""
    if is_missing(v):
        return None
    if typ == "integer":
        n = parse_number(v)
        if n is None or not float(n).is_integer():
            raise ValueError(f"{v!r} is not a whole number")
        return int(n)
    if typ == "number":
        n = parse_number(v)
        if n is None:
            raise ValueError(f"{v!r} is not a number")
        return float(n)
    if typ == "area":
        n = parse_number(v)
        a = float(n) if n is not None else parse_area(v)
        if a is None:
            raise ValueError(f"{v!r} is not an area (e.g. '31,533 sq.m')")
        return a
    if typ == "boolean":
        s = str(v).strip().lower()
        if s in TRUE:
            return True
        if s in FALSE:
            return False
        raise ValueError(f"{v!r} is not yes/no")
    if typ == "date":
        d = parse_date(v)
        if d is None:
            raise ValueError(f"{v!r} is not a date")
        return d.isoformat()
    if typ == "select_multiple":
        return str(v).split()
    if typ == "key" and isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return str(int(v)) if float(v).is_integer() else str(v)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return " ".join(str(v).split())


# ------------------------------------------------------------------------------ whole columns
_PLAIN = r"[+-]?\d+(?:\.\d+)?"
_ALL_PLAIN = re.compile(rf"{_PLAIN}(?:\n{_PLAIN})*")


def plain_numbers(strs: list) -> np.ndarray | None:
    """The floats of strings that are all plain numbers (``12``, ``-3.5``), checked by one regular
    expression over the joined column and converted by numpy; None when any is something else
    (thousands separators, units, words, non-strings: those go value by value)."""
    try:
        joined = "\n".join(strs)
    except TypeError:  # not all strings
        return None
    if not strs or not _ALL_PLAIN.fullmatch(joined):
        return None
    return np.array(strs, dtype=np.float64)


@dataclass
class ParsedColumn:
    """A column's cells as its type reads them, each distinct cell parsed once: ``codes[i]`` is the
    index in ``values`` of row i's value (the last value is None: missing cells)."""

    codes: np.ndarray
    values: list
    raw: list  # the distinct cells as read (same order as ``values``, without the trailing None)
    errors: dict[int, str]  # index of a distinct cell -> why it does not fit (its value is None)

    def cells(self) -> list:
        arr = np.empty(len(self.values), dtype=object)
        for j, v in enumerate(self.values):
            arr[j] = v  # one by one: a list value (multi-select answer) stays one cell
        return arr[self.codes].tolist()

    def pieces(self, key: str) -> list:
        """Per row: ``"key":value`` as JSON text, or None where the cell is missing."""
        head = orjson.dumps(key).decode() + ":"
        arr = np.empty(len(self.values), dtype=object)
        for j, v in enumerate(self.values):
            arr[j] = None if v is None else head + _dumps(v)
        return arr[self.codes].tolist()

    def rows_of(self, j: int) -> np.ndarray:
        return np.flatnonzero(self.codes == j)

    def counts(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=len(self.values))

    def numbers(self) -> np.ndarray:
        """Per row: the value if it is a number (not a boolean), else NaN."""
        u = np.array(
            [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in self.values]
        )
        return u[self.codes]

    def present(self) -> np.ndarray:
        return np.array([v is not None for v in self.values])[self.codes]

    def matches(self, answer: str) -> np.ndarray:
        """Per row: the value is (or, for a multi-select answer, holds) ``answer`` (as its JSON text)."""
        return np.array([_matches(v, answer) for v in self.values])[self.codes]


def _dumps(v) -> str:
    try:
        return orjson.dumps(v).decode()
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(v, ensure_ascii=False)


def _matches(v, answer: str) -> bool:
    if v is None:
        return False
    if isinstance(v, list):
        return answer in v
    if isinstance(v, str):
        return v == answer
    return orjson.dumps(v).decode() == answer  # true/false, 12, 3.5: as the stored JSON reads


def factorize(cells: list) -> tuple[np.ndarray, list]:
    """Codes per cell (-1: None/NaN) and the distinct cells with their own Python types
    (``True`` and ``1`` kept apart although they hash alike)."""
    kinds = set(map(type, cells))
    if bool in kinds and kinds & {int, float}:
        tagged = np.empty(len(cells), dtype=object)
        tagged[:] = [(type(v).__name__, v) for v in cells]
        codes, uniques = pd.factorize(tagged)
        return codes, [u[1] for u in uniques]
    codes, uniques = pd.factorize(np.array(cells, dtype=object))  # an object array keeps the cells' types
    return codes, uniques.tolist()


def distinct_values(cells: list) -> tuple[list, int]:
    """The distinct non-missing cells of a column and how many cells are not missing."""
    codes, uniques = factorize(cells)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    keep = [j for j, u in enumerate(uniques) if not is_missing(u)]
    return [uniques[j] for j in keep], int(counts[keep].sum()) if keep else 0


def parse_column(typ: str, cells: list) -> ParsedColumn:
    """``parse_value`` over a column, each distinct cell once (answers and counts repeat) and a
    column of plain numbers converted at once."""
    codes, uniques = factorize(cells)
    codes = np.where(codes < 0, len(uniques), codes)  # None/NaN cells: the trailing None
    values: list = [None] * (len(uniques) + 1)
    errors: dict[int, str] = {}
    todo = [j for j, u in enumerate(uniques) if not is_missing(u)]
    if typ in ("integer", "number", "area") and todo:
        nums = plain_numbers([uniques[j] for j in todo])
        if nums is not None and (typ != "integer" or bool(np.all(nums == np.floor(nums)))):
            conv = nums.astype(np.int64).tolist() if typ == "integer" else nums.tolist()
            for j, v in zip(todo, conv):
                values[j] = v
            todo = []
    for j in todo:
        try:
            values[j] = parse_value(typ, uniques[j])
        except ValueError as exc:
            errors[j] = str(exc)
    return ParsedColumn(codes, values, uniques, errors)
