"""The breakdown aggregates (``unit_breakdown``, ``origin_flow``) of the real master lists.

``aggregate_round`` sums each category's key per sub-district instead of opening every row's
document; these tests hold it to the definition, written here as the plain SQL that opens
every document: a (unit, dimension, category) row exists iff some row of the unit holds
that key, with the sum of its values, at every level.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.figures import aggregate, placement
from service.figures.household import sizes_for

LEVELS = (
    """CASE WHEN GROUPING(adm3) = 0 THEN 3 WHEN GROUPING(adm2) = 0 THEN 2 WHEN GROUPING(adm1) = 0 THEN 1 ELSE 0 END"""
)
UNITS = """CASE WHEN GROUPING(adm3) = 0 THEN adm3 WHEN GROUPING(adm2) = 0 THEN adm2
                 WHEN GROUPING(adm1) = 0 THEN adm1 ELSE :n END"""
DEFINITION = f"""
    SELECT {LEVELS} AS level, {UNITS} AS pcode, dimension, category, sum(value::numeric)::bigint AS families
    FROM (SELECT adm1, adm2, adm3, 'origin' AS dimension, b.key AS category, b.value
          FROM location_figure f, jsonb_each_text(f.origin) b WHERE f.round_id = :r
          UNION ALL
          SELECT adm1, adm2, adm3, 'shelter', b.key, b.value
          FROM location_figure f, jsonb_each_text(f.shelter) b WHERE f.round_id = :r
          UNION ALL
          SELECT adm1, adm2, adm3, 'period', b.key, b.value
          FROM location_figure f, jsonb_each_text(f.period) b WHERE f.round_id = :r) e
    GROUP BY GROUPING SETS ((dimension, category, adm1), (dimension, category, adm2),
                            (dimension, category, adm3), (dimension, category))
    ORDER BY 1, 2, 3, 4
"""
STORED = """SELECT level, pcode, dimension, category, families FROM unit_breakdown WHERE round_id = :r
            ORDER BY 1, 2, 3, 4"""
FLOWS = "SELECT origin_name, origin_adm1, adm2, families FROM origin_flow WHERE round_id = :r ORDER BY 1, 2, 3"


def _rounds(conn):
    return conn.execute(
        text("SELECT r.id, r.country, r.population, r.reporting_date, r.boundary_set_id FROM round r ORDER BY r.id")
    ).all()


def test_stored_breakdowns_are_the_sums_of_the_documents(figures_engine):
    with figures_engine.connect() as conn:
        rounds = _rounds(conn)
        assert len(rounds) == 3
        for r in rounds:
            stored = conn.execute(text(STORED), {"r": r.id}).all()
            assert stored, r
            assert stored == conn.execute(text(DEFINITION), {"r": r.id, "n": "IQ"}).all(), r
            # every category a row holds, none it does not: a unit's row exists iff one of its rows has the key
            assert all(f > 0 for *_, f in stored)


@pytest.mark.parametrize("given", ["read from the rows", "a superset"])
def test_breakdowns_with_or_without_the_staged_keys_are_identical(figures_engine, given):
    """The keys come from the staging (the fast path's columns) or are read from the rows (the
    parser's path, long lists): the same aggregates, and keys no row holds give no row."""
    with figures_engine.connect() as conn:
        for r in _rounds(conn):
            before = (conn.execute(text(STORED), {"r": r.id}).all(), conn.execute(text(FLOWS), {"r": r.id}).all())
            table = placement.round_table(r.id)
            keys = None
            if given == "a superset":
                found = aggregate.categories_of(conn, table, {"r": r.id})
                keys = {dim: ["Nowhere", *found[dim], "it's not a column", "Camp"] for dim in found}
            for t in ("unit_breakdown", "origin_flow", "unit_figure"):
                conn.execute(text(f"DELETE FROM {t} WHERE round_id = :r"), {"r": r.id})
            sizes = sizes_for(r.country.strip(), r.population, r.reporting_date)
            crosswalk = placement.crosswalk_for(conn, r.country.strip(), r.boundary_set_id)
            aggregate.aggregate_round(conn, r.id, crosswalk, sizes, keys)
            after = (conn.execute(text(STORED), {"r": r.id}).all(), conn.execute(text(FLOWS), {"r": r.id}).all())
            conn.rollback()  # (the shared database is left as it was)
            assert after == before, (r, given)
