"""The fragility endpoints over the real round 120 (computed on the first request)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text


def test_geojson_subdistricts_every_unit_classed_or_insufficient(frag_client, frag_engine):
    r = frag_client.get("/fragility/3.geojson?round=120")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    feats = fc["features"]
    assert len(feats) == 294
    keys = {c["key"] for c in fc["legend"]["classes"]}
    assert keys == {"very_low", "low", "medium", "high", "very_high", "insufficient_data"}
    colors = {c["key"]: c["color"] for c in fc["legend"]["classes"]}
    for f in feats:
        p = f["properties"]
        assert p["class_key"] in keys
        assert p["color"] == colors[p["class_key"]]
        if p["status"] == "ok":
            assert 1 <= p["class"] <= 5 and 0 <= p["index"] <= 100
            assert set(p["dimensions"]) == {"displacement", "living_conditions"}
            assert p["rank_p5"] <= p["rank_p50"] <= p["rank_p95"] and 0 <= p["p_high"] <= 1
        else:
            assert p["class"] is None and p["class_key"] == "insufficient_data"
    # Arabic names survive
    assert any("\u0600" <= ch <= "\u06ff" for f in feats for ch in (f["properties"]["name_ar"] or ""))
    # the legend counts are the features' classes
    counted = {}
    for f in feats:
        counted[f["properties"]["class_key"]] = counted.get(f["properties"]["class_key"], 0) + 1
    assert {c["key"]: c["count"] or 0 for c in fc["legend"]["classes"]} == {k: counted.get(k, 0) for k in keys}
    # served from the table on the second request: the same run, no new log entry
    with frag_engine.connect() as conn:
        n_logs = conn.execute(text("SELECT count(*) FROM import_log WHERE kind = 'fragility'")).scalar_one()
    r2 = frag_client.get("/fragility/3.geojson?round=120")
    assert r2.json()["run"]["run_id"] == fc["run"]["run_id"]
    with frag_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM import_log WHERE kind = 'fragility'")).scalar_one() == n_logs


def test_geojson_higher_levels_population_weighted(frag_client, frag_engine):
    sub = {
        f["properties"]["pcode"]: f["properties"]
        for f in frag_client.get("/fragility/3.geojson?round=120").json()["features"]
    }
    gov = frag_client.get("/fragility/1.geojson?round=120").json()["features"]
    assert len(gov) == 18
    with frag_engine.connect() as conn:
        parent = dict(
            conn.execute(
                text(
                    "SELECT u3.pcode, u2.parent_pcode FROM admin_unit u3 "
                    "JOIN admin_unit u2 ON u2.pcode = u3.parent_pcode "
                    "AND u2.level = 2 WHERE u3.level = 3"
                )
            ).all()
        )
    for g in gov:
        p = g["properties"]
        kids = [s for code, s in sub.items() if parent[code] == p["pcode"] and s["status"] == "ok" and s["residents"]]
        if not kids:
            assert p["status"] == "insufficient_data"
            continue
        expect = sum(k["index"] * k["residents"] for k in kids) / sum(k["residents"] for k in kids)
        assert abs(p["index"] - expect) < 1e-4, (p["pcode"], p["index"], expect)
    assert len(frag_client.get("/fragility/adm2.geojson?round=120").json()["features"]) == 101
    assert frag_client.get("/fragility/0.geojson").status_code == 404


def test_overlay_adds_up_to_national_totals(frag_client):
    r = frag_client.get("/fragility/overlay?round=120")
    assert r.status_code == 200, r.text
    o = r.json()
    rt = o["round_totals"]
    assert rt["idps"] > 0 and rt["returnees"] > 0
    assert o["national_totals"] == {k: rt[k] for k in ("idps", "returnees", "idp_locations", "returnee_locations")}
    # per governorate, each class sums to the national row of that class
    for key, nat in o["national"].items():
        for field in ("idps", "returnees", "idp_locations", "returnee_locations"):
            assert sum(g["classes"].get(key, {}).get(field, 0) for g in o["governorates"]) == nat[field]
    c = frag_client.get("/fragility/overlay?round=120&f=csv")
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert rows[1][5] == "#affected+idps+ind"
    national = [r for r in rows[2:] if r[0] == "national"]
    assert sum(int(r[5]) for r in national) == rt["idps"]
    assert sum(int(r[6]) for r in national) == rt["returnees"]
    assert any("\u0600" <= ch <= "\u06ff" for r in rows[2:] for ch in r[3])


def test_method_card(frag_client):
    h = frag_client.get("/fragility/method?round=120")
    assert h.status_code == 200 and h.headers["content-type"].startswith("text/html")
    for needle in (
        "Purpose",
        "Limits",
        "Indicators",
        "goalposts",
        "Classes",
        "Data sources",
        "Uncertainty",
        "Disclaimer",
        "IDPs per 1,000 residents",
        "irq_population_estimates_2014_subdistrict.csv",
        "1000 draws",
    ):
        assert needle in h.text, needle
    md = frag_client.get("/fragility/method?round=120&f=md")
    assert (
        md.text.startswith("# DTM displacement fragility") and "| IDPs per 1,000 residents (idps_per_1000)" in md.text
    )


def test_errors_are_json(frag_client):
    r = frag_client.get("/fragility/3.geojson?round=999")
    assert r.status_code == 404 and "round 999" in r.json()["detail"]
    r = frag_client.get("/fragility/3.geojson?method=nope")
    assert r.status_code == 404 and "unknown fragility method 'nope'" in r.json()["detail"]


def test_unit_detail(frag_client):
    sub = {
        f["properties"]["pcode"]: f["properties"]
        for f in frag_client.get("/fragility/3.geojson?round=120").json()["features"]
    }
    code, props = next((k, p) for k, p in sub.items() if p["status"] == "ok")
    r = frag_client.get(f"/fragility/units/{code.replace('IQ', 'IRQ-', 1)}?round=120")
    assert r.status_code == 200, r.text
    u = r.json()
    assert u["pcode"] == code and u["class_key"] == props["class_key"] and u["index"] == props["index"]
    assert set(u["dimensions"]) == set(u["dimension_labels"]) == {"displacement", "living_conditions"}
    assert u["ranked_units"] == sum(1 for p in sub.values() if p["status"] == "ok")
    assert set(u["indicators"]) == set(u["indicator_labels"])
    assert frag_client.get("/fragility/units/IQG99Q99N99?round=120").status_code == 404
    assert "no fragility result" in frag_client.get("/fragility/units/nonsense?round=120").json()["detail"]
