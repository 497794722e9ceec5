"""A boundary file of the same validOn with other geometry is refused unless --replace, which
makes a new revision of the set and keeps the old one (the units under every round must not be
redrawn silently). A file whose coordinates are not lon/lat and that declares no CRS is refused
with a message naming --crs, never a GDAL/GEOS error."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from boundaries.reader import BoundaryFileError, read_boundaries
from boundaries.store import BoundaryConflict, boundary_sets, import_boundaries
from tests.conftest import COD_AB

ADM1 = COD_AB / "irq_admbnda_adm1_cso_20190603.geojson"

_GEOM_MD5 = (
    "SELECT md5(string_agg(ST_AsBinary(geom)::text, '' ORDER BY pcode)) FROM admin_unit "
    "WHERE boundary_set_id = :s AND level = :l"
)


def _swapped(tmp_path):
    doc = json.loads(ADM1.read_text(encoding="utf-8"))
    geom = doc["features"][0]["geometry"]
    ring = geom["coordinates"][0][0] if geom["type"] == "MultiPolygon" else geom["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]  # two vertices swapped in one governorate
    changed = tmp_path / ADM1.name
    changed.write_text(json.dumps(doc), encoding="utf-8")
    return changed


def _state(conn):
    sets = conn.execute(
        text("SELECT id, revision, is_current, superseded_by FROM boundary_set WHERE country = 'IRQ' ORDER BY id")
    ).all()
    per_level = {
        (s, lvl): (n, md5)
        for s, lvl, n, md5 in conn.execute(
            text(
                "SELECT boundary_set_id, level, count(*), md5(string_agg(ST_AsBinary(geom)::text, '' ORDER BY pcode)) "
                "FROM admin_unit GROUP BY 1, 2"
            )
        )
    }
    tiles = dict(conn.execute(text("SELECT boundary_set_id, count(*) FROM admin_unit_tile GROUP BY 1")).all())
    return sets, per_level, tiles


def test_same_valid_on_other_geometry_is_refused_then_replace_makes_a_new_set(iraq_fresh_engine, tmp_path):
    changed = _swapped(tmp_path)
    with iraq_fresh_engine.connect() as c:
        before = _state(c)
    ((old_id, old_rev, old_current, _),) = before[0]
    assert old_current and old_rev == 0
    with pytest.raises(BoundaryConflict, match="already imported from a different file.*--replace"):
        import_boundaries(iraq_fresh_engine, read_boundaries(changed))
    with iraq_fresh_engine.connect() as c:
        assert _state(c) == before  # refused: nothing changed

    res = import_boundaries(iraq_fresh_engine, read_boundaries(changed), replace=True)
    assert res.outcome == "committed" and res.boundary_set_id != old_id
    with iraq_fresh_engine.connect() as c:
        sets, per_level, tiles = _state(c)
        assert sets == [(old_id, 0, False, res.boundary_set_id), (res.boundary_set_id, 1, True, None)]
        # the old set is whole: every level as before, its tiles too
        for (s, lvl), v in before[1].items():
            assert per_level[(s, lvl)] == v
        assert tiles[old_id] == before[2][old_id]
        # the new set: level 1 redrawn, the other levels copied
        new = res.boundary_set_id
        levels = sorted(lvl for s, lvl in before[1] if s == old_id)
        assert sorted(lvl for s, lvl in per_level if s == new) == levels
        for lvl in levels:
            same = per_level[(new, lvl)] == before[1][(old_id, lvl)]
            assert same == (lvl != 1), lvl
        assert tiles[new] > 0
        listed = {s["id"]: s for s in boundary_sets(c, "IRQ")}
        assert listed[old_id]["superseded_by"] == new and listed[new]["revision"] == 1
    # the same file again: unchanged, no third set
    again = import_boundaries(iraq_fresh_engine, read_boundaries(changed), replace=True)
    assert again.outcome == "unchanged" and again.boundary_set_id == res.boundary_set_id
    # the original file against the new revision: refused again without --replace
    with pytest.raises(BoundaryConflict):
        import_boundaries(iraq_fresh_engine, read_boundaries(ADM1))


def _projected_without_crs(tmp_path):
    frame = gpd.read_file(ADM1).head(3).to_crs(32638)
    frame["geometry"] = frame.geometry.simplify(500)
    for col in frame.columns:
        if str(frame[col].dtype).startswith("datetime"):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    doc = json.loads(frame.to_json(drop_id=True))
    doc.pop("crs", None)  # GeoJSON with no crs member: GDAL reads it as lon/lat
    path = tmp_path / "irq_adm1_utm_no_crs.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_no_crs_and_projected_coordinates_says_so_and_names_crs(tmp_path):
    path = _projected_without_crs(tmp_path)
    with pytest.raises(BoundaryFileError) as err:
        read_boundaries(path)
    msg = str(err.value)
    assert msg.startswith("irq_adm1_utm_no_crs.geojson: ")
    assert "not longitude/latitude" in msg and "--crs EPSG:" in msg
    assert "vector" not in msg and "GEOS" not in msg
    read = read_boundaries(path, crs="EPSG:32638")
    minx, miny, maxx, maxy = read.units.total_bounds
    assert 38 < minx < maxx < 49 and 29 < miny < maxy < 38  # Iraq, in lon/lat
    assert read.source_crs == "EPSG:32638 (--crs)"
    with pytest.raises(BoundaryFileError, match="--crs 'no-such-crs' is not a coordinate reference system"):
        read_boundaries(path, crs="no-such-crs")


def test_cli_no_crs_message_and_crs_option(tmp_path, monkeypatch):
    from service.cli import app

    path = _projected_without_crs(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # refused before any database
    out = CliRunner().invoke(app, ["boundaries", "import", str(path)])
    assert out.exit_code == 2, out.output
    assert "not longitude/latitude" in out.output and "--crs" in out.output
    assert "Traceback" not in out.output
