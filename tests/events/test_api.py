"""Emergency Tracking over HTTP: figures, choropleth and tiles for a day or a range, the day's
locations, a unit's time series, the CSV export."""

from __future__ import annotations

import csv
import io

import mapbox_vector_tile
from sqlalchemy import text

from tests.events.conftest import CRISIS


def _days(ev_engine):
    with ev_engine.connect() as conn:
        return [d.isoformat() for d in conn.execute(text("SELECT DISTINCT day FROM event_row ORDER BY 1")).scalars()]


def test_crises_listed_as_synthetic(ev_client):
    body = ev_client.get("/events").json()
    (c,) = body["crises"]
    assert c["crisis_id"] == CRISIS and c["synthetic"] and c["days"] == 60


def test_figures_for_a_day_and_a_range(ev_client, ev_engine):
    days = _days(ev_engine)
    with ev_engine.connect() as conn:
        want = dict(
            conn.execute(
                text(
                    "SELECT adm2, sum(idp_ind) FROM event_row WHERE crisis_id = :c AND day BETWEEN :f AND :t GROUP BY 1"
                ),
                {"c": CRISIS, "f": days[10], "t": days[16]},
            ).all()
        )
        last = dict(
            conn.execute(
                text("SELECT adm2, sum(idp_ind) FROM event_row WHERE crisis_id = :c AND day = :t GROUP BY 1"),
                {"c": CRISIS, "t": days[16]},
            ).all()
        )
    r = ev_client.get(f"/events/{CRISIS}/figures", params={"level": 2, "from": days[10], "to": days[16]})
    assert r.status_code == 200
    units = {u["pcode"]: u for u in r.json()["units"]}
    for pcode, n in want.items():
        assert units[pcode]["new_idp_ind"] == n
        assert units[pcode]["rolling7_idp_ind"] == n  # the range is 7 days
        assert units[pcode]["day_idp_ind"] == last.get(pcode, 0)
    one = ev_client.get(f"/events/{CRISIS}/figures", params={"level": 2, "date": days[16]}).json()
    assert {u["pcode"]: u["new_idp_ind"] for u in one["units"] if u["new_idp_ind"]} == {
        k: v for k, v in last.items() if v
    }


def test_choropleth_of_a_range_and_unassigned_reported(ev_client, ev_engine):
    days = _days(ev_engine)
    r = ev_client.get(f"/events/{CRISIS}/choropleth/1", params={"from": days[0], "to": days[-1], "zoom": 6})
    assert r.status_code == 200, r.text
    fc = r.json()
    assert fc["from"] == days[0] and fc["to"] == days[-1] and fc["crisis"]["synthetic"]
    assert len(fc["features"]) == 18
    total = sum(f["properties"]["cumulative_idp_ind"] for f in fc["features"]) + fc["unassigned"]["cumulative_idp_ind"]
    with ev_engine.connect() as conn:
        assert total == conn.execute(text("SELECT sum(idp_ind) FROM event_row")).scalar_one()
    assert ev_client.get(f"/events/{CRISIS}/choropleth/1", params={"date": "2016-13-01"}).status_code == 400
    assert ev_client.get("/events/NOPE/choropleth/1").status_code == 404


def test_locations_of_the_day_series_and_tiles(ev_client, ev_engine):
    days = _days(ev_engine)
    fc = ev_client.get(f"/events/{CRISIS}/locations", params={"date": days[5]}).json()
    with ev_engine.connect() as conn:
        n_points, n_none = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE geom IS NOT NULL), count(*) FILTER (WHERE geom IS NULL) "
                "FROM event_row WHERE day = :d"
            ),
            {"d": days[5]},
        ).one()
    assert len(fc["features"]) == n_points and fc["without_point"] == n_none
    s = ev_client.get(f"/events/{CRISIS}/series/IQG15").json()["days"]
    assert len(s) == 60
    assert s[-1]["cumulative_idp_ind"] == sum(d["idp_ind"] for d in s)
    assert s[10]["rolling7_idp_ind"] == sum(d["idp_ind"] for d in s[4:11])
    # the tile of Ninewa's area at z6 has Ninewa's figures for the whole period
    # (the registry's layer: the kind's own tile route is retired)
    t = ev_client.get(
        "/tiles/events-governorates/6/39/25.mvt", params={"crisis": CRISIS, "from": days[0], "to": days[-1]}
    )
    assert t.status_code == 200
    layer = mapbox_vector_tile.decode(t.content)["events-governorates"]
    feats = {f["properties"]["pcode"]: f["properties"] for f in layer["features"]}
    assert feats["IQG15"]["cumulative_idp_ind"] == s[-1]["cumulative_idp_ind"]


def test_csv_export_is_hxl_tagged(ev_client, ev_engine):
    days = _days(ev_engine)
    r = ev_client.get(f"/events/{CRISIS}/export.csv", params={"level": 1, "to": days[-1]})
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[1][0] == "#adm1+code"
    ninewa = dict(zip(rows[0], next(x for x in rows if x[0] == "IQG15")))
    series = ev_client.get(f"/events/{CRISIS}/series/IQG15").json()["days"]
    assert int(ninewa["cumulative_idp_ind"]) == series[-1]["cumulative_idp_ind"]


def test_ogc_collection_with_datetime_and_export(ev_client, ev_engine):
    """The daily figures per district are an OGC collection whose datetime filters the days,
    and an export (GeoPackage read back with GDAL)."""
    days = _days(ev_engine)
    col = ev_client.get("/ogc/collections/events-adm2", params={"f": "json"})
    assert col.status_code == 200, col.text
    assert col.json()["extent"]["temporal"]["interval"][0][0].startswith(days[0])
    r = ev_client.get(
        "/ogc/collections/events-adm2/items",
        params={"datetime": f"{days[3]}/{days[4]}", "crisis": CRISIS, "limit": 1000, "f": "json"},
    )
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    assert feats and {f["properties"]["day"] for f in feats} == {days[3], days[4]}
    with ev_engine.connect() as conn:
        want = conn.execute(
            text("SELECT sum(idp_ind) FROM event_row WHERE day BETWEEN :a AND :b AND adm2 <> 'UNASSIGNED'"),
            {"a": days[3], "b": days[4]},
        ).scalar_one()
    assert sum(f["properties"]["idp_ind"] for f in feats) == want
    import subprocess

    gpkg = ev_client.get("/exports/events-locations.gpkg", params={"crisis": CRISIS})
    assert gpkg.status_code == 200, gpkg.text[:300]
    path = ev_engine.url.database + ".gpkg"
    import pathlib
    import tempfile

    p = pathlib.Path(tempfile.mkdtemp()) / path
    p.write_bytes(gpkg.content)
    info = subprocess.run(["ogrinfo", "-so", "-al", str(p)], capture_output=True, text=True, check=True).stdout
    with ev_engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM event_row WHERE geom IS NOT NULL")).scalar_one()
    assert f"Feature Count: {n}" in info
