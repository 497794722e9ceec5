"""The read API over the real Iraq COD-AB set."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import shape


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["postgis_version"].startswith("3.")
    assert body["migration"] == body["migration_head"]


@pytest.mark.parametrize("level,count", [(0, 1), (1, 18), (2, 101), (3, 294)])
def test_admin_units_per_level(client, level, count):
    r = client.get("/admin-units", params={"level": level})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == count
    units = body["units"]
    assert len(units) == count
    assert all(u["name_en"] and u["name_ar"] for u in units)
    # Arabic text arrives as Arabic, not escapes or mojibake
    assert all(any("\u0600" <= ch <= "\u06ff" for ch in u["name_ar"]) for u in units)


def test_any_pcode_form_resolves(client):
    forms = ["IRQ-G07Q02", "IQG07Q02", "iqg07q02", "IQ-G07Q02"]
    bodies = [client.get(f"/admin-units/{p}") for p in forms]
    assert all(b.status_code == 200 for b in bodies)
    assert {b.json()["id"] for b in bodies} == {"IQG07Q02"}
    feature = bodies[0].json()
    assert feature["type"] == "Feature"
    assert feature["properties"]["name_en"] == "Al-Hilla"
    assert feature["properties"]["name_ar"] == "الحلة"
    assert feature["properties"]["dtm_pcode"] == "IRQ-G07Q02"
    assert shape(feature["geometry"]).geom_type == "MultiPolygon"
    assert bodies[0].headers["content-type"].startswith("application/geo+json")


def test_filters_parent_and_search(client):
    kids = client.get("/admin-units", params={"parent": "IRQ-G07"}).json()
    assert kids["total"] > 0 and all(u["parent_pcode"] == "IQG07" for u in kids["units"])
    en = client.get("/admin-units", params={"q": "hilla", "level": 2}).json()
    assert [u["pcode"] for u in en["units"]] == ["IQG07Q02"]
    ar = client.get("/admin-units", params={"q": "الحلة", "level": 2}).json()
    assert [u["pcode"] for u in ar["units"]] == ["IQG07Q02"]
    by_code = client.get("/admin-units", params={"q": "IRQ-G07"}).json()
    assert [u["pcode"] for u in by_code["units"]] == ["IQG07"]
    assert client.get("/admin-units", params={"country": "IRQ", "level": 1}).json()["total"] == 18
    assert client.get("/admin-units", params={"country": "SYR", "level": 1}).json()["total"] == 0


def test_html_for_browsers(client):
    r = client.get("/admin-units", params={"level": 1}, headers={"accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "بابل" in r.text
    assert client.get("/admin-units/IQG07Q02?f=html").text.count("Al-Hilla") >= 1


def test_errors_are_json(client):
    r = client.get("/admin-units/IQG99Q99")
    assert r.status_code == 404 and "IQG99Q99" in r.json()["detail"]
    r = client.get("/admin-units", params={"level": 7})
    assert r.status_code == 400 and "level" in r.json()["detail"]
    r = client.get("/boundaries/9.geojson")
    assert r.status_code == 404 and "unknown level" in r.json()["detail"]
    assert client.get("/admin-units/%21%21").status_code == 400


def test_boundaries_geojson_simplified_keeps_shared_edges(client):
    full = client.get("/boundaries/3.geojson")
    light = client.get("/boundaries/3.geojson", params={"zoom": 5})
    assert full.status_code == light.status_code == 200
    fc_full, fc_light = full.json(), light.json()
    assert len(fc_full["features"]) == len(fc_light["features"]) == 294
    # light enough for a browser on a field connection
    assert len(light.content) < len(full.content) / 4
    assert len(light.content) < 200_000, len(light.content)
    geoms = [shape(f["geometry"]) for f in fc_light["features"]]
    assert all(g.is_valid for g in geoms)
    # the simplified sub-districts still form a coverage: no overlaps
    merged = shapely.union_all(geoms)
    overlap = sum(g.area for g in geoms) - merged.area
    assert overlap / merged.area < 1e-3
    props = fc_light["features"][0]["properties"]
    assert set(props) >= {"pcode", "name_en", "name_ar", "level"}


def test_geojson_arabic_is_utf8(client):
    raw = client.get("/boundaries/1.geojson", params={"zoom": 4}).content
    assert "بابل".encode() in raw
    json.loads(raw)
