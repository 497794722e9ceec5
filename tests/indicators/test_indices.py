"""Indices as indicator datasets: the synthetic Return Index fixture (tests/indicators/return_index.py)
imports as component ``index`` with its 16 indicators, its two scale scores (returnee-weighted
means per unit) and its severity classes kept (share of high-severity locations per unit)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import text

from service.indicators.store import import_dataset
from tests.conftest import client_for
from tests.indicators.return_index import HOTSPOT, SCALE1, SCALE2, write_fixture


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


def _expected_hotspots(rows, many):
    """DTM Iraq's rule recomputed from the file: per sub-district the returnee-weighted scale
    scores; high (>= 60) on a scale, or medium (>= 30) with at least ``many`` returnees."""
    by_unit = defaultdict(list)
    for r in rows:
        by_unit[r["subdistrict_pcode"]].append(r)
    out = {}
    for pcode, rs in by_unit.items():
        w = sum(r["returnees_ind"] for r in rs)
        worst = max(sum(r[s] * r["returnees_ind"] for r in rs) / w for s in ("scale1_livelihoods", "scale2_safety"))
        out[pcode] = int(worst >= HOTSPOT["high"] or (worst >= HOTSPOT["medium"] and w >= many))
    return out


def test_hotspot_rule_published_with_the_index(assessments_fresh, tmp_path):
    """The mapping's hotspot rule gives a column ``hotspot`` per sub-district (1/0 as recomputed
    from the file), above it the share of sub-districts that are hotspots, in the catalogue, the
    choropleth and the OGC per-unit collection; the locations themselves have no such column."""
    engine, _ = assessments_fresh
    many = 19000
    with engine.connect() as conn:
        csv, mapping, rows = write_fixture(conn, tmp_path, many=many)
    res = import_dataset(engine, csv, unit="location", component="index", mapping=mapping, access="public")
    want = _expected_hotspots(rows, many)
    assert 0 < sum(want.values()) < len(want), want  # both classes occur (the test can fail either way)
    with engine.connect() as conn:
        agg = {
            (lvl, p): v
            for lvl, p, v in conn.execute(
                text(
                    "SELECT level, pcode, value FROM indicator_aggregate "
                    "WHERE dataset_id = :d AND column_id = 'hotspot'"
                ),
                {"d": res.dataset_id},
            ).all()
        }
    assert {p: int(v) for (lvl, p), v in agg.items() if lvl == 3} == want
    # above: the share of the unit's sub-districts that are hotspots (nationally: of all of them)
    assert abs(agg[(0, "MWI")] - sum(want.values()) / len(want)) < 1e-9
    with engine.connect() as conn:
        parent = dict(
            conn.execute(
                text("SELECT pcode, parent_pcode FROM admin_unit WHERE pcode = ANY(:p)"), {"p": list(want)}
            ).all()
        )
    for adm2 in set(parent.values()):
        kids = [want[p] for p in want if parent[p] == adm2]
        assert abs(agg[(2, adm2)] - sum(kids) / len(kids)) < 1e-9, adm2
    with client_for(engine) as client:
        cat = {c["id"]: c for c in client.get(f"/datasets/{res.dataset_id}").json()["catalogue"]}
        assert cat["hotspot"]["source"] == "derived" and "medium" in cat["hotspot"]["description"]
        fc = client.get("/choropleth/3.geojson", params={"dataset": res.dataset_id, "indicator": "hotspot"})
        assert fc.status_code == 200, fc.text
        got = {f["properties"]["pcode"]: f["properties"]["value"] for f in fc.json()["features"]}
        shown = {p: int(got[p]) for p in want if got.get(p) is not None}  # (small cells suppressed for the public)
        assert len(shown) >= len(want) // 2 and shown == {p: want[p] for p in shown}, (got, want)
        items = client.get(f"/ogc/collections/dataset{res.dataset_id}-adm3/items", params={"limit": 100}).json()
        assert {f["id"]: int(f["properties"]["hotspot"]) for f in items["features"]} == want
        loc = client.get(f"/ogc/collections/dataset{res.dataset_id}-locations/items", params={"limit": 1}).json()
        assert "hotspot" not in loc["features"][0]["properties"]


BAD_RULES = [
    ("{scales: [scale1_livelihoods], high: 60, medium: 30, population: returnees_ind}", "hotspot.many", "missing"),
    ("{scales: [nope], high: 60, medium: 30, population: returnees_ind, many: 5}", "hotspot.scales", "no column"),
    (
        "{scales: [scale1_livelihoods], high: 30, medium: 60, population: returnees_ind, many: 5}",
        "hotspot.medium",
        "below",
    ),
    (
        "{scales: [scale1_livelihoods], high: 60, medium: 30, population: scale2_safety, many: 5}",
        "hotspot.population",
        "summed",
    ),
    (
        "{scales: [scale1_livelihoods], high: 60, medium: 30, population: returnees_ind, many: lots}",
        "hotspot.many",
        "number",
    ),
]


def test_a_bad_hotspot_rule_names_file_and_key_and_imports_nothing(assessments_fresh, tmp_path):
    from service.indicators.errors import IndicatorFileError

    engine, _ = assessments_fresh
    with engine.connect() as conn:
        csv, mapping, _ = write_fixture(conn, tmp_path, n=20)
        before = conn.execute(text("SELECT count(*) FROM indicator_dataset")).scalar_one()
    head = mapping.read_text(encoding="utf-8").split("hotspot:")[0]
    for section, key, words in BAD_RULES:
        mapping.write_text(head + f"hotspot: {section}\n", encoding="utf-8")
        with pytest.raises(IndicatorFileError) as err:
            import_dataset(engine, csv, unit="location", component="index", mapping=mapping, access="public")
        msg = str(err.value)
        assert mapping.name in msg and key in msg and words in msg, msg
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM indicator_dataset")).scalar_one() == before
