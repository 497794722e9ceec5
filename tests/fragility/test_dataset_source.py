"""A fragility method reads any indicator of any imported dataset (``source:
dataset:<id>:<indicator>``) through the registry's unit source (the fragility package does not
import the indicator datasets' kind): the values are the dataset's aggregates per sub-district,
the run records the dataset, and what cannot be used is refused with a message saying why."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import text

from service.fragility import store
from service.fragility.method import MethodError, load_method
from service.fragility.run import FragilityError, ensure_run
from service.indicators.store import import_dataset, set_access
from tests.conftest import SHARED
from tests.indicators.return_index import write_fixture


def _method(path, source, **extra):
    m, _ = load_method(None)
    data = m.model_dump(mode="json")
    data.update(id="with-dataset", version="0.1")
    data["indicators"].append(
        {
            "id": "livelihoods",
            "label": "Return Index scale 1 (livelihoods and basic services)",
            "source": source,
            "direction": "higher_is_worse",
            "goalposts": {"min": 0, "max": 100},
            "dimension": "living_conditions",
            **extra,
        }
    )
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_an_indicator_of_a_dataset_is_a_fragility_input(frag_engine, default_run, tmp_path):
    with frag_engine.connect() as conn:
        csv, mapping, _ = write_fixture(conn, tmp_path, country="IRQ")
    res = import_dataset(frag_engine, csv, unit="location", component="index", mapping=mapping, access="public")
    ds = res.dataset_id
    try:
        from service.core.disclosure import Rule
        from service.indicators.publish import public_table

        with frag_engine.connect() as conn:
            raw = dict(
                conn.execute(
                    text(
                        "SELECT pcode, value FROM indicator_aggregate WHERE dataset_id = :d AND level = 3 "
                        "AND column_id = 'scale1_livelihoods'"
                    ),
                    {"d": ds},
                ).all()
            )
            published = public_table(conn, ds, Rule()).level(3, "scale1_livelihoods")
        # the values are the published ones (small cells suppressed): here every unit is shown
        want = {p: v for p, v in published.items() if v is not None}
        assert len(raw) == 12 and want == raw
        method = _method(tmp_path / "m.yaml", f"dataset:{ds}:scale1_livelihoods")
        run, computed = ensure_run(frag_engine, shared_dir=SHARED, round_number=120, method_path=method)
        assert computed
        src = run["inputs"]["sources"][f"dataset:{ds}:scale1_livelihoods"]
        assert (src["dataset_id"], src["indicator"], src["units"]) == (ds, "scale1_livelihoods", 12)
        assert run["inputs"]["datasets"] == {str(ds): [ds, res_import_id(frag_engine, ds), src["sha256"]]}
        with frag_engine.connect() as conn:
            rows = {r["pcode"]: r for r in store.results(conn, run["id"], 3)}
        assert len(rows) == 294
        for pcode, r in rows.items():
            got = r["indicators"]["livelihoods"]["value"]
            assert got == pytest.approx(want[pcode]) if pcode in want else got is None, pcode
        from service.fragility.card import markdown

        card = markdown(run)
        assert f"dataset:{ds}:scale1_livelihoods" in card and f"Dataset {ds}: scale1_livelihoods" in card
        # unchanged inputs: the stored run is served
        assert ensure_run(frag_engine, shared_dir=SHARED, round_number=120, method_path=method)[1] is False

        # what cannot be used: refused, naming why; the stored run kept
        bad = [
            (f"dataset:{ds}:nope", "has no indicator 'nope'"),
            (f"dataset:{ds}:location_name", "not aggregated per unit"),
            ("dataset:999999:scale1_livelihoods", "no dataset 999999"),
        ]
        for source, words in bad:
            with pytest.raises((FragilityError, ValueError), match=words):
                ensure_run(
                    frag_engine, shared_dir=SHARED, round_number=120, method_path=_method(tmp_path / "b.yaml", source)
                )
        set_access(frag_engine, ds, "restricted")
        with pytest.raises(ValueError, match=f"dataset {ds} is not public"):
            ensure_run(frag_engine, shared_dir=SHARED, round_number=120, method_path=method, force=True)
        with frag_engine.connect() as conn:
            assert store.find_run(conn, "IRQ", 120, "with-dataset", "0.1")["id"] == run["id"]
    finally:
        with frag_engine.begin() as conn:
            conn.execute(text("DELETE FROM fragility_run WHERE method_id = 'with-dataset'"))
            conn.execute(text("DELETE FROM indicator_dataset WHERE id = :d"), {"d": ds})


def res_import_id(engine, ds: int) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT import_id FROM indicator_dataset WHERE id = :d"), {"d": ds}).scalar_one()


@pytest.mark.parametrize(
    "source, extra, words",
    [
        ("dataset:x:scale1", {}, "unknown source 'dataset:x:scale1'"),
        ("dataset:3:Scale 1", {}, "unknown source"),
        ("dataset:3:scale1", {"column": "other"}, "column 'other' is not the indicator its source names"),
        ("table:sev", {}, "column: required for source 'table:sev'"),
    ],
)
def test_bad_dataset_sources_in_the_method_name_the_key(tmp_path, source, extra, words):
    with pytest.raises(MethodError, match=words) as err:
        load_method(_method(tmp_path / "m.yaml", source, **extra))
    assert "m.yaml" in str(err.value) and "indicators[" in str(err.value)


def test_fragility_reads_datasets_only_through_the_registry():
    """No module of service/fragility imports the indicator datasets' kind (at top or in a function)."""
    from tests.test_import_graph import _graph

    graph = _graph()
    reach = {m: sorted(t for t in ts if t.startswith("service.indicators")) for m, ts in graph.items()}
    assert not {m: ts for m, ts in reach.items() if m.startswith("service.fragility") and ts}
    assert "service.indicators.values" in graph  # (the graph does see the kind's modules)
