"""Static maps, charts and the information package of any country (issue 11).

The synthetic second country of tests/service/test_country_param.py (the island country KM,
ISO3 COM, levels 1 and 2, no country level) gets its boundaries and a round 120 of figures
beside Iraq's boundaries and Iraq's real Feb 2021 IDP round (also round 120). Then:

* a map of COM (PNG and PDF) names Comoros and its boundary source, never Iraq (the PDF's
  text through pdftotext), is drawn in the UTM zone of the islands (38S), and its neighbours
  come from a window around the islands, without the mapped country itself;
* Iraq's map still reads as before: "DTM Iraq Master List", "OCHA COD-AB Iraq (HDX)", UTM
  zone 38N, Iran and Syria as neighbours;
* without ``country=`` the maps, charts and package endpoints answer a JSON 400 naming
  ``country`` and listing COM, IRQ; with it, 200; a country without data, 404;
* the CLI (``maps render``, ``maps chart``, ``package``) says the same with ``--country``, exit 2.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile

import pytest
from PIL import Image
from typer.testing import CliRunner

from service.maps import charts, interactive, layout, render
from service.maps.data import MapRequestError, MapSpec, load_map
from tests.conftest import MASTERLISTS, client_for, cloned_engine
from tests.service.test_country_param import IRAQ_ROUND, _import_second_country, _is_several


def _pdftotext(path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext is missing: install Debian's poppler-utils (./dev setup does)")
    out = subprocess.run([tool, "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


@pytest.fixture(scope="module")
def two_countries(pg_server, iraq_template, tmp_path_factory):
    """Iraq's boundaries and round 120 (IDPs), and the island country COM with its own round 120."""
    from service.ingest.rounds import import_masterlist

    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_maps_country") as engine:
        import_masterlist(engine, MASTERLISTS / IRAQ_ROUND, population="idp")
        _import_second_country(engine, tmp_path_factory.mktemp("com"))
        yield engine


@pytest.fixture(scope="module")
def client(two_countries):
    with client_for(two_countries) as c:
        yield c


def test_map_of_the_second_country_names_it(two_countries, tmp_path):
    with two_countries.connect() as conn:
        data = load_map(conn, MapSpec(120, "idp", 1, country="KM"))  # the P-code prefix names it too
    assert data.round["country"] == "COM"
    assert {u.pcode for u in data.units} >= {"KM01", "KM02"}
    assert (data.place_en, data.place_ar) == ("Comoros", "جزر القمر")  # no country level: the ISO names
    assert data.projection.epsg == 32738 and data.projection.name == "WGS 84 / UTM zone 38S (EPSG:32738)"
    # the neighbours' window is around the islands, and the mapped country is not its own neighbour
    x0, y0, x1, y1 = data.window
    assert 30 < x0 < 43.2 and 44.5 < x1 < 60 and -30 < y0 < -12.4 and -11.4 < y1 < 5, data.window
    inset_names = {n for n, _ in data.inset_neighbours}
    assert "Comoros" not in inset_names and "Iraq" not in inset_names
    assert inset_names, "no neighbour in the inset of the islands"

    paths = render.render(data, tmp_path, ("png", "pdf"), dpi=50)
    assert paths["pdf"].name == "com_dtm_idp_adm1_r120_A4L_20210228.pdf"
    with Image.open(paths["png"]) as im:
        assert im.size == layout.page().pixels(50)
    text = _pdftotext(paths["pdf"])
    for needle in (
        "Comoros | ",  # title: English | Arabic (pdftotext gives the Arabic words in visual order)
        "جزر",
        "القمر",
        "DTM Comoros Master List, round 120",  # subtitle
        "IOM Displacement Tracking Matrix (DTM) Comoros, Master List",  # data source
        "OCHA COD-AB Comoros (HDX)",  # the boundary set's source
        "Producer: IOM DTM Comoros (DTM Atlas)",
        "WGS 84 / UTM zone 38S (EPSG:32738)",
        "Map ID: COM-DTM-IDP-ADM1-R120-A4L",
        "Grande Island",  # a unit's label
    ):
        assert needle in text, f"{needle!r} not in the COM map's text"
    assert "Iraq" not in text and "العراق" not in text and "IRQ" not in text, text

    page = interactive.write(data, tmp_path)
    assert page.name == "com_dtm_idp_adm1_r120_A4L_20210228.html"
    html = page.read_text(encoding="utf-8")
    assert "IOM DTM Comoros, round 120" in html and "Iraq" not in html


def test_iraq_map_still_names_iraq(two_countries, tmp_path):
    with two_countries.connect() as conn:
        data = load_map(conn, MapSpec(120, "idp", 1, country="IRQ"))
    assert data.projection.epsg == 32638
    x0, y0, x1, y1 = data.window  # around Iraq (38.8-48.6 E, 29.1-37.4 N), not around the islands
    assert 5 < x0 < 38.8 and 48.6 < x1 < 80 and 5 < y0 < 29.1 and 37.4 < y1 < 60, data.window
    assert {"Iran", "Syria", "Turkey", "Saudi Arabia"} <= {n for n, _ in data.neighbours}
    assert "Iraq" not in {n for n, _ in data.inset_neighbours}
    text = _pdftotext(render.render(data, tmp_path, ("pdf",))["pdf"])
    for needle in (
        "Iraq | ",
        "العراق",
        "DTM Iraq Master List, round 120",
        "IOM Displacement Tracking Matrix (DTM) Iraq, Master List",
        "OCHA COD-AB Iraq (HDX)",
        "Producer: IOM DTM Iraq (DTM Atlas)",
        "WGS 84 / UTM zone 38N (EPSG:32638)",
        "IRAN",
        "SYRIA",
    ):
        assert needle in text, f"{needle!r} not in the Iraq map's text"
    assert "Comoros" not in text

    # a chart of each country names its own master lists
    with two_countries.connect() as conn:
        com = charts.load_trend(conn, "COM")
    assert set(com.series) == {"idp"} and com.series["idp"][0][2] == 210
    rnd = {"country": "COM", "round_number": 120, "reporting_date": com.series["idp"][0][0]}
    pdf = charts.render_trend(com, rnd, tmp_path, ("pdf",), dpi=50)["pdf"]
    assert pdf.name == "com_dtm_trend_r120_20210228.pdf"
    chart_text = _pdftotext(pdf)
    assert "IOM DTM Comoros Master Lists" in chart_text and "Iraq" not in chart_text


def test_without_country_several_is_an_error(two_countries):
    with two_countries.connect() as conn:
        with pytest.raises(MapRequestError) as exc:
            load_map(conn, MapSpec(120, "idp", 1))
        assert exc.value.status == 400 and "country: several countries have" in exc.value.message
        assert "COM, IRQ" in exc.value.message
        with pytest.raises(MapRequestError) as exc:
            load_map(conn, MapSpec(120, "idp", 1, country="SYR"))
        assert exc.value.status == 404 and "SYR" in exc.value.message


def test_http_maps_and_package_take_country(client, tmp_path):

    for path in ("/maps/choropleth.pdf", "/maps/trend.png", "/maps/change.png", "/packages/120.zip"):
        r = client.get(path, params={"round": 120, "dpi": 30, "level": 1})
        assert _is_several(r, "COM", "IRQ"), (path, r.status_code, r.text[:300])
    for path in ("/maps/choropleth.png", "/packages/120.zip"):
        r = client.get(path, params={"round": 120, "country": "SYR"})
        assert r.status_code == 404 and r.json()["status"] == 404 and "SYR" in r.json()["detail"], r.text

    r = client.get("/maps/choropleth.pdf", params={"round": 120, "level": 1, "country": "COM"})
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
    assert 'filename="com_dtm_idp_adm1_r120_A4L_20210228.pdf"' in r.headers["content-disposition"]
    (tmp_path / "com.pdf").write_bytes(r.content)
    text = _pdftotext(tmp_path / "com.pdf")
    assert "DTM Comoros Master List" in text and "Iraq" not in text
    r = client.get("/maps/choropleth.png", params={"round": 120, "level": 2, "country": "IRQ", "dpi": 30})
    assert (
        r.status_code == 200 and 'filename="irq_dtm_idp_adm2_r120_A4L_20210228.png"' in r.headers["content-disposition"]
    )
    r = client.get("/maps/trend.png", params={"round": 120, "country": "KM", "dpi": 30})
    assert r.status_code == 200 and 'filename="com_dtm_trend_r120_20210228.png"' in r.headers["content-disposition"]

    # the package of the island country: its maps, README and manifest name it, not Iraq
    state = client.app.state
    settings = state.settings
    state.settings = settings.model_copy(
        update={"data_dir": tmp_path / "data", "package_dpi": 30, "package_extents": ["KM02"], "package_workers": 1}
    )
    try:
        r = client.get("/packages/120.zip", params={"country": "COM"})
    finally:
        state.settings = settings
    assert r.status_code == 200, r.text[:300]
    assert 'filename="com_dtm_package_r120_20210228.zip"' in r.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    root = "com_dtm_package_r120_20210228/"
    names = {n[len(root) :] for n in z.namelist()}
    assert {
        "maps/national/com_dtm_idp_adm2_r120_A4L_20210228.pdf",
        "maps/governorates/com_dtm_idp_adm2_km02_r120_A4L_20210228.png",  # no level 3: by district
        "tables/com_dtm_summary_tables_r120_20210228.xlsx",
        "com_dtm_summary_r120_A4P_20210228.pdf",
    } <= names, sorted(names)
    readme = z.read(root + "README.txt").decode()
    assert readme.startswith("DTM Comoros information package, round 120")
    assert "OCHA Common Operational Dataset (COD-AB) for Comoros, HDX" in readme
    assert "WGS 84 / UTM zone 38S" in readme and "Iraq" not in readme, readme
    assert "one map per governorate by district" in readme and "com_dtm_idp_adm2_r120_A4L_20210228.pdf" in readme
    assert json.loads(z.read(root + "manifest.json"))["producer"] == "IOM DTM Comoros (DTM Atlas)"
    (tmp_path / "summary.pdf").write_bytes(z.read(root + "com_dtm_summary_r120_A4P_20210228.pdf"))
    summary = _pdftotext(tmp_path / "summary.pdf")
    assert "Comoros | " in summary and "القمر" in summary and "displacement, round 120" in summary
    assert "Iraq" not in summary and "العراق" not in summary
    data_files = [n for n in names if n.startswith("data/")]
    assert data_files and all(n.startswith("data/com_") for n in data_files), data_files


def test_cli_takes_country(two_countries, tmp_path, monkeypatch):
    import service.cli
    import service.cli.maps

    monkeypatch.setattr(service.cli.maps, "open_engine", lambda migrate=True: two_countries)
    runner = CliRunner()
    for args in (
        ["maps", "render", "--round", "120", "--level", "1", "--format", "pdf", "--out", str(tmp_path)],
        ["maps", "chart", "--round", "120", "--kind", "trend", "--format", "png", "--out", str(tmp_path)],
        ["package", "--round", "120", "--out", str(tmp_path / "p.zip")],
    ):
        res = runner.invoke(service.cli.app, args)
        assert res.exit_code == 2, (args, res.output)
        assert "--country: several countries have" in res.output and "COM, IRQ" in res.output, res.output
    res = runner.invoke(
        service.cli.app, ["maps", "render", "--round", "120", "--country", "SYR", "--out", str(tmp_path)]
    )
    assert res.exit_code == 2 and "no boundaries or figures for country SYR" in res.output, res.output
    for args in (["maps", "chart", "--round", "120"], ["package", "--round", "120"]):
        res = runner.invoke(service.cli.app, [*args, "--country", "Iraq"])
        assert res.exit_code == 2 and "--country" in res.output and "not a country code" in res.output, res.output
    res = runner.invoke(
        service.cli.app,
        [
            "maps",
            "render",
            "--round",
            "120",
            "--level",
            "1",
            "--format",
            "pdf",
            "--dpi",
            "30",
            "--country",
            "COM",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    pdf = tmp_path / "com_dtm_idp_adm1_r120_A4L_20210228.pdf"
    assert pdf.exists() and "Comoros" in _pdftotext(pdf)
