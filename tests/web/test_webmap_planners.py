"""The web map for deciding (issue 23), in Debian's Chromium through Playwright: fixed classes
across rounds, the service's own basemap and a scale bar with no request leaving 127.0.0.1,
unit search in English, Arabic and by P-code, share and downloads, Iraqi month names, a phone
layout with map and legend together, errors shown, and /docs and /redoc rendered offline."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.web.test_webmap import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TOLERANCE,
    _need_maplibre,
    _pixel,
    _rgb,
    _set_round,
    _wait,
    _wait_render,
)

MOSUL = "IQG15Q05"  # the district Al-Mosul / الموصل (COD-AB)
SEA, NEIGHBOUR = "#d5e3ee", "#e6e3dc"  # web/static/app.js


@pytest.fixture(scope="module")
def server(figures_url):
    _need_maplibre()
    return figures_url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium; ./dev setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _watch(page, host: str):
    requests, problems, sizes = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfinished", lambda r: sizes.append(r))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    return requests, problems, sizes


def _outside(requests: list[str], host: str) -> list[str]:
    return [u for u in requests if not u.startswith(("data:", "blob:")) and urlsplit(u).netloc != host]


def _screen(page, lon: float, lat: float) -> dict:
    return page.evaluate(
        """([lon, lat]) => { const p = window.dtmAtlas.map.project([lon, lat]);
        const r = document.getElementById('map').getBoundingClientRect();
        return {x: p.x + r.left, y: p.y + r.top, inside: p.x >= 0 && p.y >= 0 && p.x < r.width && p.y < r.height}; }""",
        [lon, lat],
    )


def _close(got, want: str) -> bool:
    return max(abs(a - b) for a, b in zip(got, _rgb(want))) <= TOLERANCE


def test_web_map_for_deciding(server, browser):
    host = urlsplit(server).netloc
    context = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1, locale="en-GB")
    page = context.new_page()
    requests, problems, finished = _watch(page, host)

    # 1. fixed classes (the default): the legend's breaks are the same in every round
    page.goto(server + "/")
    renders = _wait_render(page, 0)
    latest = page.evaluate("window.dtmAtlas.legend")
    assert latest["classes"] == "fixed" and latest["history"]["rounds"] == 2
    labels_latest = page.locator("#legend li span[dir=ltr]").all_inner_texts()
    finished.clear()
    _set_round(page, 0)
    renders = _wait_render(page, renders)
    older = page.evaluate("window.dtmAtlas.legend")
    assert page.evaluate("window.dtmAtlas.state.round") == "86"
    assert older["breaks"] == latest["breaks"] and older["labels"] == latest["labels"]
    assert older["counts"] != latest["counts"]  # each round's own units in the classes
    assert page.locator("#legend li span[dir=ltr]").all_inner_texts() == labels_latest  # the legend drawn
    step = [(r.url, r.sizes()) for r in finished]
    step_bytes = sum(s["responseBodySize"] + s["responseHeadersSize"] for _, s in step)
    print(f"\nround step with fixed classes: {step_bytes} bytes in {len(step)} request(s)")
    assert step_bytes <= 2048, step  # issue 23: a round step stays <= 2 KB (districts, headers included)
    assert not [u for u, _ in step if u.split("?")[0].endswith(".mvt")]
    # a scheme of the round's own: other breaks, named in the URL
    page.select_option("#classes", "quantile")
    renders = _wait_render(page, renders)
    own = page.evaluate("window.dtmAtlas.legend")
    assert own["classes"] == "quantile" and own["breaks"] != older["breaks"]
    assert "classes=quantile" in page.evaluate("location.hash")
    page.select_option("#classes", "fixed")
    renders = _wait_render(page, renders)
    assert "classes=" not in page.evaluate("location.hash")

    # 2. the basemap painted (sea, neighbours) from this server's tiles, and a scale bar
    basemap_tiles = [u for u in requests if "/basemap/" in u and u.split("?")[0].endswith(".mvt")]
    assert basemap_tiles and all("?v=" in u for u in basemap_tiles)
    neighbours = page.evaluate(
        "() => [...new Set(window.dtmAtlas.map.queryRenderedFeatures({layers: ['basemap-neighbours']})"
        ".map(f => f.properties.name_en))]"
    )
    assert {"Syria", "Iran", "Turkey", "Saudi Arabia", "Kuwait", "Jordan"} <= set(neighbours), neighbours
    page.evaluate(
        """() => new Promise(resolve => { const m = window.dtmAtlas.map;  // names off the sampled pixels
        for (const id of ['basemap-countries', 'basemap-places', 'basemap-place-dots', 'labels'])
          m.setLayoutProperty(id, 'visibility', 'none');
        m.once('idle', resolve); m.triggerRepaint(); })"""
    )
    sea = _screen(page, 49.6, 29.0)  # the head of the Gulf
    desert = _screen(page, 39.5, 35.5)  # Syria, east of Aleppo... inland
    assert sea["inside"] and desert["inside"]
    assert _close(_pixel(page, sea["x"], sea["y"]), SEA), _pixel(page, sea["x"], sea["y"])
    assert _close(_pixel(page, desert["x"], desert["y"]), NEIGHBOUR), _pixel(page, desert["x"], desert["y"])
    scale = page.locator(".maplibregl-ctrl-scale")
    assert scale.is_visible() and "km" in scale.inner_text()

    # 3. search: English, Arabic and P-code find the district; choosing it opens its panel, seen
    for query in ("Mosul", "الموصل", MOSUL.lower()):
        page.fill("#search", query)
        page.wait_for_selector(f'#search-results li[data-pcode="{MOSUL}"]', timeout=10_000)
    page.locator(f'#search-results li[data-pcode="{MOSUL}"]').click()
    page.wait_for_selector(f'#detail[data-pcode="{MOSUL}"][data-loaded]', timeout=15_000)
    assert page.evaluate("window.dtmAtlas.state.level") == 2
    box = page.locator("#detail").bounding_box()
    assert box and box["y"] < 800 and box["y"] + 40 > 0, box  # the panel's top is on screen
    assert page.locator("#detail [lang=ar]").inner_text() == "الموصل"

    # 4. share (the URL state) and download what is shown
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#share").click()
    _wait(page, "window.dtmAtlas.shared !== undefined")
    assert page.evaluate("window.dtmAtlas.shared") == page.evaluate("location.href")
    assert "round=86" in page.evaluate("location.hash")  # the round stepped to in 1.
    gpkg = page.locator("#dl-gpkg").get_attribute("href")
    assert gpkg.startswith("/exports/figures-adm2.gpkg?") and "round=86" in gpkg
    got = httpx.get(server + gpkg, timeout=60)
    assert got.status_code == 200 and got.content[:15] == b"SQLite format 3"
    csv = httpx.get(server + page.locator("#dl-csv").get_attribute("href"), timeout=60)
    assert csv.status_code == 200 and "IQG15Q05" in csv.text

    # 5. Arabic, with Iraq's month names (كانون الأول, شباط; not ديسمبر, فبراير) and the attribution in Arabic
    page.locator("#lang").click()
    _wait(page, "document.documentElement.dir === 'rtl'")
    label = page.locator("#round-label").inner_text()
    assert "كانون الأول" in label and "ديسمبر" not in label, label
    _set_round(page, 1)
    _wait(page, "window.dtmAtlas.state.round === '120'")
    label = page.locator("#round-label").inner_text()
    assert "شباط" in label and "فبراير" not in label, label
    assert page.locator("#classes option[value=fixed]").inner_text() == "ثابتة (كل الجولات)"
    attribution = page.locator(".maplibregl-ctrl-attrib-inner").inner_text()
    assert "Natural Earth" in attribution and "الخريطة الأساسية" in attribution, attribution
    assert page.locator("#search").get_attribute("placeholder").startswith("ابحث")

    # 6. nothing asked of any other host
    assert not _outside(requests, host), _outside(requests, host)
    assert not problems, "\n".join(problems)
    context.close()


def test_phone_layout_errors_and_offline_docs(server, browser):
    host = urlsplit(server).netloc
    t0 = time.monotonic()
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-GB"
    )
    page = phone.new_page()
    requests, problems, _ = _watch(page, host)
    page.goto(server + "/")
    _wait_render(page, 0)
    mapbox, legend = page.locator("#map").bounding_box(), page.locator("#legend").bounding_box()
    panel = page.locator("#panel").bounding_box()
    assert page.locator("#legend").is_visible() and page.locator("#legend li").count() >= 3
    # the legend lies on the map, both on screen; the collapsed panel leaves most of the map free
    assert mapbox["width"] == 390 and mapbox["height"] >= 800
    assert legend["y"] >= mapbox["y"] and legend["y"] + legend["height"] <= panel["y"], (legend, panel)
    assert panel["y"] >= 844 * 0.6, panel
    assert page.locator("#panel-body").is_hidden()
    page.locator("#panel-toggle").click()
    assert page.locator("#panel-body").is_visible() and page.locator("#legend").is_visible()
    assert page.locator("#panel").bounding_box()["y"] >= 844 * 0.4
    page.locator("#panel-toggle").click()
    assert page.locator("#panel-body").is_hidden()
    assert not _outside(requests, host) and not problems, (_outside(requests, host), problems)
    phone.close()

    # a bad country in the URL: a message on the map, the map of the one country there is
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(server + "/#country=XXX&population=idp")
    _wait_render(page, 0)
    error = page.locator("#error")
    assert error.is_visible() and "XXX" in error.inner_text() and "IRQ" in error.inner_text()
    page.evaluate("location.hash = 'country=ZZZ&population=idp'")
    _wait(page, "document.getElementById('error').textContent.includes('ZZZ')")

    # /docs and /redoc render from this server alone
    requests, problems, _ = _watch(page, host)
    page.goto(server + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() > 20
    assert "DTM Atlas" in page.locator(".swagger-ui .info").inner_text()
    page.goto(server + "/redoc")
    page.wait_for_selector("h1", timeout=30_000)
    assert "DTM Atlas" in page.locator("h1").first.inner_text()
    assert page.locator("[data-section-id]").count() > 20
    assert not _outside(requests, host), _outside(requests, host)
    context.close()
    print(f"\nphone, error and docs checks: {time.monotonic() - t0:.1f} s")
