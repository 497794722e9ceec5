"""`dtm-atlas datasets catalogue` (nothing written), `dtm-atlas import sites|assessment` and
`dtm-atlas datasets publish`: messages a person can act on, no tracebacks."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from tests.conftest import SHARED
from tests.indicators.conftest import NGA_SITES
from tests.indicators.test_bad_input import GOOD


def flat(res) -> str:
    return " ".join(res.output.split())


def test_catalogue_prints_recognised_and_not():
    from service.cli.common import console

    width = console.width
    console.width = 300  # the table whole, as on a wide terminal
    try:
        res = CliRunner().invoke(cli, ["datasets", "catalogue", str(NGA_SITES)])
    finally:
        console.width = width
    assert res.exit_code == 0, res.output
    out = flat(res)
    assert "sheet 'Site Assessment Dataset'): 309 rows, 106 columns" in out and "dictionary of" in out
    assert "key='SiteID'" in out and "adm3='CODs_Ward_Pcode'" in out
    assert "recognised: " in out and "not recognised (inferred from the values): " in out
    assert "known_header" in out and "الأفراد" in res.output


def test_catalogue_prints_the_hotspot_rule_and_checks_it(assessments, tmp_path):
    """An index's mapping: the catalogue says the hotspot rule it will publish; a rule naming a
    column the file lacks is an error naming the mapping file and the key, before any import."""
    from tests.indicators.return_index import write_fixture

    engine, _ = assessments
    with engine.connect() as conn:
        csv, mapping, _ = write_fixture(conn, tmp_path, n=20)
    res = CliRunner().invoke(cli, ["datasets", "catalogue", str(csv), "--mapping", str(mapping)])
    assert res.exit_code == 0, res.output
    assert "hotspot: Hotspot sub-district (DTM Iraq's Return Index rule)" in flat(res) and "19,000" in flat(res)
    mapping.write_text(mapping.read_text().replace("population: returnees_ind", "population: returnees"))
    res = CliRunner().invoke(cli, ["datasets", "catalogue", str(csv), "--mapping", str(mapping)])
    assert res.exit_code == 2 and f"{mapping.name}, column 'hotspot.population': no column 'returnees'" in flat(res)


@pytest.fixture
def cli_env(assessments_fresh, monkeypatch):
    from service.core.settings import get_settings

    engine, _ = assessments_fresh
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("DTM_ATLAS_DATABASE_URL", raising=False)
    monkeypatch.setenv("DTM_ATLAS_SHARED_DATA_DIR", str(SHARED))
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def test_import_sites_then_publish(cli_env, tmp_path):
    f = tmp_path / "sites.csv"
    f.write_text(GOOD, encoding="utf-8")
    res = CliRunner().invoke(cli, ["import", "sites", str(f), "--round", "R1", "--date", "2021-10-31"])
    assert res.exit_code == 0, res.output
    out = flat(res)
    assert "NGA site assessment round R1 (2021-10-31): 5 sites" in out and "access restricted" in out
    assert "dtm-atlas datasets publish" in out
    ds = int(out.split("dataset ")[1].split()[0])
    res = CliRunner().invoke(cli, ["datasets", "publish", str(ds)])
    assert res.exit_code == 0 and f"dataset {ds}: public" in flat(res)
    res = CliRunner().invoke(cli, ["datasets", "list"])
    assert "│ public │ 5 " in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("Site Name,Latitude,Longitude\nA,11,13\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["import", "assessment", str(bad), "--country", "NGA"])
    assert res.exit_code == 2 and "bad.csv: no site or location key" in flat(res)
    assert "the database is unchanged" in flat(res) and "Traceback" not in res.output
