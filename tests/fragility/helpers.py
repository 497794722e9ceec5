"""A small method written out in full, for hand-computed cases."""

from __future__ import annotations

import copy

SMALL = {
    "id": "small",
    "version": "1",
    "title": "Small",
    "purpose": "tests",
    "limits": "tests",
    "disclaimer": "tests",
    "dimensions": [{"id": "a", "label": "A", "weight": 1}, {"id": "b", "label": "B", "weight": 1}],
    "indicators": [
        {
            "id": "a1",
            "label": "a1",
            "source": "dtm",
            "column": "idps",
            "direction": "higher_is_worse",
            "goalposts": {"min": 0, "max": 10},
            "weight": 1,
            "dimension": "a",
        },
        {
            "id": "a2",
            "label": "a2",
            "source": "dtm",
            "column": "returnees",
            "direction": "higher_is_better",
            "goalposts": {"min": 0, "max": 10},
            "weight": 1,
            "dimension": "a",
        },
        {
            "id": "a3",
            "label": "a3",
            "source": "dtm",
            "column": "idp_families",
            "direction": "higher_is_worse",
            "goalposts": {"min": 0, "max": 10},
            "weight": 2,
            "dimension": "a",
        },
        {
            "id": "b1",
            "label": "b1",
            "source": "dtm",
            "column": "critical_shelter_share",
            "direction": "higher_is_worse",
            "goalposts": {"min": 0, "max": 1},
            "weight": 1,
            "dimension": "b",
        },
        {
            "id": "b2",
            "label": "b2",
            "source": "dtm",
            "column": "protracted_share",
            "direction": "higher_is_worse",
            "transform": "log1p",
            "goalposts": {"min": 0, "max": 99},
            "weight": 1,
            "dimension": "b",
        },
    ],
    "aggregation": {"within": "arithmetic_mean", "across": "shifted_geometric_mean", "shift": 1},
    "missing": {"min_indicator_share": "2/3"},
    "classes": {"thresholds": [20, 40, 60, 80]},
    "hotspot": {"min_class": 4, "all_of": [{"variable": "returnees", "min": 1000}]},
    "uncertainty": {"draws": 1000, "seed": 7, "weight_spread": 0.5},
}


def small(**changes) -> dict:
    d = copy.deepcopy(SMALL)
    d.update(changes)
    return d
