"""Household size as data: how many persons DTM counts per family, per country, population,
shelter type and range of rounds (by reporting date).

The master lists write individuals = families x one size on every row; DTM's own published
figures use other sizes in some shelters (Iraq, from round 117 of 31 Aug 2020: 5 persons per
family in camps, 6 elsewhere). The rules are kept in ``service/data/household_sizes.csv``
(country, population, shelter, first_date, last_date, persons_per_family, dtm_rounds, source);
the setting ``household_sizes`` (``DTM_ATLAS_HOUSEHOLD_SIZES``) names a CSV of the same
columns read after it, whose rows replace the project's rows of the same country, population,
shelter and first date.

``shelter`` is a shelter category as the master lists name it (a key of
``location_figure.shelter``: ``Camp``) or ``*``, the default size. An empty ``population``
means every population; an empty ``last_date`` means no end. The file's individuals are kept
as read: ``service.figures.aggregate`` stores next to them DTM's published count
(``unit_figure.published_individuals``): the file's individuals minus, for each shelter rule
in force at the round's date, the families in that shelter x (default size - shelter size),
on the rows whose individuals are families x the default size (a row the file already
counted otherwise is left as read).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_HOUSEHOLD_SIZES = Path(__file__).resolve().parent.parent / "data" / "household_sizes.csv"
DEFAULT = "*"
_COLUMNS = ("country", "population", "shelter", "first_date", "persons_per_family")


class HouseholdSizeError(ValueError):
    pass


@dataclass(frozen=True)
class SizeRule:
    country: str
    population: str  # '' = every population
    shelter: str  # a shelter category or '*'
    first_date: dt.date
    last_date: dt.date | None
    persons_per_family: int
    dtm_rounds: str = ""
    source: str = ""

    def applies(self, country: str, population: str, date: dt.date) -> bool:
        return (
            self.country == country.upper()
            and self.population in ("", population)
            and self.first_date <= date
            and (self.last_date is None or date <= self.last_date)
        )


@dataclass(frozen=True)
class RoundSizes:
    """The sizes in force for one round: the default and the shelters that differ from it."""

    default: int | None
    shelters: dict[str, int] = field(default_factory=dict)

    def adjustments(self) -> dict[str, int]:
        """Shelter -> persons per family to take off the file's count (default - shelter size)."""
        if self.default is None:
            return {}
        return {s: self.default - n for s, n in sorted(self.shelters.items()) if n != self.default}


def _date(value: str | None, path: Path, line: int, column: str, required: bool) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise HouseholdSizeError(f"{path}, line {line}: {column} is empty; write a date YYYY-MM-DD")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HouseholdSizeError(f"{path}, line {line}: {column} must be YYYY-MM-DD, got {value!r}") from None


def read_rules(path: Path) -> list[SizeRule]:
    """The rules of one CSV, checked: a bad row is an error naming file, line and column."""
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise HouseholdSizeError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            country = (row["country"] or "").strip().upper()
            shelter = (row["shelter"] or "").strip()
            if not country or not shelter:
                raise HouseholdSizeError(
                    f"{path}, line {line}: country and shelter are required (shelter: a category or '*')"
                )
            first = _date(row["first_date"], path, line, "first_date", True)
            last = _date(row.get("last_date"), path, line, "last_date", False)
            if last is not None and last < first:
                raise HouseholdSizeError(f"{path}, line {line}: last_date {last} is before first_date {first}")
            try:
                size = int((row["persons_per_family"] or "").strip())
            except ValueError:
                size = 0
            if size <= 0:
                raise HouseholdSizeError(
                    f"{path}, line {line}: persons_per_family must be a whole number above 0, "
                    f"got {row['persons_per_family']!r}"
                )
            out.append(
                SizeRule(
                    country=country,
                    population=(row["population"] or "").strip().lower(),
                    shelter=shelter,
                    first_date=first,
                    last_date=last,
                    persons_per_family=size,
                    dtm_rounds=(row.get("dtm_rounds") or "").strip(),
                    source=(row.get("source") or "").strip(),
                )
            )
    return out


@lru_cache(maxsize=4)
def rules(extra: str | None = None) -> tuple[SizeRule, ...]:
    """The project's rules, then ``extra``'s (replacing rows of the same country, population,
    shelter and first date)."""
    out = {(r.country, r.population, r.shelter, r.first_date): r for r in read_rules(PROJECT_HOUSEHOLD_SIZES)}
    if extra:
        out.update({(r.country, r.population, r.shelter, r.first_date): r for r in read_rules(Path(extra))})
    return tuple(out.values())


def _pick(candidates: list[SizeRule]) -> SizeRule | None:
    # the most specific rule: a population's own over every population's, then the latest start
    return max(candidates, key=lambda r: (r.population != "", r.first_date), default=None)


def sizes_for(country: str, population: str, date: dt.date, extra: str | None = None) -> RoundSizes:
    """The household sizes in force for a round (``extra``: the setting ``household_sizes``, a
    CSV of more rules; None: the project's rules only)."""
    applying = [r for r in rules(extra or None) if r.applies(country, population, date)]
    default = _pick([r for r in applying if r.shelter == DEFAULT])
    shelters: dict[str, int] = {}
    for name in sorted({r.shelter for r in applying if r.shelter != DEFAULT}):
        rule = _pick([r for r in applying if r.shelter == name])
        if rule is not None:
            shelters[name] = rule.persons_per_family
    return RoundSizes(default.persons_per_family if default else None, shelters)
