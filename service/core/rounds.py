"""Reads of ``round`` (written by service.ingest.rounds): the round a query means, and the
rounds with their national totals. In the base layer because every layer resolves rounds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

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


def round_ref(rnd: dict) -> int | str:
    """How a round is named in a URL's ``?round=``: DTM's number, else its reporting date."""
    return rnd["round_number"] if rnd["round_number"] is not None else rnd["reporting_date"].isoformat()
