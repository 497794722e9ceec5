"""Boundary import into PostGIS: idempotency, versions, atomicity, hierarchy, CLI errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from sqlalchemy import text

from boundaries.reader import read_boundaries
from boundaries.store import hierarchy_problems, import_boundaries, list_units
from tests.conftest import COD_AB

ADM1 = COD_AB / "irq_admbnda_adm1_cso_20190603.geojson"
ADM2 = COD_AB / "irq_admbnda_adm2_cso_20190603.geojson"


def snapshot(engine) -> dict:
    with engine.connect() as c:
        return {
            t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("boundary_set", "admin_unit", "admin_unit_generalised")
        } | {"version": c.execute(text("SELECT version FROM data_version")).scalar()}


def test_reimport_same_file_is_idempotent(fresh_engine):
    first = import_boundaries(fresh_engine, read_boundaries(ADM1))
    before = snapshot(fresh_engine)
    second = import_boundaries(fresh_engine, read_boundaries(ADM1))
    assert (first.outcome, second.outcome) == ("committed", "unchanged")
    assert snapshot(fresh_engine) == before
    with fresh_engine.connect() as c:
        outcomes = c.execute(text("SELECT outcome FROM import_log ORDER BY id")).scalars().all()
        assert outcomes == ["committed", "unchanged"]
        # generalised once per zoom band at import
        assert c.execute(text("SELECT count(DISTINCT zband) FROM admin_unit_generalised")).scalar() == 13


def test_newer_version_becomes_current_older_stays(fresh_engine, tmp_path):
    import_boundaries(fresh_engine, read_boundaries(ADM1))
    newer = gpd.read_file(ADM1)
    newer["validOn"] = "2024-01-01T00:00:00"
    newer.loc[newer.ADM1_PCODE == "IQG07", "ADM1_EN"] = "Babil (2024)"
    path = tmp_path / "irq_adm1_2024.geojson"
    newer.to_file(path, driver="GeoJSON")
    res = import_boundaries(fresh_engine, read_boundaries(path))
    assert res.outcome == "committed"
    with fresh_engine.connect() as c:
        sets = c.execute(text("SELECT id, valid_on, is_current FROM boundary_set ORDER BY valid_on")).all()
        assert [s.is_current for s in sets] == [False, True]
        _, current = list_units(c, level=1, q="IQG07")
        assert current[0]["name_en"] == "Babil (2024)"
        _, old = list_units(c, level=1, q="IQG07", boundary_set=sets[0].id)
        assert old[0]["name_en"] == "Babil"


def test_rejected_import_changes_nothing(fresh_engine, monkeypatch):
    import_boundaries(fresh_engine, read_boundaries(ADM1))
    before = snapshot(fresh_engine)
    read = read_boundaries(ADM2)
    import boundaries.store as store

    def boom(*a, **k):
        raise RuntimeError("generalisation failed half-way")

    monkeypatch.setattr(store, "generalise_level", boom)
    with pytest.raises(RuntimeError):
        import_boundaries(fresh_engine, read)
    assert snapshot(fresh_engine) == before
    with fresh_engine.connect() as c:
        last = c.execute(text("SELECT outcome, message FROM import_log ORDER BY id DESC LIMIT 1")).one()
    assert last.outcome == "rejected" and "half-way" in last.message


def test_hierarchy_clean_for_iraq(iraq_engine):
    with iraq_engine.connect() as c:
        assert hierarchy_problems(c, "IRQ") == []


def test_hierarchy_reports_missing_and_misplaced_parents(fresh_engine, tmp_path):
    import_boundaries(fresh_engine, read_boundaries(ADM1))
    adm2 = gpd.read_file(ADM2)
    # Al-Hilla's parent made to point at Dahuk: exists, but Al-Hilla lies outside it
    adm2.loc[adm2.ADM2_PCODE == "IQG07Q02", "ADM1_PCODE"] = "IQG01"
    path = tmp_path / "adm2_bad_parent.geojson"
    adm2.to_file(path, driver="GeoJSON")
    import_boundaries(fresh_engine, read_boundaries(path))
    with fresh_engine.connect() as c:
        problems = {p["pcode"]: p for p in hierarchy_problems(c, "IRQ")}
    assert problems["IQG07Q02"]["problem"] == "outside_parent"
    assert problems["IQG07Q02"]["share_inside_parent"] < 0.01
    # level-1 units point at IQ, which is not loaded in this database
    assert problems["IQG07"]["problem"] == "parent_missing"


def run_cli(*args, env_url: str):
    import os

    env = dict(os.environ, DATABASE_URL=env_url)
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.parametrize(
    "make,expect",
    [
        (lambda d: d / "missing.geojson", "not found"),
        (lambda d: (d / "x.csv").write_text("a,b\n1,2\n") and d / "x.csv", "unsupported format"),
        (
            lambda d: (
                (d / "empty.geojson").write_text('{"type":"FeatureCollection","features":[]}') and d / "empty.geojson"
            ),
            "no features",
        ),
        (lambda d: (d / "bad.zip").write_bytes(b"PK\x03\x04 this is not a zip") and d / "bad.zip", "zip"),
    ],
)
def test_cli_bad_input_exits_nonzero_and_changes_nothing(fresh_engine, tmp_path, make, expect):
    path = make(tmp_path)
    before = snapshot(fresh_engine)
    url = fresh_engine.url.render_as_string(hide_password=False)
    proc = run_cli("boundaries", "import", str(path), env_url=url)
    assert proc.returncode != 0
    out = (proc.stderr + proc.stdout).lower()
    assert expect in out, out
    assert Path(path).name.lower() in out
    assert snapshot(fresh_engine) == before


def test_cli_points_instead_of_polygons(fresh_engine, tmp_path):
    pts = gpd.read_file(ADM1)
    pts["geometry"] = pts.geometry.representative_point()
    path = tmp_path / "points.geojson"
    pts.to_file(path, driver="GeoJSON")
    proc = run_cli("boundaries", "import", str(path), env_url=fresh_engine.url.render_as_string(hide_password=False))
    assert proc.returncode != 0 and "polygon" in proc.stderr.lower()


def test_cli_import_and_check_real_files(fresh_engine):
    url = fresh_engine.url.render_as_string(hide_password=False)
    files = sorted(str(p) for p in COD_AB.glob("*.geojson"))
    proc = run_cli("boundaries", "import", *files, env_url=url)
    assert proc.returncode == 0, proc.stderr
    assert "hierarchy check: no problems" in proc.stdout
    check = run_cli("boundaries", "check", "--country", "IRQ", env_url=url)
    assert check.returncode == 0 and "no problems" in check.stdout
    with fresh_engine.connect() as c:
        counts = dict(c.execute(text("SELECT level, count(*) FROM admin_unit GROUP BY level")).all())
    assert counts == {0: 1, 1: 18, 2: 101, 3: 294}
