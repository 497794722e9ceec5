"""OGC API - Features under /ogc: documents, links, paging, filters, errors, media types."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from service.api.ogc import MAX_LIMIT, parse_datetime
from service.core.rounds import find_round
from service.publish.datasets import DATASETS, Selection
from tests.publish import SYNTHETIC_ROUND, synthetic_client, synthetic_engine  # noqa: F401  (fixtures)

GEOJSON = "application/geo+json"
ROUND_COLLECTIONS = [
    f"{p}-r{n}-{k}"
    for p, n in (("idp", 120), ("idp", 86), ("returnee", 120))
    for k in ("locations", "adm1", "adm2", "adm3")
]


def _rel(doc: dict, rel: str, type_: str | None = None) -> list[dict]:
    return [lk for lk in doc["links"] if lk["rel"] == rel and (type_ is None or lk["type"] == type_)]


def _path(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _db_count(engine, key: str, round_number=None, population=None) -> int:
    with engine.connect() as c:
        rnd = find_round(c, round_number=round_number, population=population) if DATASETS[key].per_round else None
        return Selection(DATASETS[key], round=rnd).count(c)


def test_landing_page_links(figures_client):
    r = figures_client.get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    for rel in ("self", "alternate", "service-desc", "service-doc", "conformance", "data"):
        assert _rel(doc, rel), rel
    assert all(lk["href"].startswith("http://testserver/") for lk in doc["links"])
    assert _rel(doc, "self")[0]["type"] == "application/json"
    assert _rel(doc, "alternate")[0]["type"] == "text/html"
    api = figures_client.get(_path(_rel(doc, "service-desc")[0]["href"])).json()
    assert "/ogc/collections/{collection_id}/items" in api["paths"]


def test_conformance(figures_client):
    doc = figures_client.get("/ogc/conformance").json()
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in doc["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in doc["conformsTo"]


def test_collections_list_every_level_round_and_sites(figures_client):
    r = figures_client.get("/ogc/collections")
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    ids = [c["id"] for c in doc["collections"]]
    assert ids[:5] == ["admin0", "admin1", "admin2", "admin3", "sites"]
    # issue 23: the rounds are time-enabled collections (one per population and level); the
    # per-round ones are aliases, answered but not listed
    series = [f"{p}-{k}" for p in ("idp", "returnee") for k in ("locations", "adm1", "adm2", "adm3")]
    assert ids == ids[:5] + series
    assert all(figures_client.get(f"/ogc/collections/{cid}").status_code == 200 for cid in ROUND_COLLECTIONS)
    for c in doc["collections"]:
        assert c["crs"] == [
            "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            *(f"http://www.opengis.net/def/crs/EPSG/0/{n}" for n in (4326, 3857, 32638)),  # Iraq: UTM zone 38N
        ]
        assert c["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        items = _rel(c, "items", GEOJSON)
        assert items and items[0]["href"].startswith(f"http://testserver/ogc/collections/{c['id']}/items")
        if c["id"] != "sites":  # no sites in the real data
            x0, y0, x1, y1 = c["extent"]["spatial"]["bbox"][0]
            assert 38 < x0 < x1 < 49 and 29 < y0 < y1 < 38
    c = figures_client.get("/ogc/collections/idp-r86-adm2").json()
    assert c["extent"]["temporal"]["interval"] == [["2017-12-31T00:00:00Z", "2017-12-31T23:59:59Z"]]
    assert c["round"] == {"round_number": 86, "population": "idp", "reporting_date": "2017-12-31", "country": "IRQ"}


def test_collection_and_unknown_collection(figures_client):
    doc = figures_client.get("/ogc/collections/returnee-r120-adm2").json()
    assert doc["id"] == "returnee-r120-adm2" and "returnees" in doc["title"]
    assert {p["name"] for p in doc["properties"]} >= {"pcode", "name_ar", "individuals", "share_national"}
    assert any(
        lk["href"].endswith("/exports/figures-adm2.gpkg?round=120&population=returnee") for lk in _rel(doc, "enclosure")
    )
    for bad in (
        "/ogc/collections/nope",
        "/ogc/collections/idp-r999-adm2",
        "/ogc/collections/returnee-r86-adm1",
        "/ogc/collections/nope/items",
        "/ogc/collections/idp-r120-adm4/items",
    ):
        r = figures_client.get(bad)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json"), bad
        assert r.json()["status"] == 404


@pytest.mark.parametrize(
    "cid,key,rnd,pop",
    [
        ("idp-r120-locations", "locations", 120, "idp"),
        ("returnee-r120-adm3", "figures-adm3", 120, "returnee"),
        ("idp-r86-adm1", "figures-adm1", 86, "idp"),
        ("admin2", "admin2", None, None),
    ],
)
def test_number_matched_and_paging_through_every_feature(figures_client, figures_engine, cid, key, rnd, pop):
    total = _db_count(figures_engine, key, rnd, pop)
    url, seen, pages = f"/ogc/collections/{cid}/items?limit=1000", [], 0
    while url:
        r = figures_client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == GEOJSON
        assert r.headers["content-crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
        doc = r.json()
        assert doc["numberMatched"] == total
        assert doc["numberReturned"] == len(doc["features"])
        assert _rel(doc, "self") and _rel(doc, "alternate") and _rel(doc, "collection")
        if pages:
            assert _rel(doc, "prev")
        seen += [f["id"] for f in doc["features"]]
        nxt = _rel(doc, "next")
        url = _path(nxt[0]["href"]) if nxt else None
        pages += 1
    assert len(seen) == total == len(set(seen))


def test_limit_clamped_and_bad_limit(figures_client):
    r = figures_client.get(f"/ogc/collections/idp-r120-locations/items?limit={MAX_LIMIT * 3}")
    doc = r.json()
    assert r.status_code == 200 and doc["limitClamped"] is True and doc["limit"] == MAX_LIMIT
    assert (
        doc["numberReturned"] == 2897
        and r.headers["x-limit-clamped"] == f"requested={MAX_LIMIT * 3}; effective={MAX_LIMIT}"
    )
    r = figures_client.get("/ogc/collections/idp-r120-locations/items?limit=10")
    assert "limitClamped" not in r.json() and "x-limit-clamped" not in r.headers
    nxt = parse_qs(urlsplit(_rel(r.json(), "next")[0]["href"]).query)
    assert nxt["limit"] == ["10"] and nxt["offset"] == ["10"]
    for bad in ("0", "-5", "ten"):
        r = figures_client.get(f"/ogc/collections/idp-r120-locations/items?limit={bad}")
        assert r.status_code == 400 and "limit" in r.json()["detail"]
    r = figures_client.get("/ogc/collections/idp-r120-locations/items?offset=100000")
    assert r.status_code == 200 and r.json()["features"] == [] and r.json()["numberMatched"] == 2897


def test_bbox(figures_client, figures_engine):
    box = (43.0, 36.0, 44.5, 37.5)  # around Duhok / Erbil
    doc = figures_client.get(
        "/ogc/collections/idp-r120-locations/items", params={"bbox": ",".join(map(str, box)), "limit": 5000}
    ).json()
    assert 0 < doc["numberMatched"] < 2897 == _db_count(figures_engine, "locations", 120, "idp")
    for f in doc["features"]:
        x, y = f["geometry"]["coordinates"]
        assert box[0] <= x <= box[2] and box[1] <= y <= box[3]
    doc2 = figures_client.get("/ogc/collections/idp-r120-adm1/items", params={"bbox": "44.0,36.15,44.05,36.2"}).json()
    assert [f["properties"]["pcode"] for f in doc2["features"]] == ["IQG11"]  # Erbil
    for bad, rule in (
        ("1,2,3", "four numbers"),
        ("44,37,43,36", "reversed"),
        ("a,b,c,d", "four numbers"),
        ("0,0,200,10", "out of range"),
        ("1,2,3,4,5,6", "four numbers"),
    ):
        r = figures_client.get("/ogc/collections/idp-r120-locations/items", params={"bbox": bad})
        assert r.status_code == 400 and rule in r.json()["detail"], (bad, r.json())


def test_datetime(figures_client):
    base = "/ogc/collections/idp-r120-adm2/items"
    n = figures_client.get(base).json()["numberMatched"]
    for match in (
        "2021-02-28",
        "2021-02-28T10:00:00Z",
        "2021-01-01/2021-03-01",
        "../2021-02-28",
        "2021-02-28/..",
        "2020-01-01T00:00:00Z/2022-01-01T00:00:00Z",
    ):
        assert figures_client.get(base, params={"datetime": match}).json()["numberMatched"] == n, match
    for miss in ("2017-12-31", "2021-03-01/..", "../2021-02-27"):
        doc = figures_client.get(base, params={"datetime": miss}).json()
        assert doc["numberMatched"] == 0 and doc["features"] == [], miss
    for bad in ("yesterday", "2021-03-01/2021-01-01", "../..", "2021-13-01"):
        r = figures_client.get(base, params={"datetime": bad})
        assert r.status_code == 400, bad
    assert parse_datetime("2021-02-28T23:30:00-03:00")[0].isoformat() == "2021-03-01"


def test_property_filters(figures_client, figures_engine):
    r = figures_client.get("/ogc/collections/idp-r120-adm2/items", params={"pcode": "IRQ-G01Q01"})
    feats = r.json()["features"]
    assert [f["id"] for f in feats] == ["IQG01Q01"] and feats[0]["properties"]["dtm_pcode"] == "IRQ-G01Q01"
    doc = figures_client.get("/ogc/collections/idp-r120-adm3/items", params={"adm1": "iqg01", "limit": 1000}).json()
    assert doc["features"] and all(f["properties"]["adm1_pcode"] == "IQG01" for f in doc["features"])
    with figures_engine.connect() as c:
        n = c.execute(
            text(
                # every sub-district of the governorate, with figures or not (issue 23: exports complete)
                "SELECT count(*) FROM admin_unit u JOIN boundary_set b ON b.id = u.boundary_set_id "
                "WHERE b.is_current AND u.level = 3 AND u.pcode LIKE 'IQG01%'"
            )
        ).scalar()
    assert doc["numberMatched"] == n
    doc = figures_client.get(
        "/ogc/collections/idp-r120-locations/items", params={"adm2": "IQG09Q01", "limit": 1000}
    ).json()
    assert doc["features"] and {f["properties"]["adm2_pcode"] for f in doc["features"]} == {"IQG09Q01"}
    nxt_keeps_filter = figures_client.get(
        "/ogc/collections/idp-r120-locations/items", params={"pcode": "IQG09", "limit": 2}
    ).json()
    assert "pcode=IQG09" in _rel(nxt_keeps_filter, "next")[0]["href"]
    doc = figures_client.get("/ogc/collections/admin3/items", params={"parent": "IQG01Q01"}).json()
    assert doc["numberMatched"] > 0 and all(f["properties"]["parent_pcode"] == "IQG01Q01" for f in doc["features"])
    r = figures_client.get("/ogc/collections/idp-r120-adm2/items", params={"governorate": "Anbar"})
    assert r.status_code == 400 and "unknown query parameter 'governorate'" in r.json()["detail"]
    r = figures_client.get("/ogc/collections/idp-r120-adm2/items", params={"pcode": "!!"})
    assert r.status_code == 400


def test_item(figures_client):
    r = figures_client.get("/ogc/collections/idp-r120-adm2/items/IRQ-G01Q01")
    assert r.status_code == 200 and r.headers["content-type"] == GEOJSON
    f = r.json()
    assert f["type"] == "Feature" and f["id"] == "IQG01Q01" and f["properties"]["name_ar"] == "الفلوجة"
    assert f["geometry"]["type"] == "MultiPolygon"
    assert {lk["rel"] for lk in f["links"]} == {"self", "alternate", "collection"}
    loc = figures_client.get("/ogc/collections/idp-r120-locations/items?limit=1").json()["features"][0]
    again = figures_client.get(f"/ogc/collections/idp-r120-locations/items/{loc['id']}").json()
    assert again["properties"] == loc["properties"]
    for bad in (
        "/ogc/collections/idp-r120-adm2/items/IQG99Q99",
        "/ogc/collections/idp-r120-locations/items/abc",
        "/ogc/collections/idp-r120-locations/items/999999999",
        "/ogc/collections/admin1/items/IQG01Q01",
    ):
        r = figures_client.get(bad)
        assert r.status_code == 404 and r.json()["status"] == 404, bad


def test_html_and_negotiation(figures_client):
    for url in (
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/idp-r120-adm2",
        "/ogc/collections/idp-r120-adm2/items",
        "/ogc/collections/idp-r120-adm2/items/IQG01Q01",
    ):
        r = figures_client.get(url, params={"f": "html"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), url
        r2 = figures_client.get(url, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert r2.headers["content-type"].startswith("text/html"), url
    page = figures_client.get("/ogc/collections/idp-r120-adm2/items?f=html&limit=5").text
    assert "الفلوجة" in page
    # one convention (issue 23): a share is a fraction in the item's JSON, a percent on its HTML page
    item = figures_client.get("/ogc/collections/idp-r120-adm2/items/IQG01Q01").json()["properties"]
    share = item["share_national"]
    assert 0 < share < 1 and round(share, 4) == share and not any(k.endswith("_pct") for k in item)
    html = figures_client.get("/ogc/collections/idp-r120-adm2/items/IQG01Q01?f=html").text
    percent = f"{share * 100:,.2f}".rstrip("0").rstrip(".") + " %"
    assert f"<td>{percent}</td>" in html
    r = figures_client.get("/ogc/collections/idp-r120-adm2/items", headers={"Accept": "application/geo+json"})
    assert r.headers["content-type"] == GEOJSON
    r = figures_client.get("/ogc/collections", headers={"Accept": "application/json"})
    assert r.headers["content-type"].startswith("application/json")
    r = figures_client.get("/ogc/collections?f=xml")
    assert r.status_code == 400


def test_crs_parameters(figures_client):
    base = "/ogc/collections/admin1/items"
    assert figures_client.get(base, params={"crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}).status_code == 200
    assert (
        figures_client.get(
            base, params={"bbox-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "bbox": "40,30,45,35"}
        ).status_code
        == 200
    )
    # issue 23: EPSG:3857 and the country's UTM zone are served too (tests/publish/test_ogc_filter.py); others are 400
    r = figures_client.get(base, params={"crs": "http://www.opengis.net/def/crs/EPSG/0/2154"})
    assert r.status_code == 400 and "CRS84" in r.json()["detail"] and "EPSG/0/3857" in r.json()["detail"]


def test_bucket_is_not_an_item_but_is_reported(synthetic_client):  # noqa: F811
    cid = f"idp-r{SYNTHETIC_ROUND}-adm3"
    doc = synthetic_client.get(f"/ogc/collections/{cid}").json()
    assert doc["unassigned"] == {"families": 12, "individuals": 72, "locations": 2}
    items = synthetic_client.get(f"/ogc/collections/{cid}/items").json()
    # every sub-district is an item (3 with figures, the others 0; issue 23), the bucket is not
    with_figures = [f for f in items["features"] if f["properties"]["individuals"]]
    assert items["numberMatched"] > 3 and all(f["geometry"] for f in items["features"])
    assert len(with_figures) <= 3
    assert synthetic_client.get(f"/ogc/collections/{cid}/items/UNASSIGNED").status_code == 404
    locs = synthetic_client.get(f"/ogc/collections/idp-r{SYNTHETIC_ROUND}-locations/items").json()
    assert locs["numberMatched"] == 5 and sum(f["geometry"] is None for f in locs["features"]) == 1
    sites = synthetic_client.get("/ogc/collections/sites/items").json()
    assert sites["numberMatched"] == 4
    assert (
        synthetic_client.get("/ogc/collections/sites/items", params={"site_type": "camp"}).json()["numberMatched"] == 3
    )
    assert synthetic_client.get("/ogc/collections/sites/items/IQ-CMP-001").json()["properties"]["name_ar"] == "مخيم 1"
