"""The web map reads a published round (``dtm-atlas publish --to DIR``) from its PMTiles archive,
served as plain static files on another origin (HTTP range requests, CORS), in Debian's Chromium:
``/?published=<the round's latest.json>`` draws the round's governorates with the archive's own
classes and legend, read by the ``pmtiles`` package's protocol for MapLibre served by this server."""

from __future__ import annotations

import json
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.static_publish import publish_round
from tests.conftest import serve_app, settings_for
from tests.web.test_webmap import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _need_maplibre


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single byte ranges and CORS, as object storage answers them."""

    ranges: list[tuple[str, str]] = []

    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "range")
        self.send_header("Access-Control-Expose-Headers", "ETag, Content-Range, Content-Length")
        super().end_headers()

    def do_OPTIONS(self):
        self.send_response(204)
        self.end_headers()

    def do_GET(self):
        m = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("range", ""))
        path = self.translate_path(self.path)
        if not m:
            return super().do_GET()
        RangeHandler.ranges.append((self.path, m.group(0)))
        with open(path, "rb") as fh:
            data = fh.read()
        start, end = int(m.group(1)), min(int(m.group(2)), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Type", "application/vnd.pmtiles")
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(data[start : end + 1])


@pytest.fixture(scope="module")
def bucket(figures_engine, tmp_path_factory):
    out = tmp_path_factory.mktemp("bucket")
    result = publish_round(
        settings_for(figures_engine), figures_engine, out, round_ref="120", population="idp", package=False, max_zoom=6
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out, result
    server.shutdown()


def test_the_web_map_reads_a_published_round_from_pmtiles(figures_engine, bucket, monkeypatch):
    from playwright.sync_api import sync_playwright

    _need_maplibre()
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the web map test needs a real browser and downloads none")
    static, out, result = bucket
    # the classes the published choropleth gives each governorate (the same classification as the tiles)
    choropleth = json.loads((out / result.prefix / "choropleth" / "adm1.geojson").read_bytes())
    want = {f["properties"]["pcode"]: f["properties"].get("class") for f in choropleth["features"]}
    RangeHandler.ranges.clear()
    monkeypatch.setenv("DTM_ATLAS_PUBLISHED_ORIGINS", static)  # the page's CSP lets it connect there
    with serve_app(figures_engine) as web_url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{web_url}/?published={static}/IRQ/idp/r120/latest.json#population=idp&round=120&level=1")
        # once the map is idle with the published layer drawn (app.js may restyle meanwhile: published.js
        # then adds its layers again), read what it shows in the same turn
        state = page.wait_for_function(
            """() => { const a = window.dtmAtlas, m = a && a.map, p = a && a.published;
            if (!p || !m) return null;
            if (p.error) return { published: p };
            if (!(a.idle && p.ready && m.getLayer('published-fill') && m.isSourceLoaded('published')
                  && m.areTilesLoaded())) return null;
            const drawn = m.queryRenderedFeatures({layers: ['published-fill']}).length;
            if (!drawn) return null;
            return { published: p, drawn,
              status: document.getElementById('published-status').textContent,
              units: m.getLayer('units-fill') ? m.getLayoutProperty('units-fill', 'visibility') : null,
              features: m.querySourceFeatures('published', {sourceLayer: 'governorates'})
                .map(f => [f.properties.pcode, f.properties.class]),
              fill: m.getPaintProperty('published-fill', 'fill-color') }; }""",
            timeout=60_000,
            polling=200,
        ).json_value()
        browser.close()
    assert not errors, errors
    published = state["published"]
    assert published["error"] is None, published
    assert published["tiles"] == f"{static}/{result.prefix}/tiles.pmtiles"
    assert published["version"] == result.data_version and published["round"]["round_number"] == 120
    assert "Published round 120" in state["status"] and f"data version {result.data_version}" in state["status"]
    assert state["units"] == "none"  # the live fill gives way to the published round's
    # the archive was read by range requests from the static host
    assert RangeHandler.ranges and all(path.endswith("/tiles.pmtiles") for path, _ in RangeHandler.ranges)
    # every governorate drawn from the archive has the class the published choropleth gives it
    got = dict(state["features"])
    assert len(got) == 18 and state["drawn"] > 0
    assert got == {pcode: want[pcode] for pcode in got}
    assert state["fill"][0] == "match"  # coloured by the archive's legend


def test_published_origins_are_origins_and_open_the_page_csp(figures_engine, monkeypatch):
    from pydantic import ValidationError

    from service.core.settings import Settings

    with pytest.raises(ValidationError, match="not an origin"):
        Settings(published_origins="https://cdn.example.org/bucket")
    assert Settings(published_origins=" https://cdn.example.org/, http://127.0.0.1:9000").published_origins == (
        "https://cdn.example.org,http://127.0.0.1:9000"
    )
    from fastapi.testclient import TestClient

    from service.app import create_app

    _need_maplibre()
    for origins, csp_has in (("", False), ("https://cdn.example.org", True)):
        settings = settings_for(figures_engine, published_origins=origins)
        with TestClient(create_app(settings, figures_engine)) as c:
            page = c.get("/")
            connect = re.search(r"connect-src ([^;]*)", page.headers["content-security-policy"]).group(1)
            assert ("https://cdn.example.org" in connect) is csp_has, connect
            assert re.search(
                r'src="/static/published\.js\?v=\w+" data-pmtiles="/vendor/pmtiles@[\d.]+/pmtiles\.js"', page.text
            )
            js = c.get(re.search(r'data-pmtiles="([^"]+)"', page.text).group(1))
            assert (
                js.status_code == 200 and "immutable" in js.headers["cache-control"] and b"pmtiles" in js.content[:200]
            )
