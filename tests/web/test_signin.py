"""The web map's sign-in (web/static/signin.js) in Debian's Chromium: the token a user pastes is
kept in sessionStorage only (never in the page, a cookie or localStorage), the page's requests and
MapLibre's tile requests carry it as ``Authorization: Bearer``, the server says who it is, and a
refused token is forgotten at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.web.test_webmap import _need_maplibre, _wait, browser  # noqa: F401 - the browser fixture

LABEL = "web map sign-in test"


@pytest.fixture(scope="module")
def token(figures_engine):
    from service.auth import create_token

    value = create_token(figures_engine, "analyst", LABEL, countries=["IRQ"])
    yield value
    with figures_engine.begin() as c:  # the shared database is left as it was
        c.execute(text("DELETE FROM api_token WHERE label = :l"), {"l": LABEL})


def test_page_holds_no_secret(figures_client):
    _need_maplibre()
    page = figures_client.get("/").text
    assert "/static/signin.js?v=" in page and page.index("signin.js") < page.index("app.js")
    script = figures_client.get("/static/signin.js").text
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    assert "sessionStorage" in code and "localStorage" not in code and "cookie" not in code
    assert not re.search(r"dtma_[A-Za-z0-9_-]{8}", page + script)  # no token value anywhere in what is served
    assert figures_client.get("/auth/whoami").json() == {
        "signed_in": False,
        "role": "anonymous",
        "countries": None,
        "via": "anonymous",
    }


def test_sign_in_and_out_in_chromium(figures_url, browser, token):  # noqa: F811
    _need_maplibre()
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    seen: list[tuple[str, str | None]] = []
    page.on("request", lambda r: seen.append((r.url, r.headers.get("authorization"))))
    try:
        page.goto(figures_url + "/")
        page.wait_for_selector("#signin")
        page.click("#signin")
        page.fill("#signin-token", "dtma_not-a-token")
        page.click("#signin-form button[type=submit]")
        _wait(page, "window.dtmAtlasSignin.error !== null")
        assert page.evaluate("sessionStorage.length") == 0  # a refused token is not kept
        assert page.text_content("#signin-status")  # the server's refusal, in words
        page.fill("#signin-token", token)
        with page.expect_navigation():
            page.click("#signin-form button[type=submit]")
        _wait(page, "window.dtmAtlasSignin.whoami !== null && window.dtmAtlas && window.dtmAtlas.map !== null")
        assert page.evaluate("window.dtmAtlasSignin.whoami") == {
            "signed_in": True,
            "role": "analyst",
            "countries": ["IRQ"],
            "via": "token",
        }
        assert page.text_content("#signin-status") == "analyst (IRQ)"
        assert page.evaluate("sessionStorage.getItem('dtm-atlas.token')") == token
        assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
        assert token not in page.content()  # the page's DOM never holds it
        _wait(page, "window.dtmAtlas.map.loaded()")
        signed = [(u, a) for u, a in seen if ".mvt" in u and a]
        assert signed and all(a == f"Bearer {token}" for _, a in signed)  # MapLibre's tile requests
        assert any(u.endswith("/auth/whoami") and a == f"Bearer {token}" for u, a in seen)
        assert not [u for u, a in seen if a and not u.startswith(figures_url)]  # never to another origin
        with page.expect_navigation():
            page.click("#signin")  # sign out
        assert page.evaluate("sessionStorage.length") == 0
    finally:
        page.close()
