"""Tiles a browser never fetches twice: TileJSON hands out URLs carrying the data version, those
tiles are immutable; the unversioned URL (and a stale version) keeps revalidating."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


def test_tilejson_urls_carry_the_data_version_and_are_immutable(figures_client):
    tj = figures_client.get("/tiles/districts.json?round=120&f=json").json()
    version = tj["dtm_atlas"]["data_version"]
    url = tj["tiles"][0]
    query = parse_qs(urlsplit(url).query)
    assert query["v"] == [str(version)] and query["round"] == ["120"]
    path = urlsplit(url).path.replace("{z}", "5").replace("{x}", "20").replace("{y}", "12")
    versioned = figures_client.get(f"{path}?round=120&v={version}")
    assert versioned.status_code == 200
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["x-data-version"] == str(version)
    plain = figures_client.get(f"{path}?round=120")
    stale = figures_client.get(f"{path}?round=120&v={version - 1}")
    for r in (plain, stale):
        assert r.status_code == 200 and "immutable" not in r.headers["cache-control"]
        assert r.content == versioned.content
    # a second TileJSON request names the same URLs (no new v without an import)
    assert figures_client.get("/tiles/districts.json?round=120&v=1").json()["tiles"] == tj["tiles"]
