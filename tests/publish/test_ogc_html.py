"""The OGC API HTML pages in Chromium (issue 23): a small map of the page's features from the
service's own files, tables that stay inside the page, no request leaving the server."""

from __future__ import annotations

import pytest

from tests.web.test_webmap import _need_maplibre, browser  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def server(figures_url):
    _need_maplibre()
    return figures_url


@pytest.mark.parametrize(
    "path,features",
    [
        ("/ogc/collections/idp-r120-adm2/items?f=html&limit=20", 20),
        ("/ogc/collections/idp-adm1/items/r120-IQG07?f=html", 1),
        ("/ogc?f=html", 1),
    ],
)
def test_page_map_and_width(server, browser, path, features):  # noqa: F811
    page = browser.new_page(viewport={"width": 1024, "height": 800})
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
    page.goto(server + path)
    page.wait_for_selector("#ogcmap[data-ready]", timeout=30_000)
    assert page.get_attribute("#ogcmap", "data-ready") == str(features)
    assert page.evaluate("document.querySelector('#ogcmap canvas').width") > 100
    # tables scroll inside their box: the page itself never gets wider than the window
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert outside == []
    page.close()
