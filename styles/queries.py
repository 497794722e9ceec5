"""The figures the map styles are classified from (reads only).

Rounds are resolved by ``service.core.rounds.find_round`` (DTM round number within a
population; the latest by reporting date by default). ``classification_for`` is the one call the style endpoint, the
vector tiles and the choropleth GeoJSON use so their classes agree: the values of every unit
of the level in the round, without the ``UNASSIGNED`` bucket, classified with the indicator's
defaults (``styles.classify.legend_for``).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from service.core.constants import UNASSIGNED
from styles.classify import Classification, get_indicator, legend_for

# indicator field -> unit_figure column (a whitelist: the column name is put into the SQL)
_COLUMNS = {
    "individuals": "individuals",
    "published_individuals": "published_individuals",
    "families": "families",
    "change_individuals": "change_individuals",
    "change_12m_individuals": "change_12m_individuals",
    "share_national": "share_national",
}


def round_numbers(conn: Connection, population: str, country: str | None = None) -> list[int]:
    """The population's round numbers, oldest reporting date first (of one country, or all)."""
    return list(
        conn.execute(
            text(
                "SELECT round_number FROM round WHERE (CAST(:c AS text) IS NULL OR country = :c) AND population = :p "
                "ORDER BY reporting_date, round_number"
            ),
            {"c": country, "p": population},
        ).scalars()
    )


def unit_values(conn: Connection, round_id: int, level: int, field: str) -> list[tuple[str, float | int | None]]:
    """``(pcode, value)`` of every unit of ``level`` in the round (not ``UNASSIGNED``), by P-code."""
    try:
        column = _COLUMNS[field]
    except KeyError:
        raise ValueError(f"unknown unit_figure field {field!r}; use one of {', '.join(_COLUMNS)}") from None
    rows = conn.execute(
        text(
            f"SELECT pcode, {column} AS value FROM unit_figure "
            "WHERE round_id = :r AND level = :l AND pcode <> :u ORDER BY pcode"
        ),
        {"r": round_id, "l": level, "u": UNASSIGNED},
    ).all()
    return [(pcode, value) for pcode, value in rows]


def classification_for(
    conn: Connection, *, round_id: int, level: int, indicator: str, population: str
) -> tuple[Classification, dict[str, float | int | None]]:
    """The classification of ``indicator`` over the level's units in the round, and the values by P-code."""
    values = dict(unit_values(conn, round_id, level, get_indicator(indicator).field))
    return legend_for(indicator, population, values.values()), values
