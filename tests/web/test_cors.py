"""CORS: a partner's page on another origin reads tiles, TileJSON, styles, GeoJSON, OGC and the
DTM API from the browser (Chromium), preflight included; writes are never allowed cross-origin."""

from __future__ import annotations

import http.server
import threading
from functools import partial

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import settings_for
from tests.web.test_webmap import browser  # noqa: F401  (the Chromium fixture)

READS = [
    "/tiles/districts/5/19/12.mvt",
    "/tiles/districts.json",
    "/styles/idp-by-district.json",
    "/choropleth/2.geojson",
    "/boundaries/1.geojson?zoom=4",
    "/ogc/collections/admin1/items?limit=2",
    "/v2/IdpAdmin0Data?Admin0Pcode=IRQ",
    "/exports/figures-adm1.csv?round=120",
]
ORIGIN = "http://partner.example:9000"


def test_reads_answer_cross_origin_with_preflight(figures_url):
    with httpx.Client(base_url=figures_url, timeout=60) as http:
        for path in READS:
            r = http.get(path, headers={"Origin": ORIGIN})
            assert r.status_code == 200, (path, r.status_code)
            assert r.headers["access-control-allow-origin"] == "*", path
            assert "access-control-allow-credentials" not in r.headers, path
            pre = http.options(
                path,
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "if-none-match, range",
                },
            )
            assert pre.status_code == 200, (path, pre.text)
            assert pre.headers["access-control-allow-origin"] == "*"
            assert "GET" in pre.headers["access-control-allow-methods"]
            assert "if-none-match" in pre.headers["access-control-allow-headers"].lower()
        tile = http.get(READS[0], headers={"Origin": ORIGIN})
        assert "ETag" in tile.headers["access-control-expose-headers"]
        # errors are readable too (the page can show why)
        bad = http.get("/flows?round=abc", headers={"Origin": ORIGIN})
        assert bad.status_code == 400 and bad.headers["access-control-allow-origin"] == "*"


def test_writes_are_never_cross_origin(figures_url):
    with httpx.Client(base_url=figures_url, timeout=30) as http:
        pre = http.options(
            "/rounds",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
        assert "only GET and HEAD" in pre.json()["detail"]
        post = http.post(
            "/rounds", headers={"Origin": ORIGIN}, files={"file": ("x.csv", b"a,b\n")}, data={"population": "idp"}
        )
        assert post.status_code == 401
        assert not any(h.startswith("access-control-") for h in post.headers)


def test_origins_are_configurable(figures_engine):
    from service.app import create_app

    app = create_app(
        settings_for(figures_engine, cors_origins="https://maps.partner.org, http://localhost:8080"), figures_engine
    )
    with TestClient(app) as client:
        ok = client.get("/tiles/districts.json", headers={"Origin": "https://maps.partner.org"})
        assert ok.headers["access-control-allow-origin"] == "https://maps.partner.org"
        other = client.get("/tiles/districts.json", headers={"Origin": "https://elsewhere.org"})
        assert other.status_code == 200 and "access-control-allow-origin" not in other.headers
    off = create_app(settings_for(figures_engine, cors_origins=""), figures_engine)
    with TestClient(off) as client:
        r = client.get("/tiles/districts.json", headers={"Origin": "https://maps.partner.org"})
        assert "access-control-allow-origin" not in r.headers


PAGE = """<!doctype html><meta charset="utf-8"><title>partner map</title>
<script>
async function probe(base) {
  const out = {};
  const tile = await fetch(base + "/tiles/districts/5/19/12.mvt", {headers: {"If-None-Match": "x"}});
  const bytes = new Uint8Array(await tile.arrayBuffer());
  out.tile = {status: tile.status, type: tile.headers.get("content-type"), bytes: bytes.length,
              etag: tile.headers.get("etag"), version: tile.headers.get("x-data-version")};
  const tj = await fetch(base + "/tiles/districts.json");
  out.tilejson = {status: tj.status, body: await tj.json()};
  const geo = await fetch(base + "/choropleth/2.geojson");
  out.geojson = {status: geo.status, features: (await geo.json()).features.length};
  try {
    await fetch(base + "/rounds", {method: "POST", headers: {"Authorization": "Bearer dtma_x"}, body: "x"});
    out.write = "allowed";
  } catch (e) { out.write = "blocked: " + e.name; }
  out.origin = location.origin;
  return out;
}
</script>"""


@pytest.fixture
def partner_page(tmp_path):
    """A page served by another server on another port: another origin."""
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/index.html"
    srv.shutdown()


def test_a_page_on_another_port_fetches_tiles_and_tilejson(figures_url, browser, partner_page):  # noqa: F811
    import mapbox_vector_tile

    page = browser.new_page()
    try:
        page.goto(partner_page)
        out = page.evaluate("base => probe(base)", figures_url)
    finally:
        page.close()
    assert out["origin"] != figures_url
    assert out["tile"]["status"] == 200 and out["tile"]["type"] == "application/vnd.mapbox-vector-tile"
    assert out["tile"]["bytes"] > 100 and out["tile"]["etag"] and out["tile"]["version"]
    assert out["tilejson"]["status"] == 200 and out["tilejson"]["body"]["tilejson"] == "3.0.0"
    assert out["tilejson"]["body"]["vector_layers"][0]["id"] == "districts"
    assert out["geojson"]["status"] == 200 and out["geojson"]["features"] > 100
    assert out["write"].startswith("blocked")
    # the bytes the browser got are the tile the server serves
    tile = httpx.get(figures_url + "/tiles/districts/5/19/12.mvt").content
    assert len(tile) == out["tile"]["bytes"]
    assert "districts" in mapbox_vector_tile.decode(tile)
