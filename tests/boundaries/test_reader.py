import datetime as dt
import hashlib
import os
import time
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from boundaries.reader import BoundaryFileError, BoundaryRead, Repair, read_boundaries

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "irq_cod_ab"
FILES = {
    0: DATA / "irq_admbnda_adm0_cso_itos_20190603.geojson",
    1: DATA / "irq_admbnda_adm1_cso_20190603.geojson",
    2: DATA / "irq_admbnda_adm2_cso_20190603.geojson",
    3: DATA / "irq_admbnda_adm3_cso_20190603.geojson",
}
COUNTS = {0: 1, 1: 18, 2: 101, 3: 294}

pytestmark = [
    pytest.mark.skipif(not DATA.is_dir(), reason=f"real COD-AB data not found at {DATA}"),
    pytest.mark.filterwarnings("ignore:Field .* created as String field:RuntimeWarning"),
]


@pytest.fixture(scope="module")
def reads() -> dict[int, BoundaryRead]:
    return {level: read_boundaries(path) for level, path in FILES.items()}


def raw(level: int) -> gpd.GeoDataFrame:
    """The real file as written, for building variants in tmp_path."""
    return pyogrio.read_dataframe(FILES[level])


def write(frame: gpd.GeoDataFrame, path: Path, **kwargs) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pyogrio.write_dataframe(frame, path, **kwargs)
    return path


def assert_same_units(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    a = a.sort_values("pcode").reset_index(drop=True)
    b = b.sort_values("pcode").reset_index(drop=True)
    assert a.pcode.tolist() == b.pcode.tolist()
    assert a.parent_pcode.tolist() == b.parent_pcode.tolist()
    assert a.name_en.tolist() == b.name_en.tolist()
    assert a.name_ar.tolist() == b.name_ar.tolist()
    assert a.alt_names.tolist() == b.alt_names.tolist()
    diff = shapely.area(shapely.symmetric_difference(a.geometry.values, b.geometry.values))
    assert float(np.max(diff)) < 1e-9


def assert_error(exc_info, file: str, *fragments: str, field: str | None = "any") -> BoundaryFileError:
    err = exc_info.value
    assert isinstance(err, BoundaryFileError)
    assert err.file == file
    assert str(err).startswith(f"{file}: ")
    if field != "any":
        assert err.field == field
        if field:
            assert str(err).startswith(f"{file}: field {field}: ")
    for frag in fragments:
        assert frag in err.reason, (frag, err.reason)
    return err


# ----------------------------------------------------------------------------- the real files


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_real_files(reads, level):
    r = reads[level]
    assert r.file == FILES[level].name
    assert r.sha256 == hashlib.sha256(FILES[level].read_bytes()).hexdigest()
    assert r.level == level
    assert r.country_iso3 == "IRQ"
    assert r.source == "COD-AB"
    assert r.valid_on == dt.date(2019, 6, 3)
    assert r.repairs == []
    assert f"ADM{level}_PCODE" in r.fields and "validOn" in r.fields
    u = r.units
    assert len(u) == COUNTS[level]
    assert list(u.columns) == ["pcode", "parent_pcode", "name_en", "name_ar", "alt_names", "geometry"]
    assert u.crs.to_epsg() == 4326
    assert u.pcode.is_unique
    assert set(u.geom_type) == {"MultiPolygon"}
    assert u.is_valid.all()
    assert u.name_en.map(lambda s: isinstance(s, str) and bool(s)).all()
    # Arabic on every row
    assert u.name_ar.map(lambda s: isinstance(s, str) and any("\u0600" <= ch <= "\u06ff" for ch in s)).all()
    assert all(isinstance(a, list) for a in u.alt_names)
    if level == 0:
        assert u.parent_pcode.tolist() == [None]
        assert u.pcode.tolist() == ["IQ"] and u.name_en.tolist() == ["Iraq"]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_parents_exist_in_level_above(reads, level):
    parents = set(reads[level].units.parent_pcode)
    assert None not in parents
    assert parents <= set(reads[level - 1].units.pcode)
    # every P-code extends its parent's
    u = reads[level].units
    assert all(c.startswith(p) for c, p in zip(u.pcode, u.parent_pcode))


def test_known_units(reads):
    adm2 = reads[2].units.set_index("pcode")
    assert adm2.loc["IQG07Q02", "name_en"] == "Al-Hilla"
    assert adm2.loc["IQG07Q02", "parent_pcode"] == "IQG07"
    # ADM2_REF is an alternate spelling
    assert adm2.loc["IQG08Q04", "alt_names"] == ["Al-Madain"]
    adm1 = reads[1].units.set_index("pcode")
    assert adm1.loc["IQG07", "name_en"] == "Babil"
    assert adm1.loc["IQG09", "name_en"] == "Duhok"
    assert adm1.loc["IQG07", "name_ar"] == "بابل"


def test_adm3_reads_fast():
    read_boundaries(FILES[3])  # warm-up (imports, PROJ database)
    t0 = time.perf_counter()
    r = read_boundaries(FILES[3])
    elapsed = time.perf_counter() - t0
    assert len(r.units) == 294
    assert elapsed < 1.0, elapsed


def test_level_and_country_arguments(reads):
    r = read_boundaries(FILES[2], level=2, country="iq")
    assert r.level == 2 and r.country_iso3 == "IRQ"
    assert_same_units(r.units, reads[2].units)
    r = read_boundaries(FILES[1], country="IRQ")
    assert r.country_iso3 == "IRQ"


# ----------------------------------------------------------------------------- other formats


def test_geopackage_round_trip(tmp_path, reads):
    path = write(raw(2), tmp_path / "irq_adm2.gpkg", layer="irq_adm2")
    r = read_boundaries(path)
    assert (r.file, r.level, r.country_iso3, r.source, r.valid_on) == (
        "irq_adm2.gpkg",
        2,
        "IRQ",
        "COD-AB",
        dt.date(2019, 6, 3),
    )
    assert_same_units(r.units, reads[2].units)


def test_geopackage_with_several_layers(tmp_path, reads):
    path = tmp_path / "irq.gpkg"
    write(raw(1), path, layer="governorates")
    write(raw(2), path, layer="districts", append=True)
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    assert_error(ei, "irq.gpkg", "2 layers", "governorates", "districts", "level=")
    r = read_boundaries(path, level=2)  # chosen by its ADM2_PCODE field
    assert_same_units(r.units, reads[2].units)
    r = read_boundaries(path, level=1)
    assert_same_units(r.units, reads[1].units)
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path, level=3)
    assert_error(ei, "irq.gpkg", "governorates", "districts", "level 3")


def test_zipped_shapefile_round_trip(tmp_path, reads):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    write(raw(2), shp_dir / "irq_adm2.shp")
    zpath = tmp_path / "irq_adm2.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(shp_dir.iterdir()):
            zf.write(f, f"irq_adm2/{f.name}")  # in a folder inside the archive
    r = read_boundaries(zpath)
    assert (r.file, r.level, r.country_iso3, r.valid_on) == ("irq_adm2.zip", 2, "IRQ", dt.date(2019, 6, 3))
    assert r.sha256 == hashlib.sha256(zpath.read_bytes()).hexdigest()
    assert_same_units(r.units, reads[2].units)
    # the bare .shp too
    r = read_boundaries(shp_dir / "irq_adm2.shp")
    assert r.file == "irq_adm2.shp"
    assert_same_units(r.units, reads[2].units)


def test_zip_with_several_shapefiles(tmp_path, reads):
    zpath = tmp_path / "irq_all.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for level in (1, 2):
            d = tmp_path / f"l{level}"
            d.mkdir()
            write(raw(level), d / f"irq_adm{level}.shp")
            for f in d.iterdir():
                zf.write(f, f.name)
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(zpath)
    assert_error(ei, "irq_all.zip", "2 shapefiles", "irq_adm1.shp", "irq_adm2.shp")
    assert_same_units(read_boundaries(zpath, level=1).units, reads[1].units)


def test_shapefile_without_prj_is_assumed_lonlat(tmp_path, reads):
    write(raw(1), tmp_path / "irq_adm1.shp")
    (tmp_path / "irq_adm1.prj").unlink()
    r = read_boundaries(tmp_path / "irq_adm1.shp")
    assert r.units.crs.to_epsg() == 4326
    assert_same_units(r.units, reads[1].units)


# ----------------------------------------------------------------------------- other schemas


def test_lower_case_cod_schema(tmp_path, reads):
    src = raw(2)
    frame = gpd.GeoDataFrame(
        {
            "adm2_pcode": src.ADM2_PCODE,
            "adm2_name": src.ADM2_EN,
            "adm2_name1": src.ADM2_AR,
            "adm1_pcode": src.ADM1_PCODE,
            "adm0_pcode": src.ADM0_PCODE,
            "valid_on": "2019-06-03",
        },
        geometry=src.geometry,
        crs=src.crs,
    )
    r = read_boundaries(write(frame, tmp_path / "irq_adm2_lower.geojson"))
    assert (r.level, r.country_iso3, r.source, r.valid_on) == (2, "IRQ", "COD-AB", dt.date(2019, 6, 3))
    expected = reads[2].units.copy()
    expected["alt_names"] = [[] for _ in range(len(expected))]  # ADM2_REF is not in this schema
    assert_same_units(r.units, expected)


def test_lower_case_cod_schema_with_lang_fields(tmp_path, reads):
    src = raw(1)
    frame = gpd.GeoDataFrame(
        {
            "adm1_pcode": src.ADM1_PCODE,
            "adm1_name": src.ADM1_EN,
            "adm1_name1": src.ADM1_AR,
            "adm1_name2": src.ADM1_EN.str.replace("Al-", "", regex=False),
            "adm0_pcode": src.ADM0_PCODE,
            "lang": "en",
            "lang1": "ar",
            "lang2": "en",
        },
        geometry=src.geometry,
        crs=src.crs,
    )
    r = read_boundaries(write(frame, tmp_path / "irq_adm1.geojson"))
    u = r.units.set_index("pcode")
    assert r.level == 1 and r.valid_on is None
    assert u.loc["IQG01", "name_ar"] == "الانبار"
    assert u.loc["IQG01", "alt_names"] == ["Anbar"]
    assert u.loc["IQG08", "alt_names"] == []  # 'Baghdad' equals the name: not repeated


def test_geoboundaries_schema(tmp_path, reads):
    src = raw(1)
    frame = gpd.GeoDataFrame(
        {"shapeName": src.ADM1_EN, "shapeISO": "", "shapeID": src.ADM1_PCODE, "shapeGroup": "IRQ", "shapeType": "ADM1"},
        geometry=src.geometry,
        crs=src.crs,
    )
    path = write(frame, tmp_path / "geoBoundaries-IRQ-ADM1.geojson")
    r = read_boundaries(path)
    assert (r.level, r.country_iso3, r.source, r.valid_on) == (1, "IRQ", "geoBoundaries", None)
    assert r.units.parent_pcode.isna().all()
    assert r.units.name_ar.isna().all()
    assert sorted(r.units.pcode) == sorted(reads[1].units.pcode)
    assert dict(zip(r.units.pcode, r.units.name_en))["IQG07"] == "Babil"
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path, level=2)
    assert_error(ei, path.name, "level 2", "ADM1", field="shapeType")


def test_explicit_fields_override_detection(tmp_path, reads):
    src = raw(2)
    frame = gpd.GeoDataFrame(
        {
            "Code": src.ADM2_PCODE.map(lambda c: "IRQ-" + c[2:]),
            "Label": src.ADM2_EN,
            "Up": src.ADM1_PCODE,
            "Arabic": src.ADM2_AR,
        },
        geometry=src.geometry,
        crs=src.crs,
    )
    path = write(frame, tmp_path / "districts.geojson")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    err = assert_error(ei, "districts.geojson", "no P-code field", "Code", "Label", "Up", field=None)
    assert "pcode_field" in str(err)
    r = read_boundaries(path, pcode_field="code", name_field="LABEL", parent_field="up", name_ar_field="arabic")
    assert (r.level, r.country_iso3, r.source) == (2, "IRQ", "custom")  # level from the P-code pattern
    expected = reads[2].units.copy()
    expected["alt_names"] = [[] for _ in range(len(expected))]
    assert_same_units(r.units, expected)
    # an explicit name field wins over ADMn_EN on a COD-AB file
    r = read_boundaries(FILES[1], name_field="ADM1_AR")
    assert dict(zip(r.units.pcode, r.units.name_en))["IQG07"] == "بابل"


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("epsg", [3857, 32638])
def test_reprojected_input_comes_back_in_4326(tmp_path, reads, epsg):
    src = raw(2)
    path = write(src.to_crs(epsg), tmp_path / f"irq_adm2_{epsg}.gpkg")
    r = read_boundaries(path)
    assert r.units.crs.to_epsg() == 4326
    got = r.units.sort_values("pcode").to_crs(6933).area.to_numpy()  # equal-area
    want = reads[2].units.sort_values("pcode").to_crs(6933).area.to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    minx, miny, maxx, maxy = r.units.total_bounds
    assert 38 < minx < maxx < 49 and 29 < miny < maxy < 38


def test_projected_coordinates_without_crs_are_an_error(tmp_path):
    write(raw(1).to_crs(32638), tmp_path / "utm.shp")
    (tmp_path / "utm.prj").unlink()
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(tmp_path / "utm.shp")
    assert_error(ei, "utm.shp", "no coordinate reference system", "not longitude/latitude")


def test_bow_tie_is_repaired_and_reported(tmp_path):
    src = raw(1).iloc[:3].copy()
    code = src.ADM1_PCODE.iloc[1]
    bow_tie = Polygon([(44.0, 33.0), (45.0, 34.0), (45.0, 33.0), (44.0, 34.0), (44.0, 33.0)])
    assert not bow_tie.is_valid
    src.loc[src.index[1], "geometry"] = bow_tie
    r = read_boundaries(write(src, tmp_path / "bowtie.geojson"))
    assert r.repairs == [Repair(pcode=code, reason="Self-intersection[44.5 33.5]")]
    g = r.units.set_index("pcode").geometry[code]
    assert isinstance(g, MultiPolygon) and g.is_valid
    assert len(g.geoms) == 2
    assert g.area == pytest.approx(0.5)
    assert r.units.is_valid.all()


def test_z_coordinates_are_dropped(tmp_path, reads):
    src = raw(1)
    src["geometry"] = shapely.force_3d(src.geometry.values, 100.0)
    r = read_boundaries(write(src, tmp_path / "z.gpkg"))
    assert not r.units.has_z.any()
    assert_same_units(r.units, reads[1].units)


# ----------------------------------------------------------------------------- bad input


def test_unsupported_format(tmp_path):
    path = tmp_path / "irq.xyz"
    path.write_text("hello")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    err = assert_error(ei, "irq.xyz", field=None)
    assert err.reason == "unsupported format .xyz; expected .geojson, .json, .gpkg, .shp or .zip"
    assert str(err) == "irq.xyz: unsupported format .xyz; expected .geojson, .json, .gpkg, .shp or .zip"


def test_missing_file(tmp_path):
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(tmp_path / "nope.geojson")
    err = assert_error(ei, "nope.geojson", "not found", field=None)
    assert err.path == str(tmp_path / "nope.geojson")


def test_corrupt_zip(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    assert_error(ei, "x.zip", "not a valid zip archive", field=None)


def test_zip_without_shapefile(tmp_path):
    path = tmp_path / "docs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "no shapes here")
        zf.writestr("data/irq.csv", "a,b\n1,2\n")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    assert_error(ei, "docs.zip", "no .shp file", "readme.txt", "data/irq.csv")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_bytes(b"")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    assert_error(ei, "empty.geojson", "empty", field=None)


def test_garbage_geojson(tmp_path):
    path = tmp_path / "garbage.geojson"
    path.write_text("this is not json {")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    err = assert_error(ei, "garbage.geojson", "cannot read file", field=None)
    assert str(tmp_path) not in str(err)  # no server paths in messages


def test_zero_features(tmp_path):
    path = tmp_path / "none.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    assert_error(ei, "none.geojson", "no features", field=None)


def test_level_not_in_file(tmp_path):
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(FILES[2], level=3)
    assert_error(ei, FILES[2].name, "no P-code field for level 3", "ADM2_PCODE", "level-2 file", field="ADM3_PCODE")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(FILES[2], level=1)
    assert_error(ei, FILES[2].name, "level 1 requested", "level-2 file", field="ADM2_PCODE")


def test_level_contradicting_pcode_pattern(tmp_path):
    src = raw(2).drop(columns=["ADM1_PCODE"]).rename(columns={"ADM2_PCODE": "ADM1_PCODE"})
    path = write(src, tmp_path / "irq_adm1.geojson")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(path)
    assert_error(ei, "irq_adm1.geojson", "is a level-2 code", "IQGnn", field="ADM1_PCODE")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(FILES[2], pcode_field="ADM2_PCODE", level=3)
    err = assert_error(ei, FILES[2].name, "IQGnnQmmNkk", field="ADM2_PCODE")
    assert "IQG" in err.reason  # names an example P-code


def test_level_check_for_a_country_without_pattern_table(tmp_path):
    # Syria has no pattern table: children must extend their parent's code
    boxes = [shapely.box(36 + i, 33, 36.9 + i, 34) for i in range(3)]
    frame = gpd.GeoDataFrame(
        {
            "ADM2_PCODE": ["SY0101", "SY0102", "SY0201"],
            "ADM2_EN": ["a", "b", "c"],
            "ADM1_PCODE": ["SY01", "SY01", "SY01"],
        },
        geometry=boxes,
        crs=4326,
    )
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(frame, tmp_path / "syr_adm2.geojson"))
    assert_error(ei, "syr_adm2.geojson", "SY0201", "SY01", field="ADM2_PCODE")
    frame.loc[2, "ADM1_PCODE"] = "SY02"
    r = read_boundaries(write(frame, tmp_path / "syr_adm2_ok.geojson"))
    assert (r.country_iso3, r.level) == ("SYR", 2)
    assert r.units.parent_pcode.tolist() == ["SY01", "SY01", "SY02"]


def test_country_argument_contradicting_pcodes():
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(FILES[1], country="SYR")
    assert_error(ei, FILES[1].name, "does not belong to country SYR", field="ADM1_PCODE")
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(FILES[1], country="Narnia")
    assert_error(ei, FILES[1].name, "country", field=None)


def test_duplicate_pcodes(tmp_path):
    src = raw(1)
    dup = src.iloc[[0, 0, 5]].copy()
    dup["ADM1_EN"] = "copy"
    frame = gpd.GeoDataFrame(pd.concat([src, dup], ignore_index=True), geometry="geometry", crs=src.crs)
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(frame, tmp_path / "dups.geojson"))
    assert_error(ei, "dups.geojson", "duplicate P-codes", "IQG01 (x3)", "IQG06 (x2)", field="ADM1_PCODE")


def test_duplicates_after_normalisation(tmp_path):
    src = raw(1).iloc[:2].copy()
    src["ADM1_PCODE"] = ["IQG01", "IRQ-G01"]
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(src, tmp_path / "dups2.geojson"))
    assert_error(ei, "dups2.geojson", "IQG01 (x2)", field="ADM1_PCODE")


def test_null_and_malformed_pcodes(tmp_path):
    src = raw(1).iloc[:4].copy()
    src["ADM1_PCODE"] = ["IQG01", "IQG02", None, "IQG04"]
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(src, tmp_path / "nullcode.geojson"))
    assert_error(ei, "nullcode.geojson", "feature 2", "no value", field="ADM1_PCODE")
    src["ADM1_PCODE"] = ["IQG01", "IQG02", "IQ/G03", "IQG04"]
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(src, tmp_path / "badcode.geojson"))
    assert_error(ei, "badcode.geojson", "feature 2", "IQ/G03", field="ADM1_PCODE")


def test_points_instead_of_polygons(tmp_path):
    src = raw(1)
    src["geometry"] = src.geometry.representative_point()
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(src, tmp_path / "points.geojson"))
    err = assert_error(ei, "points.geojson", field=None)
    assert err.reason == "expected polygons, found Point"


def test_lines_instead_of_polygons(tmp_path):
    src = raw(1)
    src["geometry"] = src.geometry.boundary
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(src, tmp_path / "lines.gpkg"))
    assert_error(ei, "lines.gpkg", "expected polygons, found", "LineString")


def test_mixed_geometry_types(tmp_path):
    src = raw(1)
    src.loc[src.index[3], "geometry"] = Point(44.0, 33.0)
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(src, tmp_path / "mixed.geojson"))
    assert_error(ei, "mixed.geojson", "mixed geometry types", "Point", "Polygon")


def test_null_geometry(tmp_path):
    src = raw(1)
    code = src.ADM1_PCODE.iloc[4]
    src.loc[src.index[4], "geometry"] = None
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(write(src, tmp_path / "nullgeom.geojson"))
    assert_error(ei, "nullgeom.geojson", "no geometry", code)


def test_invalid_level_argument():
    with pytest.raises(BoundaryFileError) as ei:
        read_boundaries(FILES[1], level=-1)
    assert_error(ei, FILES[1].name, "level", field=None)
