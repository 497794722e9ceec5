"""The web map's sign-in (web/static/signin.js) in Debian's Chromium: the token a user pastes is
sent once to ``POST /auth/session`` and kept nowhere in the page (no storage, no script-readable
cookie, not in the DOM); the HttpOnly session cookie the server sets signs in the page's and
MapLibre's requests, the analyst reads the Safety Audit anonymous callers do not see, a refused
token is refused in words, and signing out ends the session."""

from __future__ import annotations

import re

import pytest

from tests.conftest import MASTERLISTS, serve_app
from tests.fixtures import safety_audit
from tests.web.test_webmap import _need_maplibre, _wait, browser  # noqa: F401 - the browser fixture

CANARY = "CANARY-WEBMAP-SITE-a81c"


@pytest.fixture(scope="module")
def site(pg_server, iraq_template, tmp_path_factory):
    """(base URL, analyst token, audit id): Iraq with one master list and a restricted SYNTHETIC audit."""
    from service.auth import create_token
    from service.ingest.rounds import import_masterlist
    from tests.conftest import cloned_engine

    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_signin") as engine:
        import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="idp")
        audit = safety_audit.import_on_iraq(engine, tmp_path_factory.mktemp("audit"), canary=CANARY)
        token = create_token(engine, "analyst", "web map sign-in test", countries=["IRQ"])
        with serve_app(engine) as url:
            yield url, token, audit


def test_page_holds_no_secret(site):
    import httpx

    url, _, _ = site
    _need_maplibre()
    page = httpx.get(url + "/").text
    assert "/static/signin.js?v=" in page
    script = httpx.get(url + "/static/signin.js").text
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    assert "Storage" not in code and "document.cookie" not in code  # nothing kept by the page itself
    assert not re.search(r"dtma_[A-Za-z0-9_-]{8}", page + script)  # no token value anywhere in what is served


def _listed(page) -> list[int]:
    js = "fetch('/datasets?f=json').then(r => r.json()).then(b => b.datasets.map(d => d.id))"
    return page.evaluate(js)


def test_sign_in_and_out_in_chromium(site, browser):  # noqa: F811
    url, token, audit = site
    _need_maplibre()
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    seen = []
    page.on("request", lambda r: seen.append(r))
    try:
        page.goto(url + "/")
        page.wait_for_selector("#signin")
        _wait(page, "window.dtmAtlasSignin.whoami !== null")
        assert audit not in _listed(page)  # anonymous: the Safety Audit does not exist
        page.click("#signin")
        page.fill("#signin-token", "dtma_not-a-token")
        page.click("#signin-form button[type=submit]")
        _wait(page, "window.dtmAtlasSignin.error !== null")
        assert page.text_content("#signin-status")  # the server's refusal, in words
        assert context.cookies() == []
        page.fill("#signin-token", token)
        with page.expect_navigation():
            page.click("#signin-form button[type=submit]")
        _wait(page, "window.dtmAtlasSignin.whoami !== null && window.dtmAtlasSignin.whoami.signed_in === true")
        assert page.evaluate("window.dtmAtlasSignin.whoami") == {
            "signed_in": True,
            "role": "analyst",
            "countries": ["IRQ"],
            "via": "token",
            "session": True,
        }
        assert page.text_content("#signin-status") == "analyst (IRQ)"
        # the analyst reads the Safety Audit, its site names included, through the page's own requests
        assert audit in _listed(page)
        items = page.evaluate(
            f"fetch('/ogc/collections/dataset{audit}-sites/items?f=json&limit=100').then(r => r.text())"
        )
        assert CANARY in items
        # and no script of the page can reach the token or the session: storage empty, cookie HttpOnly
        assert page.evaluate("document.cookie") == ""
        assert page.evaluate("localStorage.length") == 0 and page.evaluate("sessionStorage.length") == 0
        assert token not in page.content()
        (cookie,) = context.cookies()
        assert cookie["name"] == "dtm_atlas_session" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["value"] != token and token not in cookie["value"]
        # MapLibre's tile requests carry the session (the browser adds the cookie), never a token
        _wait(page, "window.dtmAtlas && window.dtmAtlas.map !== null && window.dtmAtlas.map.loaded()")
        tiles = [r for r in seen if ".mvt" in r.url]
        assert tiles
        headers = [r.all_headers() for r in tiles[-3:]]
        assert all("dtm_atlas_session=" in h.get("cookie", "") for h in headers)
        assert not [r for r in seen if token in (r.headers.get("authorization") or "") and "/auth/session" not in r.url]
        with page.expect_navigation():
            page.click("#signin")  # sign out
        _wait(page, "window.dtmAtlasSignin.whoami !== null")
        assert page.evaluate("window.dtmAtlasSignin.whoami.signed_in") is False
        assert context.cookies() == [] and audit not in _listed(page)
    finally:
        context.close()
