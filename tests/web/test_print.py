"""Print from the web map (issue 23) in Debian's Chromium: the "Print map (PDF)" link is the
static map of the view (its text read back with poppler's pdftotext), and the page's own print
(Chromium's PDF of the print stylesheet) keeps the map and its legend without the controls."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest

from tests.web.test_webmap import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _need_maplibre

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
    page.wait_for_function("window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.print", timeout=60_000)
    href = page.get_attribute("#print-pdf", "href")
    assert href.startswith("/maps/choropleth.pdf?") and "round=120" in href and "level=2" in href
    # the link follows the view
    page.check("input[name=level][value='1']")
    page.wait_for_function("document.getElementById('print-pdf').href.includes('level=1')", timeout=30_000)
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
