"""DTM's round calendar: which round number DTM gave the round of a reporting date.

Kept as data, per country: ``service/data/round_calendar.csv`` (country, population, round
number, reporting date; an empty population means every population). Iraq's rows are DTM's
own round numbers with the dates under which DTM's API publishes them. Add rows for another
country, or point the setting ``round_calendar`` (``DTM_ATLAS_ROUND_CALENDAR``) at a CSV of
the same columns: its rows are read after the project's and win where both name a date.

A round number comes from the calendar when the reporting date is one of its dates, or lies
within ``round_calendar_days`` (``DTM_ATLAS_ROUND_CALENDAR_DAYS``, default 3) of one: DTM's
calendar dates rounds 107, 112 and 115 on 2018-12-30, 2019-10-30 and 2020-04-30, their master
lists on 2018-12-31, 2019-10-31 and 2020-04-29 (``near_round``; the import reports such a
match). Calendar dates on the first of a month match exactly only: DTM's API dates the rounds
before May 2017 by the first of their month while the master lists carry the collection day,
so the day tells nothing and those rounds stay without a number unless ``--round`` gives it.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from service.core.settings import ImportRules

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


def round_number_for(country: str, population: str, reporting_date: dt.date, extra: str | None = None) -> int | None:
    """DTM's number of the round of ``reporting_date``, or None when the calendar has none
    (``extra``: the setting ``round_calendar``, a CSV of more rows)."""
    rows = calendar(extra or None)
    key = country.upper()
    return rows.get((key, population, reporting_date), rows.get((key, "", reporting_date)))


@dataclass(frozen=True)
class NearRound:
    """A calendar round matched to a reporting date it is not exactly dated on."""

    round_number: int
    calendar_date: dt.date
    days: int

    def note(self, reporting_date: dt.date) -> str:
        day = "day" if self.days == 1 else "days"
        return (
            f"round {self.round_number} from DTM's calendar, dated {self.calendar_date.isoformat()}: "
            f"{self.days} {day} from the reporting date {reporting_date.isoformat()}"
        )


def near_round(
    country: str,
    population: str,
    reporting_date: dt.date,
    days: int = ImportRules.round_calendar_days,
    extra: str | None = None,
) -> NearRound | None:
    """The calendar round nearest ``reporting_date`` within ``days`` (the setting
    ``round_calendar_days``), not dated on the first of a month; None when none is that near or
    the date is exactly a calendar date (``round_number_for``). Ties: the earlier date.
    ``extra``: the setting ``round_calendar``."""
    if days <= 0:
        return None
    rows = calendar(extra or None)
    key = country.upper()
    best: NearRound | None = None
    for (c, pop, date), number in rows.items():
        if c != key or pop not in ("", population) or date.day == 1 or date == reporting_date:
            continue
        gap = abs((date - reporting_date).days)
        if gap <= days and (best is None or (gap, date) < (best.days, best.calendar_date)):
            best = NearRound(number, date, gap)
    return best
