"""Palettes and class breaks, on the real Feb 2021 IDP master list summed per district."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from styles.classify import INDICATORS, METHODS, classify, legend_for
from styles.palette import NO_DATA_COLOR, PALETTES, UNASSIGNED_COLOR, get_palette

MASTERLISTS = Path(__file__).resolve().parents[3] / "shared" / "data" / "dtm_iraq_masterlists"
FEB21 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
DEC17 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv"
HEX = re.compile(r"^#[0-9a-f]{6}$")
INT_LABEL = re.compile(r"^[+-]?\d{1,3}(,\d{3})*( – [+-]?\d{1,3}(,\d{3})*)?$")


def _per_district(path: Path) -> pd.Series:
    if not path.exists():
        pytest.skip(f"real master list not found at {path}")
    df = pd.read_csv(path)
    return df.groupby(["Governorate", "District"])["Individuals"].sum().astype(int)


@pytest.fixture(scope="module")
def districts() -> pd.Series:
    return _per_district(FEB21)


@pytest.fixture(scope="module")
def change() -> pd.Series:
    feb, dec = _per_district(FEB21), _per_district(DEC17)
    idx = feb.index.union(dec.index)
    return feb.reindex(idx, fill_value=0) - dec.reindex(idx, fill_value=0)


def _interval(c, i):
    """The closed integer interval of class i (integer data)."""
    lo = c.lower if i == 0 else c.breaks[i - 1] + 1
    return lo, c.breaks[i]


# -- palettes -----------------------------------------------------------------------------------


def test_palettes_are_hex_and_sized():
    for p in PALETTES.values():
        for k in range(1, p.max_k + 1):
            colors = p.colors(k)
            assert len(colors) == k and all(HEX.match(c) for c in colors), (p.name, k)
            assert len(set(colors)) == k
    assert HEX.match(NO_DATA_COLOR) and HEX.match(UNASSIGNED_COLOR) and NO_DATA_COLOR != UNASSIGNED_COLOR
    every_ramp_colour = {c for p in PALETTES.values() if p.name != "neutral" for r in p.ramps.values() for c in r}
    assert NO_DATA_COLOR not in every_ramp_colour and UNASSIGNED_COLOR not in every_ramp_colour
    assert get_palette("change").diverging and not get_palette("idp").diverging
    with pytest.raises(ValueError):
        get_palette("rainbow")
    with pytest.raises(ValueError):
        get_palette("idp").colors(10)


def _luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize("name", ["idp", "returnee", "neutral"])
def test_sequential_ramps_go_light_to_dark(name):
    # monotone lightness is what keeps a ramp readable for every kind of colour vision
    for k, ramp in get_palette(name).ramps.items():
        lum = [_luminance(c) for c in ramp]
        assert lum == sorted(lum, reverse=True), (name, k)


def test_diverging_ramp_has_a_neutral_middle():
    p = get_palette("change")
    for k in (3, 5, 7, 9, 11):
        ramp = p.colors(k)
        assert ramp[k // 2] == "#f7f7f7"
        lum = [_luminance(c) for c in ramp]
        assert max(lum) == lum[k // 2]  # lightest in the middle, darker towards both ends


# -- classification of real district totals ---------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_real_districts_every_value_in_exactly_one_class(districts, method):
    values = districts.to_numpy()
    c = classify(values, method=method, k=5, palette="idp")
    assert c.k == 5
    assert c.breaks == sorted(set(c.breaks)), "breaks strictly ascending"
    assert c.breaks[-1] == values.max() and c.lower == values.min()
    assert all(isinstance(b, int) for b in c.breaks), "integer data gives integer breaks"
    assert c.colors == get_palette("idp").colors(5)
    assert sum(c.counts) == len(values)
    for v in values:
        inside = [i for i in range(c.k) if _interval(c, i)[0] <= v <= _interval(c, i)[1]]
        assert inside == [c.class_of(v)], v
    # labels: thousands separators, "lo – hi", consistent with the breaks
    assert all(INT_LABEL.match(label) for label in c.labels), c.labels
    assert c.labels[-1].endswith(f"{values.max():,}")
    assert c.labels[0].startswith(f"{values.min():,}")
    d = c.to_dict()
    assert {"method", "breaks", "colors", "labels", "no_data_color"} <= d.keys()
    assert d["method"] == method and d["no_data_color"] == NO_DATA_COLOR


def test_real_districts_quantiles_are_balanced(districts):
    c = classify(districts.to_numpy(), method="quantiles", k=5)
    n = len(districts)
    assert max(c.counts) - min(c.counts) <= max(2, math.ceil(0.05 * n)), c.counts


def test_natural_breaks_are_deterministic_and_jenks_optimal(districts):
    values = districts.to_numpy()
    a = classify(values, "natural_breaks", 5)
    b = classify(list(reversed(values.tolist())), "natural_breaks", 5)
    assert a.breaks == b.breaks

    # Jenks minimises the within-class squared deviations: better than quantiles and equal interval
    def sdcm(c):
        classes = np.array([c.class_of(v) for v in values])
        return sum(
            ((values[classes == i] - values[classes == i].mean()) ** 2).sum()
            for i in range(c.k)
            if (classes == i).any()
        )

    assert sdcm(a) <= sdcm(classify(values, "quantiles", 5))
    assert sdcm(a) <= sdcm(classify(values, "equal_interval", 5))


def test_large_input_uses_a_deterministic_sample():
    rng = np.random.default_rng(7)
    values = rng.lognormal(8, 1.5, 2500).round()
    a, b = classify(values, "natural_breaks", 7), classify(values[::-1], "natural_breaks", 7)
    assert a.breaks == b.breaks and a.k == 7 and a.breaks[-1] == values.max()
    assert sum(a.counts) == len(values)


def test_real_change_is_symmetric_around_zero(change):
    values = change.to_numpy()
    assert (values < 0).any() and (values > 0).any()
    c = classify(values, "natural_breaks", 7, palette="change")
    assert c.diverging and c.k == 7 and c.k % 2 == 1
    h = c.k // 2
    assert c.lower == -c.breaks[-1] == -max(abs(values.min()), abs(values.max()))
    for i in range(h):  # negative upper bounds mirror the positive ones (integer, inclusive)
        assert c.breaks[i] == -c.breaks[c.k - 2 - i] - 1
    for i in range(c.k):  # and so do the closed intervals
        lo, hi = _interval(c, i)
        lo2, hi2 = _interval(c, c.k - 1 - i)
        assert (lo, hi) == (-hi2, -lo2)
    for v in values:
        assert c.class_of(v) + c.class_of(-v) == c.k - 1
    assert c.class_of(0) == h and c.colors[h] == "#f7f7f7"
    assert sum(c.counts) == len(values)
    assert all(INT_LABEL.match(label) for label in c.labels), c.labels
    assert c.labels[-1].startswith("+") and c.labels[0].startswith("-")


def test_change_even_k_rounds_up_and_one_sign_only():
    c = classify([10, 20, 300, 4000], "natural_breaks", 4, palette="change")
    assert c.k == 5 and c.lower == -4000 and c.breaks[-1] == 4000
    assert c.counts[:2] == [0, 0]  # no decrease, yet the legend keeps both sides


# -- edge cases ---------------------------------------------------------------------------------


def test_empty_and_all_missing():
    for values in ([], [None, float("nan"), math.inf, "n/a"]):
        c = classify(values)
        assert c.k == 0 and c.breaks == [] and c.colors == [] and c.labels == [] and c.counts == []
        assert c.lower is None and c.class_of(5) is None and c.color_of(5) == NO_DATA_COLOR
        assert c.to_dict()["no_data_count"] == len(values)


def test_all_equal_values():
    c = classify([1200, 1200, 1200], k=5)
    assert (c.k, c.breaks, c.lower, c.labels, c.counts) == (1, [1200], 1200, ["1,200"], [3])
    assert c.class_of(1200) == 0


def test_zeros_are_data_not_no_data():
    c = classify([0, 0, 0, 0, 5, 40, 1201, 5000, 5000, 90000], "quantiles", 5)
    assert c.class_of(0) == 0 and c.color_of(0) != NO_DATA_COLOR
    assert c.labels[0].startswith("0")
    assert c.breaks == sorted(set(c.breaks))


def test_fewer_distinct_values_than_k():
    c = classify([3, 1, 2, 2, None], "natural_breaks", 7)
    assert c.k == 3 and c.breaks == [1, 2, 3] and c.labels == ["1", "2", "3"] and c.counts == [1, 2, 1]
    assert c.no_data_count == 1 and c.class_of(None) is None and c.class_of(float("nan")) is None


def test_label_format_example():
    c = classify([10, 1200, 1201, 3000, 5000, 80000], "natural_breaks", 3)
    assert all(INT_LABEL.match(label) for label in c.labels)
    c = classify([1, 1200, 5000], "natural_breaks", 5)  # a class per value; labels are the classes' ranges
    assert c.labels == ["1", "2 – 1,200", "1,201 – 5,000"]
    c = classify([0, 1200, 1250, 5000, 4900, 90000], "equal_interval", 3)
    assert c.labels[0] == "0 – 30,000"


def test_values_outside_the_range_are_clamped():
    c = classify([10, 20, 30, 40, 50, 60], "quantiles", 3)
    assert c.class_of(-5) == 0 and c.class_of(10**9) == c.k - 1


def test_share_is_labelled_in_percent(districts):
    shares = districts / districts.sum()
    c = legend_for("share", "idp", shares.to_numpy())
    assert c.number_format == "percent" and all(lbl.endswith("%") for lbl in c.labels)
    assert len(set(c.labels)) == c.k
    assert c.breaks[-1] == pytest.approx(shares.max())


def test_indicator_registry_and_legend_for(districts):
    assert set(INDICATORS) >= {"individuals", "families", "change", "share"}
    for ind in INDICATORS.values():
        for population in ("idp", "returnee"):
            assert ind.palette_for(population) in PALETTES
            assert ind.method in METHODS
    c = legend_for("individuals", "returnee", districts.to_numpy())
    assert c.palette == "returnee" and c.title == "Returnees (individuals)"
    d = c.to_dict()
    assert d["indicator"] == "individuals" and d["population"] == "returnee" and d["unit"] == "people"
    assert legend_for("change", "idp", [-5, 0, 7]).diverging
    assert legend_for("individuals", "idp", districts.to_numpy(), method="quantiles", k=7).k == 7
    with pytest.raises(ValueError):
        legend_for("individuals", "refugee", [1])
    with pytest.raises(ValueError):
        legend_for("density", "idp", [1])
    with pytest.raises(ValueError):
        classify([1, 2], method="jenks")
