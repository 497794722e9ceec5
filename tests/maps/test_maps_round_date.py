"""Maps, charts and the package name a round by number OR reporting date (issue 11).

A real history round DTM's calendar does not number (IDPs of 4 Jun 2015) beside the real
Feb 2021 IDP round (round 120), on Iraq's boundaries:

* ``/maps/choropleth.png|pdf?round=2015-06-04`` answers 200; the PDF's text (pdftotext) names
  "round of 4 Jun 2015" and never "None"; the file name has ``d20150604`` where a numbered
  round has ``r120``; the numbered round by number and by date is the same map as before;
* the change chart of round 120 compares with "round of 4 Jun 2015";
* ``/packages/2015-06-04.zip``: every name inside without "None"/"rNone", its README and
  summary name the round by its date;
* the CLI (``maps render``, ``maps chart``, ``package``) takes ``--round 2015-06-04``;
* ``?round=last-week`` / ``/packages/last-week.zip`` is a JSON 400, ``--round last-week`` exit 2.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import MASTERLISTS, client_for, cloned_engine
from tests.maps.test_maps_country import _pdftotext

NUMBERLESS = MASTERLISTS / "series" / "idp" / "IDPs_MasterList_dataset_DTM_IOMJun_04_2015.csv.gz"
NUMBERED = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
SMALL = {"level": 1, "dpi": 30}


@pytest.fixture(scope="module")
def engine(pg_server, iraq_template):
    from service.ingest.rounds import import_masterlist

    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_maps_round_date") as engine:
        import_masterlist(engine, NUMBERLESS, population="idp")
        import_masterlist(engine, NUMBERED, population="idp")
        yield engine


@pytest.fixture(scope="module")
def client(engine):
    with client_for(engine) as c:
        yield c


def test_the_history_round_has_no_number(engine):
    from service.core.rounds import list_rounds

    with engine.connect() as conn:
        rounds = {r["reporting_date"].isoformat(): r["round_number"] for r in list_rounds(conn, "IRQ", "idp")}
    assert rounds == {"2015-06-04": None, "2021-02-28": 120}


def test_map_of_a_numberless_round_by_date(client, tmp_path):
    r = client.get("/maps/choropleth.png", params={"round": "2015-06-04", **SMALL})
    assert r.status_code == 200, r.text[:300]
    assert Image.open(io.BytesIO(r.content)).format == "PNG"
    assert 'filename="irq_dtm_idp_adm1_d20150604_A4L_20150604.png"' in r.headers["content-disposition"]

    r = client.get("/maps/choropleth.pdf", params={"round": "2015-06-04", **SMALL})
    assert r.status_code == 200, r.text[:300]
    assert 'filename="irq_dtm_idp_adm1_d20150604_A4L_20150604.pdf"' in r.headers["content-disposition"]
    (tmp_path / "m.pdf").write_bytes(r.content)
    text = _pdftotext(tmp_path / "m.pdf")
    assert "round of 4 Jun 2015" in text and "4 June 2015" in text, text[:600]
    assert "None" not in text and "IRQ-DTM-IDP-ADM1-D20150604-A4L" in text, text[:600]

    html = client.get("/maps/choropleth.html", params={"round": "2015-06-04", "level": 1})
    assert html.status_code == 200 and "round of 4 Jun 2015" in html.text and "round None" not in html.text


def test_numbered_round_by_number_and_by_date(client, tmp_path):
    by_number = client.get("/maps/choropleth.pdf", params={"round": "120", **SMALL})
    by_date = client.get("/maps/choropleth.pdf", params={"round": "2021-02-28", **SMALL})
    for r in (by_number, by_date):
        assert r.status_code == 200, r.text[:300]
        assert 'filename="irq_dtm_idp_adm1_r120_A4L_20210228.pdf"' in r.headers["content-disposition"]
    (tmp_path / "n.pdf").write_bytes(by_date.content)
    text = _pdftotext(tmp_path / "n.pdf")
    assert "Master List, round 120 (IDPs)" in text and "IRQ-DTM-IDP-ADM1-R120-A4L" in text, text[:600]
    # no such round: 404 listing the rounds, the numberless one by its date
    r = client.get("/maps/choropleth.png", params={"round": "2015-06-05", **SMALL})
    assert r.status_code == 404 and "2015-06-04" in r.json()["detail"] and "None" not in r.json()["detail"]


def test_charts(client, tmp_path):
    r = client.get("/maps/change.pdf", params={"round": "120"})
    assert r.status_code == 200, r.text[:300]
    (tmp_path / "c.pdf").write_bytes(r.content)
    text = _pdftotext(tmp_path / "c.pdf")
    assert "largest change since round of 4 Jun 2015 (round 120, individuals)" in text, text[:600]
    r = client.get("/maps/change.png", params={"round": "2015-06-04", "dpi": 30})
    assert r.status_code == 200, r.text[:300]
    assert 'filename="irq_dtm_idp_change_adm1_d20150604_20150604.png"' in r.headers["content-disposition"]
    r = client.get("/maps/trend.pdf", params={"round": "2015-06-04"})
    assert (
        r.status_code == 200 and 'filename="irq_dtm_trend_d20150604_20150604.pdf"' in r.headers["content-disposition"]
    )


def test_bad_round_is_a_400(client):
    for url in ("/maps/choropleth.png", "/maps/trend.png"):
        r = client.get(url, params={"round": "last-week"})
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["status"] == 400 and body["detail"].startswith("round: 'last-week' is neither"), body
    r = client.get("/packages/last-week.zip")
    assert r.status_code == 400 and r.json()["detail"].startswith("round: 'last-week' is neither"), r.text
    r = client.get("/packages/2015-02-30.zip")
    assert r.status_code == 400 and "not a calendar date" in r.json()["detail"], r.text


def test_package_of_a_numberless_round_by_date(client, tmp_path):
    state = client.app.state
    settings = state.settings
    state.settings = settings.model_copy(
        update={"data_dir": tmp_path / "data", "package_dpi": 30, "package_extents": ["IQG07"], "package_workers": 1}
    )
    try:
        r = client.get("/packages/2015-06-04.zip", params={"population": "idp"})
    finally:
        state.settings = settings
    assert r.status_code == 200, r.text[:300]
    assert 'filename="irq_dtm_idp_package_d20150604_20150604.zip"' in r.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = z.namelist()
    assert names and not [n for n in names if "None" in n or "rNone" in n], names
    root = "irq_dtm_package_d20150604_20150604/"
    assert root + "maps/national/irq_dtm_idp_adm2_d20150604_A4L_20150604.pdf" in names, names
    assert root + "maps/governorates/irq_dtm_idp_adm3_iqg07_d20150604_A4L_20150604.png" in names, names
    assert any(n.startswith(root + "data/irq_dtm_idp_adm2_20150604") for n in names), names
    manifest = json.loads(z.read(root + "manifest.json"))
    assert manifest["round"] is None and manifest["reporting_date"] == "2015-06-04", manifest["populations"]
    assert manifest["populations"] == {"idp": {"round_number": None, "reporting_date": "2015-06-04"}}
    readme = z.read(root + "README.txt").decode()
    assert "information package, round of 4 Jun 2015 (2015-06-04)" in readme and "None" not in readme, readme[:500]
    (tmp_path / "s.pdf").write_bytes(z.read(root + "irq_dtm_summary_d20150604_A4P_20150604.pdf"))
    summary = _pdftotext(tmp_path / "s.pdf")
    assert "displacement, round of 4 Jun 2015" in summary and "None" not in summary, summary[:600]
    tables = [n for n in names if "/tables/" in n]
    assert tables and all("d20150604_20150604" in n for n in tables), tables


def test_cli_takes_a_date(engine, tmp_path, monkeypatch):
    import service.cli
    import service.cli.maps

    monkeypatch.setattr(service.cli.maps, "open_engine", lambda migrate=True: engine)
    runner = CliRunner()
    res = runner.invoke(
        service.cli.app,
        [
            "maps",
            "render",
            "--round",
            "2015-06-04",
            "--level",
            "1",
            "--format",
            "png",
            "--dpi",
            "30",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "irq_dtm_idp_adm1_d20150604_A4L_20150604.png").is_file(), res.output
    res = runner.invoke(
        service.cli.app,
        ["maps", "chart", "--round", "2015-06-04", "--kind", "trend", "--format", "png", "--out", str(tmp_path)],
    )
    assert res.exit_code == 0 and (tmp_path / "irq_dtm_trend_d20150604_20150604.png").is_file(), res.output
    for args in (["maps", "render"], ["maps", "chart"], ["package"]):
        res = runner.invoke(service.cli.app, [*args, "--round", "last-week", "--out", str(tmp_path)])
        assert res.exit_code == 2, (args, res.output)
        assert "--round: 'last-week' is neither a round number nor a date" in res.output, res.output
        assert "Traceback" not in res.output
    res = runner.invoke(service.cli.app, ["package", "--round", "2015-06-05", "--out", str(tmp_path / "x.zip")])
    assert res.exit_code == 2 and "the round of 2015-06-05" in res.output and "None" not in res.output, res.output
