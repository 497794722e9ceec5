"""Flow lines as layers of the tile registry: ``flows`` / ``flow-routes`` (Flow Monitoring, by
period) and ``origin-flows-*`` (the master lists' origin -> place of displacement of a round);
tiles decode to the GeoJSON's lines, counts and widths."""

from __future__ import annotations

import morecantile

from tests.tiles import IRAQ_BOUNDS, decode

TMS = morecantile.tms.get("WebMercatorQuad")


def _all_tiles(client, layer, z, bounds, params):
    feats = []
    for t in TMS.tiles(*bounds, [z]):
        r = client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}.mvt", params=params)
        assert r.status_code in (200, 204), r.text
        if r.status_code == 200:
            feats += decode(r.content).get(layer, [])
    return feats


def test_flow_layers_match_the_geojson_lines(fl_client):
    params = {"from": "2023-02", "to": "2023-02"}
    fc = fl_client.get("/flows/lines", params=params).json()
    want = {(f["properties"]["fmp_id"], f["properties"]["from"], f["properties"]["to"]): f for f in fc["features"]}
    xs = [c[0] for f in fc["features"] for c in f["geometry"]["coordinates"]]
    ys = [c[1] for f in fc["features"] for c in f["geometry"]["coordinates"]]
    got = {}
    for f in _all_tiles(fl_client, "flows", 2, (min(xs), min(ys), max(xs), max(ys)), params):
        p = f["properties"]
        got[(p["fmp_id"], p["from"], p["to"])] = p
    assert set(got) == set(want)
    for key, p in got.items():
        w = want[key]["properties"]
        assert p["n"] == w["n"] and abs(p["width"] - w["width"]) < 0.011, key
    top = max(got.values(), key=lambda p: p["n"])
    assert top["width"] == 12.0
    # a range of days (the day rows), and routes: the same totals per point as the GeoJSON's
    days = {"from": "2023-02-03", "to": "2023-02-17"}
    legs = fl_client.get("/flows/lines", params=days).json()["features"]
    tiles = {  # a line crossing several tiles is in each of them: once per line
        (f["properties"]["fmp_id"], f["properties"]["from"], f["properties"]["to"]): f["properties"]["n"]
        for f in _all_tiles(fl_client, "flows", 2, (min(xs), min(ys), max(xs), max(ys)), days)
    }
    assert sum(tiles.values()) == sum(f["properties"]["n"] for f in legs) > 0
    routes = _all_tiles(fl_client, "flow-routes", 2, (min(xs), min(ys), max(xs), max(ys)), params)
    assert routes and {f["properties"]["leg"] for f in routes} == {"route"}
    # cross-border: no country needed; a bad point or date is a 400
    assert fl_client.get("/tiles/flows/2/2/1.mvt", params={"fmp": "NOPE"}).status_code == 400
    assert fl_client.get("/tiles/flows/2/2/1.mvt", params={"from": "2023-14"}).status_code == 400
    tj = fl_client.get("/tiles/flows.json", params=params).json()
    assert "from=2023-02" in tj["tiles"][0] and set(tj["vector_layers"][0]["parameters"]) == {"from", "to", "fmp"}


def test_origin_flow_layers_of_round_120(figures_client):
    """The thickest line out of Ninewa goes to Duhok governorate, and to Sumail district, in tiles as in GeoJSON."""
    for level, layer in ((1, "origin-flows-governorates"), (2, "origin-flows-districts")):
        fc = figures_client.get(f"/flows/origins/lines/{level}", params={"round": 120}).json()
        want = {(f["properties"]["origin_adm1"], f["properties"]["dest"]): f["properties"] for f in fc["features"]}
        got = {}
        for f in _all_tiles(figures_client, layer, 4, IRAQ_BOUNDS, {"round": 120}):
            p = f["properties"]
            got[(p["origin_adm1"], p["dest"])] = p
        assert set(got) == set(want), level
        for key, p in got.items():
            assert p["families"] == want[key]["families"] and abs(p["width"] - want[key]["width"]) < 0.011
        out = [p for p in got.values() if p["origin_adm1"] == "IQG15" and p["leaves"]]
        top = max(out, key=lambda p: p["families"])
        assert top["dest_adm1"] == "IQG09" and top["width"] == max(p["width"] for p in out)
        if level == 2:
            assert top["dest_name"] == "Sumail"
    both = figures_client.get("/tiles/governorates,origin-flows-governorates/4/9/6.mvt", params={"round": 120})
    assert set(decode(both.content)) == {"governorates", "origin-flows-governorates"}
