"""`dtm-atlas fragility`: compute, runs, card; errors as messages, not tracebacks."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from tests.conftest import SHARED


@pytest.fixture
def cli_env(frag_engine, monkeypatch):
    from service.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", frag_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("DTM_ATLAS_DATABASE_URL", raising=False)
    monkeypatch.setenv("DTM_ATLAS_SHARED_DATA_DIR", str(SHARED))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def flat(res) -> str:
    return " ".join(res.output.split())  # rich wraps long lines


def test_compute_runs_card(cli_env, default_run, tmp_path):
    res = CliRunner().invoke(cli, ["fragility", "compute", "--round", "120"])
    assert res.exit_code == 0, res.output
    assert "round 120: up to date (stored)" in flat(res) and "of 294 sub-districts with an index" in flat(res)
    res = CliRunner().invoke(cli, ["fragility", "compute", "--round", "120", "--force"])
    assert res.exit_code == 0 and "round 120: computed" in flat(res), res.output
    assert "input rows reported" in flat(res) and "irq_population_estimates_2014_subdistrict.csv row" in flat(res)
    res = CliRunner().invoke(cli, ["fragility", "runs"])
    assert res.exit_code == 0 and "dtm-atlas-defa" in res.output, res.output
    out = tmp_path / "card.md"
    res = CliRunner().invoke(cli, ["fragility", "card", "--round", "120", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "## Uncertainty" in out.read_text(encoding="utf-8")


def test_errors(cli_env, tmp_path):
    res = CliRunner().invoke(cli, ["fragility", "compute", "--round", "999"])
    assert res.exit_code == 1 and "no IDP data for round 999" in flat(res) and "Traceback" not in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nversion: 1\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["fragility", "compute", "--method", str(bad)])
    assert res.exit_code == 1 and "bad.yaml: title: required key missing" in flat(res), res.output
