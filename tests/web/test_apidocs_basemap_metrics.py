"""/docs and /redoc from packaged assets (no CDN), /metrics in Prometheus' format, and the
context basemap's tiles (Natural Earth and world-atlas, served by the service itself)."""

from __future__ import annotations

import re

import mapbox_vector_tile
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.api import apidocs


def _local_urls(html: str) -> list[str]:
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html)
    return [u for pair in urls for u in pair if u]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_from_this_server(client, path):
    if apidocs.version("swagger-ui-dist") is None or apidocs.version("redoc") is None:
        pytest.skip("web/node_modules lacks swagger-ui-dist or redoc (web/install.sh)")
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert "cdn" not in r.text.lower() and "fonts.googleapis" not in r.text
    urls = _local_urls(r.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for u in urls:
        asset = client.get(u)
        assert asset.status_code == 200, u
        if "/apidocs/" in u:
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert len(asset.content) > 200
    assert client.get("/apidocs/redoc@0.0.1/bundles/redoc.standalone.js").status_code == 404
    assert client.get("/apidocs/left-pad@1.0.0/index.js").status_code == 404


def test_metrics_in_prometheus_format(figures_client):
    client = figures_client
    client.get("/health")
    client.get("/rounds")
    client.get("/choropleth/2.geojson")
    client.get("/choropleth/2.geojson")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    requests = families["dtm_atlas_http_requests"]
    routes = {s.labels["route"] for s in requests.samples}
    assert {"/health", "/rounds", "/choropleth/{level}.geojson"} <= routes
    assert "dtm_atlas_http_request_duration_seconds" in families
    samples = families["dtm_atlas_cache_requests"].samples
    cache = {s.labels["result"]: s.value for s in samples if s.name.endswith("_total")}
    assert cache.get("hit", 0) >= 1
    pool = {s.labels["state"] for s in families["dtm_atlas_db_pool_connections"].samples}
    assert pool == {"in_use", "idle"}
    imports = {s.labels["outcome"]: s.value for s in families["dtm_atlas_imports"].samples}
    assert imports.get("committed", 0) >= 1
    assert families["dtm_atlas_data_version"].samples[0].value >= 1


def test_basemap_tiles_hold_sea_land_neighbours_rivers_and_places(client):
    tj = client.get("/basemap.json")
    if tj.status_code == 503:
        pytest.skip(tj.json()["detail"])
    assert tj.status_code == 200
    url = tj.json()["tiles"][0]
    stamp = tj.json()["dtm_atlas"]["stamp"]
    assert f"?v={stamp}" in url
    path = url.split("://", 1)[1].split("/", 1)[1]
    r = client.get("/" + path.replace("{z}", "5").replace("{x}", "19").replace("{y}", "12"))  # over Iraq
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    layers = mapbox_vector_tile.decode(r.content)
    assert {"ocean", "land", "countries", "lakes", "rivers", "country_labels", "places"} <= set(layers)
    names = {f["properties"]["name_en"]: f["properties"] for f in layers["country_labels"]["features"]}
    assert {"Iraq", "Syria", "Lebanon"} <= set(names)
    assert names["Iraq"]["name_ar"] == "العراق"
    places = {f["properties"]["name_en"] for f in layers["places"]["features"]}
    assert {"Baghdad", "Mosul", "Erbil"} <= places
    unversioned = client.get("/basemap/5/19/12.mvt")
    assert unversioned.headers["cache-control"] == "no-cache" and unversioned.headers["etag"]
    again = client.get("/basemap/5/19/12.mvt", headers={"If-None-Match": unversioned.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/basemap/9/0/0.mvt").status_code == 400
    assert client.get("/basemap/2/4/0.mvt").status_code == 400
