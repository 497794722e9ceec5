"""OGC API - Features beyond Part 1 (issue 23): time-enabled collections, queryables, CQL2
filters (text and JSON), sortby, properties, crs and bbox-crs -- answers checked against the
database's own rows."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

BASE = "/ogc/collections"


def _db(engine, sql: str, **params):
    with engine.connect() as c:
        return c.execute(text(sql), params).all()


def test_conformance_lists_filter_and_cql2(figures_client):
    conf = set(figures_client.get("/ogc/conformance").json()["conformsTo"])
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in conf
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conf
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json" in conf
    assert not any("accent" in c for c in conf)  # ACCENTI is refused, so not claimed


def test_time_enabled_collection_spans_every_round(figures_client, figures_engine):
    doc = figures_client.get(f"{BASE}/idp-adm2").json()
    assert doc["timeEnabled"] and [r["round_number"] for r in doc["rounds"]] == [86, 120]
    lo, hi = doc["extent"]["temporal"]["interval"][0]
    assert lo.startswith("2017-12-31") and hi[:10] == doc["rounds"][-1]["reporting_date"]
    n_units = _db(
        figures_engine,
        "SELECT count(*) FROM admin_unit u JOIN boundary_set b ON b.id = u.boundary_set_id "
        "AND b.is_current WHERE u.level = 2",
    )[0][0]
    every = figures_client.get(f"{BASE}/idp-adm2/items", params={"limit": 1}).json()
    assert every["numberMatched"] == 2 * n_units
    one = figures_client.get(f"{BASE}/idp-adm2/items", params={"datetime": "2017-12-31", "limit": 500}).json()
    assert one["numberMatched"] == n_units
    assert {f["properties"]["round_number"] for f in one["features"]} == {86}
    assert all(f["id"].startswith("r86-") for f in one["features"])
    by_round = figures_client.get(f"{BASE}/idp-adm2/items", params={"round": "120", "limit": 1}).json()
    assert by_round["numberMatched"] == n_units
    fid = by_round["features"][0]["id"]
    feat = figures_client.get(f"{BASE}/idp-adm2/items/{fid}").json()
    assert feat["id"] == fid and feat["properties"]["round_number"] == 120
    assert figures_client.get(f"{BASE}/idp-adm2/items/r7-IQG01").status_code == 404
    assert figures_client.get(f"{BASE}/admin1/items", params={"round": "120"}).status_code == 400


def test_cql2_text_and_json_match_the_database(figures_client, figures_engine):
    expected = _db(
        figures_engine,
        "SELECT f.id FROM location_figure f JOIN round r ON r.id = f.round_id "
        "WHERE r.round_number = 120 AND r.population = 'idp' AND f.individuals > 1000 ORDER BY f.id",
    )
    assert 0 < len(expected) < 2000
    url = f"{BASE}/idp-r120-locations/items"
    got = figures_client.get(url, params={"filter": "individuals > 1000", "limit": 5000}).json()
    assert sorted(f["id"] for f in got["features"]) == [r[0] for r in expected]
    tree = {"op": ">", "args": [{"property": "individuals"}, 1000]}
    got_json = figures_client.get(
        url, params={"filter": json.dumps(tree), "filter-lang": "cql2-json", "limit": 1}
    ).json()
    assert got_json["numberMatched"] == len(expected)
    # time-enabled: the same filter over round 120 only
    series = figures_client.get(
        f"{BASE}/idp-locations/items", params={"filter": "individuals > 1000 AND round_number = 120", "limit": 1}
    ).json()
    assert series["numberMatched"] == len(expected)


@pytest.mark.parametrize(
    "flt",
    [
        "name_en LIKE 'Mos%' OR CASEI(adm2_name) = 'mosul'",
        "individuals BETWEEN 100 AND 500 AND adm1_pcode IN ('IQG15', 'IQG07')",
        "S_INTERSECTS(geometry, BBOX(42, 35, 44.5, 37))",
        "S_WITHIN(geometry, POLYGON((42 35, 44.5 35, 44.5 37, 42 37, 42 35)))",
        "T_AFTER(reporting_date, DATE('2018-01-01'))",
        "families < individuals AND NOT (flags IS NULL)",
    ],
)
def test_cql2_operators_run(figures_client, flt):
    r = figures_client.get(f"{BASE}/idp-r120-locations/items", params={"filter": flt, "limit": 2})
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] >= 0


def test_bad_filters_are_400s_that_say_why(figures_client, figures_engine):
    url = f"{BASE}/idp-r120-locations/items"
    cases = {
        "individuals >": "not valid cql2-text",
        "nope = 1": "not a queryable",
        "name_en > 5": "number is compared",
        "ACCENTI(name_en) = 'x'": "ACCENTI",
        "individuals = 1; DROP TABLE round": "not valid",
    }
    for flt, says in cases.items():
        r = figures_client.get(url, params={"filter": flt})
        assert r.status_code == 400 and says in r.json()["detail"], (flt, r.text)
    r = figures_client.get(url, params={"filter": "x", "filter-lang": "cql"})
    assert r.status_code == 400 and "filter-lang" in r.json()["detail"]
    # a string literal is a bound parameter, never SQL
    r = figures_client.get(url, params={"filter": "name_en = 'x'' OR ''1''=''1'"})
    assert r.status_code == 200 and r.json()["numberMatched"] == 0
    assert _db(figures_engine, "SELECT count(*) FROM round")[0][0] > 0


def test_sortby_and_properties(figures_client):
    url = f"{BASE}/idp-r120-adm2/items"
    doc = figures_client.get(
        url, params={"sortby": "-individuals", "properties": "pcode,individuals", "limit": 10}
    ).json()
    values = [f["properties"]["individuals"] for f in doc["features"]]
    assert values == sorted(values, reverse=True) and values[0] > 0
    assert all(set(f["properties"]) == {"pcode", "individuals"} for f in doc["features"])
    asc = figures_client.get(url, params={"sortby": "+name_en", "limit": 200}).json()
    names = [f["properties"]["name_en"] for f in asc["features"]]
    assert names == sorted(names, key=lambda n: (n is not None, n or ""))
    for bad in ({"sortby": "nope"}, {"properties": "pcode,nope"}):
        r = figures_client.get(url, params=bad)
        assert r.status_code == 400 and "nope" in r.json()["detail"]


def test_crs_and_bbox_crs(figures_client):
    url = f"{BASE}/idp-r120-locations/items"
    plain = figures_client.get(url, params={"limit": 1}).json()["features"][0]
    lon, lat = plain["geometry"]["coordinates"]
    fid = plain["id"]
    flipped = figures_client.get(f"{url}", params={"limit": 1, "crs": "EPSG:4326"})
    assert flipped.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    assert flipped.json()["features"][0]["geometry"]["coordinates"] == [lat, lon]
    merc = figures_client.get(f"{BASE}/idp-r120-locations/items/{fid}", params={"crs": "EPSG:3857"})
    x, y = merc.json()["geometry"]["coordinates"]
    assert abs(x - lon * 20037508.34 / 180) < 1
    utm = figures_client.get(url, params={"limit": 1, "crs": "http://www.opengis.net/def/crs/EPSG/0/32638"})
    ux, uy = utm.json()["features"][0]["geometry"]["coordinates"]
    assert 100_000 < ux < 900_000 and 3_000_000 < uy < 4_200_000  # metres, zone 38N
    # the same box in CRS84, EPSG:4326 (lat first) and EPSG:3857 selects the same features
    n = figures_client.get(url, params={"bbox": "43,36,44,37", "limit": 1}).json()["numberMatched"]
    n4326 = figures_client.get(url, params={"bbox": "36,43,37,44", "bbox-crs": "EPSG:4326", "limit": 1}).json()
    assert n > 0 and n4326["numberMatched"] == n


def test_queryables_for_every_collection(figures_client):
    ids = [c["id"] for c in figures_client.get(BASE).json()["collections"]]
    for cid in [*ids, "idp-r120-adm3"]:
        r = figures_client.get(f"{BASE}/{cid}/queryables")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json"), cid
        schema = r.json()
        assert "geometry" in schema["properties"] and schema["type"] == "object", cid
    q = figures_client.get(f"{BASE}/idp-adm2/queryables").json()["properties"]
    assert q["individuals"]["type"] == "integer" and q["reporting_date"]["format"] == "date"
    assert figures_client.get(f"{BASE}/idp-adm2/queryables?f=html").headers["content-type"].startswith("text/html")
