"""Static maps, the offline folium HTML and the map endpoints, against the real Iraq boundaries
and master lists (``figures_engine``: rounds 86 and 120 IDP, 120 returnee).

The PDFs are read back with poppler (``pdfinfo``, ``pdftotext``, ``pdffonts``), the PNGs with
Pillow; the folium page is opened by Debian's Chromium (never a downloaded browser). Maps are
drawn at a low dpi except where the dpi is what is tested. ``DTM_ATLAS_UPDATE_GOLDEN=1``
rewrites the golden image.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from service.maps import fonts, interactive, render
from service.maps.data import MapRequestError, MapSpec, load_map

GOLDEN = Path(__file__).parent / "golden" / "irq_dtm_idp_adm3_iqg07_r120_A4L_20210228.png"
CHROMIUM = Path("/usr/bin/chromium")
CREATED = dt.date(2026, 12, 1)


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is missing: install Debian's poppler-utils (./dev setup does)")
    return path


def _run(*args) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def national(figures_engine):
    with figures_engine.connect() as conn:
        return load_map(conn, MapSpec(120, "idp", 2), created=CREATED)


@pytest.fixture(scope="module")
def national_files(national, tmp_path_factory):
    """The national district map of round 120 as PNG (300 dpi) and PDF, drawn once; warnings kept."""
    out = tmp_path_factory.mktemp("maps")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = render.render(national, out, ("png", "pdf"))
    return paths, [str(w.message) for w in caught]


def test_png_is_a4_landscape_at_300_dpi(national_files):
    paths, _ = national_files
    assert paths["png"].name == "irq_dtm_idp_adm2_r120_A4L_20210228.png"
    with Image.open(paths["png"]) as im:
        assert im.size == (3508, 2480)
        assert [round(v) for v in im.info["dpi"]] == [300, 300]


def test_pdf_page_layout_texts_and_fonts(national_files, national):
    paths, caught = national_files
    pdf = str(paths["pdf"])
    info = _run(_poppler("pdfinfo"), pdf)
    size = next(line for line in info.splitlines() if line.startswith("Page size:"))
    w, h = (float(v) for v in size.split(":")[1].split("pts")[0].split("x"))
    assert abs(w - 842) < 0.6 and abs(h - 595) < 0.6, size
    assert re.search(r"^Pages:\s+1$", info, re.M)

    txt = _run(_poppler("pdftotext"), "-raw", pdf, "-")
    flat = " ".join(txt.split())
    for needle in (
        "IDPs (individuals) by district, 28 February 2021",  # title: subject, place, data date
        "round 120",  # subtitle
        "العراق",  # the place's Arabic name, shaped and extracted as text
        "Sources:",
        "Data: IOM Displacement Tracking Matrix",
        "OCHA COD-AB",
        "Disclaimer: The boundaries and names shown",
        "Map ID: IRQ-DTM-IDP-ADM2-R120-A4L",
        "Version: data version",
        "Producer:",
        "Created: 2026-12-01",
        "WGS 84 / UTM zone 38N (EPSG:32638)",
        "No data",
        "IRAN",
        "SYRIA",
    ):
        assert needle in flat, f"{needle!r} not in the PDF's text"
    # the legend's labels are the classification's, one by one
    for label in national.classification.labels:
        assert label in flat, label

    fonts_out = _run(_poppler("pdffonts"), pdf).splitlines()[2:]
    rows = {line.split()[0].split("+")[-1]: line.split() for line in fonts_out}
    for family in ("NotoSans-Regular", "NotoSans-Bold", "NotoSansArabic-Regular"):
        assert family in rows, f"{family} not in the PDF: {list(rows)}"
        cols = rows[family]
        assert "+" in next(line.split()[0] for line in fonts_out if family in line)  # a subset (ABCDEF+Name)
        assert cols[-5:-2] == ["yes", "yes", "yes"], f"{family}: embedded / subset / unicode: {cols}"
    assert not [m for m in caught if "missing from font" in m], caught


def test_legend_is_the_api_legend(national, figures_client):
    api = figures_client.get("/choropleth/2.geojson", params={"round": 120, "population": "idp"}).json()["legend"]
    api.pop("unassigned")
    assert national.classification.to_dict() == api
    # and every unit's colour is the colour of its class in that legend
    for u in national.units:
        c = national.classification.class_of(u.value)
        assert u.color == (api["no_data_color"] if c is None else api["colors"][c])


def test_missing_glyph_is_an_error(figures_engine, tmp_path):
    with figures_engine.connect() as conn:
        data = load_map(conn, MapSpec(120, "idp", 1, paper="A4"), created=CREATED)
    big = max(data.units, key=lambda u: u.geom.area)
    big.name_en = "Anbar \u4e2d\u6587"  # CJK: in neither Noto Sans nor Noto Sans Arabic
    with pytest.raises(fonts.MissingGlyph, match="missing from font"):
        render.render(data, tmp_path, ("png",), dpi=30)


def test_golden_image(figures_engine, tmp_path):
    """One governorate map at 40 dpi against the stored image: the same picture within a tolerance
    (font hinting or anti-aliasing may shift a few pixels; a lost layer, class colour or label does not pass)."""
    with figures_engine.connect() as conn:
        data = load_map(conn, MapSpec(120, "idp", 3, extent="IQG07"), created=CREATED)
    data.data_version = 0  # the metadata line stays the same whatever the test database's history
    path = render.render(data, tmp_path, ("png",), dpi=40)["png"]
    assert path.name == GOLDEN.name
    if os.environ.get("DTM_ATLAS_UPDATE_GOLDEN") == "1" or not GOLDEN.exists():
        GOLDEN.parent.mkdir(exist_ok=True)
        shutil.copy(path, GOLDEN)
        if os.environ.get("DTM_ATLAS_UPDATE_GOLDEN") != "1":
            pytest.fail(f"no golden image yet: wrote {GOLDEN}; check it and commit it")
    got = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
    want = np.asarray(Image.open(GOLDEN).convert("RGB"), dtype=np.int16)
    assert got.shape == want.shape
    diff = np.abs(got - want).max(axis=2)
    assert (diff > 48).mean() < 0.01, f"{(diff > 48).mean():.2%} of the pixels differ"
    assert diff.mean() < 3, diff.mean()


def test_offline_html_paints_in_chromium(figures_engine, tmp_path):
    with figures_engine.connect() as conn:
        data = load_map(conn, MapSpec(120, "returnee", 3, extent="IQG01"), created=CREATED)
    path = interactive.write(data, tmp_path)
    page_text = path.read_text(encoding="utf-8")
    assert interactive.external_references(page_text) == []
    assert "cdn" not in page_text.lower().split("</script>")[-1]  # nothing in the markup after the scripts
    for label in data.classification.labels:
        assert label in page_text
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium): no browser is downloaded")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            requests, errors = [], []
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_function("document.querySelectorAll('path.leaflet-interactive').length > 0", timeout=15000)
            assert errors == []
            assert [u for u in requests if not u.startswith("file:")] == [], requests
            fills = page.evaluate(
                "[...document.querySelectorAll('path.leaflet-interactive')].map(p => p.getAttribute('fill'))"
            )
            assert len(fills) == len(data.units)
            assert sorted(fills) == sorted(u.color for u in data.units)
            # the largest unit: its tooltip names it in English and Arabic
            big = max(data.units, key=lambda u: u.geom.area)
            index = [u.pcode for u in data.units].index(big.pcode)
            page.locator("path.leaflet-interactive").nth(index).hover(force=True)
            page.wait_for_selector(".leaflet-tooltip", timeout=5000)
            tip = page.inner_text(".leaflet-tooltip")
            assert big.name_en in tip and big.name_ar in tip
            # painted: the screenshot holds the legend's class colours
            shot = np.asarray(Image.open(__import__("io").BytesIO(page.screenshot())).convert("RGB"))
            colours = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in data.classification.colors}
            painted = {tuple(px) for px in shot.reshape(-1, 3)[::7]}
            assert len(colours & painted) >= 2, "the map's class colours are not on the screen"
        finally:
            browser.close()


def test_bad_map_specs(figures_engine):
    with figures_engine.connect() as conn:
        for spec, status, words in [
            (MapSpec(120, "idp", 2, extent="IQG99"), 404, "unknown"),
            (MapSpec(120, "idp", 2, extent="IQG01Q01"), 400, "not a governorate"),
            (MapSpec(121, "idp", 2), 404, "rounds with idp data: 86, 120"),
            (MapSpec(120, "idp", 2, paper="A5"), 400, "unsupported paper"),
            (MapSpec(120, "idp", 2, orientation="sideways"), 400, "orientation"),
            (MapSpec(120, "idp", 4), 400, "unknown level"),
            (MapSpec(120, "idp", 2, indicator="density"), 400, "unknown indicator"),
        ]:
            with pytest.raises(MapRequestError) as exc:
                load_map(conn, spec)
            assert exc.value.status == status and words in exc.value.message, (spec, exc.value.message)
