"""Nigeria's round 39 site assessment and Malawi's location assessment, imported and published:
per-state sums that equal the file's, reconciliation of every level with the national figure,
the sites as an OGC collection of 309 items, Malawi's newer P-codes placed by their points and
reported, the catalogue in English and Arabic."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from sqlalchemy import text

from tests.indicators.conftest import MWI_LOCATIONS, NGA_SITES


@pytest.fixture(scope="module")
def nga_frame() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.read_excel(NGA_SITES, sheet_name="Site Assessment Dataset")


def test_nigeria_imports_with_its_round_and_date(assessments):
    _, res = assessments
    nga = res["NGA"]
    assert (nga.country, nga.round_label, nga.reporting_date.isoformat(), nga.rows, nga.columns) == (
        "NGA",
        "R39",
        "2021-10-31",
        309,
        106,
    )
    # "31,533 sq.m" areas read, the ones that are not areas reported with their row
    assert "areas read as square metres" in nga.conversions["Site Area"]
    assert any("row 24, column 'Site Area': 'New Camp' is not an area" in i for i in nga.issues)
    assert "Yes/No answers" in nga.conversions["WASH Support"]


def test_individuals_per_state_equal_the_files_sums(assessments, assessments_client, nga_frame):
    _, res = assessments
    ds = res["NGA"].dataset_id
    r = assessments_client.get(f"/choropleth/1.geojson?dataset={ds}&indicator=individuals")
    assert r.status_code == 200, r.text
    doc = r.json()
    got = {f["properties"]["pcode"]: f["properties"]["value"] for f in doc["features"] if f["properties"]["value"]}
    want = nga_frame.groupby("State_Pcode")["Number of Individuals"].sum().to_dict()
    assert got == {k: float(v) for k, v in want.items()}
    assert len(got) == 5 and len(doc["features"]) == 37  # every state drawn, five with sites
    assert doc["legend"]["national"] == float(nga_frame["Number of Individuals"].sum())
    assert doc["legend"]["label_ar"] == "الأفراد"
    # a master-list choropleth on the same path is not taken over (no dataset=: the figures route)
    assert assessments_client.get("/choropleth/1.geojson?population=idp").status_code in (400, 404)


def test_every_level_reconciles_with_the_national_sum(assessments):
    engine, res = assessments
    with engine.connect() as conn:
        for ds in (res["NGA"].dataset_id, res["MWI"].dataset_id):
            rows = conn.execute(
                text(
                    "SELECT a.column_id, a.level, sum(a.value) FROM indicator_aggregate a "
                    "JOIN indicator_column c ON c.dataset_id = a.dataset_id AND c.column_id = a.column_id "
                    "WHERE a.dataset_id = :d AND c.aggregation IN ('sum', 'count') GROUP BY 1, 2"
                ),
                {"d": ds},
            ).all()
            national = {c: v for c, lvl, v in rows if lvl == 0}
            levels = {lvl for _, lvl, _ in rows}
            assert len(national) > 10 and levels >= {0, 1, 2}
            bad = [(c, lvl, v, national[c]) for c, lvl, v in rows if abs(v - national[c]) > 1e-6]
            assert not bad, bad[:5]


def test_sites_are_an_ogc_collection_of_309_items(assessments, assessments_client, nga_frame):
    _, res = assessments
    cid = f"dataset{res['NGA'].dataset_id}-sites"
    ids = [c["id"] for c in assessments_client.get("/ogc/collections").json()["collections"]]
    assert cid in ids and f"dataset{res['MWI'].dataset_id}-locations" in ids
    r = assessments_client.get(f"/ogc/collections/{cid}/items?limit=1000")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["numberMatched"] == 309 and len(doc["features"]) == 309
    by_id = {f["id"]: f for f in doc["features"]}
    first = nga_frame.iloc[0]
    feat = by_id[first["SiteID"]]
    assert feat["properties"]["individuals"] == first["Number of Individuals"]
    assert feat["properties"]["adm1_pcode"] == first["State_Pcode"]
    assert feat["geometry"]["coordinates"] == pytest.approx([first["Longitude"], first["Latitude"]])
    # the aggregates per state are a collection too
    r = assessments_client.get(f"/ogc/collections/dataset{res['NGA'].dataset_id}-adm1/items")
    assert r.status_code == 200 and r.json()["numberMatched"] == 5


def test_malawi_newer_pcodes_are_placed_by_point_and_reported(assessments):
    engine, res = assessments
    mwi = res["MWI"]
    assert (mwi.country, mwi.round_label, mwi.rows) == ("MWI", "B2_01", 776)
    frame = pd.read_csv(MWI_LOCATIONS, dtype=str, keep_default_na=False)
    with engine.connect() as conn:
        known = set(conn.execute(text("SELECT pcode FROM admin_unit WHERE country = 'MWI' AND level = 3")).scalars())
        placed = dict(
            conn.execute(
                text("SELECT obs_id, adm3 FROM indicator_observation WHERE dataset_id = :d"), {"d": mwi.dataset_id}
            ).all()
        )
    newer = frame[~frame["m0305_meta_adm3_pcode"].isin(known)]
    assert 100 < len(newer) < 250  # about a fifth of the rows carry the 2023 COD's codes
    reported = [i for i in mwi.issues if "is not in the boundary set" in i]
    assert len(reported) == len(newer)
    with_point = newer[newer["_m1650_loc_gps_coords_latitude"].str.match(r"^-?\d")]
    outside = [rid for rid in with_point["response_id"] if placed[rid] is None]
    assert all(placed[rid] in known for rid in with_point["response_id"] if rid not in outside)
    assert len(outside) <= 3  # a point in no traditional authority of 2018 (the lake shore): UNASSIGNED, reported
    assert len([i for i in reported if "no unit holds its point: UNASSIGNED" in i]) >= len(outside)
    assert any("placed by its point in MW3" in i for i in reported)
    # the assessment date typed as 2025 is reported and not taken as the reporting date
    assert mwi.reporting_date.year == 2024 or mwi.reporting_date.isoformat() < "2025-02-01"
    assert any("far from the others" in i for i in mwi.issues)


def test_datasets_catalogue_json_and_html(assessments, assessments_client):
    _, res = assessments
    r = assessments_client.get("/datasets")
    assert r.status_code == 200
    items = {d["id"]: d for d in r.json()["datasets"]}
    nga = items[res["NGA"].dataset_id]
    assert nga["country"] == "NGA" and nga["observations"] == 309 and nga["round_label"] == "R39"
    labels = {i["id"]: (i["label_en"], i["label_ar"]) for i in nga["indicators"]}
    assert labels["individuals"] == ("Individuals", "الأفراد") and labels["observations"][0] == "Sites"
    mwi = items[res["MWI"].dataset_id]
    assert ("IDPs (individuals)", "النازحون (أفراد)") in [(i["label_en"], i["label_ar"]) for i in mwi["indicators"]]
    one = assessments_client.get(f"/datasets/{res['MWI'].dataset_id}").json()
    cat = {c["id"]: c for c in one["catalogue"]}
    # free text "other" answers are not public: not in the public catalogue
    assert not [c for c in cat if c.endswith("_other")]
    assert cat["m0310_loc_num_idp_ind"]["aggregation"] == "sum" and one["levels"] == [1, 2, 3]
    html = assessments_client.get("/datasets?f=html")
    assert html.status_code == 200 and "text/html" in html.headers["content-type"] and "NGA" in html.text
    assert assessments_client.get("/datasets/999").status_code == 404


def test_site_map_of_nigerias_round(assessments, assessments_client):
    import io

    from PIL import Image

    _, res = assessments
    r = assessments_client.get(f"/datasets/{res['NGA'].dataset_id}/map.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert img.size == (1200, 1050)
    # the proportional symbols are drawn: many pixels of the symbol blue blend
    blue = sum(1 for p in img.getdata() if p[2] > 150 and p[0] < 150)
    assert blue > 2000
    assert assessments_client.get(f"/datasets/{res['NGA'].dataset_id}/map.png?indicator=nope").status_code == 404


def test_dataset_choropleth_is_in_openapi_beside_the_master_lists(assessments, assessments_client):
    """One path, two routes (``?dataset=`` and without): one operation with both parameter sets,
    the dataset's statuses and its GeoJSON media type."""
    op = assessments_client.get("/openapi.json").json()["paths"]["/choropleth/{level}.geojson"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert {"dataset", "indicator", "zoom", "population", "round", "country"} <= set(params)
    assert params["dataset"]["required"] is False and params["dataset"]["schema"]["type"] == "integer"
    assert "indicator dataset" in op["description"] and "Figures of a round" in op["description"]
    assert "application/geo+json" in op["responses"]["200"]["content"]
    assert {"304", "400", "404"} <= set(op["responses"])
    # and the route answers what the document says
    ds = assessments[1]["NGA"].dataset_id
    r = assessments_client.get(f"/choropleth/1.geojson?dataset={ds}&indicator=individuals")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert assessments_client.get(f"/choropleth/1.geojson?dataset={ds}&indicator=nope").status_code == 404
    assert assessments_client.get("/choropleth/1.geojson?dataset=x").status_code == 400


def test_dataset_exports_through_the_registry(assessments, assessments_client, tmp_path):
    """/exports lists the datasets' parts and /exports/dataset{ID}-sites.gpkg is the 309 sites,
    read back with GDAL; the per-state aggregates export as CSV."""
    import pyogrio

    ds = assessments[1]["NGA"].dataset_id
    listed = {r["dataset"] for r in assessments_client.get("/exports?f=json").json()["datasets"]}
    assert {f"dataset{ds}-sites", f"dataset{ds}-adm1"} <= listed
    r = assessments_client.get(f"/exports/dataset{ds}-sites.gpkg")
    assert r.status_code == 200, r.text
    path = tmp_path / "sites.gpkg"
    path.write_bytes(r.content)
    sites = pyogrio.read_dataframe(path)
    with assessments[0].connect() as conn:
        points = conn.execute(
            text("SELECT count(geom) FROM indicator_observation WHERE dataset_id = :d"), {"d": ds}
        ).scalar_one()
    assert len(sites) == 309 and int(sites.geometry.notna().sum()) == points > 300
    r = assessments_client.get(f"/exports/dataset{ds}-adm1.csv")
    assert r.status_code == 200 and "individuals" in r.text.splitlines()[0]
    assert assessments_client.get(f"/exports/dataset{ds}-sites.gpkg?country=MWI").status_code == 404
    assert assessments_client.get("/exports/dataset999999-sites.gpkg").status_code == 404


def test_dataset_points_as_tiles(assessments, assessments_client):
    """The registry's ``dataset-points`` layer: a z6 tile over Borno holds the dataset's sites in
    it with their individuals (decoded); a dataset nobody published is 404, none named 400."""
    import math

    import mapbox_vector_tile

    engine, res = assessments
    ds = res["NGA"].dataset_id
    lon, lat, z = 13.15, 11.85, 6  # Maiduguri
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    with engine.connect() as conn:
        want = dict(
            conn.execute(
                text(
                    "SELECT obs_id, (\"values\" ->> 'individuals')::float8 FROM indicator_observation "
                    "WHERE dataset_id = :d AND ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y))"
                ),
                {"d": ds, "z": z, "x": x, "y": y},
            ).all()
        )
    r = assessments_client.get(f"/tiles/dataset-points/{z}/{x}/{y}.mvt?dataset={ds}&column=individuals")
    assert r.status_code == 200, r.text
    layer = mapbox_vector_tile.decode(r.content)["dataset-points"]
    got = {f["properties"]["obs_id"]: f["properties"].get("value") for f in layer["features"]}
    assert len(want) > 20 and {k: got[k] for k in want} == want  # (the buffer may add a few beyond the edge)
    assert assessments_client.get(f"/tiles/dataset-points/{z}/{x}/{y}.mvt?dataset=999999").status_code == 404
    assert assessments_client.get(f"/tiles/dataset-points/{z}/{x}/{y}.mvt").status_code == 400
    bad = assessments_client.get(f"/tiles/dataset-points/{z}/{x}/{y}.mvt?dataset={ds}&column=nope")
    assert bad.status_code == 400 and "individuals" in bad.text
