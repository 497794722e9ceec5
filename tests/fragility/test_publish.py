"""The fragility datasets: exports read back with GDAL, the OGC collection."""

from __future__ import annotations

import csv
import io

import pyogrio


def test_gpkg_and_csv_exports(frag_client, default_run, tmp_path):
    geo = {
        f["properties"]["pcode"]: f["properties"]
        for f in frag_client.get("/fragility/3.geojson?round=120").json()["features"]
    }
    r = frag_client.get("/exports/fragility-adm3.gpkg?round=120&population=idp")
    assert r.status_code == 200, r.text
    path = tmp_path / "f.gpkg"
    path.write_bytes(r.content)
    df = pyogrio.read_dataframe(path)
    assert len(df) == 294 and df.geometry.notna().all()
    for row in df.itertuples():
        g = geo[row.pcode]
        assert row.fragility_class == g["class_key"], row.pcode
        assert (row.hotspot == 1) == g["hotspot"]
    assert df["name_ar"].str.contains("[\u0600-\u06ff]").any()
    c = frag_client.get("/exports/fragility-adm1.csv?round=120&population=idp")
    assert c.status_code == 200
    rows = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    header, tags = rows[0], rows[1]
    assert tags[header.index("fragility_class")] == "#indicator+fragility+class"
    assert len(rows) - 2 == 18


def test_ogc_collection(frag_client, default_run):
    cols = [c["id"] for c in frag_client.get("/ogc/collections?f=json").json()["collections"]]
    assert "idp-fragility-adm3" in cols  # issue 23: one time-enabled collection over the rounds
    assert "idp-r120-fragility-adm3" not in cols  # a round's own id answers, unlisted
    items = frag_client.get("/ogc/collections/idp-r120-fragility-adm3/items?f=json&limit=500").json()
    assert items["numberMatched"] == 294
    one = frag_client.get("/ogc/collections/idp-r120-fragility-adm3/items/IQG15Q05N01?f=json")
    assert one.status_code == 200, one.text
    assert one.json()["properties"]["pcode"] == "IQG15Q05N01"


def test_locations_carry_their_subdistricts_class(frag_client, default_run):
    from tests.tiles import BAGHDAD, decode, tile_at

    geo = {
        f["properties"]["pcode"]: f["properties"]["class_key"]
        for f in frag_client.get("/fragility/3.geojson?round=120").json()["features"]
    }
    for population in ("idp", "returnee"):
        feats = frag_client.get(f"/locations?round=120&population={population}&limit=500").json()["features"]
        assert len(feats) == 500
        for f in feats:
            p = f["properties"]
            assert p["fragility_class"] == geo.get(p["adm3"]), p  # None for the UNASSIGNED bucket
    c = frag_client.get("/exports/locations.csv?round=120&population=idp")
    rows = list(csv.DictReader(io.StringIO(c.content.decode("utf-8-sig"))))[1:]  # the HXL row first
    assert len(rows) > 2000
    assert all(r["fragility_class"] == (geo.get(r["adm3_pcode"]) or "") for r in rows)
    z, x, y = tile_at(*BAGHDAD, 8)
    t = decode(frag_client.get(f"/tiles/locations/{z}/{x}/{y}.mvt?round=120").content)["locations"]
    assert t and all(f["properties"].get("fragility_class") == geo.get(f["properties"]["adm3"]) for f in t)


def test_export_readme_carries_the_method_card(frag_client, default_run):
    import zipfile

    r = frag_client.get("/exports/fragility-adm3.gpkg.zip?round=120&population=idp")
    assert r.status_code == 200, r.text
    z = zipfile.ZipFile(io.BytesIO(r.content))
    readme = next(n for n in z.namelist() if n.lower().endswith(".txt"))
    text = z.read(readme).decode("utf-8")
    assert "# DTM displacement fragility (default)" in text and "## Uncertainty" in text and "## Disclaimer" in text
