"""The monthly flow map: the widths drawn in the SVG follow the counts of the month."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from service.flows import maps as flow_maps


def test_flow_map_widths_follow_the_counts(fl_engine, fl_client, tmp_path):
    res = flow_maps.render_month(fl_engine, dt.date(2023, 2, 1), tmp_path, dpi=50)
    assert set(res.paths) == {"png", "svg", "pdf"}
    # the widths as drawn, read back from the SVG
    drawn = {}
    for g in ET.parse(res.paths["svg"]).getroot().iter("{http://www.w3.org/2000/svg}g"):
        gid = g.get("id") or ""
        if gid.startswith("flow:"):
            path = g.find("{http://www.w3.org/2000/svg}path")
            drawn[gid] = float(re.search(r"stroke-width:\s*([0-9.]+)", path.get("style")).group(1))
    # the counts, from the API
    fc = fl_client.get("/flows/lines", params={"from": "2023-02", "to": "2023-02"}).json()
    counts = {
        f"flow:{f['properties']['fmp_id']}:{f['properties']['leg']}:"
        f"{f['properties']['from'] if f['properties']['leg'] == 'in' else f['properties']['to']}": f["properties"]["n"]
        for f in fc["features"]
    }
    assert set(drawn) == set(counts) and len(drawn) > 50
    top = max(counts.values())
    for gid, n in counts.items():
        assert abs(drawn[gid] - (1 + 11 * n / top)) < 0.02, gid  # linear: 1 pt for none, 12 pt for the largest
    big = max(counts, key=counts.get)
    small = min(counts, key=counts.get)
    assert drawn[big] == 12 and drawn[small] < drawn[big] / 2


def test_flow_map_of_an_empty_month_is_refused(fl_engine, tmp_path):
    import pytest

    with pytest.raises(flow_maps.FlowMapError, match="no flow monitoring counts"):
        flow_maps.render_month(fl_engine, dt.date(2020, 1, 1), tmp_path)
