"""The web map at ``/``: served files and caching (no browser), and the page itself in Debian's
Chromium driven by Playwright against the real Iraq boundaries and master lists.

The browser test reads the painted colours off a screenshot at the screen positions of known
units (the centres of their largest inscribed circles, computed in PostGIS, projected with the
page's own ``map.project``) and compares them with the colours of the units' classes: the class
from ``/choropleth/{level}.geojson`` (classified by the server, independently of the tiles), the
colour from the legend the page drew the map with.

Chromium is Debian's ``/usr/bin/chromium`` (never a browser downloaded by Playwright); without
it the browser test skips. WebGL runs on SwiftShader (software). Set
``DTM_ATLAS_WEBMAP_SHOTS=/some/dir`` to keep the screenshots.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, text

from service.api import web
from service.core.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # WebGL 2 (MapLibre GL JS needs it) on ANGLE's software Vulkan renderer
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1280, "height": 800}
LATEST_IDP_ROUND, OLDER_IDP_ROUND = 120, 86  # the real master lists (tests/conftest.py)
TOLERANCE = 6  # per RGB channel, for the centre pixel of a large polygon


# ------------------------------------------------------------------ served files, no browser
@pytest.fixture(scope="module")
def bare_client():
    """The app without a database (the web routes never query it)."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    with TestClient(create_app(Settings(database_url=url), create_engine(url))) as c:
        yield c


def _need_maplibre():
    if web.maplibre_version() is None:
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("web/node_modules is missing and npm is not installed: cannot install MapLibre GL JS")
        done = subprocess.run([str(web.WEB_DIR / "install.sh")], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"web/install.sh failed:\n{done.stdout}\n{done.stderr}"
    version = web.maplibre_version()
    assert version, "web/install.sh ran but maplibre-gl is still missing"
    return version


def test_page_and_static_files_are_cached_and_gzipped(bare_client):
    version = _need_maplibre()
    page = bare_client.get("/", headers={"accept": "text/html", "accept-encoding": "gzip"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache" and page.headers["etag"]
    html = page.text
    assert "{{" not in html
    assert f'"/vendor/maplibre-gl@{version}/maplibre-gl.mjs"' in html  # the import map
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the page must not load anything from elsewhere"
    again = bare_client.get("/", headers={"if-none-match": page.headers["etag"]})
    assert again.status_code == 304

    for name in ("app.js", "app.css"):
        m = re.search(rf"/static/{re.escape(name)}\?v=([0-9a-f]+)", html)
        assert m, f"{name} is not referenced with its content hash"
        r = bare_client.get(f"/static/{name}?v={m.group(1)}", headers={"accept-encoding": "gzip"})
        assert r.status_code == 200
        assert r.headers["cache-control"] == web.IMMUTABLE
        assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
        stale = bare_client.get(f"/static/{name}?v=0000000000")
        assert stale.headers["cache-control"] == "no-cache"
        assert bare_client.get(f"/static/{name}", headers={"if-none-match": r.headers["etag"]}).status_code == 304

    raw = bare_client.get(
        f"/vendor/maplibre-gl@{version}/maplibre-gl.mjs",
        headers={"accept-encoding": "gzip"},
    )
    assert raw.status_code == 200 and raw.headers["content-encoding"] == "gzip"
    assert raw.headers["cache-control"] == web.IMMUTABLE
    assert raw.headers["content-type"].startswith("text/javascript")
    assert int(raw.headers["content-length"]) < 400_000  # ~1.1 MB before gzip
    assert bare_client.get("/vendor/maplibre-gl@0.0.1/maplibre-gl.mjs").status_code == 404
    assert bare_client.get(f"/vendor/maplibre-gl@{version}/package.json").status_code == 404
    assert bare_client.get("/static/..%2Fpackage.json").status_code == 404
    assert bare_client.get("/static/missing.js").status_code == 404


def test_missing_maplibre_gives_503_with_the_setup_step(bare_client, monkeypatch, tmp_path):
    monkeypatch.setattr(web, "MAPLIBRE_DIR", tmp_path / "node_modules" / "maplibre-gl")
    monkeypatch.setattr(web, "MAPLIBRE_DIST", tmp_path / "node_modules" / "maplibre-gl" / "dist")
    r = bare_client.get("/")
    assert r.status_code == 503
    assert r.json()["status"] == 503 and "web/install.sh" in r.json()["detail"]
    r = bare_client.get("/", headers={"accept": "text/html"})
    assert r.status_code == 503 and "text/html" in r.headers["content-type"] and "./dev setup" in r.text
    assert bare_client.get("/vendor/maplibre-gl@6.0.0/maplibre-gl.mjs").status_code == 503


# ------------------------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def server(figures_url):
    """The service on a free 127.0.0.1 port (uvicorn in a thread), with the real figures."""
    _need_maplibre()
    return figures_url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is not installed (Debian package chromium; ./dev setup installs it): "
            "the web map test needs a real browser and downloads none"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _png_pixels(png: bytes) -> list[list[tuple[int, int, int]]]:
    """RGB rows of an 8-bit, non-interlaced RGB/RGBA PNG (what Chromium's screenshots are)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", None
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp : x * bpp + 3]) for x in range(width)])
        prev = line
    return rows


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _pixel(page, x: float, y: float) -> tuple[int, int, int]:
    """The painted colour at CSS pixel (x, y) of the page (device scale 1), from a 3x3 screenshot."""
    rows = _png_pixels(page.screenshot(clip={"x": round(x) - 1, "y": round(y) - 1, "width": 3, "height": 3}))
    return rows[1][1]


def _inner_points(engine, level: int, population: str, round_number: int) -> list[dict]:
    """Each unit's centre of its largest inscribed circle, largest circles first (well inside the polygon)."""
    sql = text("""
        SELECT pcode, name_en, name_ar, ST_X((c).center) AS lon, ST_Y((c).center) AS lat, (c).radius AS radius
        FROM (SELECT a.pcode, a.name_en, a.name_ar, ST_MaximumInscribedCircle(a.geom) AS c
              FROM admin_unit a JOIN round r ON r.boundary_set_id = a.boundary_set_id
              WHERE a.level = :level AND r.population = :pop AND r.round_number = :n) s
        ORDER BY radius DESC""")
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sql, {"level": level, "pop": population, "n": round_number}).mappings()]


def _screen_points(page, points: list[dict]) -> list[dict]:
    """Adds the page position (x, y) of each point; keeps those well inside the visible map."""
    placed = page.evaluate(
        """pts => {
        const map = window.dtmAtlas.map, box = map.getCanvas().getBoundingClientRect();
        return pts.map(p => { const q = map.project([p.lon, p.lat]); return {...p, x: box.left + q.x, y: box.top + q.y,
            inside: q.x > 12 && q.y > 90 && q.x < box.width - 60 && q.y < box.height - 40}; });
    }""",
        points,
    )
    return [p for p in placed if p["inside"]]


def _classes(base: str, level: int, population: str, round_number: int) -> tuple[dict, dict]:
    """(class by P-code, legend) from the choropleth GeoJSON: the server's classification, not the tiles'."""
    r = httpx.get(
        f"{base}/choropleth/{level}.geojson",
        timeout=30,
        params={
            "population": population,
            "round": round_number,
            "indicator": "individuals",
            "zoom": 3,
            "classes": "fixed",
        },
    )
    r.raise_for_status()
    body = r.json()
    return {f["properties"]["pcode"]: f["properties"]["class"] for f in body["features"]}, body["legend"]


def _wait(page, expression: str, timeout: int = 30_000) -> None:
    """Poll ``expression`` until it is true. (Playwright's wait_for_function evaluates its
    predicate with ``new Function`` inside the page, which the service's Content-Security-Policy
    forbids -- no 'unsafe-eval' -- while ``page.evaluate`` goes through the debugging protocol.)"""
    deadline = time.monotonic() + timeout / 1000
    if expression.lstrip().startswith("() =>"):
        expression = f"({expression})()"
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} ms for {expression}")
        time.sleep(0.05)


def _wait_render(page, after: int) -> int:
    _wait(page, f"window.dtmAtlas && window.dtmAtlas.idle && window.dtmAtlas.renders > {int(after)}", timeout=30_000)
    return page.evaluate("window.dtmAtlas.renders")


def _check_colours(page, base: str, engine, level: int, population: str, round_number: int, want: int = 8) -> list:
    """Paint at the inner points of up to ``want`` units (covering every class seen) is the
    legend colour of their class."""
    classes, geo_legend = _classes(base, level, population, round_number)
    legend = page.evaluate("window.dtmAtlas.legend")
    _labels(page, False)  # the units' labels sit where the colours are read
    for key in ("colors", "breaks", "labels", "no_data_color"):
        assert legend[key] == geo_legend[key], f"tiles' legend {key} differs from the choropleth's"
    checked, seen_classes = [], set()
    for p in _screen_points(page, _inner_points(engine, level, population, round_number)):
        cls = classes.get(p["pcode"])
        if len(checked) >= want and cls in seen_classes:
            continue
        expected = legend["no_data_color"] if cls is None else legend["colors"][cls]
        got = _pixel(page, p["x"], p["y"])
        diff = max(abs(a - b) for a, b in zip(got, _rgb(expected)))
        assert diff <= TOLERANCE, (
            f"{p['pcode']} {p['name_en']} (class {cls}) at ({p['x']:.0f}, {p['y']:.0f}) is "
            f"painted {_hex(got)}, its class colour is {expected}"
        )
        checked.append((p["pcode"], cls, _hex(got)))
        seen_classes.add(cls)
        if len(checked) >= 3 * want:
            break
    _labels(page, True)
    assert len(checked) >= want, f"only {len(checked)} units could be checked on screen"
    assert len({c for _, c, _ in checked if c is not None}) >= 3, f"too few classes among the checked units: {checked}"
    return checked


def _labels(page, visible: bool) -> None:
    """Shows or hides the map's label layer (and the basemap's rivers, places and country names
    drawn over the units) and waits until the map is drawn again."""
    page.evaluate(
        """v => new Promise(resolve => { const m = window.dtmAtlas.map;
        for (const id of ['labels', 'basemap-rivers-over', 'basemap-countries', 'basemap-places', 'basemap-place-dots'])
          if (m.getLayer(id)) m.setLayoutProperty(id, 'visibility', v ? 'visible' : 'none');
        m.once('idle', resolve); m.triggerRepaint(); })""",
        visible,
    )


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    keep = os.environ.get("DTM_ATLAS_WEBMAP_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def _set_round(page, index: int) -> None:
    page.evaluate(
        "i => { const s = document.getElementById('round'); s.value = i; s.dispatchEvent(new Event('input')); }", index
    )


def test_web_map_in_chromium(server, browser, figures_engine, tmp_path):
    t0 = time.monotonic()
    host = urlsplit(server).netloc
    requests, problems, responses = [], [], []
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-GB")
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfinished", lambda r: responses.append(r))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))

    # 1. default view: the one country, districts, IDPs, the latest round, individuals, English
    page.goto(server + "/")
    renders = _wait_render(page, 0)
    state = page.evaluate("window.dtmAtlas.state")
    assert state == {
        "country": "IRQ",
        "population": "idp",
        "round": str(LATEST_IDP_ROUND),
        "indicator": "individuals",
        "level": 2,
        "lang": "en",
        "classes": "fixed",  # the same breaks in every round (issue 23): the default
    }
    assert page.evaluate("location.hash") == (
        f"#country=IRQ&population=idp&round={LATEST_IDP_ROUND}&indicator=individuals&level=2&lang=en"
    )
    assert page.locator("#country-field").is_hidden()  # one country: no chooser
    assert page.title() == "DTM Atlas: Iraq" and page.locator("#country-name").inner_text() == "Iraq"
    assert "OCHA COD-AB (Iraq)" in page.locator("#attribution").inner_text()
    assert page.locator("#round-label").inner_text() == f"Round {LATEST_IDP_ROUND} · 28 Feb 2021"
    assert page.locator("#round").get_attribute("max") == "1"  # two IDP rounds
    legend = page.evaluate("window.dtmAtlas.legend")
    assert page.locator("#legend li").count() == len(legend["colors"]) + 1  # + no data
    tiles = [u for u in requests if u.split("?")[0].endswith(".mvt") and "/basemap/" not in u]
    assert tiles and all("/webmap/geometry/" in u and "/districts,governorates/" in u for u in tiles), (
        "the map must draw from the geometry tiles"
    )
    _shot(page, tmp_path, "1-districts-idp")

    # 2. the choropleth (geometry tiles + the round's figures by feature state) in the classes' colours
    districts = _check_colours(page, server, figures_engine, 2, "idp", LATEST_IDP_ROUND)

    # 3. hover: English and Arabic names, Arabic laid out right to left, figures
    points = {p["pcode"]: p for p in _screen_points(page, _inner_points(figures_engine, 2, "idp", LATEST_IDP_ROUND))}
    pcode = next(code for code, _, _ in districts if points[code]["name_ar"])
    unit = points[pcode]
    page.mouse.move(unit["x"], unit["y"])
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    ar = tooltip.locator('[lang="ar"]')
    assert ar.inner_text() == unit["name_ar"]
    assert unit["name_en"] in tooltip.inner_text() and pcode in tooltip.inner_text()
    layout = ar.evaluate("""el => {
        const t = el.firstChild, r = document.createRange(), n = t.length;
        r.setStart(t, 0); r.setEnd(t, 1); const first = r.getBoundingClientRect();
        r.setStart(t, n - 1); r.setEnd(t, n); const last = r.getBoundingClientRect();
        return {dir: el.getAttribute('dir'), direction: getComputedStyle(el).direction,
                first: first.left, last: last.left};
    }""")
    assert layout["dir"] == "rtl" and layout["direction"] == "rtl"
    assert layout["first"] > layout["last"], f"Arabic name not laid out right to left: {layout}"
    series = httpx.get(f"{server}/admin-units/{pcode}/timeseries").json()["series"]
    latest = next(r for r in series if r["population"] == "idp" and r["round_number"] == LATEST_IDP_ROUND)
    assert f"{latest['individuals']:,}" in tooltip.inner_text()
    _shot(page, tmp_path, "2-hover")

    # 4. click: the unit's whole history, IDPs and returnees on one time axis
    page.mouse.click(unit["x"], unit["y"])
    page.wait_for_selector(f'#detail[data-pcode="{pcode}"][data-loaded]', timeout=10_000)
    detail = page.locator("#detail")
    assert detail.locator('[lang="ar"][dir="rtl"]').inner_text() == unit["name_ar"]
    rows = detail.locator("table.series tbody tr")
    dates = sorted({r["reporting_date"] for r in series}, reverse=True)
    assert [rows.nth(i).get_attribute("data-date") for i in range(rows.count())] == dates
    for r in series:
        cell = detail.locator(f'tr[data-date="{r["reporting_date"]}"] td[data-population="{r["population"]}"]')
        assert cell.inner_text() == f"{r['individuals']:,}"
    assert {r["population"] for r in series} == {"idp", "returnee"}
    assert detail.locator("svg polyline[data-population=idp]").count() == 1
    assert detail.locator("svg polyline[data-population=returnee]").count() == 1
    assert page.locator("#national svg polyline").count() == 2  # the national trend, both populations
    page.mouse.move(5, 5)  # off the map: no hover outline in the next screenshots
    _shot(page, tmp_path, "3-history")

    # 5. a round step: one small answer (the round's figures), no tile
    responses.clear()
    before = len(requests)
    _set_round(page, 0)
    renders = _wait_render(page, renders)
    assert page.evaluate("window.dtmAtlas.state.round") == str(OLDER_IDP_ROUND)
    assert page.locator("#round-label").inner_text() == f"Round {OLDER_IDP_ROUND} · 31 Dec 2017"
    step = requests[before:]
    assert not [u for u in step if u.split("?")[0].endswith(".mvt")], f"a round step fetched tiles: {step}"
    sizes = [(r.url, r.sizes()) for r in responses]
    step_bytes = sum(sz["responseBodySize"] + sz["responseHeadersSize"] for _, sz in sizes)
    print(
        f"\nbytes per round step (districts, national zoom): {step_bytes} in {len(sizes)} request(s): "
        + ", ".join(f"{urlsplit(u).path} {sz['responseBodySize']} B body" for u, sz in sizes)
    )
    assert step_bytes <= 10_000, sizes
    _check_colours(page, server, figures_engine, 2, "idp", OLDER_IDP_ROUND)
    assert detail.locator("tr.current").get_attribute("data-date") == "2017-12-31"
    # the same step on a slow connection (400 kbit/s down, 300 ms latency): one round trip
    cdp = context.new_cdp_session(page)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 300, "downloadThroughput": 50_000, "uploadThroughput": 20_000},
    )
    for index in (1, 0, 1):  # each step once fresh and once revalidated
        t_step = time.monotonic()
        _set_round(page, index)
        renders = _wait_render(page, renders)
        print(f"round step to index {index} on a slow connection: {time.monotonic() - t_step:.2f} s")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert page.evaluate("window.dtmAtlas.state.round") == str(LATEST_IDP_ROUND)
    _set_round(page, 0)
    renders = _wait_render(page, renders)

    # 6. play steps through every round and stops at the last
    page.locator("#play").click()
    _wait(
        page,
        f"window.dtmAtlas.state.round === '{LATEST_IDP_ROUND}' && "
        "document.getElementById('play').getAttribute('aria-pressed') === 'false'",
        timeout=30_000,
    )
    renders = _wait_render(page, renders - 1)
    _check_colours(page, server, figures_engine, 2, "idp", LATEST_IDP_ROUND, want=6)

    # 7. changing the level: governorates (other geometry tiles), then returnees in their palette
    page.locator('input[name="level"][value="1"]').check()
    renders = _wait_render(page, renders)
    assert detail.is_hidden()  # the selected district is not on a governorate map
    _check_colours(page, server, figures_engine, 1, "idp", LATEST_IDP_ROUND, want=6)
    page.select_option("#population", "returnee")
    renders = _wait_render(page, renders)
    assert page.evaluate("window.dtmAtlas.legend.palette") == "returnee"
    checked = _check_colours(page, server, figures_engine, 1, "returnee", LATEST_IDP_ROUND, want=6)
    _shot(page, tmp_path, "4-governorates-returnees")

    # 8. labels in English, then the whole interface in Arabic: right to left, Arabic labels shaped
    def placed_labels():
        return page.evaluate("""() => window.dtmAtlas.map.queryRenderedFeatures({layers: ['labels']})
            .map(f => ({pcode: f.properties.pcode, en: f.properties.name_en, ar: f.properties.name_ar,
                        text: window.dtmAtlas.map.getLayoutProperty('labels', 'text-field')[1][1]}))""")

    labels = placed_labels()
    assert len({lb["pcode"] for lb in labels}) >= 10, labels  # governorate labels at national zoom
    assert {lb["text"] for lb in labels} == {"name_en"}
    page.locator("#lang").click()
    _wait(page, "document.documentElement.dir === 'rtl'")
    _wait(page, "window.dtmAtlas.rtlPluginStatus() === 'loaded'", timeout=20_000)
    page.evaluate("window.dtmAtlas.map.triggerRepaint()")
    _wait(page, "() => window.dtmAtlas.map.loaded() && window.dtmAtlas.map.areTilesLoaded()")
    assert page.evaluate("location.hash").endswith("&lang=ar")
    assert page.locator("#lang").inner_text() == "English"
    assert page.locator("label[for=round] [data-i18n=round]").inner_text() == "الجولة"
    assert page.title() == "أطلس DTM: العراق"
    assert page.locator("#panel").evaluate("el => getComputedStyle(el).direction") == "rtl"
    panel, mapbox = page.locator("#panel").bounding_box(), page.locator("#map").bounding_box()
    assert panel["x"] > mapbox["x"], "in Arabic the panel is on the right"
    labels = placed_labels()
    assert labels and {lb["text"] for lb in labels} == {"name_ar"}
    glyphs = [u for u in requests if "/fonts/" in u]
    assert any("/fonts/Noto%20Sans%20Regular/65024-65279.pbf" in u for u in glyphs), glyphs  # shaped Arabic forms
    assert any("/vendor/mapbox-gl-rtl-text@" in u for u in requests)
    _shot(page, tmp_path, "5-arabic")

    # 9. nothing failed, and nothing was asked of any other host
    outside = [u for u in requests if not u.startswith(("data:", "blob:")) and urlsplit(u).netloc != host]
    assert not outside, f"requests outside {host}: {outside}"
    assert not problems, "\n".join(problems)
    context.close()
    assert checked and time.monotonic() - t0 < 90
