"""The web map's dataset picker in Debian's Chromium (web/static/datasets.js): Nigeria's round 39
sites and Malawi's location assessment, each drawn on the map from its dataset choropleth and the
``dataset-points`` tile layer, with their own legend and hover card; the picker's labels come from
the catalogue, in Arabic once the page is switched to Arabic."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import cloned_engine, serve_app
from tests.web.test_webmap import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _need_maplibre


@pytest.fixture(scope="module")
def web(pg_server, assessments_template):
    _need_maplibre()
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the web map test needs a real browser and downloads none")
    name, results = assessments_template
    with cloned_engine(pg_server, name, "dtm_atlas_test_assess_web") as engine:
        with serve_app(engine) as url:
            yield url, results


LOADED = """() => { const m = window.dtmAtlas.map; const d = window.dtmAtlas.datasets;
    return d.ready && m.getLayer('datasets-fill') && m.getLayer('datasets-circle')
      && m.isSourceLoaded('datasets-points') && m.areTilesLoaded(); }"""
STATE = """() => { const m = window.dtmAtlas.map; const d = window.dtmAtlas.datasets;
    return { ready: d.ready, error: d.error, status: document.getElementById('datasets-status').textContent,
      app: document.getElementById('status').textContent, country: window.dtmAtlas.state.country,
      idle: window.dtmAtlas.idle, fill: !!m.getLayer('datasets-fill'), circle: !!m.getLayer('datasets-circle'),
      tiles: m.areTilesLoaded(), tilejson: d.tilejson }; }"""
DRAWN = """() => { const m = window.dtmAtlas.map;
    return { units: m.queryRenderedFeatures({layers: ['datasets-fill']}).map(f => [
               f.properties.pcode, f.properties.value, f.properties.class, f.layer.paint['fill-color'].toString()]),
             points: m.queryRenderedFeatures({layers: ['datasets-circle']}).map(f => f.properties.obs_id) }; }"""


def _show(page, ds: int, indicator: str, level: int) -> dict:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate(f"window.dtmAtlas.datasets.show({ds}, '{indicator}', {level})")
    try:
        page.wait_for_function(LOADED, timeout=90_000)
    except PlaywrightTimeout:
        raise AssertionError(page.evaluate(STATE)) from None
    page.wait_for_timeout(400)
    page.wait_for_function(LOADED, timeout=60_000)
    return page.evaluate(DRAWN)


def test_the_web_map_shows_nigerias_sites_and_malawis_locations(web):
    from playwright.sync_api import sync_playwright

    url, res = web
    nga, mwi = res["NGA"].dataset_id, res["MWI"].dataset_id
    listed = {d["id"]: d for d in httpx.get(f"{url}/datasets", timeout=60).json()["datasets"]}
    nga_states = {
        f["properties"]["pcode"]: f["properties"]["value"]
        for f in httpx.get(f"{url}/choropleth/1.geojson?dataset={nga}&indicator=individuals", timeout=60).json()[
            "features"
        ]
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        page.wait_for_function(
            "window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.datasets && window.dtmAtlas.datasets.list",
            timeout=60_000,
        )
        options = page.eval_on_selector_all("#datasets-pick option", "els => els.map(e => e.value)")
        # Nigeria: its states with their individuals, its sites as circles
        drawn_nga = _show(page, nga, "individuals", 1)
        country_nga = page.evaluate("window.dtmAtlas.state.country")
        legend_nga = page.locator("#datasets-legend").inner_text()
        indicator_en = page.eval_on_selector_all("#datasets-indicator option", "els => els.map(e => e.textContent)")
        # hover a drawn site: the card names it and its value
        box = page.evaluate(
            """() => { const m = window.dtmAtlas.map;
                 const f = m.queryRenderedFeatures({layers: ['datasets-circle']})[0];
                 const p = m.project(f.geometry.coordinates); const r = m.getCanvas().getBoundingClientRect();
                 return [r.left + p.x, r.top + p.y]; }"""
        )
        page.mouse.move(*box)
        page.wait_for_function("window.dtmAtlas.datasets.hovered", timeout=10_000)
        tip = page.locator("#datasets-tip").inner_text()
        hovered = page.evaluate("window.dtmAtlas.datasets.hovered")
        # Malawi: its location assessment per district, the locations as circles
        drawn_mwi = _show(page, mwi, "m0310_loc_num_idp_ind", 2)
        country_mwi = page.evaluate("window.dtmAtlas.state.country")
        # Arabic: the page's language switch relabels the picker and the legend from the catalogue
        page.click("#lang")
        page.wait_for_function("document.documentElement.lang === 'ar'", timeout=10_000)
        indicator_ar = page.eval_on_selector_all("#datasets-indicator option", "els => els.map(e => e.textContent)")
        legend_ar = page.locator("#datasets-legend").inner_text()
        page_colors = page.evaluate("window.dtmAtlas.datasets.colors")
        browser.close()
    assert not errors, errors
    assert {str(nga), str(mwi)} <= set(options)
    assert country_nga == "NGA" and country_mwi == "MWI"
    colors = page_colors
    units = {p: v for p, v, _, _ in drawn_nga["units"]}
    for _, v, cls, color in drawn_nga["units"] + drawn_mwi["units"]:  # each unit in its class's colour
        want = colors["none"] if cls is None else colors["classes"][cls]
        assert _rgb(color) == _rgb(want), (v, cls, color)
    assert {c for _, _, c, _ in drawn_nga["units"]} >= {None, 0}
    assert set(units) <= set(nga_states) and len(units) >= 5
    assert all(units[k] == v for k, v in nga_states.items() if v and k in units)  # the states with sites
    assert len(set(drawn_nga["points"])) > 100  # the sites drawn (of 309; some overlap at this zoom)
    assert "Individuals" in legend_nga and "NGA" in legend_nga and "Individuals" in indicator_en
    assert hovered["kind"] == "site" and hovered["name"] in tip and f"Individuals: {hovered['value']}" in tip
    mwi_units = {p: v for p, v, _, _ in drawn_mwi["units"]}
    assert mwi_units and all(k.startswith("MW") for k in mwi_units)
    assert len(set(drawn_mwi["points"])) > 100 and listed[mwi]["observations"] == 776
    assert "النازحون (أفراد)" in indicator_ar and "IDPs (individuals)" not in indicator_ar
    assert "النازحون (أفراد)" in legend_ar


def _rgb(color: str) -> tuple:
    """(r, g, b) of "#rrggbb" or of MapLibre's "rgba(r,g,b,a)" (0-1 or 0-255)."""
    import re

    if color.startswith("#"):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    vals = [float(x) for x in re.findall(r"[\d.]+", color)[:3]]
    scale = 255 if max(vals) <= 1 else 1
    return tuple(round(v * scale) for v in vals)
