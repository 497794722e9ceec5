"""A real client: OWSLib's OGC API - Features client against a live server (issue 23)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.publish import live_url  # noqa: F401  (fixture)

features_mod = pytest.importorskip("owslib.ogcapi.features", reason="OWSLib (test dependency owslib) not installed")


def test_owslib_lists_filters_sorts_and_reads(live_url, figures_engine):  # noqa: F811
    w = features_mod.Features(f"{live_url}/ogc")
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in w.conformance()["conformsTo"]
    ids = [c["id"] for c in w.collections()["collections"]]
    assert "idp-adm2" in ids and len(ids) <= 100
    q = w.collection_queryables("idp-adm2")
    assert q["properties"]["individuals"]["type"] == "integer"

    with figures_engine.connect() as c:
        want = c.execute(
            text(
                "SELECT count(*) FROM unit_figure f JOIN round r ON r.id = f.round_id WHERE r.population = 'idp' "
                "AND r.round_number = 120 AND f.level = 2 AND f.pcode <> 'UNASSIGNED' AND f.individuals > 10000"
            )
        ).scalar_one()
    got = w.collection_items(
        "idp-adm2", filter="individuals > 10000", round="120", limit=500, sortby=("individuals", "desc")
    )
    values = [f["properties"]["individuals"] for f in got["features"]]
    assert got["numberMatched"] == len(values) == want > 0
    assert values == sorted(values, reverse=True) and min(values) > 10000
    tree = {
        "op": "and",
        "args": [
            {"op": ">", "args": [{"property": "individuals"}, 10000]},
            {"op": "=", "args": [{"property": "round_number"}, 120]},
        ],
    }
    as_json = w.collection_items("idp-adm2", filter=json.dumps(tree), **{"filter-lang": "cql2-json"}, limit=1)
    assert as_json["numberMatched"] == want
    one = w.collection_item("idp-adm2", got["features"][0]["id"])
    assert one["properties"]["individuals"] == values[0]
    # a time interval as OWSLib sends it
    older = w.collection_items("idp-adm2", datetime_="2017-01-01/2018-01-01", limit=1)
    assert older["features"][0]["properties"]["round_number"] == 86
