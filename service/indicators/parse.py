"""Values of indicator files as their catalogue types them: multi-select answers ("a b c"),
Yes/No, numbers with thousands separators, areas ("31,533 sq.m"), dates as text or Excel
serials. A value that does not fit raises ``ValueError`` with what was found."""

from __future__ import annotations

import datetime as dt
import math
import re

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
