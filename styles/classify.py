"""Class breaks for choropleths: the one classification that GeoJSON classes, vector-tile
``class`` properties, MapLibre styles, folium and static maps all share.

``classify(values, method, k, palette)`` returns a ``Classification``: breaks, colours,
legend labels, counts per class and ``class_of(value)``; ``to_dict()`` is the legend JSON.
``legend_for(indicator, population, values)`` does the same with the defaults of an
indicator from ``INDICATORS``.

Methods (all through mapclassify):

* ``natural_breaks``: Jenks natural breaks computed by ``mapclassify.FisherJenks``, the exact
  dynamic-programming optimum (Fisher 1958). It is deterministic: the same values always give
  the same breaks, which matters because the tiles, the GeoJSON and the style legend are
  classified in different requests and must agree. ``mapclassify.NaturalBreaks`` is not used:
  it is k-means from random starting centroids, so two runs can give different breaks.
  Without numba FisherJenks is O(k n^2) in pure Python; above ``JENKS_MAX_N`` values it runs
  on an evenly spaced (by rank, so still deterministic) sample that keeps the min and max.
* ``quantiles``: ``mapclassify.Quantiles`` (about the same number of units per class).
* ``equal_interval``: ``mapclassify.EqualInterval``.

Conventions:

* ``breaks`` are the classes' upper bounds, strictly ascending, inclusive: class ``i`` holds
  ``breaks[i-1] < v <= breaks[i]`` and class 0 holds ``lower <= v <= breaks[0]``. The last
  break is the maximum. Values outside ``[lower, breaks[-1]]`` are clamped to the first or
  last class; null, NaN and non-numbers are "no data" (``class_of`` gives ``None``).
* Integer data (counts) gets integer breaks, so labels read "1,201 – 5,000".
* ``k`` is the number of classes actually made: fewer than asked when there are fewer
  distinct values (each distinct value then is a class), when quantiles coincide, or 0 for
  no values at all.
* Diverging palettes (change between rounds) give classes symmetric around 0: the absolute
  values are classified into ``h + 1`` classes with upper bounds ``a0 < a1 < ... < ah``; the
  middle (neutral) class is ``-a0 <= v <= a0`` and class ``h + j`` / ``h - j`` hold
  ``a(j-1) < |v| <= a(j)`` for positive / negative ``v``. ``k = 2h + 1`` is always odd (an
  even ``k`` asked is rounded up), ``lower = -ah`` and ``breaks[-1] = ah``, so the legend is
  symmetric even when all changes have one sign. For integer data the negative classes'
  upper bounds are ``-a(j-1) - 1`` (inclusive), so ``breaks`` keep the rule above.
"""

from __future__ import annotations

import math
import warnings
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from service.core.constants import POPULATION_LABELS
from styles.palette import NO_DATA_COLOR, UNASSIGNED_COLOR, Palette, get_palette

METHODS = ("natural_breaks", "quantiles", "equal_interval")
#: The class schemes a map offers (``?classes=``), and the method each names. ``fixed`` is
#: the indicator's own method over the values of the whole history (every round of the
#: population and country at the level), so a colour means the same value in every round:
#: the default of the web map's slider. The others classify the one round's values.
CLASSES = {"fixed": None, "quantile": "quantiles", "jenks": "natural_breaks", "equal": "equal_interval"}
NUMBER_FORMATS = ("integer", "signed", "percent", "decimal")
JENKS_MAX_N = 600
DASH = " – "  # en dash between the ends of a class


@dataclass
class Classification:
    method: str
    k: int
    breaks: list[float]
    lower: float | None
    colors: list[str]
    labels: list[str]
    counts: list[int]
    palette: str
    diverging: bool = False
    number_format: str = "integer"
    no_data_count: int = 0
    no_data_color: str = NO_DATA_COLOR
    unassigned_color: str = UNASSIGNED_COLOR
    # set by legend_for
    title: str | None = None
    indicator: str | None = None
    population: str | None = None
    unit: str | None = None
    classes: str | None = None  # the scheme asked for (CLASSES); fixed: breaks of the whole history
    history: dict | None = None  # fixed: the rounds the breaks were computed over
    # diverging: upper bounds of |v| classes, a0 (neutral) .. ah
    abs_breaks: list[float] = field(default_factory=list, repr=False)

    def class_of(self, value: Any) -> int | None:
        """The class index of ``value`` (0-based), or ``None`` for null / NaN / no classes."""
        v = _number(value)
        if v is None or self.k == 0:
            return None
        if self.diverging:
            h = (self.k - 1) // 2
            p = min(bisect_left(self.abs_breaks, abs(v)), h)
            return h + p if v >= 0 else h - p
        return min(bisect_left(self.breaks, v), self.k - 1)

    def color_of(self, value: Any) -> str:
        """The fill colour of ``value``: its class colour, or the no-data colour."""
        c = self.class_of(value)
        return self.no_data_color if c is None else self.colors[c]

    def label_of(self, value: Any) -> str:
        c = self.class_of(value)
        return "No data" if c is None else self.labels[c]

    def applied_to(self, values: Iterable[Any], method: str | None = None) -> Classification:
        """The same classes (breaks, colours, labels) with the counts of ``values``: a
        classification made over one set of values (a whole history) applied to another (a round)."""
        x, missing = _clean(values)
        out = replace(self, counts=[0] * self.k, no_data_count=missing, method=method or self.method)
        for v in x:
            c = out.class_of(v)
            if c is not None:
                out.counts[c] += 1
        return out

    def to_dict(self) -> dict:
        """Legend metadata for JSON (GeoJSON ``legend`` member, style metadata, front ends)."""
        d = {
            "method": self.method,
            "k": self.k,
            "breaks": list(self.breaks),
            "lower": self.lower,
            "colors": list(self.colors),
            "labels": list(self.labels),
            "counts": list(self.counts),
            "no_data_color": self.no_data_color,
            "no_data_label": "No data",
            "no_data_count": self.no_data_count,
            "unassigned_color": self.unassigned_color,
            "palette": self.palette,
            "diverging": self.diverging,
            "number_format": self.number_format,
        }
        for key in ("title", "indicator", "population", "unit", "classes", "history"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        return d


# -- numbers ------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _clean(values: Iterable[Any]) -> tuple[np.ndarray, int]:
    """Finite values as a sorted float array, and how many inputs were no data."""
    if values is None:
        return np.empty(0), 0
    nums, missing = [], 0
    for value in values:
        v = _number(value)
        if v is None:
            missing += 1
        else:
            nums.append(v)
    return np.sort(np.asarray(nums, dtype=float)), missing


def _py(v: float, integer: bool) -> float | int:
    return int(v) if integer else float(v)


# -- breaks -------------------------------------------------------------------------------------


def _mapclassify_bins(x: np.ndarray, method: str, k: int) -> np.ndarray:
    import mapclassify as mc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Numba not installed", "not enough unique values"
        if method == "natural_breaks":
            if len(x) > JENKS_MAX_N:
                x = x[np.linspace(0, len(x) - 1, JENKS_MAX_N).round().astype(int)]
            k = min(k, len(np.unique(x)))
            return np.asarray(mc.FisherJenks(x, k=k).bins, dtype=float)
        if method == "quantiles":
            return np.asarray(mc.Quantiles(x, k=k).bins, dtype=float)
        if method == "equal_interval":
            return np.asarray(mc.EqualInterval(x, k=k).bins, dtype=float)
    raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")


def _upper_bounds(x: np.ndarray, method: str, k: int, integer: bool) -> list[float]:
    """Strictly ascending inclusive upper bounds for sorted finite ``x``, the last being max(x)."""
    if len(x) == 0 or k <= 0:
        return []
    distinct = np.unique(x)
    if len(distinct) <= k:
        bins = distinct
    else:
        bins = _mapclassify_bins(x, method, k)
    if integer:
        bins = np.floor(bins)  # v <= b  <=>  v <= floor(b) for integers: same classes, integer labels
    bins = np.unique(np.clip(bins, x[0], x[-1]))
    bins[-1] = x[-1]
    return [float(b) for b in bins]


# -- labels -------------------------------------------------------------------------------------


def _formatter(number_format: str, numbers: list[float]):
    if number_format == "integer":
        return lambda v: f"{int(round(v)):,}"
    if number_format == "signed":
        return lambda v: "0" if round(v) == 0 else f"{int(round(v)):+,}"
    scale, suffix, start = (100.0, " %", 1) if number_format == "percent" else (1.0, "", 0)
    # fewest decimals that keep distinct boundaries distinct and each within a tenth of the
    # smallest gap between boundaries
    distinct = sorted(set(numbers))
    gaps = [b - a for a, b in zip(distinct, distinct[1:])]
    tolerance = 0.1 * min(gaps) * scale if gaps else math.inf
    for d in range(start, 7):
        texts = [f"{v * scale:,.{d}f}" for v in distinct]
        if len(set(texts)) == len(texts) and all(abs(round(v * scale, d) - v * scale) <= tolerance for v in distinct):
            break
    return lambda v: f"{v * scale:,.{d}f}{suffix}"


def _range_label(fmt, lo: float, hi: float) -> str:
    a, b = fmt(lo), fmt(hi)
    return a if a == b else f"{a}{DASH}{b}"


def _labels(breaks: list[float], lower: float, integer: bool, fmt) -> list[str]:
    labels = []
    for i, hi in enumerate(breaks):
        lo = lower if i == 0 else (breaks[i - 1] + 1 if integer else breaks[i - 1])
        labels.append(_range_label(fmt, lo, hi))
    return labels


# -- classify -----------------------------------------------------------------------------------


def classify(
    values: Iterable[Any],
    method: str = "natural_breaks",
    k: int = 5,
    palette: str | Palette = "idp",
    *,
    diverging: bool | None = None,
    number_format: str | None = None,
) -> Classification:
    """Classify ``values`` (numbers; None / NaN are no data) into at most ``k`` classes.

    ``diverging`` defaults to the palette's kind. ``number_format`` (integer, signed, percent,
    decimal) defaults to integer / signed for whole numbers and decimal otherwise.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    pal = get_palette(palette)
    if diverging is None:
        diverging = pal.diverging
    if diverging and k % 2 == 0:
        k += 1
    if k < 1 or k > pal.max_k:
        raise ValueError(f"k must be between 1 and {pal.max_k} for palette {pal.name!r}, got {k}")
    if number_format is not None and number_format not in NUMBER_FORMATS:
        raise ValueError(f"unknown number format {number_format!r}; use one of {', '.join(NUMBER_FORMATS)}")

    x, missing = _clean(values)
    integer = bool(len(x) == 0 or np.all(x == np.round(x)))
    if number_format is None:
        number_format = ("signed" if diverging else "integer") if integer else "decimal"
    abs_breaks: list[float] = []

    if len(x) == 0:
        breaks, lower, labels = [], None, []
    elif not diverging:
        breaks = _upper_bounds(x, method, k, integer)
        lower = float(x[0])
        fmt = _formatter(number_format, [lower, *breaks])
        labels = _labels(breaks, lower, integer, fmt)
    else:
        h = (k - 1) // 2
        a = np.sort(np.abs(x))
        abs_breaks = _upper_bounds(a, method, h + 1, integer)
        if not integer and abs_breaks[0] == 0 and len(abs_breaks) > 1:
            # keep breaks strictly ascending: the neutral class is (-eps, eps) around exact zeros
            abs_breaks[0] = float(a[a > 0][0]) / 2
        h = len(abs_breaks) - 1
        top = abs_breaks[-1]
        if integer:
            negative = [-b - 1 for b in reversed(abs_breaks[:-1])]
        else:
            negative = [-b for b in reversed(abs_breaks[:-1])]
        breaks = negative + abs_breaks
        lower = -top
        fmt = _formatter(number_format, [lower, *breaks, *(-b for b in abs_breaks)])
        labels = []
        for j in range(h, 0, -1):  # negative classes, most negative first
            hi = -abs_breaks[j - 1] - (1 if integer else 0)
            labels.append(_range_label(fmt, -abs_breaks[j], hi))
        a0 = abs_breaks[0]
        labels.append("0" if set(fmt(a0)) <= set("+0.,%") else _range_label(fmt, -a0, a0))
        for j in range(1, h + 1):
            lo = abs_breaks[j - 1] + (1 if integer else 0)
            labels.append(_range_label(fmt, lo, abs_breaks[j]))

    nk = len(breaks)
    result = Classification(
        method=method,
        k=nk,
        breaks=[_py(b, integer) for b in breaks],
        lower=None if lower is None else _py(lower, integer),
        colors=pal.colors(nk),
        labels=labels,
        counts=[0] * nk,
        palette=pal.name,
        diverging=diverging,
        number_format=number_format,
        no_data_count=missing,
        abs_breaks=abs_breaks,
    )
    for v in x:
        result.counts[result.class_of(v)] += 1
    return result


# -- indicators ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str
    unit: str
    field: str  # the unit_figure column
    palettes: dict[str, str]  # population -> palette name
    method: str
    k: int
    number_format: str
    description: str

    def palette_for(self, population: str) -> str:
        try:
            return self.palettes[population]
        except KeyError:
            raise ValueError(f"unknown population {population!r}; use one of {', '.join(self.palettes)}") from None

    def title(self, population: str) -> str:
        who = POPULATION_LABELS.get(population, population)
        who_mid = who if who[:3] == "IDP" else who.lower()  # "IDPs" stays an acronym mid-sentence
        return {
            "individuals": f"{who} (individuals)",
            "published": f"{who} (individuals, DTM's published count)",
            "families": f"{who} (families)",
            "change": f"Change in {who_mid} since the previous round (individuals)",
            "change_12m": f"Change in {who_mid} over 12 months (individuals)",
            "share": f"Share of the national total of {who_mid}",
        }.get(self.key, f"{who}: {self.label}")


# Default methods: counts and shares are heavily skewed (a few districts hold most IDPs: with
# natural breaks 81 of the 99 districts of Feb 2021 share the lightest class), so they default
# to quantiles, which spread the units over the whole ramp. Change defaults to natural breaks
# of |change|: its neutral middle class is then "small changes" as the data draw them, not a
# fixed fraction of the units.
INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in (
        Indicator(
            "individuals",
            "Individuals",
            "people",
            "individuals",
            {"idp": "idp", "returnee": "returnee"},
            "quantiles",
            5,
            "integer",
            "Individuals counted in the unit in the round, as the master list gives them (families x the "
            "household size on every row); DTM's own published count is the indicator 'published'.",
        ),
        Indicator(
            "published",
            "Individuals, DTM's published count",
            "people",
            "published_individuals",
            {"idp": "idp", "returnee": "returnee"},
            "quantiles",
            5,
            "integer",
            "Individuals as DTM publishes them: families counted at DTM's household size for their shelter "
            "(service/data/household_sizes.csv; Iraq IDPs from round 117, 31 Aug 2020: 5 persons per family "
            "in camps, 6 elsewhere). Equal to 'individuals' where no shelter rule is in force.",
        ),
        Indicator(
            "families",
            "Families",
            "families",
            "families",
            {"idp": "idp", "returnee": "returnee"},
            "quantiles",
            5,
            "integer",
            "Families (households) counted in the unit in the round.",
        ),
        Indicator(
            "change",
            "Change in individuals",
            "people",
            "change_individuals",
            {"idp": "change", "returnee": "change"},
            "natural_breaks",
            7,
            "signed",
            "Individuals in this round minus the previous round of the same population; "
            "symmetric diverging classes around 0.",
        ),
        Indicator(
            "change_12m",
            "Change in individuals over 12 months",
            "people",
            "change_12m_individuals",
            {"idp": "change", "returnee": "change"},
            "natural_breaks",
            7,
            "signed",
            "Individuals in this round minus the round closest to one year earlier (within two months of "
            "it) of the same population; symmetric diverging classes around 0.",
        ),
        Indicator(
            "share",
            "Share of national total",
            "share (0-1)",
            "share_national",
            {"idp": "idp", "returnee": "returnee"},
            "quantiles",
            5,
            "percent",
            "The unit's individuals over the national total of the round (0-1; labels in %).",
        ),
    )
}


def get_indicator(indicator: str | Indicator) -> Indicator:
    if isinstance(indicator, Indicator):
        return indicator
    try:
        return INDICATORS[indicator]
    except KeyError:
        raise ValueError(f"unknown indicator {indicator!r}; use one of {', '.join(INDICATORS)}") from None


def parse_classes(classes: str | None) -> str | None:
    """``?classes=`` checked: one of ``CLASSES`` or None (the indicator's default)."""
    if classes is None or classes == "":
        return None
    if classes not in CLASSES:
        raise ValueError(f"unknown classes {classes!r}; use one of {', '.join(CLASSES)}")
    return classes


def method_for(indicator: str | Indicator, classes: str | None) -> str:
    """The mapclassify method behind ``classes`` for ``indicator`` (fixed: the indicator's own)."""
    ind = get_indicator(indicator)
    return CLASSES.get(parse_classes(classes) or "fixed") or ind.method


def legend_for(
    indicator: str | Indicator, population: str, values: Iterable[Any], method: str | None = None, k: int | None = None
) -> Classification:
    """Classify ``values`` of ``indicator`` with that indicator's defaults for ``population``."""
    ind = get_indicator(indicator)
    palette = get_palette(ind.palette_for(population))
    c = classify(values, method or ind.method, k or ind.k, palette, number_format=ind.number_format)
    c.title = ind.title(population)
    c.indicator = ind.key
    c.population = population
    c.unit = ind.unit
    return c
