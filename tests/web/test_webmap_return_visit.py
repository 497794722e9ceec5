"""Tiles a browser never fetches twice (issue 23's performance list), in Debian's Chromium: a
planner who comes back (a new tab of the same browser profile) after no import draws the same
map without one tile request reaching the service: every tile URL carries the data version and
is immutable, so Chromium serves them from its cache (0 tile bytes over the network)."""

from __future__ import annotations

import logging

import pytest

from tests.web.test_webmap import VIEWPORT, _need_maplibre, _wait, _wait_render, browser  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def server(figures_url):
    _need_maplibre()
    return figures_url


def _tiles_served(caplog) -> list[str]:
    return [
        getattr(r, "fields", {}).get("path", "")
        for r in caplog.records
        if getattr(r, "fields", {}).get("path", "").endswith((".mvt", ".pbf"))
        and "/fonts/" not in getattr(r, "fields", {}).get("path", "")
    ]


def test_returning_visitor_fetches_no_tile(server, browser, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="dtm_atlas.http")
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    first = context.new_page()
    first.goto(server + "/#population=idp&round=120&indicator=individuals&level=2")
    _wait_render(first, 0)
    _wait(first, "window.dtmAtlas.map.areTilesLoaded()", timeout=30_000)
    served_first = _tiles_served(caplog)
    assert served_first, "the first visit fetched no tile from the service"
    first.close()

    caplog.clear()
    again = context.new_page()
    seen: list[str] = []
    again.on("request", lambda r: r.url.split("?")[0].endswith(".mvt") and seen.append(r.url))
    again.goto(server + "/#population=idp&round=120&indicator=individuals&level=2")
    _wait_render(again, 0)
    _wait(again, "window.dtmAtlas.map.areTilesLoaded()", timeout=30_000)
    assert seen, "the second visit drew no tile"
    assert all("v=" in u for u in seen), [u for u in seen if "v=" not in u]  # versioned URLs only
    served = _tiles_served(caplog)
    print(f"\nreturning visitor: {len(seen)} tiles drawn, {len(served)} tile requests reached the service")
    assert served == [], served  # 0 tile bytes: Chromium's cache answered every one
    context.close()
