"""Indices as indicator datasets: the synthetic Return Index fixture (tests/indicators/return_index.py)
imports as component ``index`` with its 16 indicators, its two scale scores (returnee-weighted
means per unit) and its severity classes kept (share of high-severity locations per unit)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import text

from service.indicators.store import import_dataset
from tests.indicators.return_index import SCALE1, SCALE2, write_fixture


def test_return_index_fixture_imports_with_scales_and_classes(assessments_fresh, tmp_path):
    engine, _ = assessments_fresh
    with engine.connect() as conn:
        csv, mapping, rows = write_fixture(conn, tmp_path)
    res = import_dataset(engine, csv, unit="location", component="index", mapping=mapping, access="public")
    assert (res.country, res.component, res.rows) == ("MWI", "index", 150)
    assert res.placement.get("declared") == 150, res.placement
    with engine.connect() as conn:
        cat = dict(
            conn.execute(
                text("SELECT column_id, aggregation FROM indicator_column WHERE dataset_id = :d"), {"d": res.dataset_id}
            ).all()
        )
        agg = {
            (p, c): v
            for p, c, v in conn.execute(
                text("SELECT pcode, column_id, value FROM indicator_aggregate WHERE dataset_id = :d AND level = 3"),
                {"d": res.dataset_id},
            ).all()
        }
        kept = conn.execute(
            text(
                "SELECT \"values\" ->> 'severity' FROM indicator_observation "
                "WHERE dataset_id = :d AND obs_id = 'RI00000'"
            ),
            {"d": res.dataset_id},
        ).scalar_one()
    assert all(f"s1_{c}" in cat for c in SCALE1) and all(f"s2_{c}" in cat for c in SCALE2)  # the 16 indicators
    assert (cat["scale1_livelihoods"], cat["severity"]) == ("weighted_mean", "share")
    assert kept == rows[0]["severity"]
    by_unit = defaultdict(list)
    for r in rows:
        by_unit[r["subdistrict_pcode"]].append(r)
    for pcode, rs in by_unit.items():
        w = sum(r["returnees_ind"] for r in rs)
        want = sum(r["scale2_safety"] * r["returnees_ind"] for r in rs) / w
        assert abs(agg[(pcode, "scale2_safety")] - want) < 1e-9
        high = sum(r["severity"] == "high" for r in rs) / len(rs)
        assert abs(agg[(pcode, "severity")] - high) < 1e-9
        assert agg[(pcode, "returnees_ind")] == w
