"""The web map's events mode in Debian's Chromium: a crisis's figures per unit for the day the
slider or the date picker chooses, drawn from the registry's events tile layers, each unit in the
colour of its class; moving the slider redraws the units with the new day's figures."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MASTERLISTS, cloned_engine, serve_app
from tests.events.conftest import CRISIS
from tests.web.test_webmap import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _need_maplibre, _wait


@pytest.fixture(scope="module")
def web_url(pg_server, iraq_template, ett_file):
    from service.events.importer import import_events
    from service.ingest.rounds import import_masterlist

    _need_maplibre()
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the web map test needs a real browser and downloads none")
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_events_web") as engine:
        import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="idp")
        import_events(engine, ett_file, country="IRQ", crisis_id=CRISIS, synthetic=True)
        with serve_app(engine) as url:
            yield url


BREAKS = (1, 100, 1000, 10000, 100000)  # the fixed classes (individuals) of the events mode
DRAWN = """() => window.dtmAtlas.map.queryRenderedFeatures({layers: ['events-fill']}).map(f => ({
    pcode: f.properties.pcode, value: f.properties.cumulative_idp_ind,
    color: f.layer.paint['fill-color'].toString()}))"""
LOADED = """() => { const m = window.dtmAtlas.map; const e = window.dtmAtlas.events;
    return e.ready && m.getLayer('events-fill') && m.isSourceLoaded('events') && m.areTilesLoaded(); }"""


def _want(url, date):
    r = httpx.get(f"{url}/events/{CRISIS}/figures", params={"level": 1, "date": date}, timeout=60)
    return {u["pcode"]: u["cumulative_idp_ind"] for u in r.json()["units"]}


def test_events_mode_draws_the_day_and_follows_the_slider(web_url):
    from playwright.sync_api import sync_playwright

    crisis = httpx.get(f"{web_url}/events", timeout=60).json()["crises"][0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(web_url + "/#population=idp&round=120&indicator=individuals&level=1")
        _wait(page, "window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.events", timeout=60_000)
        days = None
        results = {}
        for step in (20, 45):
            if days is None:
                page.evaluate(f"window.dtmAtlas.events.show('{CRISIS}', null, 1, 'cumulative_idp_ind')")
                _wait(page, LOADED, timeout=60_000)
                days = page.evaluate("window.dtmAtlas.events.days")
                assert days[0] == crisis["onset"] and days[-1] == crisis["last_day"] and len(days) == 60
            # the slider, as a person drags it (an input event; the tiles follow once it rests)
            page.locator("#events-slider").evaluate(
                "(el, i) => { el.value = String(i); el.dispatchEvent(new Event('input')); }", step
            )
            _wait(page, f"window.dtmAtlas.events.date === '{days[step]}'", timeout=10_000)
            page.wait_for_timeout(300)
            _wait(page, LOADED, timeout=60_000)
            page.wait_for_timeout(500)
            results[days[step]] = (page.evaluate(DRAWN), page.input_value("#events-date"))
        # the legend's swatches: none, then the classes from BREAKS up
        swatches = page.eval_on_selector_all(
            "#events-legend .swatch", "els => els.map(e => getComputedStyle(e).backgroundColor)"
        )
        legend = page.locator("#events-legend").inner_text()
        browser.close()
    assert not errors, errors
    assert "IDPs since the onset" in legend and "synthetic" in legend
    seen_values, compared = {}, 0
    for date, (drawn, picked) in results.items():
        assert picked == date
        want = _want(web_url, date)
        got = {d["pcode"]: d for d in drawn}
        assert "IQG15" in got, sorted(got)
        for pcode, d in got.items():
            assert d["value"] == want.get(pcode, 0), (date, pcode)
            c = sum(d["value"] >= b for b in BREAKS)  # 0: none
            assert _norm(d["color"]) == _norm(swatches[c]), (date, pcode, d)
            compared += c > 0
        seen_values[date] = got["IQG15"]["value"]
    assert compared >= 8 and len(swatches) == len(BREAKS) + 1
    first, second = sorted(seen_values)
    assert seen_values[second] > seen_values[first] > 0  # Ninewa's cumulative grows from day 21 to day 46


def _norm(color: str) -> tuple:
    """(r, g, b) in 0-255 of "rgb(r, g, b)" or "rgba(r,g,b,a)"."""
    import re

    r, g, b = (float(x) for x in re.findall(r"[\d.]+", color)[:3])
    return round(r), round(g), round(b)
