"""Cartography of the static maps (issue 24), read back from the files: names placed (at least
as many as QGIS's labelling engine places, ~90 of 101 districts; every other unit numbered in the
index), the Baghdad inset chosen by density, governorate, neighbour and city names, Arabic that
copies out of the PDF (pdftotext), titles whole on every paper, no false river between the
COD-AB outline and Natural Earth's neighbours (PNG pixels), the logo slot."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from service.maps import fonts, layout, render
from service.maps.data import MapSpec, load_map

CREATED = dt.date(2026, 12, 1)


def pdftext(path, *args) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def national(figures_engine):
    with figures_engine.connect() as conn:
        return load_map(conn, MapSpec(120, "idp", 2), created=CREATED)


@pytest.fixture(scope="module")
def national_pdf(national, tmp_path_factory):
    out = tmp_path_factory.mktemp("nat")
    fig = render.figure(national, dpi=60)
    stats = fig.dtm_labels
    paths = render.render(national, out, ("png", "pdf"), dpi=60)
    return paths, stats


def test_every_district_named_or_indexed(national, national_pdf):
    paths, stats = national_pdf
    assert len(national.units) == 101
    # QGIS 3.22 places about 90 of the 101 district names on this map; here: on the map or in the inset
    assert stats["named"] + stats["inset"] >= 90, (
        {k: v for k, v in stats.items() if k != "index"},
        [u.name_en for _, u in stats["index"]],
    )
    assert stats["inset"] >= 5  # Baghdad's districts, too small at the national scale
    assert stats["named"] + stats["inset"] + stats["numbered"] == 101
    flat = " ".join(pdftext(paths["pdf"], "-raw").split())
    missing = [u.name_en for u in national.units if u.name_en not in flat]
    assert not missing, missing
    for n, u in stats["index"]:  # the index box lists each numbered unit
        assert re.search(rf"\b{n} {re.escape(u.name_en)}", flat), (n, u.name_en)


def test_dense_inset_is_chosen_by_density(figures_engine, national_pdf):
    paths, _ = national_pdf
    flat = " ".join(pdftext(paths["pdf"], "-raw").split())
    # the inset names itself after the governorate most of its units are in: not hard-coded
    assert "Enlarged: Baghdad" in flat
    # a map without a dense cluster (Anbar's sub-districts: every name fits) has no inset
    with figures_engine.connect() as conn:
        anbar = load_map(conn, MapSpec(120, "idp", 3, extent="IQG01"), created=CREATED)
    fig = render.figure(anbar, dpi=30)
    assert fig.dtm_labels["inset"] == 0 and fig.dtm_labels["named"] == len(anbar.units)
    flat = " ".join(pdftext(render.render(anbar, paths["pdf"].parent / "a", ("pdf",), dpi=30)["pdf"], "-raw").split())
    assert "Enlarged" not in flat


def test_names_of_governorates_neighbours_and_cities(national, national_pdf):
    paths, _ = national_pdf
    flat = " ".join(pdftext(paths["pdf"], "-raw").split())
    govs = [en.upper() for en, _ in national.governorate_names]
    placed = [g for g in govs if g in flat]
    assert len(govs) == 18 and len(placed) >= 14, sorted(set(govs) - set(placed))
    for name in ("NINEWA", "AL-ANBAR", "JORDAN", "KUWAIT", "SAUDI ARABIA", "IRAN", "SYRIA", "TURKEY"):
        assert name in flat, name
    for city in ("Baghdad", "Mosul", "Basra", "Kirkuk"):
        assert city in flat, city


def test_arabic_copies_out_of_the_pdf(figures_engine, national_pdf, tmp_path):
    paths, _ = national_pdf
    text = pdftext(paths["pdf"])
    with figures_engine.connect() as conn:
        from sqlalchemy import text as sql

        anbar = conn.execute(sql("SELECT name_ar FROM admin_unit WHERE pcode = 'IQG01' AND level = 1")).scalar_one()
    # logical order, joined: the district Mosul and the governorate Anbar as stored (COD-AB: الانبار)
    assert "الموصل" in text
    assert anbar in text
    # the ligatures (lam-alef, lam-alef maksura) that came out scrambled ("األنبار", "دياىل")
    fonts.setup()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 2))
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.6, "Al-Anbar | الأنبار", fontsize=12)
    fig.text(0.1, 0.3, "Diyala | ديالى", fontsize=12)
    render.save(fig, tmp_path / "ar.pdf", "pdf", title="t", producer="p")
    got = pdftext(tmp_path / "ar.pdf")
    assert "الأنبار" in got and "ديالى" in got
    assert "األنبار" not in got and "دياىل" not in got


def test_a_glyph_set_seen_before_embeds_the_same_fonts(national, national_pdf, tmp_path):
    """The second PDF of a map takes its font subsets from the bytes kept of the first
    (``fonts._SUBSETS``): the same text copies out and the same fonts are embedded."""
    paths, _ = national_pdf
    assert fonts._SUBSETS, "the first PDF kept its subsets"
    kept = len(fonts._SUBSETS)
    again = render.render(national, tmp_path, ("pdf",), dpi=60)["pdf"]
    assert len(fonts._SUBSETS) == kept  # nothing subset again
    assert pdftext(again) == pdftext(paths["pdf"])
    embedded = [
        subprocess.run(["pdffonts", str(p)], capture_output=True, text=True, check=True).stdout
        for p in (again, paths["pdf"])
    ]
    assert embedded[0] == embedded[1] and "Noto" in embedded[0]


@pytest.mark.parametrize("paper", ["A4", "A3"])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_title_is_whole_on_every_paper(figures_engine, tmp_path, paper, orientation):
    with figures_engine.connect() as conn:
        data = load_map(conn, MapSpec(120, "idp", 3, extent="IQG01", paper=paper, orientation=orientation))
    pdf = render.render(data, tmp_path, ("pdf",), dpi=30)["pdf"]
    page = layout.page(paper, orientation)
    html = pdftext(pdf, "-bbox")
    width_pt = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    words = [
        (float(x0), float(y0), float(x1), w)
        for x0, y0, x1, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<', html
        )
    ]
    header_bottom = (page.height_mm - page.header.y) / 25.4 * 72  # from the page's top, points
    head = [w for w in words if w[1] < header_bottom]
    right_edge = (page.header.x + page.header.w) / 25.4 * 72
    assert max(w[2] for w in head) <= right_edge + 0.5, (paper, orientation)
    assert max(w[2] for w in head) <= width_pt
    # every word of the title is there, the date last
    got = " ".join(w[3] for w in head)
    for word in ("Al-Anbar", "IDPs", "sub-district,", "28", "February", "2021"):
        assert word in got, (word, got)


def test_no_false_river_between_the_outline_and_the_neighbours(national, tmp_path):
    """Just outside the COD-AB outline along the land borders (north of 31.2 N: Syria, Jordan,
    Saudi Arabia, Turkey, Iran), the map shows the neighbours' grey, never the water's blue
    (Natural Earth's borders left strips of water up to ~1.5 km wide between them and COD-AB's:
    about 360 km2 of false water within 300 m of the border)."""
    north = national.projection.to_map(shapely.box(30, 31.2, 60, 40).segmentize(0.5))
    land = shapely.union_all([g for _, g in national.neighbours])
    strip = national.country.buffer(1500).difference(national.country).intersection(north)
    assert strip.difference(land).area < 1e6  # under 1 km2 of water along ~3,000 km of border
    # and in the pixels: 200 dpi (about 0.7 km a pixel), 0.7 km outside the border
    png = render.render(national, tmp_path, ("png",), dpi=200)["png"]
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    page = layout.page()
    px, py, pw, ph = page.frac(page.main)
    H, W = img.shape[:2]
    x0, y0, x1, y1 = national.view
    water = np.array([int(render.WATER[i : i + 2], 16) for i in (1, 3, 5)])
    ring = max(getattr(national.country, "geoms", [national.country]), key=lambda g: g.area).exterior
    checked = bad = 0
    for d in np.linspace(0, ring.length, 1500, endpoint=False):
        p, q = ring.interpolate(d), ring.interpolate(d + 300)
        nx, ny = q.y - p.y, -(q.x - p.x)
        norm = (nx * nx + ny * ny) ** 0.5 or 1
        for sgn in (1, -1):
            pt = shapely.Point(p.x + sgn * nx / norm * 700, p.y + sgn * ny / norm * 700)
            if national.country.intersects(pt.buffer(400)) or not north.contains(pt):
                continue  # inside or on the border; or the Shatt al-Arab and the Gulf (water indeed)
            col = int((px + (pt.x - x0) / (x1 - x0) * pw) * W)
            row = int((1 - (py + (pt.y - y0) / (y1 - y0) * ph)) * H)
            checked += 1
            bad += int(np.abs(img[row, col] - water).max() <= 6)
    assert checked > 300
    assert bad <= checked * 0.01, f"{bad} of {checked} points just outside the border are water-coloured"


def test_logo_slot(national, tmp_path, monkeypatch):
    from pydantic import ValidationError

    from service.core.settings import MapSettings, Settings

    logo = tmp_path / "logo.png"
    Image.new("RGB", (200, 100), (0, 51, 160)).save(logo)  # a blue block, IOM-like
    # a setting (DTM_ATLAS_MAP_LOGO) passed down to the renderer
    monkeypatch.setenv("DTM_ATLAS_MAP_LOGO", str(logo))
    assert Settings().maps.logo == logo
    png = render.render(national, tmp_path, ("png",), dpi=30, logo=Settings().maps.logo)["png"]
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    page = layout.page()
    hx, hy, hw, hh = page.frac(page.header)
    H, W = img.shape[:2]
    # the header's right end holds the logo's blue
    corner = img[int((1 - hy - hh) * H) : int((1 - hy) * H), int((hx + hw - 0.05) * W) : int((hx + hw) * W)]
    blue = (np.abs(corner - np.array([0, 51, 160])).max(axis=2) < 30).mean()
    assert blue > 0.3, blue
    # without the setting, no logo: the same corner is the page's white
    plain = render.render(national, tmp_path / "plain", ("png",), dpi=30)["png"]
    corner = np.asarray(Image.open(plain).convert("RGB")).astype(int)[
        int((1 - hy - hh) * H) : int((1 - hy) * H), int((hx + hw - 0.05) * W) : int((hx + hw) * W)
    ]
    assert (np.abs(corner - np.array([0, 51, 160])).max(axis=2) < 30).mean() < 0.01
    # the setting's validators: a name that is no file, a file that is no image
    monkeypatch.setenv("DTM_ATLAS_MAP_LOGO", str(tmp_path / "nope.png"))
    with pytest.raises(ValidationError, match="DTM_ATLAS_MAP_LOGO: .*nope.png is not a file"):
        Settings()
    (tmp_path / "logo.txt").write_text("not an image")
    with pytest.raises(ValidationError, match="neither a PNG nor a JPEG"):
        MapSettings(logo=tmp_path / "logo.txt")
    monkeypatch.setenv("DTM_ATLAS_MAP_LOGO", "")
    assert Settings().maps.logo is None
    # a logo gone since the settings were read stops the map (never published without it)
    with pytest.raises(FileNotFoundError, match="DTM_ATLAS_MAP_LOGO"):
        render.render(national, tmp_path, ("png",), dpi=30, logo=tmp_path / "gone.png")


def test_folium_map_neighbours_outline_and_no_data(national):
    """The folium map: Natural Earth's neighbours in lon/lat filling the map's lon/lat window (no
    skewed box), the country outline, units without data outlined apart from the neighbours."""
    import folium

    from service.maps import interactive

    m = interactive.build(national)
    layers = {c.layer_name: c for c in m._children.values() if isinstance(c, folium.GeoJson)}
    neighbours = layers["Neighbouring countries"]
    bounds = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in neighbours.data["features"]]).bounds
    wx0, wy0, wx1, wy1 = national.window
    # the union of the neighbours reaches the window's straight edges (a skewed box would not)
    assert abs(bounds[0] - wx0) < 0.05 and abs(bounds[2] - wx1) < 0.05 and abs(bounds[3] - wy1) < 0.05
    assert "Country outline" in layers
    style = layers[[k for k in layers if "by district" in k][0]].style_function
    feats = layers[[k for k in layers if "by district" in k][0]].data["features"]
    empty = [f for f in feats if f["properties"]["no_data"]]
    assert empty  # Al-Salman has no IDPs
    assert style(empty[0])["dashArray"] and style(empty[0])["fillColor"] != interactive.NEIGHBOUR_FILL


def test_folium_labels(national, tmp_path):
    """The folium map names what the static map names: every unit (English and Arabic, at a point
    inside it), the governorates, the capital and cities, the neighbouring countries; in Chromium
    the names shown never overlap, and zooming in shows more of them."""
    import json
    from pathlib import Path

    from service.maps import interactive

    path = interactive.write(national, tmp_path)
    page_text = path.read_text(encoding="utf-8")
    assert interactive.external_references(page_text) == []
    found = re.search(r"items = (\[.*?\]);\n", page_text)
    assert found, "no labels' layer in the page"
    labels = json.loads(found.group(1).replace("<\\/", "</"))
    units = [la for la in labels if la["kind"] == "unit"]
    assert len(units) == len(national.units) == 101
    proj = national.projection
    by_name = {u.name_en: u for u in national.units}
    for la in units:
        u = by_name[la["en"]]
        assert la["ar"] == u.name_ar
        assert u.geom.contains(proj.to_map(shapely.Point(la["lon"], la["lat"]))), la["en"]
    assert any(la["en"] == "Al-Mosul" and la["ar"] == "الموصل" for la in units)
    kinds = {k: [la["en"] for la in labels if la["kind"] == k] for k in ("area", "capital", "city", "country")}
    assert len(kinds["area"]) == 18 and "AL-ANBAR" in kinds["area"]
    assert kinds["capital"] == ["Baghdad"]
    assert "Basra" in kinds["city"] or "Mosul" in kinds["city"]
    assert {"JORDAN", "KUWAIT", "SYRIA", "IRAN", "SAUDI ARABIA"} <= set(kinds["country"])
    assert labels[0]["kind"] == "capital"  # laid out first: the capital always shows

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip(f"{chromium} is not installed (Debian package chromium): no browser is downloaded")
    from playwright.sync_api import sync_playwright

    shown_js = """[...document.querySelectorAll('.dtm-label')].filter(e => e.dataset.shown === '1').map(e => {
        const r = e.firstChild.getBoundingClientRect();
        return [e.innerText, r.left, r.top, r.right, r.bottom]; })"""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), args=["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_function("document.querySelectorAll('.dtm-label[data-shown]').length > 0", timeout=15000)
            assert errors == []
            shown = page.evaluate(shown_js)
            texts = [s[0] for s in shown]
            assert "Baghdad" in texts and "JORDAN" in texts and any("الانبار" in t for t in texts)
            assert sum(1 for t in texts if "\n" in t) >= 20  # units and governorates, English over Arabic
            for i, a in enumerate(shown):  # no two names shown overlap
                for b in shown[i + 1 :]:
                    assert a[3] < b[1] or b[3] < a[1] or a[4] < b[2] or b[4] < a[2], (a[0], b[0])
            page.evaluate(
                "(() => { const m = Object.values(window).find(v => v && v._container && v.setZoom); "
                "m.setZoom(m.getZoom() + 2, {animate: false}); })()"
            )
            page.wait_for_timeout(300)
            assert len(page.evaluate(shown_js)) > len(shown)  # closer in, more names
        finally:
            browser.close()


def test_shared_geometries_are_keyed_by_the_data_version(figures_engine, monkeypatch):
    """The boundaries and neighbours every map reuses are read once per process, database and data
    version (the one version-keyed cache): the same map again reads nothing; after an import (a
    new data version) they are read again."""
    from service.core import versioncache
    from service.maps import data as md

    reads = []
    real = md._read_geoms
    monkeypatch.setattr(md, "_read_geoms", lambda *a: reads.append(a[3]) or real(*a))
    monkeypatch.setattr(md, "_SHARED", versioncache.VersionCaches(max_entries=128))
    spec = MapSpec(120, "idp", 2)
    with figures_engine.connect() as conn:
        first = md.load_map(conn, spec, created=CREATED)
        n = len(reads)
        assert n >= 2  # the country and the districts at least
        again = md.load_map(conn, spec, created=CREATED)
        assert len(reads) == n
        assert [u.geom for u in again.units] == [u.geom for u in first.units]
        version = md.data_version(conn)
        monkeypatch.setattr(versioncache, "data_version", lambda c: version + 1)
        md.load_map(conn, spec, created=CREATED)
        assert len(reads) == 2 * n


def test_print_layout_has_the_logo(figures_engine, national, tmp_path):
    """The QGIS print layout of a map shows the logo when one is set (copied beside the project,
    referenced relatively): PyQGIS resolves it to the copy and exports the layout."""
    import json
    import os

    from service.maps import qgis_project
    from service.publish.exports import export_to

    data_dir, folder = tmp_path / "data", tmp_path / "qgis"
    data_dir.mkdir()
    folder.mkdir()
    for ds in ("figures-adm1", "figures-adm2"):
        export_to(figures_engine, ds, "gpkg", data_dir, round_number=120, population="idp")
    classes = {("idp", 1): national.classification, ("idp", 2): national.classification}
    layers = qgis_project.package_layers(data_dir, classes)
    Image.new("RGB", (200, 100), (0, 51, 160)).save(folder / "logo.png")
    layout = qgis_project.map_layout(national, layers, "./logo.png")
    assert layout is not None and layout.logo == "./logo.png"
    project = qgis_project.write_qgz(folder / "p.qgz", "test", 32638, layers, national.view, [layout])
    check = Path(__file__).with_name("qgis_check.py")  # Debian's PyQGIS (./dev installs python3-qgis)
    done = subprocess.run(
        ["/usr/bin/python3", str(check), str(project), layout.name, str(tmp_path / "layout.pdf")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    q = json.loads(done.stdout.strip().splitlines()[-1])
    assert q["messages"] == [] and q["export_ok"]
    (la,) = q["layouts"]
    assert str(folder / "logo.png") in la["pictures"]
    # the logo is the layout's one raster image (the map, legend and arrow are vectors)
    images = subprocess.run(
        ["pdfimages", "-list", str(tmp_path / "layout.pdf")], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert len(images) >= 1, images


def test_glyphs_kept_per_process_draw_matplotlibs_own_pixels():
    """``fonts._draw_run`` renders each glyph once per process and draws it again from the
    cache: the canvas is bit for bit the one matplotlib's own glyph-by-glyph drawing makes, for
    Latin and Arabic, at fractions of a pixel, rotated, and drawn a second time (from the cache)."""
    from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag
    from matplotlib.font_manager import FontProperties

    fonts.setup()
    prop = FontProperties(family=fonts.FAMILY, size=7.5)
    texts = [
        ("Data: DTM Iraq master list, round 120 (1,205,767)", 10.3, 40.7, 0),
        ("الأنبار الموصل", 20.55, 90.125, 0),
        ("Al-Anbar", 200.9, 100.4, 30),
        ("Data: DTM Iraq master list, round 120 (1,205,767)", 13.3, 140.7, 0),  # same 64ths: cached
    ]
    ours, theirs = RendererAgg(420, 180, 150), RendererAgg(420, 180, 150)
    for renderer in (ours, theirs):
        renderer.clear()
    fonts._GLYPHS.clear()
    for s, x, y, angle in texts:
        ours.draw_text(ours.new_gc(), x, y, s, prop, angle)
        font = theirs._prepare_font(prop)
        items = font._layout(s, flags=get_hinting_flag())
        size = prop.get_size_in_points()
        theirs._draw_text_glyphs_and_boxes(
            theirs.new_gc(), x, y, angle, ((i.ft_object, size, i.glyph_index, 0, 1, i.x, i.y) for i in items), []
        )
    a, b = np.asarray(ours.buffer_rgba()), np.asarray(theirs.buffer_rgba())
    assert a[..., 3].any(), "the texts were drawn"
    assert np.array_equal(a, b)
    assert fonts._GLYPHS, "the glyphs were kept"
