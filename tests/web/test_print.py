"""Print from the web map (issue 23) in Debian's Chromium: the "Print map (PDF)" link is the
static map of the view (its text read back with poppler's pdftotext), and the page's own print
(Chromium's PDF of the print stylesheet) keeps the map and its legend without the controls."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest

from tests.web.test_webmap import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _need_maplibre, _wait

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")


@pytest.fixture(scope="module")
def server(figures_url):
    _need_maplibre()
    return figures_url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed: the web map test needs a real browser and downloads none")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _text(pdf: bytes, tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    assert pdf[:5] == b"%PDF-"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_print_map_and_page(server, browser, tmp_path):
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/#population=idp&round=120&indicator=individuals&level=2")
    _wait(page, "window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.print", timeout=60_000)
    href = page.get_attribute("#print-pdf", "href")
    assert href.startswith("/maps/choropleth.pdf?") and "round=120" in href and "level=2" in href
    # the link follows the view
    page.check("input[name=level][value='1']")
    _wait(page, "document.getElementById('print-pdf').href.includes('level=1')", timeout=30_000)
    href = page.get_attribute("#print-pdf", "href")
    r = httpx.get(server + href, timeout=180)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = _text(r.content, tmp_path, "map")
    assert "Ninewa" in text and "Erbil" in text  # governorates named on the map
    assert "2021" in text  # the round's date
    # the page's own print: map and legend, no controls
    page.emulate_media(media="print")
    own = _text(page.pdf(format="A4", landscape=True, print_background=True), tmp_path, "page")
    legend_title = page.locator("#legend h2").inner_text()
    assert legend_title.split(" ")[0] in own
    assert "Share this view" not in own and "Print page" not in own
    assert not errors, errors
    page.close()


def test_print_the_exact_view(server, browser, tmp_path):
    """Panned to a governorate (Duhok, in the north), the printed map is that view: its districts
    are named, far-away ones (Al-Basrah's, in the south) are not; the link carries the view's box,
    the classes method and the round."""
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/#population=idp&round=120&indicator=individuals&level=2&classes=quantile")
    _wait(page, "window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.print", timeout=60_000)
    page.evaluate("window.dtmAtlas.map.fitBounds([[42.35, 36.6], [44.3, 37.35]], { animate: false })")
    _wait(
        page,
        "(() => { const m = document.getElementById('print-pdf').href.match(/bbox=([^&]+)/);"
        " return m && Number(decodeURIComponent(m[1]).split(',')[0]) > 41.5; })()",
        timeout=30_000,
    )
    href = page.get_attribute("#print-pdf", "href")
    assert "round=120" in href and "classes=quantile" in href and "level=2" in href
    w, s, e, n = (float(v) for v in httpx.URL(server + href).params["bbox"].split(","))
    assert 41.5 < w < 42.6 and 43.9 < e < 45 and 36 < s < 36.8 and 37.1 < n < 38  # the view on screen
    r = httpx.get(server + href, timeout=180)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text[:300]
    text = _text(r.content, tmp_path, "view")
    assert "view of" in text and "Duhok" in text
    for near in ("Zakho", "Sumail", "Al-Amadiya"):  # Duhok's districts
        assert near in text, near
    for far in ("Al-Zubair", "Abu Al-Khaseeb", "Al-Faw", "Al-Qurna", "Shat Al-Arab"):  # Al-Basrah's
        assert far not in text, far
    assert "quantiles" in text  # the classes method of the view
    assert not errors, errors
    page.close()


@pytest.mark.parametrize(
    "bbox,word",
    [("42,36,44", "four numbers"), ("44,36,42,37", "west"), ("42,86,44,87", "south"), ("0,0,1,1", "does not show")],
)
def test_print_view_is_range_checked(server, bbox, word):
    r = httpx.get(server + "/maps/choropleth.pdf", params={"round": 120, "bbox": bbox}, timeout=60)
    assert r.status_code == 400 and "bbox" in r.text and word in r.text, r.text
