"""`dtm-atlas import events|flows`, `package --crisis --date` and `flows map`: results and errors
as messages (exit 2 naming file, row and column), not tracebacks."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bench.synthetic_events_flows import write_ett, write_fmp_daily
from service.cli import app as cli
from tests.conftest import SHARED


@pytest.fixture
def cli_env(iraq_fresh_engine, monkeypatch):
    from service.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", iraq_fresh_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("DTM_ATLAS_DATABASE_URL", raising=False)
    monkeypatch.setenv("DTM_ATLAS_SHARED_DATA_DIR", str(SHARED))
    get_settings.cache_clear()
    yield iraq_fresh_engine
    get_settings.cache_clear()


def flat(res) -> str:
    return " ".join(res.output.split())


def test_import_events_package_and_flows_map(cli_env, tmp_path):
    f = write_ett(tmp_path / "c.csv", days=5, rows_per_day=40, crisis="C9", seed=3)
    res = CliRunner().invoke(cli, ["import", "events", str(f), "--country", "IRQ", "--crisis", "C9", "--synthetic"])
    assert res.exit_code == 0, res.output
    assert "crisis C9, 200 rows, 5 days" in flat(res)
    res = CliRunner().invoke(cli, ["package", "--crisis", "C9", "--date", "2016-10-19", "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "s" / "c9_20161019_snapshot.pdf").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text(f.read_text().replace(",0,0,IQG15,", ",-2,0,IQG15,", 1))
    res = CliRunner().invoke(cli, ["import", "events", str(bad), "--country", "IRQ", "--crisis", "C9"])
    assert res.exit_code == 2 and "bad.csv, row" in flat(res) and "negative count -2" in flat(res), res.output
    assert "nothing of bad.csv was imported" in flat(res)
    registry, daily = write_fmp_daily(tmp_path / "w", points=4, years=40 / 365, seed=8)
    res = CliRunner().invoke(cli, ["import", "flows", str(daily), "--points", str(registry), "--synthetic"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["flows", "map", "--month", "2016-02", "--out", str(tmp_path / "m"), "--dpi", "40"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m" / "flows_201602.svg").exists()
