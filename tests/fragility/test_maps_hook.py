"""The static maps and the package take the real fragility layer through its map hook in the
layer registry (service.core.registry, Kind.map_hook)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from service.core.registry import registry
from service.core.rounds import find_round
from service.fragility import store
from service.maps import render
from service.maps.data import MapSpec, load_map
from styles.fragility import legend


def test_fragility_map_overlay_and_card(frag_engine, default_run, tmp_path):
    layer = registry().map_hooks().get("fragility")
    assert layer is not None and layer.__name__ == "service.fragility"
    with frag_engine.connect() as conn:
        rnd = find_round(conn, round_number=120, population="idp")
        cls, values = layer.map_values(conn, round_id=rnd["id"], level=3, population="idp")
        stored = dict(
            conn.execute(
                text("SELECT pcode, class FROM fragility_result WHERE run_id = :r AND level = 3 AND class IS NOT NULL"),
                {
                    "r": conn.execute(
                        text(f"SELECT {store.run_of_round_sql('CAST(:i AS int)')}"), {"i": rnd["id"]}
                    ).scalar()
                },
            ).all()
        )
        m = default_run["method"]
        leg = [c for c in legend(m["classes"]["thresholds"], m["classes"]["labels"])["classes"] if c["class"]]
        # the map's classes are the stored ones, in the legend's colours and labels
        assert values == stored and len(values) > 200
        assert cls.colors == [c["color"] for c in leg]
        assert [lab.split(" (")[0] for lab in cls.labels] == [c["label"] for c in leg]
        assert all(cls.class_of(v) == v - 1 for v in values.values())
        overlay = layer.overlay_table(conn, round_id=rnd["id"])
        national = [r for r in overlay if r["national"]]
        assert sum(r["idps"] for r in national) == 1_243_278  # the round's national total
        assert "Method `dtm-atlas-default`" in layer.method_card(conn, round_id=rnd["id"])
        ret = find_round(conn, round_number=120, population="returnee")
        assert layer.overlay_table(conn, round_id=ret["id"]) == []  # written once, with the IDP round
        data = load_map(conn, MapSpec(120, "idp", 3, indicator="fragility"), created=dt.date(2026, 12, 2))
    paths = render.render(data, tmp_path, ("png",), dpi=40)
    assert paths["png"].stat().st_size > 10_000
