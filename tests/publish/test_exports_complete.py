"""Exports are complete: every unit of the level is present (0 where no one was counted, the
changes empty where unknown), with the unassigned bucket; values rounded sensibly. Read back
with GDAL."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="GDAL's ogr2ogr is not installed")
def test_districts_export_has_every_district(figures_client, figures_engine, tmp_path):
    r = figures_client.get("/exports/figures-adm2.gpkg?round=120")
    assert r.status_code == 200, r.text
    gpkg = tmp_path / "d.gpkg"
    gpkg.write_bytes(r.content)
    out = tmp_path / "d.geojson"
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), str(gpkg)], check=True, capture_output=True)
    features = json.loads(out.read_text())["features"]
    with figures_engine.connect() as conn:
        districts = conn.exec_driver_sql(
            "SELECT count(*) FROM admin_unit u JOIN boundary_set b ON b.id = u.boundary_set_id "
            "WHERE b.is_current AND u.level = 2"
        ).scalar_one()
    units = [f["properties"] for f in features if f["geometry"] is not None]
    assert districts == 101 and len(units) == 101
    empty = [p for p in units if p["individuals"] == 0]
    assert empty, "some districts have no IDPs in the round and are still in the export"
    for p in empty:
        assert p["families"] == 0 and p["locations"] == 0 and p["share_national"] == 0
    # the shares sum to one over the units and the bucket; shares and changes are fractions rounded to
    # four decimals (one convention, issue 23)
    shares = [f["properties"]["share_national"] for f in features]
    assert abs(sum(shares) - 1) < 1e-3
    assert all(len(repr(s).split(".")[-1]) <= 4 for s in shares if s)
    changes = [p["change_share"] for p in units if p["change_share"] is not None]
    assert changes and all(round(v, 4) == v and v >= -1 for v in changes)
    for p in units:  # fractions, not percentages: the change over the previous round's individuals
        if p["change_share"] is not None:
            prev = p["individuals"] - p["change_individuals"]
            assert p["change_share"] == pytest.approx(round(p["change_individuals"] / prev, 4), abs=1e-9)
    assert not any(k.endswith("_pct") for k in units[0])
