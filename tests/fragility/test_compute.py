"""The index by hand: goalposts, direction, means, the zero dimension, completeness,
classes, hotspots, uncertainty, determinism."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest

from service.fragility.compute import aggregate_up, class_of, compute
from service.fragility.method import parse_method
from tests.fragility.helpers import small

NaN = float("nan")


@pytest.fixture
def method():
    return parse_method(small())


def raw(rows: dict) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=["a1", "a2", "a3", "b1", "b2"], dtype=float)


def test_hand_computed_chain(method):
    r = compute(
        method,
        raw(
            {
                # a1 5 -> 50; a2 2, higher is better -> 80; a3 10 -> 100 (weight 2): A = (50 + 80 + 200) / 4 = 82.5
                # b1 0.5 -> 50; b2 9 on log1p goalposts 0..99 -> ln 10 / ln 100 = 50: B = 50
                # index = exp((ln 83.5 + ln 51) / 2) - 1 = sqrt(83.5 * 51) - 1 = 64.2574
                "U1": [5, 2, 10, 0.5, 9],
                # outside the goalposts: clamped (a1 20 -> 100, a2 -3 -> better: 100, a3 -5 -> 0)
                "U5": [20, -3, -5, 2, 1000],
            }
        ),
        pd.DataFrame({"returnees": [1000, 0]}, index=["U1", "U5"]),
    )
    u1 = r.units.loc["U1"]
    assert r.indicators.loc["U1"].tolist() == pytest.approx([50, 80, 100, 50, 50])
    assert r.dimensions.loc["U1"].tolist() == pytest.approx([82.5, 50])
    assert u1["index"] == pytest.approx(math.sqrt(83.5 * 51) - 1, abs=1e-9)
    assert u1["class"] == 4 and u1["status"] == "ok" and u1["completeness"] == 1
    assert bool(u1["hotspot"])  # class 4 and returnees 1000 (the bound is inclusive)
    assert r.indicators.loc["U5"].tolist() == pytest.approx([100, 100, 0, 100, 100])
    assert r.dimensions.loc["U5"].tolist() == pytest.approx([50, 100])


def test_zero_dimension_does_not_zero_the_index(method):
    r = compute(method, raw({"Z": [0, 10, 0, 1, 99]}))
    assert r.dimensions.loc["Z"].tolist() == pytest.approx([0, 100])
    assert r.units.loc["Z", "index"] == pytest.approx(math.sqrt(1 * 101) - 1)  # 9.05, not 0
    assert r.units.loc["Z", "class"] == 1
    arith = compute(parse_method(small(aggregation={"across": "arithmetic_mean"})), raw({"Z": [0, 10, 0, 1, 99]}))
    assert arith.units.loc["Z", "index"] == pytest.approx(50)


def test_completeness_rule(method):
    r = compute(
        method,
        raw(
            {
                "two_of_three": [NaN, 2, 10, 0.5, 9],  # A: 2 of 3 = 2/3: enough; A = (80 + 200) / 3
                "one_of_two": [5, 2, 10, 0.5, NaN],  # B: 1 of 2 < 2/3: insufficient
                "one_of_three": [NaN, NaN, 10, 0.5, 9],  # A: 1 of 3: insufficient
            }
        ),
    )
    u = r.units
    assert u.loc["two_of_three", "status"] == "ok"
    assert r.dimensions.loc["two_of_three", "a"] == pytest.approx(280 / 3)
    assert u.loc["two_of_three", "completeness"] == pytest.approx(0.8)
    for k in ("one_of_two", "one_of_three"):
        assert u.loc[k, "status"] == "insufficient_data"
        assert math.isnan(u.loc[k, "index"]) and u.loc[k, "class"] == 0 and not u.loc[k, "hotspot"]
        assert math.isnan(u.loc[k, "rank_p50"]) and math.isnan(u.loc[k, "p_high"])
    assert u.loc["one_of_two", "completeness"] == pytest.approx(0.8)
    assert u.loc["one_of_three", "completeness"] == pytest.approx(0.6)
    # a rule of one half lets one of two through
    half = compute(parse_method(small(missing={"min_indicator_share": 0.5})), raw({"x": [5, 2, 10, 0.5, NaN]}))
    assert half.units.loc["x", "status"] == "ok"


def test_class_boundaries(method):
    cls = class_of(method, np.array([0, 19.999, 20, 39.999, 40, 60, 79.999, 80, 100, NaN]))
    assert cls.tolist() == [1, 1, 2, 2, 3, 4, 4, 5, 5, 0]


def test_hotspot_boundaries(method):
    # U1's values (class 4) with returnees at, under and without the bound; and a class-3 unit
    r = compute(
        method,
        raw(
            {"at": [5, 2, 10, 0.5, 9], "under": [5, 2, 10, 0.5, 9], "none": [5, 2, 10, 0.5, 9], "c3": [5, 5, 5, 0.5, 9]}
        ),
        pd.DataFrame({"returnees": [1000, 999, NaN, 5000]}, index=["at", "under", "none", "c3"]),
    )
    assert r.units.loc["c3", "class"] == 3
    assert r.units["hotspot"].to_dict() == {"at": True, "under": False, "none": False, "c3": False}


def test_uncertainty_ranks(method):
    values = {"top": [10, 0, 10, 1, 99], "mid": [5, 5, 5, 0.5, 9], "low": [1, 9, 1, 0.1, 1], "gap": [NaN, NaN, 1, 1, 1]}
    r = compute(method, raw(values))
    u = r.units
    assert u.loc["top", ["rank_p5", "rank_p50", "rank_p95"]].tolist() == [1, 1, 1]  # dominates whatever the weights
    assert u.loc["low", ["rank_p5", "rank_p95"]].tolist() == [3, 3]
    assert u.loc["top", "p_high"] == 1.0 and u.loc["low", "p_high"] == 0.0
    assert r.draws.shape == (1000, 4) and np.isnan(r.draws[:, 3]).all()
    assert r.summary["draws"] == 1000 and r.summary["units_ok"] == 3


def _digest(r) -> str:
    h = hashlib.sha256()
    h.update(r.units.to_csv().encode())
    h.update(r.dimensions.to_csv().encode())
    h.update(np.ascontiguousarray(r.draws).tobytes())
    return h.hexdigest()


def test_determinism(method):
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        rng.uniform(0, 10, size=(300, 5)),
        columns=["a1", "a2", "a3", "b1", "b2"],
        index=[f"U{i:03d}" for i in range(300)],
    )
    data["b1"] /= 10
    a, b = compute(method, data), compute(method, data.copy())
    assert _digest(a) == _digest(b)
    other = compute(parse_method(small(uncertainty={"draws": 1000, "seed": 8})), data)
    assert _digest(other) != _digest(a)
    assert (a.units["index"] == other.units["index"]).all()  # the seed moves the draws only


def test_aggregate_up_population_weighted(method):
    r = compute(
        method,
        raw({"s1": [5, 2, 10, 0.5, 9], "s2": [0, 10, 0, 1, 99], "s3": [NaN, NaN, 1, 1, 1], "s4": [1, 1, 1, 0.1, 1]}),
    )
    parent = pd.Series({"s1": "D1", "s2": "D1", "s3": "D1", "s4": "D2"})
    residents = pd.Series({"s1": 300.0, "s2": 100.0, "s3": 1e6, "s4": NaN})
    up, dims = aggregate_up(method, r, parent, residents)
    i1, i2 = r.units.loc["s1", "index"], r.units.loc["s2", "index"]
    assert up.loc["D1", "index"] == pytest.approx((300 * i1 + 100 * i2) / 400)  # s3 insufficient: left out
    assert up.loc["D1", "units"] == 3 and up.loc["D1", "units_ok"] == 2
    assert up.loc["D2", "status"] == "insufficient_data"  # its only unit has no residents
