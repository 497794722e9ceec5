"""Exports read back with pyogrio/GDAL: every dataset and format, counts, figures, Arabic names, HXL, zips, 404s."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pyogrio
import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from service.core.rounds import find_round
from service.publish.datasets import DATASETS, Selection
from service.publish.exports import DISCLAIMER, FORMATS
from tests.publish import SYNTHETIC_ROUND, synthetic_client, synthetic_engine  # noqa: F401  (fixtures)

SPATIAL = ["shp", "gpkg", "kml", "geojson", "fgb"]


def _download(client, url: str, dest: Path) -> Path:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    name = r.headers["content-disposition"].split('filename="')[1].split('"')[0]
    path = dest / name
    path.write_bytes(r.content)
    return path


def _read(path: Path, ext: str):
    """A GeoDataFrame / DataFrame of the export's rows, through GDAL."""
    if ext == "shp":
        return pyogrio.read_dataframe(path)  # .shp.zip opens as is
    if ext == "csv":
        df = pyogrio.read_dataframe(path)
        assert df.iloc[0]["pcode" if "pcode" in df.columns else df.columns[0]].startswith("#")  # the HXL row
        return df.iloc[1:]
    if ext == "xlsx":
        df = pyogrio.read_dataframe(path, layer="data", HEADERS="FORCE")
        return df.iloc[1:]
    return pyogrio.read_dataframe(path)


def _col(df, ext: str, name: str, short: str):
    return df[short if ext == "shp" else name]


def _db_rows(engine, key: str, round_number=None, population=None, spatial=True) -> list[dict]:
    ds = DATASETS[key]
    with engine.connect() as c:
        rnd = find_round(c, round_number=round_number, population=population) if ds.per_round else None
        sel = Selection(ds, round=rnd, spatial=spatial)
        names = ["fid", *(f.name for f in ds.fields)]
        return [dict(zip(names, r)) for b in sel.batches(c, "table") for r in b]


CASES = [
    ("figures-adm2", 120, "idp"),
    ("figures-adm1", 120, "returnee"),
    ("locations", 120, "idp"),
    ("admin1", None, None),
]


@pytest.mark.parametrize("ext", list(FORMATS))
@pytest.mark.parametrize("key,round_number,population", CASES)
def test_every_format_reads_back_with_gdal(
    figures_client, figures_engine, tmp_path, key, round_number, population, ext
):
    ds = DATASETS[key]
    q = f"?round={round_number}&population={population}" if round_number else ""
    path = _download(figures_client, f"/exports/{key}.{ext}{q}", tmp_path)
    expected = _db_rows(figures_engine, key, round_number, population, spatial=FORMATS[ext].spatial)
    assert expected
    df = _read(path, ext)
    assert len(df) == len(expected), f"{key}.{ext}: {len(df)} rows, database {len(expected)}"
    key_field = "location_id" if key == "locations" else "pcode"
    got_keys = [str(v) for v in _col(df, ext, key_field, ds.field(key_field).short)]
    assert sorted(got_keys) == sorted(str(r[key_field]) for r in expected)
    # same figures row by row, Arabic names intact (the shapefile through its UTF-8 .cpg)
    has_ind = "individuals" in [f.name for f in ds.fields]
    got_ind = [int(float(v)) for v in _col(df, ext, "individuals", "indiv")] if has_ind else [0] * len(df)
    got = sorted(zip(got_keys, (ar or "" for ar in _col(df, ext, "name_ar", "name_ar")), got_ind))
    want = sorted((str(r[key_field]), r["name_ar"] or "", r["individuals"] if has_ind else 0) for r in expected)
    assert got == want, f"{key}.{ext}: first difference {next((g, w) for g, w in zip(got, want) if g != w)}"
    if has_ind:
        got_fam = [int(float(v)) for v in _col(df, ext, "families", "families")]
        assert sum(got_fam) == sum(r["families"] for r in expected)
    if ext in SPATIAL:
        assert df.geometry.notna().all()
        assert df.crs is not None and df.crs.to_epsg() == 4326


def test_file_names_follow_the_convention(figures_client):
    cases = {
        "/exports/figures-adm2.gpkg?round=120&population=idp": "irq_dtm_idp_adm2_r120_20210228.gpkg",
        "/exports/figures-adm3.shp?round=86": "irq_dtm_idp_adm3_r86_20171231.shp.zip",
        "/exports/locations.csv?round=120&population=returnee": "irq_dtm_returnee_locations_r120_20210228.csv",
        "/exports/figures-adm1.kml?zip=1": "irq_dtm_idp_adm1_r120_20210228.kml.zip",
        "/exports/admin2.fgb": "irq_dtm_admbnda_adm2_20190603.fgb",
        "/exports/admin2.geojson.zip": "irq_dtm_admbnda_adm2_20190603.geojson.zip",
    }
    for url, name in cases.items():
        r = figures_client.get(url)
        assert r.status_code == 200, url
        assert f'filename="{name}"' in r.headers["content-disposition"], (url, r.headers["content-disposition"])


def test_shapefile_zip_has_cpg_readme_and_field_map(figures_client, tmp_path):
    path = _download(figures_client, "/exports/figures-adm2.shp?round=120", tmp_path)
    base = "irq_dtm_idp_adm2_r120_20210228"
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert {f"{base}.{e}" for e in ("shp", "shx", "dbf", "prj", "cpg")} <= names
        assert z.read(f"{base}.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
        readme = z.read("README.txt").decode("utf-8")
        fmap = list(csv.DictReader(io.StringIO(z.read(f"{base}_fields.csv").decode("utf-8"))))
    for needle in (
        "IOM DTM",
        "round 120",
        "2021-02-28",
        DISCLAIMER,
        "Names and boundaries do not imply official endorsement or acceptance",
        "Licence",
        "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv",
    ):
        assert needle in readme, needle
    info = pyogrio.read_info(path)
    assert all(len(n) <= 10 for n in info["fields"])
    mapping = {row["shapefile_field"]: row["field"] for row in fmap}
    assert set(mapping) == set(info["fields"])
    assert mapping["indiv"] == "individuals" and mapping["share_nat"] == "share_national"
    assert {row["field"] for row in fmap} == {f.name for f in DATASETS["figures-adm2"].fields}


def test_csv_has_hxl_row_after_the_header(figures_client):
    r = figures_client.get("/exports/locations.csv?round=120&population=idp")
    assert r.headers["content-type"].startswith("text/csv")
    body = r.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header, hxl = rows[0], rows[1]
    tags = dict(zip(header, hxl))
    assert tags["location_id"] == "#loc+code"
    assert tags["name_en"] == "#loc+name+i_en" and tags["name_ar"] == "#loc+name+i_ar"
    assert tags["adm1_pcode"] == "#adm1+code" and tags["adm1_name"] == "#adm1+name"
    assert tags["adm2_pcode"] == "#adm2+code" and tags["adm3_name"] == "#adm3+name"
    assert tags["latitude"] == "#geo+lat" and tags["longitude"] == "#geo+lon"
    assert tags["individuals"] == "#affected+idps+ind" and tags["families"] == "#affected+idps+hh"
    assert tags["reporting_date"] == "#date+reported" and tags["round_number"] == "#round+code"
    assert all(t.startswith("#") for t in hxl)
    data = rows[2:]
    assert len(data) == 2897
    assert {row[header.index("reporting_date")] for row in data} == {"2021-02-28"}

    ret = figures_client.get("/exports/figures-adm1.csv?round=120&population=returnee").content.decode("utf-8-sig")
    header, hxl = list(csv.reader(io.StringIO(ret)))[:2]
    assert dict(zip(header, hxl))["individuals"] == "#affected+returnees+ind"


def test_xlsx_has_header_hxl_and_readme(figures_client, figures_engine, tmp_path):
    path = _download(figures_client, "/exports/figures-adm3.xlsx?round=86", tmp_path)
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == ["data", "README"]
    rows = list(wb["data"].iter_rows(values_only=True))
    assert rows[0][0] == "pcode" and rows[1][0] == "#adm3+code"
    expected = _db_rows(figures_engine, "figures-adm3", 86, "idp", spatial=False)
    assert len(rows) - 2 == len(expected)
    ind = rows[0].index("individuals")
    assert sum(r[ind] for r in rows[2:]) == sum(r["individuals"] for r in expected)
    readme = "\n".join(str(r[0]) for r in wb["README"].iter_rows(values_only=True) if r and r[0])
    assert DISCLAIMER in readme and "IOM DTM" in readme and "2017-12-31" in readme


def test_geojson_and_zip_option_carry_metadata(figures_client, tmp_path):
    r = figures_client.get("/exports/figures-adm2.geojson?round=120")
    assert r.headers["content-type"].startswith("application/geo+json")
    doc = json.loads(r.content)
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 101
    assert doc["metadata"]["credit"] == "IOM DTM" and doc["metadata"]["round"]["reporting_date"] == "2021-02-28"
    path = _download(figures_client, "/exports/figures-adm2.gpkg?round=120&zip=1", tmp_path)
    assert path.name.endswith(".gpkg.zip")
    with zipfile.ZipFile(path) as z:
        assert set(z.namelist()) == {"irq_dtm_idp_adm2_r120_20210228.gpkg", "README.txt"}
        assert DISCLAIMER in z.read("README.txt").decode()
    assert pyogrio.read_info(f"/vsizip/{path}/irq_dtm_idp_adm2_r120_20210228.gpkg")["features"] == 101


@pytest.mark.parametrize(
    "url,needle",
    [
        ("/exports/nope.gpkg", "valid datasets: admin0, admin1, admin2, admin3, locations, sites, figures-adm1"),
        ("/exports/figures-adm2.docx", "valid formats: shp, gpkg, kml, geojson, fgb, csv, xlsx"),
        ("/exports/figures-adm2", "valid formats"),
        ("/exports/figures-adm2.gpkg?round=999", "round 999"),
        ("/exports/locations.csv?round=86&population=returnee", "no returnee data for round 86"),
    ],
)
def test_unknown_dataset_format_or_round_is_404(figures_client, url, needle):
    r = figures_client.get(url)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == 404 and needle in body["detail"], body


def test_bad_population_is_400(figures_client):
    r = figures_client.get("/exports/locations.csv?population=refugee")
    assert r.status_code == 400 and r.json()["status"] == 400


def test_exports_index_lists_datasets_and_formats(figures_client):
    data = figures_client.get("/exports").json()
    assert [d["dataset"] for d in data["datasets"]] == list(DATASETS)
    assert [f["ext"] for f in data["formats"]] == list(FORMATS)


# ------------------------------------------------------------------ the UNASSIGNED bucket, sites
def test_bucket_in_tables_not_in_spatial_formats(synthetic_client, synthetic_engine, tmp_path):  # noqa: F811
    q = f"?round={SYNTHETIC_ROUND}"
    for level, bucket in ((1, 42), (2, 42), (3, 72)):
        csv_text = synthetic_client.get(f"/exports/figures-adm{level}.csv{q}").content.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(csv_text)))[1:]
        unassigned = [r for r in rows if r["pcode"] == "UNASSIGNED"]
        assert len(unassigned) == 1 and int(unassigned[0]["individuals"]) == bucket
        assert sum(int(r["individuals"]) for r in rows) == 60 + 120 + 180 + 30 + 42  # the national total
        gpkg = _download(synthetic_client, f"/exports/figures-adm{level}.gpkg{q}", tmp_path)
        df = pyogrio.read_dataframe(gpkg)
        assert "UNASSIGNED" not in set(df["pcode"]) and len(df) == len(rows) - 1
        assert df.geometry.notna().all()
        shp = _download(synthetic_client, f"/exports/figures-adm{level}.shp{q}", tmp_path)
        with zipfile.ZipFile(shp) as z:
            readme = z.read("README.txt").decode()
        assert f"{bucket:,} individuals" in readme and "NOT in this file" in readme
    doc = synthetic_client.get(f"/exports/figures-adm3.geojson{q}").json()
    assert doc["metadata"]["unassigned"]["individuals"] == 72
    assert all(f["id"] != "UNASSIGNED" for f in doc["features"])


def test_locations_without_point_keep_a_null_geometry(synthetic_client, tmp_path):  # noqa: F811
    path = _download(synthetic_client, f"/exports/locations.gpkg?round={SYNTHETIC_ROUND}", tmp_path)
    df = pyogrio.read_dataframe(path)
    assert len(df) == 5 and df.geometry.isna().sum() == 1
    assert set(df.loc[df.location_id == "S5", "adm1_pcode"]) == {"UNASSIGNED"}
    assert df.loc[df.location_id == "S4", "name_ar"].item() == "موقع تجريبي ٤"


@pytest.mark.parametrize("ext", list(FORMATS))
def test_sites_every_format(synthetic_client, tmp_path, ext):  # noqa: F811
    path = _download(synthetic_client, f"/exports/sites.{ext}", tmp_path)
    assert path.name.startswith("irq_dtm_sites_")
    df = _read(path, ext)
    assert len(df) == 4
    assert set(df["name_ar"]) >= {"مخيم 1", "مخيم بلا موقع"}


def test_cli_export(figures_engine, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import service.cli
    import service.cli.export

    monkeypatch.setattr(service.cli.export, "open_engine", lambda migrate=True: figures_engine)
    runner = CliRunner()
    res = runner.invoke(
        service.cli.app,
        ["export", "figures-adm2", "--format", "gpkg", "--round", "120", "--population", "idp", "-o", str(tmp_path)],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "irq_dtm_idp_adm2_r120_20210228.gpkg"
    assert pyogrio.read_info(out)["features"] == 101
    res = runner.invoke(service.cli.app, ["export", "admin3", "-f", "shp", "-o", str(tmp_path / "a3.shp.zip")])
    assert res.exit_code == 0, res.output
    assert pyogrio.read_info(tmp_path / "a3.shp.zip")["features"] == 294
    res = runner.invoke(service.cli.app, ["export", "nope", "--format", "gpkg"])
    assert res.exit_code == 2 and "valid datasets" in res.output
    res = runner.invoke(service.cli.app, ["export", "locations", "--format", "csv", "--round", "999"])
    assert res.exit_code == 2 and "round 999" in res.output
    res = runner.invoke(service.cli.app, ["export"])
    assert res.exit_code == 0 and "figures-adm3" in res.output


def test_streamed_export_memory_does_not_hold_rows(figures_engine):
    """CSV/GeoJSON/KML are generated batch by batch: the first chunk comes before the rows are read."""
    from service.publish import exports

    with figures_engine.connect() as c:
        job = exports.prepare(c, "locations", "geojson", round_number=120)
    gen = exports.stream(figures_engine, job)
    first = next(gen)
    assert first.startswith(b'{"type":"FeatureCollection"')
    rest = b"".join(gen)
    assert len(json.loads(first + rest)["features"]) == 2897
    with figures_engine.connect() as c:
        assert (
            c.execute(
                text(
                    "SELECT count(*) FROM location_figure f JOIN round r ON r.id = f.round_id "
                    "WHERE r.round_number = 120 AND r.population = 'idp'"
                )
            ).scalar()
            == 2897
        )
