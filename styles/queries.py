"""The figures the map styles are classified from (reads only).

Rounds are resolved by ``service.core.rounds.find_round`` (DTM round number within a
population; the latest by reporting date by default). ``classification_for`` is the one call
the style endpoint, the vector tiles, the choropleth GeoJSON and the web map use so their
classes agree: the values of every unit of the level in the round, without the
``UNASSIGNED`` bucket, classified with the indicator's defaults (``styles.classify.legend_for``)
or the scheme ``classes`` names (``styles.classify.CLASSES``):

* ``quantile``, ``jenks``, ``equal``: that method over the round's values;
* ``fixed``: the indicator's method over the values of the whole history (every round of the
  round's country and population at the level), applied to the round: the same breaks,
  colours and labels in every round. The history's classes are computed once per database
  and data version (an import changes the history) and kept in a small process cache.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from service.core.constants import UNASSIGNED
from service.core.versioncache import VersionCaches
from styles.classify import Classification, get_indicator, legend_for, method_for, parse_classes

# indicator field -> unit_figure column (a whitelist: the column name is put into the SQL)
_COLUMNS = {
    "individuals": "individuals",
    "published_individuals": "published_individuals",
    "families": "families",
    "change_individuals": "change_individuals",
    "change_12m_individuals": "change_12m_individuals",
    "share_national": "share_national",
}


def _column(field: str) -> str:
    try:
        return _COLUMNS[field]
    except KeyError:
        raise ValueError(f"unknown unit_figure field {field!r}; use one of {', '.join(_COLUMNS)}") from None


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
    column = _column(field)
    rows = conn.execute(
        text(
            f"SELECT pcode, {column} AS value FROM unit_figure "
            "WHERE round_id = :r AND level = :l AND pcode <> :u ORDER BY pcode"
        ),
        {"r": round_id, "l": level, "u": UNASSIGNED},
    ).all()
    return [(pcode, value) for pcode, value in rows]


def history_values(conn: Connection, round_id: int, level: int, field: str) -> tuple[list, dict]:
    """Every unit's value of ``level`` in every round of the round's country and population
    (``UNASSIGNED`` left out), and which rounds they are (count, first and last date)."""
    column = _column(field)
    values = conn.execute(
        text(
            f"""
            SELECT f.{column} FROM round r0
            JOIN round r ON r.country = r0.country AND r.population = r0.population
            JOIN unit_figure f ON f.round_id = r.id AND f.level = :l AND f.pcode <> :u
            WHERE r0.id = :r
            """
        ),
        {"r": round_id, "l": level, "u": UNASSIGNED},
    ).scalars()
    values = list(values)
    rounds = (
        conn.execute(
            text(
                """
                SELECT count(*) AS rounds, min(r.reporting_date) AS first, max(r.reporting_date) AS last
                FROM round r0 JOIN round r ON r.country = r0.country AND r.population = r0.population
                WHERE r0.id = :r
                """
            ),
            {"r": round_id},
        )
        .mappings()
        .one()
    )
    first, last = rounds["first"].isoformat(), rounds["last"].isoformat()
    return values, {"rounds": rounds["rounds"], "first": first, "last": last}


_fixed = VersionCaches(max_entries=256)  # one cache per database: its data versions are its own


def fixed_classification(conn: Connection, *, round_id: int, level: int, indicator: str, population: str):
    """The classes of ``indicator`` over the whole history the round belongs to (cached per
    database and data version, country, population, level and indicator)."""
    scope = conn.execute(text("SELECT country, population FROM round WHERE id = :r"), {"r": round_id}).one()

    def compute() -> Classification:
        values, history = history_values(conn, round_id, level, get_indicator(indicator).field)
        cls = legend_for(indicator, population, values)
        cls.history = history
        return cls

    return _fixed.get(conn, (scope.country, scope.population, level, indicator), compute)


def classification_for(
    conn: Connection, *, round_id: int, level: int, indicator: str, population: str, classes: str | None = None
) -> tuple[Classification, dict[str, float | int | None]]:
    """The classification of ``indicator`` over the level's units in the round (``classes``:
    a scheme of ``styles.classify.CLASSES``; None: the indicator's default over the round), and
    the values by P-code."""
    classes = parse_classes(classes)
    values = dict(unit_values(conn, round_id, level, get_indicator(indicator).field))
    if classes == "fixed":
        history = fixed_classification(conn, round_id=round_id, level=level, indicator=indicator, population=population)
        cls = history.applied_to(values.values())
    else:
        method = method_for(indicator, classes) if classes else None
        cls = legend_for(indicator, population, values.values(), method=method)
    cls.classes = classes
    return cls, values
