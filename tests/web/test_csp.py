"""The Content-Security-Policy holds without ``'unsafe-eval'`` (service/api/limits.py): in Chromium,
the web map shapes its Arabic labels (the RTL text plugin, WebAssembly, loaded by MapLibre's
worker as a module) and ``/docs`` and ``/redoc`` render, with no CSP violation and no console
error on any of the three pages."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.web.test_webmap import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, _need_maplibre, _wait

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '')));
"""


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium; ./dev setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _bad(message) -> bool:
    """An error, or a warning about the policy (the software GL driver's notes are not ours)."""
    text = message.text
    return message.type == "error" or "Content Security Policy" in text or "Refused to" in text


def _page(browser):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-GB")
    context.add_init_script(WATCH)
    page = context.new_page()
    problems, requests = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: _bad(m) and problems.append(f"console {m.type}: {m.text}"))
    page.on("worker", lambda w: w.on("console", lambda m: _bad(m) and problems.append(f"worker console: {m.text}")))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    return context, page, problems, requests


def test_policy_has_no_unsafe_eval(figures_url):
    csp = httpx.get(figures_url + "/").headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-eval'" not in script_src and "'wasm-unsafe-eval'" in script_src, csp
    assert "frame-ancestors 'none'" in csp


def test_arabic_labels_are_shaped_under_the_policy(figures_url, browser):
    _need_maplibre()
    context, page, problems, requests = _page(browser)
    page.goto(figures_url + "/#lang=ar")
    _wait(page, "document.documentElement.dir === 'rtl'")
    _wait(page, "window.dtmAtlas && window.dtmAtlas.rtlPluginStatus() === 'loaded'", timeout=30_000)
    page.evaluate("window.dtmAtlas.map.triggerRepaint()")
    _wait(page, "window.dtmAtlas.map.loaded() && window.dtmAtlas.map.areTilesLoaded()", timeout=30_000)
    deadline = time.monotonic() + 20
    while not any("/65024-65279.pbf" in u for u in requests) and time.monotonic() < deadline:
        time.sleep(0.1)
    # the shaped (presentation) forms of Arabic letters are asked for: the plugin shaped the labels
    assert any("/fonts/Noto%20Sans%20Regular/65024-65279.pbf" in u for u in requests), [
        u for u in requests if "/fonts/" in u
    ]
    assert any("/mapbox-gl-rtl-text.mjs" in u for u in requests)
    assert page.evaluate("window.__violations") == []
    assert not problems, "\n".join(problems)
    context.close()


def test_docs_pages_render_under_the_policy(figures_url, browser):
    context, page, problems, requests = _page(browser)
    host = urlsplit(figures_url).netloc
    page.goto(figures_url + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.evaluate("window.__violations") == []
    page.goto(figures_url + "/redoc")
    page.wait_for_selector("[data-section-id]", timeout=30_000)
    assert page.locator("[data-section-id]").count() > 20
    assert page.evaluate("window.__violations") == []
    outside = [u for u in requests if not u.startswith(("data:", "blob:")) and urlsplit(u).netloc != host]
    assert not outside and not problems, (outside, problems)
    context.close()
