"""DTM's round calendar: which round number DTM gave the round of a reporting date.

Kept as data, per country: ``service/data/round_calendar.csv`` (country, population, round
number, reporting date; an empty population means every population). Iraq's rows are DTM's
own round numbers with the dates under which DTM's API publishes them. Add rows for another
country, or point the setting ``round_calendar`` (``DTM_ATLAS_ROUND_CALENDAR``) at a CSV of
the same columns: its rows are read after the project's and win where both name a date.

A round number comes from the calendar only when the reporting date is one of its dates:
DTM's API dates the rounds before May 2017 by the first of their month while the master
lists carry the collection day, so those rounds stay without a number unless ``--round``
gives it.
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import lru_cache
from pathlib import Path

PROJECT_CALENDAR = Path(__file__).resolve().parent.parent / "data" / "round_calendar.csv"


class CalendarError(ValueError):
    pass


def _read(path: Path) -> dict[tuple[str, str, dt.date], int]:
    out: dict[tuple[str, str, dt.date], int] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"country", "round_number", "reporting_date"} - set(reader.fieldnames or ())
        if missing:
            raise CalendarError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                date = dt.date.fromisoformat(row["reporting_date"].strip())
                number = int(row["round_number"])
            except (ValueError, AttributeError):
                raise CalendarError(
                    f"{path}, line {line}: reporting_date must be YYYY-MM-DD and round_number "
                    f"a whole number, got {row.get('reporting_date')!r}, {row.get('round_number')!r}"
                ) from None
            out[(row["country"].strip().upper(), (row.get("population") or "").strip().lower(), date)] = number
    return out


@lru_cache(maxsize=4)
def calendar(extra: str | None = None) -> dict[tuple[str, str, dt.date], int]:
    """(country, population or '', date) -> round number: the project's rows, then ``extra``'s."""
    out = _read(PROJECT_CALENDAR)
    if extra:
        out.update(_read(Path(extra)))
    return out


def round_number_for(country: str, population: str, reporting_date: dt.date) -> int | None:
    """DTM's number of the round of ``reporting_date``, or None when the calendar has none."""
    from service.core.settings import get_settings

    extra = get_settings().round_calendar
    rows = calendar(str(extra) if extra else None)
    key = country.upper()
    return rows.get((key, population, reporting_date), rows.get((key, "", reporting_date)))
