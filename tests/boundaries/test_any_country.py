"""Boundaries of any country: what real COD-AB files of other countries hold and Iraq's don't.

A synthetic island country (Comoros' codes, KM) is built here, written in a projected CRS
(UTM 38S), with a multi-part unit across two islands, an islet far smaller than a pixel at
the low zoom bands, a unit whose P-code field says "Unspecified", and a level-2 file imported
without its level 1 nor the country level. None of these may reject the file; each is reported
per unit, and every unit stays on the map at every zoom.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, box
from sqlalchemy import text

from boundaries.generalise import generalise_level
from boundaries.reader import read_boundaries
from boundaries.store import hierarchy_problems, import_boundaries
from tests.conftest import client_for
from tests.tiles import by_pcode, decode, tile_at

UTM38S = 32738
# lon/lat boxes (west, south, east, north) of the units, then written in UTM 38S
MAIN_ISLAND = (43.2, -11.9, 43.5, -11.4)
SMALL_ISLAND = (43.62, -11.95, 43.66, -11.90)  # a second part of unit KM01
SECOND_ISLAND = (44.2, -12.4, 44.5, -12.1)
ISLET = (43.90, -12.000, 43.902, -11.998)  # ~220 m across: under a pixel up to zoom 8
UNNAMED = (44.0, -11.7, 44.05, -11.65)


def _gpkg(frame: gpd.GeoDataFrame, path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pyogrio.write_dataframe(frame.to_crs(UTM38S), path, driver="GPKG")
    return path


def _adm1(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "ADM1_PCODE": ["KM01", "KM02", "KM03", "Unspecified"],
            "ADM1_EN": ["Grande Island", "Second Island", "Tiny Islet", None],
            "ADM1_AR": ["الجزيرة الكبرى", "الجزيرة الثانية", "الجزيرة الصغيرة", None],
            "ADM0_PCODE": ["KM"] * 4,
            "ADM0_EN": ["Synthetic Comoros"] * 4,
        },
        geometry=[
            MultiPolygon([box(*MAIN_ISLAND), box(*SMALL_ISLAND)]),
            box(*SECOND_ISLAND),
            box(*ISLET),
            box(*UNNAMED),
        ],
        crs=4326,
    )
    return _gpkg(frame, tmp_path / "com_admbnda_adm1_test.gpkg")


def _adm2(tmp_path):
    w, s, e, n = MAIN_ISLAND
    frame = gpd.GeoDataFrame(
        {
            "ADM2_PCODE": ["KM0101", "KM0102", "KM0201"],
            "ADM2_EN": ["North", "South", "Second"],
            "ADM1_PCODE": ["KM01", "KM01", "KM02"],
            "ADM0_PCODE": ["KM"] * 3,
        },
        geometry=[box(w, (s + n) / 2, e, n), box(w, s, e, (s + n) / 2), box(*SECOND_ISLAND)],
        crs=4326,
    )
    return _gpkg(frame, tmp_path / "com_admbnda_adm2_test.gpkg")


def _kinds(notes) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for n in notes:
        out.setdefault(n.kind, set()).add(n.pcode)
    return out


def test_reader_accepts_and_reports_per_unit(tmp_path):
    r = read_boundaries(_adm1(tmp_path))
    assert (r.country_iso3, r.level, r.source) == ("COM", 1, "COD-AB")
    assert r.source_crs and "32738" in r.source_crs  # read in UTM 38S, stored in lon/lat
    assert r.units.crs.to_epsg() == 4326
    got = dict(zip(r.units.pcode, r.units.geometry))
    assert set(got) == {"KM01", "KM02", "KM03", "KMUNSPECIFIED"}
    # reprojected back where it was drawn
    assert got["KM02"].bounds == pytest.approx(SECOND_ISLAND, abs=1e-7)
    assert len(got["KM01"].geoms) == 2  # both islands kept in one unit
    kinds = _kinds(r.notes)
    assert kinds["placeholder_pcode"] == {"KMUNSPECIFIED"}
    assert kinds["multipart"] == {"KM01"}
    note = next(n for n in r.notes if n.kind == "placeholder_pcode")
    assert "'Unspecified'" in note.detail and "feature 3" in note.detail


def test_placeholders_under_a_parent_and_several_of_them(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "ADM2_PCODE": ["KM0101", "unspecified", "N/A", "KM0201"],
            "ADM2_EN": ["a", "b", "c", "d"],
            "ADM1_PCODE": ["KM01", "KM01", "KM01", "Unknown"],
        },
        geometry=[box(43 + i, -12, 43.5 + i, -11.5) for i in range(4)],
        crs=4326,
    )
    r = read_boundaries(_gpkg(frame, tmp_path / "com_adm2.gpkg"))
    assert r.units.pcode.tolist() == ["KM0101", "KM01UNSPECIFIED", "KM01UNSPECIFIED2", "KM0201"]
    assert r.units.parent_pcode.tolist() == ["KM01", "KM01", "KM01", None]
    kinds = _kinds(r.notes)
    assert kinds["placeholder_pcode"] == {"KM01UNSPECIFIED", "KM01UNSPECIFIED2"}
    assert kinds["placeholder_parent"] == {"KM0201"}


def test_every_pcode_a_placeholder_is_an_error(tmp_path):
    from boundaries.reader import BoundaryFileError

    frame = gpd.GeoDataFrame(
        {"ADM1_PCODE": ["Unspecified"], "ADM0_PCODE": ["KM"]}, geometry=[box(43, -12, 44, -11)], crs=4326
    )
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(_gpkg(frame, tmp_path / "com_adm1_none.gpkg"))
    assert "placeholder" in str(ei.value) and ei.value.field == "ADM1_PCODE"


def test_a_sub_pixel_unit_keeps_a_minimal_geometry_in_every_band(tmp_path):
    r = read_boundaries(_adm1(tmp_path))
    bands = generalise_level(r.units)
    islet = list(r.units.pcode).index("KM03")
    for band in bands:
        g3857 = band.geoms_3857[islet]
        assert g3857 is not None and not g3857.is_empty and g3857.area > 0, band.zband
        assert band.geoms_4326[islet] is not None and band.geoms_4326[islet].area > 0, band.zband
        small = band.zband <= 8
        assert ("KM03" in band.minimal) == small, (band.zband, band.minimal)
        if small:  # a one-pixel square inside the islet's own box
            w, s, e, n = shapely.bounds(g3857)
            assert e - w == pytest.approx(40075016.68 / 2**band.zband / 512, rel=1e-6)
            assert shapely.contains(
                shapely.buffer(g3857, 1),
                shapely.point_on_surface(gpd.GeoSeries([r.units.geometry[islet]], crs=4326).to_crs(3857)[0]),
            )
    # the others too, exactly in the bands where their box is under a pixel each way
    merc = r.units.to_crs(3857)
    for band in bands:
        pixel = 40075016.68 / 2**band.zband / 512
        expected = {
            pc
            for pc, g in zip(merc.pcode, merc.geometry)
            if max(g.bounds[2] - g.bounds[0], g.bounds[3] - g.bounds[1]) < pixel
        }
        assert set(band.minimal) == expected, band.zband
    assert "KM02" in bands[0].minimal and "KM02" not in bands[3].minimal


def test_import_reports_and_tiles_keep_every_unit(tmp_path, fresh_engine):
    res1 = import_boundaries(fresh_engine, read_boundaries(_adm1(tmp_path)))
    assert res1.outcome == "committed" and res1.units == 4
    kinds = _kinds(res1.notes)
    assert kinds["minimal_geometry"] == {"KM01", "KM02", "KM03", "KMUNSPECIFIED"}  # at z0 all are under a pixel
    details = {n.pcode: n.detail for n in res1.notes if n.kind == "minimal_geometry"}
    assert "zoom 0-8:" in details["KM03"] and "zoom 0:" in details["KM01"]
    # level 1 imported without the country level: reported, not rejected
    assert kinds["parent_missing"] == {"KM01", "KM02", "KM03", "KMUNSPECIFIED"}
    with fresh_engine.connect() as conn:
        logged = conn.execute(text("SELECT details FROM import_log WHERE id = :i"), {"i": res1.import_id}).scalar_one()
        assert {(n["pcode"], n["kind"]) for n in logged["notes"]} >= {
            ("KM03", "minimal_geometry"),
            ("KMUNSPECIFIED", "placeholder_pcode"),
        }
        assert "32738" in logged["source_crs"]
    with client_for(fresh_engine) as c:
        lon, lat = (ISLET[0] + ISLET[2]) / 2, (ISLET[1] + ISLET[3]) / 2
        for z in range(0, 13):
            tz, tx, ty = tile_at(lon, lat, z)
            body = c.get(f"/tiles/governorates/{tz}/{tx}/{ty}.mvt").content
            props = by_pcode(decode(body).get("governorates", []))
            assert "KM03" in props, f"the islet vanished from the z{z} tile"
            assert props["KM03"]["name_ar"] == "الجزيرة الصغيرة"
        z, x, y = tile_at(43.35, -11.65, 6)
        assert "KM01" in by_pcode(decode(c.get(f"/tiles/governorates/{z}/{x}/{y}.mvt").content)["governorates"])


def test_a_level_before_its_parent_level(tmp_path, fresh_engine):
    res2 = import_boundaries(fresh_engine, read_boundaries(_adm2(tmp_path)))  # no level 1, no level 0
    assert res2.outcome == "committed" and res2.units == 3
    assert _kinds(res2.notes)["parent_missing"] == {"KM0101", "KM0102", "KM0201"}
    with fresh_engine.connect() as conn:
        problems = {(p["pcode"], p["problem"]) for p in hierarchy_problems(conn, "COM")}
    assert problems == {("KM0101", "parent_missing"), ("KM0102", "parent_missing"), ("KM0201", "parent_missing")}
    res1 = import_boundaries(fresh_engine, read_boundaries(_adm1(tmp_path)))  # the parents arrive later
    assert res1.outcome == "committed"
    with fresh_engine.connect() as conn:
        problems = {(p["pcode"], p["problem"]) for p in hierarchy_problems(conn, "COM") if p["level"] == 2}
    assert problems == set()
