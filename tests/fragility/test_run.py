"""The default method over the real round 120: stored results, staleness, the overlay."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from service.fragility import store
from service.fragility.run import ensure_run
from tests.conftest import SHARED


def test_default_run_has_every_subdistrict(frag_engine, default_run):
    run, _ = ensure_run(frag_engine, shared_dir=SHARED, round_number=120)  # (another test may have recomputed it)
    with frag_engine.connect() as conn:
        rows = store.results(conn, run["id"], 3)
        n_units = conn.execute(text("SELECT count(*) FROM admin_unit WHERE level = 3")).scalar_one()
    assert len(rows) == n_units == 294
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(1 <= r["class"] <= 5 and 0 <= r["index"] <= 100 for r in ok)
    assert all(r["class"] is None and r["index"] is None for r in rows if r["status"] != "ok")
    assert len(ok) > 150, len(ok)


def test_custom_method_with_table_and_raster(frag_engine, tmp_path, default_run):
    """A method of one's own: population from the real raster (coverage-weighted) and an
    indicator table by P-code; units the raster does not cover whole are 'insufficient data'."""
    import yaml

    from service.fragility.method import load_method

    with frag_engine.connect() as conn:
        codes = [
            r[0] for r in conn.execute(text("SELECT pcode FROM admin_unit WHERE level = 3 ORDER BY pcode LIMIT 5"))
        ]
    (tmp_path / "sev.csv").write_text(
        "pcode,severity\n" + "".join(f"{c},{i}\n" for i, c in enumerate(codes)) + "IQG99Q99N99,3\n", encoding="utf-8"
    )
    m, _ = load_method(None)
    data = m.model_dump(mode="json")
    data.update(id="custom", version="0.1")
    data["tables"] = [{"id": "sev", "path": "sev.csv", "key": "pcode", "key_column": "pcode"}]
    data["indicators"].append(
        {
            "id": "severity",
            "label": "Severity",
            "source": "table:sev",
            "column": "severity",
            "direction": "higher_is_worse",
            "goalposts": {"min": 0, "max": 4},
            "dimension": "living_conditions",
        }
    )
    data["population"] = {
        "source": "raster",
        "kind": "density_per_km2",
        "path": "shared:rasters/worldpop_irq_pd_2020_1km_sulaymaniyah_subset.tif",
    }
    with open(tmp_path / "custom.yaml", "w") as fh:
        yaml.safe_dump(data, fh, allow_unicode=True)
    with frag_engine.connect() as conn:
        published = store.find_run(conn, "IRQ", 120, default_run["method_id"], default_run["method_version"])["id"]
    with pytest.raises(Exception, match="covers none of the 294 units whole"):
        ensure_run(frag_engine, shared_dir=SHARED, round_number=120, method_path=tmp_path / "custom.yaml")
    with frag_engine.connect() as conn:  # nothing half-computed stored
        assert conn.execute(text("SELECT count(*) FROM fragility_run WHERE method_id = 'custom'")).scalar_one() == 0
        assert (
            store.find_run(conn, "IRQ", 120, default_run["method_id"], default_run["method_version"])["id"] == published
        )
    # the population table instead: the table's unknown P-code is reported, the rest kept
    data["population"] = m.model_dump(mode="json")["population"]
    with open(tmp_path / "custom.yaml", "w") as fh:
        yaml.safe_dump(data, fh, allow_unicode=True)
    run, computed = ensure_run(frag_engine, shared_dir=SHARED, round_number=120, method_path=tmp_path / "custom.yaml")
    assert computed and run["method_id"] == "custom"
    issues = [i for i in run["inputs"]["sources"]["issues"] if i["file"].endswith("sev.csv")]
    assert [(i["row"], i["field"]) for i in issues] == [(7, "pcode")]
    with frag_engine.connect() as conn:
        rows = {r["pcode"]: r for r in store.results(conn, run["id"], 3)}
    assert rows[codes[2]]["indicators"]["severity"] == {"value": 2.0, "score": 50.0}
    assert rows[codes[0]]["indicators"]["severity"] == {"value": 0.0, "score": 0.0}
    # a non-numeric table value: an error naming the row and field, the stored run kept
    (tmp_path / "sev.csv").write_text(f"pcode,severity\n{codes[0]},1\n{codes[1]},severe\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"sev.csv: row 3, field 'severity': 'severe' is not a number"):
        ensure_run(frag_engine, shared_dir=SHARED, round_number=120, method_path=tmp_path / "custom.yaml")
    with frag_engine.connect() as conn:
        assert store.find_run(conn, "IRQ", 120, "custom", "0.1")["id"] == run["id"]


def test_reimport_marks_stale_and_recomputes_only_that_round(frag_engine, default_run):
    from service.fragility.run import refresh_stale
    from service.ingest.rounds import import_masterlist
    from tests.conftest import MASTERLISTS

    current, _ = ensure_run(frag_engine, shared_dir=SHARED, round_number=120)
    again, computed = ensure_run(frag_engine, shared_dir=SHARED, round_number=120)
    assert not computed and again["id"] == current["id"]
    cols = "level, pcode, status, index, class, completeness, dimensions, rank_p5, rank_p50, rank_p95, p_high, hotspot"

    def digest(run_id):
        with frag_engine.connect() as conn:
            rows = conn.execute(
                text(f"SELECT {cols} FROM fragility_result WHERE run_id = :r ORDER BY level, pcode"), {"r": run_id}
            ).all()
        return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()

    before = digest(current["id"])
    assert refresh_stale(frag_engine, SHARED, {default_run["method_id"]: None}) == []
    import_masterlist(
        frag_engine, MASTERLISTS / "Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="returnee"
    )
    changed = refresh_stale(frag_engine, SHARED, {default_run["method_id"]: None})
    assert [r["id"] for r in changed] == [current["id"]]
    with frag_engine.connect() as conn:
        assert store.latest_run(conn, current["id"])["stale"] is True
    fresh, computed = ensure_run(frag_engine, shared_dir=SHARED, round_number=120)
    assert computed and fresh["id"] != current["id"] and not fresh["stale"]
    assert fresh["fingerprint"] != current["fingerprint"]
    # the same figures: byte-identical results (determinism through the database)
    assert digest(fresh["id"]) == before and before[0] == 294 + 101 + 18


def test_numbers_for_the_docs(default_run):
    """The figures docs/fragility.md quotes for round 120 (kept true by this test)."""
    s = default_run["summary"]
    pop = default_run["inputs"]["sources"]["population"]
    assert (pop["rows"], pop["rows_matched"], len(pop["matched_by_spelling"]), pop["units_with_population"]) == (
        393,
        244,
        29,
        244,
    ), pop
    assert s["units_ok"] == 244 and s["hotspots"] == 15, s
    assert s["class_counts"] == {
        "very_low": 47,
        "low": 127,
        "medium": 55,
        "high": 14,
        "very_high": 1,
        "insufficient_data": 50,
    }
    assert s["median_rank_interval"] == 42


def test_an_older_round_changes_the_change_indicator(frag_engine):
    """Importing the round before (Dec 2017) changes round 120's changes: its run is recomputed,
    and a sub-district whose IDPs all left has a change of -1 (-100 %)."""
    from service.ingest.rounds import import_masterlist
    from tests.conftest import MASTERLISTS

    before, _ = ensure_run(frag_engine, shared_dir=SHARED, round_number=120)
    assert before["inputs"]["previous_idp_round"] is None
    import_masterlist(frag_engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv", population="idp")
    after, computed = ensure_run(frag_engine, shared_dir=SHARED, round_number=120)
    assert computed and after["inputs"]["previous_idp_round"] is not None
    with frag_engine.connect() as conn:
        rows = {r["pcode"]: r for r in store.results(conn, after["id"], 3)}
        gone = (
            conn.execute(
                text(
                    "SELECT p.pcode FROM unit_figure p JOIN round r ON r.id = p.round_id AND r.round_number = 86 "
                    "WHERE p.level = 3 AND p.individuals > 0 AND p.pcode <> 'UNASSIGNED' AND NOT EXISTS ("
                    "  SELECT 1 FROM unit_figure n JOIN round q ON q.id = n.round_id AND q.round_number = 120 "
                    "  AND q.population = 'idp' WHERE n.level = 3 AND n.pcode = p.pcode)"
                )
            )
            .scalars()
            .all()
        )
        kept = conn.execute(
            text(
                "SELECT n.pcode, n.change_share FROM unit_figure n "
                "JOIN round q ON q.id = n.round_id AND q.round_number = 120 "
                "AND q.population = 'idp' WHERE n.level = 3 AND n.change_share IS NOT NULL AND n.pcode <> 'UNASSIGNED'"
            )
        ).all()
    assert gone and kept
    for code in gone:
        assert rows[code]["indicators"]["idp_change_share"] == {"value": -1.0, "score": 0.0}
    for code, share in kept:
        assert rows[code]["indicators"]["idp_change_share"]["value"] == pytest.approx(share, abs=1e-6)
