"""Reads of ``round`` (written by service.ingest.rounds): THE round resolver -- what
``?round=`` / ``--round`` names (:func:`parse_round`: ``120`` or ``2019-06-30``), the round it
means (:func:`find_round`, in SQL, one tie-break: the latest reporting date, then the highest
DTM number), the one 404 (:func:`resolve_round`, :class:`RoundNotFound`) -- and the rounds with
their national totals. In the base layer because every layer resolves rounds: the API, tiles,
OGC, exports, maps, fragility and the CLI.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Connection, text

from service.core.countries import SeveralCountries
from service.core.errors import NotFound, ParamError

INT4_MAX = 2**31 - 1  # PostgreSQL integer: round numbers as the API takes them
ROUND_ACCEPTED = "a DTM round number (0 to 2147483647) or a reporting date YYYY-MM-DD"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class RoundNotFound(NotFound):
    """The round asked for does not exist (HTTP 404)."""


@dataclass(frozen=True)
class RoundRef:
    """What ``?round=`` names, before it is looked up: a number, a date or nothing (the latest)."""

    number: int | None = None
    date: dt.date | None = None

    def key(self) -> str:
        return "" if self.number is None and self.date is None else str(self.number if self.date is None else self.date)

    def __str__(self) -> str:
        if self.date is not None:
            return f"the round of {self.date.isoformat()}"
        return "any round" if self.number is None else f"round {self.number}"


def parse_round(value: str | None, param: str = "round") -> RoundRef:
    """``120`` (DTM's number), ``2019-06-30`` (a reporting date) or nothing; ParamError otherwise."""
    if value is None or not value.strip():
        return RoundRef()
    v = value.strip()
    if v.isascii() and v.isdigit():
        number = int(v) if len(v) <= 12 else INT4_MAX + 1  # (no int() of thousands of digits)
        if number > INT4_MAX:
            shown = v if len(v) <= 24 else f"{v[:12]}...({len(v):,} digits)"
            raise ParamError(param, f"{shown} is out of range", ROUND_ACCEPTED)
        return RoundRef(number=number)
    if _DATE.fullmatch(v):
        try:
            return RoundRef(date=dt.date.fromisoformat(v))
        except ValueError:
            raise ParamError(param, f"{v!r} is not a calendar date", ROUND_ACCEPTED) from None
    shown = repr(value) if len(value) <= 40 else f"{value[:24]!r}...({len(value):,} characters)"
    raise ParamError(param, f"{shown} is neither a round number nor a date", ROUND_ACCEPTED)


ROUND_COLUMNS = """r.id, r.country, r.population, r.round_number, r.reporting_date, r.boundary_set_id,
                   r.placement, r.swap_corrected, r.source_file, r.created_at, r.import_id"""


def list_rounds(conn: Connection, country: str | None = None, population: str | None = None) -> list[dict]:
    rows = conn.execute(
        text(
            f"""
            SELECT {ROUND_COLUMNS}, n.families, n.individuals, n.published_individuals, n.locations
            FROM round r LEFT JOIN unit_figure n ON n.round_id = r.id AND n.level = 0
            WHERE (CAST(:c AS text) IS NULL OR r.country = :c) AND (CAST(:p AS text) IS NULL OR r.population = :p)
            ORDER BY r.country, r.population, r.reporting_date, r.round_number
            """
        ),
        {"c": country, "p": population},
    ).mappings()
    return [dict(r) for r in rows]


def get_round(conn: Connection, round_id: int) -> dict | None:
    row = conn.execute(text(f"SELECT {ROUND_COLUMNS} FROM round r WHERE r.id = :i"), {"i": round_id}).mappings().first()
    return dict(row) if row else None


def find_round(
    conn: Connection,
    *,
    round_number: int | None = None,
    population: str | None = None,
    country: str | None = None,
    reporting_date: dt.date | None = None,
) -> dict | None:
    """The round a public query means, for a population (default ``idp``): the round of DTM's
    number ``round_number`` or of ``reporting_date`` (a round without a DTM number is named by
    its date); with neither, the population's latest round by reporting date."""
    row = (
        conn.execute(
            text(
                f"""
            SELECT {ROUND_COLUMNS} FROM round r
            WHERE r.population = coalesce(CAST(:p AS text), 'idp')
              AND (CAST(:n AS int) IS NULL OR r.round_number = :n)
              AND (CAST(:d AS date) IS NULL OR r.reporting_date = :d)
              AND (CAST(:c AS text) IS NULL OR r.country = :c)
            ORDER BY r.reporting_date DESC, r.round_number DESC NULLS LAST LIMIT 1
            """
            ),
            {"p": population, "n": round_number, "c": country, "d": reporting_date},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def resolve_round(conn: Connection, ref: RoundRef, population: str | None, country: str | None = None) -> dict:
    """The round row ``ref`` names within ``population`` (default idp) and ``country`` (None:
    any country). RoundNotFound (404) when there is none, naming the rounds there are;
    SeveralCountries (400) when the country is omitted and the round is of several."""
    population = population or "idp"
    rnd = find_round(conn, round_number=ref.number, population=population, country=country, reporting_date=ref.date)
    if rnd is None:
        raise RoundNotFound(_not_found_message(conn, ref, population, country))
    if country is None:
        countries = (
            conn.execute(
                text(
                    "SELECT DISTINCT country FROM round WHERE population = :p "
                    "AND (CAST(:n AS int) IS NULL OR round_number = :n) "
                    "AND (CAST(:d AS date) IS NULL OR reporting_date = :d) ORDER BY country"
                ),
                {"p": population, "n": ref.number, "d": ref.date},
            )
            .scalars()
            .all()
        )
        if len(countries) > 1:
            raise SeveralCountries(countries, f"{population} figures for {ref}")
    return rnd


def _not_found_message(conn: Connection, ref: RoundRef, population: str, country: str | None) -> str:
    """THE message of a round that does not exist: which, where, and the rounds there are."""
    rows = conn.execute(
        text(
            "SELECT round_number, reporting_date FROM round WHERE population = :p "
            "AND (CAST(:c AS text) IS NULL OR country = :c) ORDER BY reporting_date, round_number"
        ),
        {"p": population, "c": country},
    ).all()
    latest = rows[-12:]
    named = ", ".join(str(n) if n is not None else d.isoformat() for n, d in latest)
    dated = ", ".join(f"{n} ({d.isoformat()})" if n is not None else d.isoformat() for n, d in latest)
    if len(rows) > 12:
        named = f"{len(rows)} rounds, the latest: {named}"
    where = f" in {country}" if country else ""
    if not rows:
        return f"no {population} data for {ref}{where}; rounds with {population} data{where}: none imported"
    return (
        f"no {population} data for {ref}{where}; rounds with {population} data{where}: {named}; "
        f"their reporting dates: {dated} (see /rounds)"
    )


def round_filter(conn: Connection, ref: RoundRef, population: str | None, country: str | None = None) -> dict:
    """``ref`` as the arguments of ``find_round`` (``round_number``, ``reporting_date``): a date
    is looked up first (RoundNotFound when no round has it; a round without a DTM number is named
    by its date); a number, or nothing (the latest), is passed on as it is."""
    if ref.date is None:
        return {"round_number": ref.number, "reporting_date": None}
    row = resolve_round(conn, ref, population, country)
    return {"round_number": row["round_number"], "reporting_date": row["reporting_date"]}


def round_ref(rnd: dict) -> int | str:
    """How a round is named in a URL's ``?round=``: DTM's number, else its reporting date."""
    return rnd["round_number"] if rnd["round_number"] is not None else rnd["reporting_date"].isoformat()
