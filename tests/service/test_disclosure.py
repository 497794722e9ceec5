"""Disclosure control on synthetic aggregate tables: no published cell below the threshold, and
no suppressed value recoverable by solving the published table (an attacker's linear programme
written here from the published table alone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from service.core.disclosure import MARKER, TOTAL, Rule, as_text, suppress, suppress_table


def attack(published: pd.DataFrame) -> dict:
    """What a reader can infer from a published units x categories table with margins: each
    hidden cell's [min, max] given that rows sum to the total column, columns to the total row,
    and every cell is at least 0."""
    cells = [(u, c) for u in published.index for c in published.columns]
    hidden = [k for k in cells if pd.isna(published.at[k])]
    idx = {k: i for i, k in enumerate(hidden)}
    cats = [c for c in published.columns if c != TOTAL]
    units = [u for u in published.index if u != TOTAL]
    eqs = []
    if TOTAL in published.columns:
        eqs += [((u, TOTAL), [(u, c) for c in cats]) for u in published.index]
    eqs += [((TOTAL, c), [(u, c) for u in units]) for c in published.columns]
    a, b = [], []
    for total, parts in eqs:
        row, known = np.zeros(len(hidden)), 0.0
        for k, s in [(total, -1.0)] + [(p, 1.0) for p in parts]:
            if k in idx:
                row[idx[k]] += s
            else:
                known += s * published.at[k]
        if row.any():
            a.append(row)
            b.append(-known)
    out = {}
    for k, i in idx.items():
        c = np.zeros(len(hidden))
        c[i] = 1
        lo = linprog(c, A_eq=np.array(a), b_eq=np.array(b), bounds=[(0, None)] * len(hidden), method="highs")
        hi = linprog(-c, A_eq=np.array(a), b_eq=np.array(b), bounds=[(0, None)] * len(hidden), method="highs")
        assert lo.status == 0, lo.message
        out[k] = (lo.fun, np.inf if hi.status == 3 else -hi.fun)
    return out


def synthetic(seed: int, units: int, cats: int, small_share: float = 0.15):
    """A synthetic (labelled so) units x categories table: households per cell, ~6 persons each,
    a share of small cells."""
    rng = np.random.default_rng(seed)
    hh = rng.integers(5, 400, size=(units, cats)).astype(float)
    small = rng.random((units, cats)) < small_share
    hh[small] = rng.integers(0, 5, size=small.sum())
    persons = hh * rng.integers(4, 8, size=(units, cats))
    index = [f"SYN{u:03d}" for u in range(units)]
    columns = [f"cat{c}" for c in range(cats)]
    return pd.DataFrame(persons, index=index, columns=columns), pd.DataFrame(hh, index=index, columns=columns)


@pytest.mark.parametrize("seed,units,cats", [(1, 12, 6), (2, 30, 4), (3, 8, 1), (4, 5, 10), (5, 40, 3), (6, 3, 2)])
def test_no_small_cell_and_nothing_recoverable(seed, units, cats):
    values, households = synthetic(seed, units, cats)
    rule = Rule(min_households=5)
    published = suppress_table(values, households, rule)
    hh = households.copy()
    if cats > 1:
        hh[TOTAL] = hh.sum(axis=1)
    hh.loc[TOTAL] = hh.sum(axis=0)
    # no published cell counts 1-4 households
    for key in [(u, c) for u in published.index for c in published.columns]:
        if not pd.isna(published.at[key]):
            assert not (0 < hh.at[key] < 5), key
    # and the published figures are the true ones where shown
    full = values.copy()
    if cats > 1:
        full[TOTAL] = full.sum(axis=1)
    full.loc[TOTAL] = full.sum(axis=0)
    assert ((published == full) | published.isna()).all().all()
    # the attacker's ranges: no hidden cell is pinned down
    ranges = attack(published)
    small = [k for k in ranges if 0 < hh.at[k] < 5]
    assert small or not ((hh > 0) & (hh < 5)).any().any()
    for key, (lo, hi) in ranges.items():
        assert hi - lo >= 1, f"{key}: value {full.at[key]} recoverable in [{lo}, {hi}]"
        assert lo - 1e-6 <= full.at[key] <= hi + 1e-6


def test_lone_small_cell_gets_complements():
    """The textbook case: one small cell; row and column totals would give it back."""
    values = pd.DataFrame({"a": [60.0, 40.0, 12.0], "b": [30.0, 50.0, 80.0]}, index=["U1", "U2", "U3"])
    households = pd.DataFrame({"a": [10, 8, 2], "b": [6, 9, 14]}, index=["U1", "U2", "U3"])
    published = suppress_table(values, households)
    assert pd.isna(published.at["U3", "a"])
    hidden = published.isna().sum().sum()
    assert hidden >= 4  # a rectangle at least: U3 a/b (or total) and another unit's a/b
    assert all(hi - lo >= 1 for lo, hi in attack(published).values())
    text = as_text(published)
    assert text.at["U3", "a"] == MARKER and text.at[TOTAL, TOTAL] == 272


def test_audit_adds_what_the_line_rule_misses():
    """Suppressed cells two per line can still be pinned down (a bridge between two cycles of
    the table's suppression pattern): the solver finds it and suppresses more."""
    # cycle 1 in U1/U2 x a/b, cycle 2 in U3/U4 x c/d, bridge U2-c... forced by primaries
    idx = ["U1", "U2", "U3", "U4"]
    cols = ["a", "b", "c", "d"]
    households = pd.DataFrame(
        [[2, 3, 50, 60], [3, 2, 4, 70], [80, 90, 2, 3], [70, 60, 3, 2]], index=idx, columns=cols, dtype=float
    )
    values = households * 5
    published = suppress_table(values, households)
    for key, (lo, hi) in attack(published).items():
        assert hi - lo >= 1, key


def test_hierarchy_units_within_parents():
    """Districts within governorates within the country, one measure: a small district's figure
    is not the governorate's minus its siblings, nor is a governorate's the country's minus the others."""
    values = {"C": 0.0, "G1": 0.0, "G2": 0.0, "D11": 300.0, "D12": 14.0, "D13": 220.0, "D21": 400.0, "D22": 18.0}
    hh = {"D11": 50, "D12": 3, "D13": 40, "D21": 70, "D22": 4}
    values["G1"] = values["D11"] + values["D12"] + values["D13"]
    values["G2"] = values["D21"] + values["D22"]
    values["C"] = values["G1"] + values["G2"]
    hh |= {"G1": 93, "G2": 74, "C": 167}
    eqs = [("G1", ["D11", "D12", "D13"]), ("G2", ["D21", "D22"]), ("C", ["G1", "G2"])]
    result = suppress(values, hh, eqs)
    assert {"D12", "D22"} <= result.primary
    # G2 has two parts, both must go, so G2 itself must be hidden, and then G1 (C's other part)
    from service.core.disclosure import feasible_ranges

    ranges = feasible_ranges(values, eqs, result.suppressed)
    assert all(hi - lo >= 1 for lo, hi in ranges.values()), ranges
    published = result.published()
    assert published["C"] == 952 and published["D12"] is None


def test_rounding_and_rule_text():
    values = pd.DataFrame({"a": [61.0, 44.0], "b": [33.0, 57.0]}, index=["U1", "U2"])
    households = pd.DataFrame({"a": [10, 8], "b": [6, 9]}, index=["U1", "U2"])
    rule = Rule(min_households=5, round_to=5)
    published = suppress_table(values, households, rule)
    assert published.isna().sum().sum() == 0
    assert (published % 5 == 0).all().all() and published.at["U1", "a"] == 60 and published.at["U2", "b"] == 55
    assert "multiple of 5" in rule.text() and "fewer than 5 households" in rule.text()
    assert "rounded" not in Rule().text()
