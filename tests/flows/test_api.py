"""Flow Monitoring over HTTP: summaries, flow lines (GeoJSON, tiles), and the master lists'
origin flows as lines (round 120)."""

from __future__ import annotations

import mapbox_vector_tile
import pandas as pd


def test_summary_by_route_and_period(fl_client, fmp_files):
    df = pd.read_csv(fmp_files[1])
    r = fl_client.get("/flows/summary", params={"by": "route", "period": "year", "from": "2023-01", "to": "2023-02"})
    assert r.status_code == 200
    got = {x["key"]: x["n"] for x in r.json()["rows"]}
    sel = df[(df["t"] >= "2023-01-01") & (df["t"] <= "2023-02-28")]
    assert got == {k: int(v) for k, v in sel.groupby("route")["n"].sum().items()}
    assert fl_client.get("/flows/summary", params={"from": "2023-13"}).status_code == 400


def test_lines_widths_follow_the_counts(fl_client, fmp_files):
    df = pd.read_csv(fmp_files[1])
    fc = fl_client.get("/flows/lines", params={"from": "2023-02", "to": "2023-02"}).json()
    assert fc["from"] == "2023-02-01" and fc["to"] == "2023-02-28" and fc["synthetic"]
    feats = fc["features"]
    feb = df[(df["t"] >= "2023-02-01") & (df["t"] <= "2023-02-28")]
    want_in = feb.groupby(["fmp", "from"])["n"].sum()
    got_in = {
        (f["properties"]["fmp_id"], f["properties"]["from"]): f["properties"]["n"]
        for f in feats
        if f["properties"]["leg"] == "in"
    }
    assert got_in == {k: int(v) for k, v in want_in.items()}
    ns = [f["properties"]["n"] for f in feats]
    ws = [f["properties"]["width"] for f in feats]
    order = sorted(range(len(ns)), key=lambda i: ns[i])
    assert [ws[i] for i in order] == sorted(ws)  # wider where more people passed
    assert max(ws) == 12 and ws[ns.index(max(ns))] == 12
    # a point's geometry is the line's end (in) or start (out)
    pts = {p["fmp_id"]: (p["lon"], p["lat"]) for p in fl_client.get("/flows/points").json()["points"]}
    for f in feats[:20]:
        end = f["geometry"]["coordinates"][-1 if f["properties"]["leg"] == "in" else 0]
        assert abs(end[0] - pts[f["properties"]["fmp_id"]][0]) < 1e-4


def test_flow_line_tiles(fl_client):
    """Flow-line tiles are the registry's layer ``flows`` (the kind's own tile route is retired)."""
    r = fl_client.get("/tiles/flows/3/4/3.mvt", params={"from": "2023-02", "to": "2023-02"})
    assert r.status_code == 200
    layer = mapbox_vector_tile.decode(r.content)["flows"]
    assert layer["features"] and all(f["properties"]["n"] > 0 for f in layer["features"])
    again = fl_client.get("/tiles/flows/3/4/3.mvt", params={"from": "2023-02", "to": "2023-02"})
    assert again.headers["x-tile-cache"] == "hit" and again.content == r.content
    assert fl_client.get("/flows/tiles/3/4/3.mvt").status_code == 404


def test_master_list_flow_lines_of_round_120(figures_client):
    """The thickest line out of Ninewa goes to Duhok governorate, and to Sumail district at district level."""
    for level, want in ((1, "IQG09"), (2, None)):
        r = figures_client.get(f"/flows/origins/lines/{level}", params={"round": 120})
        assert r.status_code == 200, r.text
        fc = r.json()
        out = [
            f["properties"]
            for f in fc["features"]
            if f["properties"]["origin_adm1"] == "IQG15" and f["properties"]["leaves"]
        ]
        top = max(out, key=lambda p: p["families"])
        assert top["width"] == max(p["width"] for p in out)
        if level == 1:
            assert top["dest"] == want and fc["within"] > 0
        else:
            assert top["dest_name"] == "Sumail" and top["dest_adm1"] == "IQG09"
