"""The ``fragility`` tile layer carries the stored classes (the GeoJSON's)."""

from __future__ import annotations

from tests.tiles import IRAQ_BOUNDS, TMS, by_pcode, decode


def test_fragility_tiles_match_geojson(frag_client, default_run):
    geo = {
        f["properties"]["pcode"]: f["properties"]
        for f in frag_client.get("/fragility/3.geojson?round=120").json()["features"]
    }
    tiles: dict[str, dict] = {}
    for t in TMS.tiles(*IRAQ_BOUNDS, [5]):
        r = frag_client.get(f"/tiles/fragility/5/{t.x}/{t.y}.mvt?round=120")
        assert r.status_code in (200, 204), r.text
        if r.status_code == 200:
            tiles.update(by_pcode(decode(r.content).get("fragility", [])))
    assert set(tiles) == set(geo)
    for pcode, p in tiles.items():
        g = geo[pcode]
        assert p["class_key"] == g["class_key"] and p.get("class") == g["class"], pcode
        assert p["status"] == g["status"] and p["hotspot"] == g["hotspot"]
        if g["index"] is not None:
            assert abs(p["index"] - g["index"]) < 1e-9
    assert {p["class_key"] for p in tiles.values()} >= {"low", "medium", "insufficient_data"}
    tj = frag_client.get("/tiles/fragility.json?round=120").json()
    assert any(v["id"] == "fragility" for v in tj["vector_layers"])
