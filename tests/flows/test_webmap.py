"""The web map's flow mode in Debian's Chromium: the Flow Monitoring lines of a range of months
are drawn from the flow-line tiles with the widths of /flows/lines (linear in the counts)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MASTERLISTS, cloned_engine, serve_app
from tests.flows.conftest import PLACES
from tests.web.test_webmap import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _need_maplibre, _wait


@pytest.fixture(scope="module")
def web_url(pg_server, iraq_template, fmp_files):
    from service.flows.importer import import_flows
    from service.ingest.rounds import import_masterlist

    _need_maplibre()
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the web map test needs a real browser and downloads none")
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_flows_web") as engine:
        import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="idp")
        import_flows(engine, fmp_files[1], points=fmp_files[0], synthetic=True, places=PLACES)
        with serve_app(engine) as url:
            yield url


def test_flow_mode_draws_the_lines_with_their_widths(web_url):
    from playwright.sync_api import sync_playwright

    api = httpx.get(f"{web_url}/flows/lines", params={"from": "2023-02", "to": "2023-02"}, timeout=60).json()
    want = {
        (f["properties"]["fmp_id"], f["properties"]["leg"], f["properties"]["from"], f["properties"]["to"]): f[
            "properties"
        ]["width"]
        for f in api["features"]
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(web_url + "/#population=idp&round=120&indicator=individuals&level=2")
        _wait(page, "window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.flows", timeout=60_000)
        page.evaluate("window.dtmAtlas.flows.show('2023-02', '2023-02')")
        page.evaluate("window.dtmAtlas.map.jumpTo({center: [-2, 15], zoom: 3})")
        _wait(
            page,
            """() => { const m = window.dtmAtlas.map; return window.dtmAtlas.flows.ready
            && m.getLayer('flows-lines') && m.isSourceLoaded('flows') && m.areTilesLoaded(); }""",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        drawn = page.evaluate(
            """() => window.dtmAtlas.map.queryRenderedFeatures({layers: ['flows-lines']}).map(f => ({
                key: [f.properties.fmp_id, f.properties.leg, f.properties.from, f.properties.to],
                width: f.properties.width,
                paint: f.layer.paint['line-width']}))"""
        )
        status = page.locator("#flows-status").inner_text()
        browser.close()
    assert not errors, errors
    assert "2023-02" in status
    assert len({tuple(d["key"]) for d in drawn}) > 20
    for d in drawn:
        assert d["width"] == pytest.approx(want[tuple(d["key"])], abs=0.01)
        assert d["paint"] == pytest.approx(d["width"], abs=0.01)  # the drawn width is the feature's


def test_origin_flows_of_the_round_drawn_with_their_widths(web_url):
    """The master lists' origin lines of the shown round (districts), widths as /flows/origins/lines."""
    from playwright.sync_api import sync_playwright

    fc = httpx.get(f"{web_url}/flows/origins/lines/2", params={"round": 120}, timeout=60).json()
    want = {(f["properties"]["origin_adm1"], f["properties"]["dest"]): f["properties"]["width"] for f in fc["features"]}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(web_url + "/#population=idp&round=120&indicator=individuals&level=2")
        _wait(page, "window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.flows", timeout=60_000)
        page.evaluate("window.dtmAtlas.flows.origins(true)")
        _wait(
            page,
            """() => { const m = window.dtmAtlas.map; return m.getLayer('origin-lines')
            && m.isSourceLoaded('origin-flows') && m.areTilesLoaded(); }""",
            timeout=60_000,
        )
        page.wait_for_timeout(500)
        drawn = page.evaluate(
            """() => window.dtmAtlas.map.queryRenderedFeatures({layers: ['origin-lines']}).map(f => ({
                key: [f.properties.origin_adm1, f.properties.dest], width: f.properties.width,
                paint: f.layer.paint['line-width'], source: f.sourceLayer}))"""
        )
        browser.close()
    assert not errors, errors
    assert len({tuple(d["key"]) for d in drawn}) > 30
    assert {d["source"] for d in drawn} == {"origin-flows-districts"}
    for d in drawn:
        assert d["width"] == pytest.approx(want[tuple(d["key"])], abs=0.01)
        assert d["paint"] == pytest.approx(d["width"], abs=0.01)
