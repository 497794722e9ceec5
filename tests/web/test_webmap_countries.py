"""The web map with two countries' boundaries: Iraq's (with a real round) and a synthetic island
country's (tests/boundaries/test_any_country.py: codes KM, no round). A chooser appears; the
chosen country is framed, its own units alone are drawn, and the title and attribution name it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from boundaries.reader import read_boundaries
from boundaries.store import import_boundaries
from tests.boundaries.test_any_country import ISLET, MAIN_ISLAND, SECOND_ISLAND, _adm1
from tests.conftest import MASTERLISTS, serve_app
from tests.web.test_webmap import VIEWPORT, _need_maplibre, _wait_render, browser  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def two_countries(pg_server, iraq_template, tmp_path_factory):
    from service.ingest.rounds import import_masterlist
    from tests.conftest import cloned_engine

    _need_maplibre()
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_two") as engine:
        import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="idp")
        import_boundaries(engine, read_boundaries(_adm1(tmp_path_factory.mktemp("com"))))
        with serve_app(engine) as url:
            yield engine, url


def _drawn(page) -> set[str]:
    return set(
        page.evaluate("""() => window.dtmAtlas.map.queryRenderedFeatures({layers: ['units-fill']})
        .map(f => f.properties.pcode)""")
    )


def test_country_chooser(two_countries, browser):  # noqa: F811
    engine, server = two_countries
    with engine.connect() as conn:
        com_set = conn.execute(text("SELECT id FROM boundary_set WHERE country = 'COM'")).scalar_one()
    requests, problems = [], []
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(server + "/")
    renders = _wait_render(page, 0)
    # the country with rounds first; the chooser lists both
    assert page.evaluate("window.dtmAtlas.state.country") == "IRQ"
    assert page.locator("#country-field").is_visible()
    assert page.locator("#country option").all_inner_texts() == ["Comoros", "Iraq"]
    iraq = _drawn(page)
    assert len(iraq) > 50 and all(p.startswith("IQ") for p in iraq)

    before = len(requests)
    page.select_option("#country", "COM")
    renders = _wait_render(page, renders)
    assert page.title() == "DTM Atlas: Comoros" and page.locator("#country-name").inner_text() == "Comoros"
    attribution = page.locator("#attribution").inner_text()
    assert "Comoros" in attribution and "Iraq" not in attribution
    # framed: the map shows the whole country, and not much more
    w, s, e, n = page.evaluate(
        "(() => { const b = window.dtmAtlas.map.getBounds(); "
        "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()"
    )
    west, south, east, north = MAIN_ISLAND[0], SECOND_ISLAND[1], SECOND_ISLAND[2], MAIN_ISLAND[3]
    assert w <= west and s <= south and e >= east and n >= north
    assert (e - w) < 4 * (east - west)
    tiles = [u for u in requests[before:] if u.split("?")[0].endswith(".mvt") and "/basemap/" not in u]  # the units
    assert tiles and all(f"/webmap/geometry/{com_set}/" in urlsplit(u).path for u in tiles)
    drawn = _drawn(page)
    assert drawn == {"KM01", "KM02", "KM03", "KMUNSPECIFIED"}  # the islet too, and nothing of Iraq
    # no round for this country: said, not an error
    assert "No round" in page.locator("#status").inner_text()
    assert page.locator("#round").is_disabled()
    page.select_option("#country", "IRQ")
    _wait_render(page, renders)
    assert all(p.startswith("IQ") for p in _drawn(page))
    assert not problems, problems
    context.close()
    assert ISLET  # the islet's box is what tests/boundaries checks in every band
