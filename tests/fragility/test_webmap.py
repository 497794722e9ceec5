"""The web map's fragility mode in Debian's Chromium: the layer is painted in the class colours
of /fragility/3.geojson at the inner points of sub-districts; a click opens the unit panel."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import serve_app
from tests.web.test_webmap import CHROMIUM, CHROMIUM_ARGS, TOLERANCE, VIEWPORT, _need_maplibre, _pixel, _rgb, _wait


@pytest.fixture(scope="module")
def frag_url(frag_engine, default_run):
    _need_maplibre()
    with serve_app(frag_engine) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the web map test needs a real browser and downloads none")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_fragility_mode_paints_the_classes(frag_url, frag_engine, browser):
    geo = {
        f["properties"]["pcode"]: f["properties"]
        for f in httpx.get(f"{frag_url}/fragility/3.geojson?round=120", timeout=60).json()["features"]
    }
    with frag_engine.connect() as conn:
        pts = [
            dict(r)
            for r in conn.execute(
                text(
                    "SELECT pcode, ST_X((c).center) AS lon, ST_Y((c).center) AS lat FROM "
                    "(SELECT pcode, ST_MaximumInscribedCircle(geom) AS c FROM admin_unit WHERE level = 3) s "
                    "ORDER BY (c).radius DESC LIMIT 60"
                )
            ).mappings()
        ]
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(frag_url + "/#population=idp&round=120&indicator=individuals&level=3")
    _wait(page, "window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.fragility", timeout=60_000)
    page.evaluate("window.dtmAtlas.fragility.toggle(true)")
    _wait(
        page,
        """() => { const m = window.dtmAtlas.map; return window.dtmAtlas.fragility.ready === 120
        && m.getLayer('fragility-fill') && m.isSourceLoaded('fragility') && m.areTilesLoaded(); }""",
        timeout=60_000,
    )
    # the basemap's rivers, places and country names drawn over the units are hidden while pixels are read
    from tests.web.test_webmap import _labels

    _labels(page, False)
    page.wait_for_timeout(500)
    page.mouse.move(5, 5)
    legend = page.evaluate("window.dtmAtlas.fragility.legend")
    assert [c["key"] for c in legend["classes"]][-1] == "insufficient_data"
    assert page.locator("#fragility-legend").is_visible()
    # issue 23: the mode has its own legend (the IDP legend is hidden), the checkbox sits beside its label
    assert not page.locator("#legend").is_visible()
    box = page.locator("#fragility-toggle").bounding_box()
    label = page.locator("#fragility-mode").bounding_box()
    assert (
        label["height"] < 2.5 * box["height"]
        and abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) < 6
    )
    placed = page.evaluate(
        """pts => { const map = window.dtmAtlas.map, box = map.getCanvas().getBoundingClientRect();
        return pts.map(p => { const q = map.project([p.lon, p.lat]); return {...p, x: box.left + q.x, y: box.top + q.y,
        inside: q.x > 12 && q.y > 90 && q.x < box.width - 60 && q.y < box.height - 40}; }); }""",
        pts,
    )
    checked = []
    for p in [p for p in placed if p["inside"]]:
        want = geo[p["pcode"]]["color"]
        got = _pixel(page, p["x"], p["y"])
        assert max(abs(a - b) for a, b in zip(got, _rgb(want))) <= TOLERANCE, (p["pcode"], got, want)
        checked.append((p["pcode"], geo[p["pcode"]]["class_key"]))
    assert len(checked) >= 15 and len({k for _, k in checked}) >= 3, checked
    # the unit panel: dimension scores and uncertainty
    code = next(c for c, k in checked if k != "insufficient_data")
    p = next(p for p in placed if p["pcode"] == code)
    # its own hover: the unit's fragility class, not the IDP figures
    page.mouse.move(p["x"], p["y"])
    _wait(
        page,
        f"(pc => {{ const t = document.getElementById('tooltip'); "
        f"return !t.hidden && t.textContent.includes(pc + ' · fragility'); }})({json.dumps(code)})",
        timeout=10_000,
    )
    tip = page.locator("#tooltip").inner_text()
    assert geo[code]["class_label"] in tip and "P(high class)" in tip
    page.mouse.click(p["x"], p["y"])
    _wait(
        page,
        f"(pc => window.dtmAtlas.fragility.unit && window.dtmAtlas.fragility.unit.pcode === pc)({json.dumps(code)})",
        timeout=30_000,
    )
    page.wait_for_timeout(500)
    # one click, one panel: the unit's IDP history panel stays closed in the mode
    assert code not in page.locator("#detail").inner_text()
    unit = page.evaluate("window.dtmAtlas.fragility.unit")
    panel = page.locator("#fragility-unit").inner_text()
    if unit["idps"] is not None and unit["idps"] >= 1000:
        assert f"{unit['idps']:,}" in panel  # grouped, as everywhere on the map
    assert "Dimension scores" in panel and "Displacement pressure" in panel and "P(high class)" in panel
    assert geo[code]["class_label"] in panel
    page.evaluate("window.dtmAtlas.fragility.toggle(false)")
    assert page.evaluate("!window.dtmAtlas.map.getLayer('fragility-fill')")
    assert page.locator("#legend").is_visible()
    assert not errors, errors
    page.close()
