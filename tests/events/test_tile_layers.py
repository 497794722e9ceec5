"""The crisis's figures as layers of the tile registry: /tiles lists them, TileJSON carries their
parameters, tiles decode to the figures of /events/{crisis}/figures, composites with the admin
layers work, and the cache key holds the period."""

from __future__ import annotations

from tests.events.conftest import CRISIS
from tests.events.test_api import _days
from tests.tiles import decode


def _figures(client, level, **params):
    r = client.get(f"/events/{CRISIS}/figures", params={"level": level, **params})
    assert r.status_code == 200, r.text
    return {u["pcode"]: u for u in r.json()["units"]}


def test_tiles_index_and_tilejson_list_the_event_layers(ev_client):
    layers = {x["id"]: x for x in ev_client.get("/tiles").json()["layers"]}
    for name in ("events-governorates", "events-districts", "events-subdistricts", "flows", "origin-flows-districts"):
        assert name in layers, sorted(layers)
    assert set(layers["events-districts"]["parameters"]) == {"crisis", "date", "from", "to"}
    tj = ev_client.get("/tiles/events-governorates.json", params={"crisis": CRISIS, "date": _days_first(ev_client)})
    assert tj.status_code == 200, tj.text
    body = tj.json()
    assert body["vector_layers"][0]["id"] == "events-governorates"
    assert f"crisis={CRISIS}" in body["tiles"][0] and "date=" in body["tiles"][0]


def _days_first(client):
    return client.get("/events").json()["crises"][0]["onset"]


def test_event_tiles_carry_the_figures_of_the_day_and_the_range(ev_client, ev_engine):
    days = _days(ev_engine)
    # Ninewa's area at z6 (as the kind's own tile route); a day, then the whole range
    for params in ({"date": days[20]}, {"from": days[0], "to": days[-1]}, {"from": days[10], "to": days[30]}):
        r = ev_client.get("/tiles/events-governorates/6/39/25.mvt", params={"crisis": CRISIS, **params})
        assert r.status_code == 200, r.text
        got = {f["properties"]["pcode"]: f["properties"] for f in decode(r.content)["events-governorates"]}
        want = _figures(ev_client, 1, **params)
        assert "IQG15" in got
        for pcode, p in got.items():
            for k in ("new_idp_ind", "day_idp_ind", "rolling7_idp_ind", "cumulative_idp_ind", "cumulative_ret_ind"):
                assert p[k] == want.get(pcode, {}).get(k, 0), (params, pcode, k)  # no row: 0
    # no crisis named: the only one; no date: its last day
    r = ev_client.get("/tiles/events-governorates/6/39/25.mvt")
    last = {f["properties"]["pcode"]: f["properties"] for f in decode(r.content)["events-governorates"]}
    assert last["IQG15"]["cumulative_idp_ind"] == _figures(ev_client, 1)["IQG15"]["cumulative_idp_ind"]
    assert last["IQG15"]["cumulative_idp_ind"] > got["IQG15"]["cumulative_idp_ind"]


def test_event_tiles_in_a_composite_and_bad_parameters(ev_client, ev_engine):
    days = _days(ev_engine)
    r = ev_client.get("/tiles/governorates,events-districts/6/39/25.mvt", params={"crisis": CRISIS, "date": days[-1]})
    assert r.status_code == 200, r.text
    layers = decode(r.content)
    assert layers["governorates"] and layers["events-districts"]
    want = _figures(ev_client, 2, date=days[-1])
    for f in layers["events-districts"]:
        p = f["properties"]
        assert p["day_idp_ind"] == want.get(p["pcode"], {}).get("day_idp_ind", 0)
    assert ev_client.get("/tiles/events-districts/6/39/25.mvt", params={"crisis": "NOPE"}).status_code == 404
    bad = ev_client.get("/tiles/events-districts/6/39/25.mvt", params={"date": "2016-13-01"})
    assert bad.status_code == 400 and "date" in bad.json()["detail"]
    rev = ev_client.get("/tiles/events-districts/6/39/25.mvt", params={"from": days[5], "to": days[1]})
    assert rev.status_code == 400
    assert ev_client.get("/tiles/events-districts/6/39/25.mvt", params={"crisis": "x" * 101}).status_code == 400


def test_openapi_documents_the_layers_own_parameters(ev_client):
    """``/tiles/{layers}/...`` and its TileJSON document every parameter a registry layer reads,
    naming the layers that read it, as the layers declare them; an undeclared one is not there."""
    from tiles.layers import LAYERS

    doc = ev_client.get("/openapi.json").json()
    declared = {name for layer in LAYERS.values() for name in layer.params}
    assert {"crisis", "date", "from", "to", "fmp"} <= declared
    for path in ("/tiles/{layers}/{z}/{x}/{y}.mvt", "/tiles/{layers}.json"):
        params = {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}
        assert declared <= set(params), (path, declared - set(params))
        for name in declared:
            readers = [layer.id for layer in LAYERS.values() if name in layer.params]
            assert all(r in params[name]["description"] for r in readers), (name, readers)
            assert params[name]["in"] == "query" and not params[name]["required"]
        assert "events-districts" in params["crisis"]["description"]
        assert "flows" in params["fmp"]["description"] and "events-districts" not in params["fmp"]["description"]
        # days for the events layers, months too for the flows layers: one pattern; one day: a date
        assert params["from"]["schema"]["pattern"] == "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"
        assert params["date"]["schema"]["format"] == "date"
    layers = next(
        p for p in doc["paths"]["/tiles/{layers}/{z}/{x}/{y}.mvt"]["get"]["parameters"] if p["name"] == "layers"
    )
    assert all(layer in layers["description"] for layer in LAYERS), layers["description"]
    # the kinds' earlier tile routes are retired: the registry's layers are the one way in
    assert not [p for p in doc["paths"] if p.startswith(("/events/{crisis_id}/tiles", "/flows/tiles"))]
