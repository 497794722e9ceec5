"""Disclosure control of public outputs: small cells suppressed, complementary suppression, rounding.

Public outputs of indicator datasets (site and location assessments) are aggregates. A cell of
an aggregate table (a unit, or a breakdown cell of a unit: sex x age, a category, a site type)
that counts fewer than ``min_households`` households (``DTM_ATLAS_DISCLOSURE_MIN_HOUSEHOLDS``,
default 5) could single people out: it is **suppressed** (published as :data:`MARKER`, the same
marker for every suppressed cell, so a reader cannot tell the small cells from their
complements). A zero is published: it singles no one out.

A table publishes its totals too (a unit's total, a category's total over the units, the total
of the parent unit), and a total minus the visible parts would give a lone suppressed cell back.
So suppression is made **complementary**: every published equation (total = sum of its parts)
with one suppressed member gets a second one, the smallest safe cell of the equation (one of at
least ``min_households`` households, else the smallest non-zero one). The result is then
**audited by solving the published table**: for each suppressed cell the smallest and largest
value the published figures allow (a linear programme: every published equation holds, every
cell is at least 0) is computed; a cell whose range is narrower than ``min_width`` (default:
exactly determined) gets one more complement in an equation it is part of, and the audit runs
again until no suppressed value can be recovered. The same check is what the tests run.

Optional **rounding** (``DTM_ATLAS_DISCLOSURE_ROUND_TO``) rounds every published count to a
multiple of the base (half up), totals independently of their parts.

Master-list figures are not touched by any of this (DTM publishes them itself at location level).
Functions here are pure (pandas/numpy/scipy over an aggregate table), the base layer's to share.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MARKER = "x"
"""What a suppressed cell reads as in tabular exports (JSON: ``null`` with the cell named in ``suppressed``)."""

TOTAL = "total"
"""The key of a table's margins (the row total column, the column total row)."""


@dataclass(frozen=True)
class Rule:
    """The disclosure rule of a public output."""

    min_households: int = 5
    round_to: int = 0
    min_width: float = 1e-6

    @classmethod
    def from_settings(cls, settings) -> Rule:
        d = settings.disclosure
        return cls(min_households=d.min_households, round_to=d.round_to)

    def text(self) -> str:
        """The rule in words, printed in every public export's README of an indicator dataset."""
        out = (
            f"Disclosure control: every published cell (a unit, or a breakdown cell of a unit) that counts "
            f"fewer than {self.min_households} households is suppressed and shows '{MARKER}' (null in JSON); "
            f"so that no total minus its visible parts reveals a suppressed cell, other cells of the same "
            f"rows and columns are suppressed too (complementary suppression, checked by solving the "
            f"published table). Zeros are published."
        )
        if self.round_to > 1:
            out += (
                f" Published counts are rounded to a multiple of {self.round_to}; totals are rounded on their "
                f"own and need not equal the sum of their rounded parts."
            )
        return out


@dataclass
class Suppression:
    """What :func:`suppress` decided: the suppressed keys, why, and the published values."""

    values: dict[Hashable, float]
    primary: set[Hashable] = field(default_factory=set)
    complementary: set[Hashable] = field(default_factory=set)

    @property
    def suppressed(self) -> set[Hashable]:
        return self.primary | self.complementary

    def published(self, round_to: int = 0) -> dict[Hashable, float | None]:
        out = {}
        for k, v in self.values.items():
            out[k] = None if k in self.suppressed else round_count(v, round_to)
        return out


def round_count(value: float, base: int) -> float:
    """``value`` rounded half up to a multiple of ``base`` (``base`` 0 or 1: unchanged)."""
    if base <= 1 or value is None or (isinstance(value, float) and np.isnan(value)):
        return value
    return float(np.floor(value / base + 0.5) * base)


Equation = tuple[Hashable, Sequence[Hashable]]
"""``(total, parts)``: the published ``total`` equals the sum of the ``parts``."""


def feasible_ranges(
    values: Mapping[Hashable, float], equations: Iterable[Equation], suppressed: Iterable[Hashable]
) -> dict[Hashable, tuple[float, float]]:
    """What a reader of the published table can infer: for each suppressed cell the smallest and
    largest value consistent with the published cells and equations (every cell at least 0)."""
    from scipy.optimize import linprog

    hidden = sorted(set(suppressed), key=repr)
    if not hidden:
        return {}
    index = {k: i for i, k in enumerate(hidden)}
    rows, rhs = [], []
    for total, parts in equations:
        coeffs = np.zeros(len(hidden))
        known = 0.0
        for key, sign in [(total, -1.0)] + [(p, 1.0) for p in parts]:
            if key in index:
                coeffs[index[key]] += sign
            else:
                known += sign * values[key]
        if coeffs.any():
            rows.append(coeffs)
            rhs.append(-known)
    a_eq = np.array(rows) if rows else None
    b_eq = np.array(rhs) if rows else None
    upper = sum(abs(v) for v in values.values()) + 1.0  # no cell exceeds everything published
    bounds = [(0, upper)] * len(hidden)
    out = {}
    for key, i in index.items():
        c = np.zeros(len(hidden))
        c[i] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if lo.status != 0 or hi.status != 0:
            raise ValueError(f"the table's equations do not hold (cell {key!r}): {lo.message or hi.message}")
        out[key] = (float(lo.fun), float(-hi.fun))
    return out


def suppress(
    values: Mapping[Hashable, float],
    households: Mapping[Hashable, float],
    equations: Sequence[Equation],
    rule: Rule = Rule(),
    forced: Iterable[Hashable] = (),
) -> Suppression:
    """Primary suppression of cells under ``rule.min_households`` households (and of the
    ``forced`` cells: another measure's pattern of the same table), complementary suppression
    until no published equation has a lone suppressed member and no suppressed value can be
    narrowed below ``rule.min_width`` by solving the published table."""
    values = {k: float(v) for k, v in values.items()}
    primary = {k for k, h in households.items() if 0 < h < rule.min_households and k in values}
    primary |= {k for k in forced if k in values}
    result = Suppression(values, primary=primary)
    members = [(total, [total, *parts]) for total, parts in equations]
    by_key: dict[Hashable, list[int]] = {}
    for i, (_, keys) in enumerate(members):
        for k in keys:
            by_key.setdefault(k, []).append(i)

    def complement(keys: Sequence[Hashable], total: Hashable) -> Hashable | None:
        """The cell of an equation to suppress next: the smallest safe part, then the smallest
        non-zero part, then the total."""
        open_ = [k for k in keys if k not in result.suppressed]
        if not open_:
            return None
        parts = [k for k in open_ if k != total]

        def rank(k):
            safe = households.get(k, rule.min_households) >= rule.min_households
            return (not safe, values[k] == 0, values[k], repr(k))

        return min(parts, key=rank) if parts else open_[0]

    for _ in range(len(values) + 1):
        # lone suppressed members
        changed = True
        while changed:
            changed = False
            for total, keys in members:
                if sum(k in result.suppressed for k in keys) == 1:
                    extra = complement(keys, total)
                    if extra is not None:
                        result.complementary.add(extra)
                        changed = True
        # the audit: solve the published table
        ranges = feasible_ranges(values, equations, result.suppressed)
        exposed = sorted((k for k, (lo, hi) in ranges.items() if hi - lo < rule.min_width and values[k] != 0), key=repr)
        if not exposed:
            return result
        for k in exposed:  # one more complement each, then solve again
            for i in by_key.get(k, []):
                total, keys = members[i]
                extra = complement(keys, total)
                if extra is not None:
                    result.complementary.add(extra)
                    break
            else:
                raise ValueError(f"cell {k!r} cannot be protected: every cell of its equations is suppressed")
    raise RuntimeError("complementary suppression did not converge")


RULE: ContextVar[Rule | None] = ContextVar("disclosure_rule", default=None)
"""The rule of the request being answered (set at the HTTP edge from the app's settings:
``service.api.access.AccessHeaders``); outside a request, the process's settings."""


def current_rule() -> Rule:
    """The disclosure rule that applies now (see :data:`RULE`)."""
    rule = RULE.get()
    if rule is None:
        from service.core.settings import get_settings

        rule = Rule.from_settings(get_settings())
    return rule


def table_equations(units: Sequence[Hashable], categories: Sequence[Hashable]) -> list[Equation]:
    """The equations of a units x categories table published with its margins: each unit's
    total, each category's total over the units, the grand total (both ways)."""
    eqs: list[Equation] = []
    if len(categories) > 1:
        eqs += [((u, TOTAL), [(u, c) for c in categories]) for u in units]
    totals = [(TOTAL, c) for c in categories] if len(categories) > 1 else []
    eqs += [((TOTAL, c), [(u, c) for u in units]) for c in categories]
    if len(categories) > 1:
        eqs.append(((TOTAL, TOTAL), totals))
        eqs.append(((TOTAL, TOTAL), [(u, TOTAL) for u in units]))
    return eqs


def suppress_table(values: pd.DataFrame, households: pd.DataFrame, rule: Rule = Rule()) -> pd.DataFrame:
    """A units x categories table (index: units, columns: breakdown cells) made public: margins
    added (a ``total`` column when there are several categories and a ``total`` row), small
    cells and their complements as ``NaN``, counts rounded per ``rule``. ``households``: the
    households each cell counts (same shape); margins count the sum of their parts."""
    units, cats = list(values.index), list(values.columns)
    full = values.astype(float).copy()
    hh = households.reindex(index=values.index, columns=values.columns).astype(float).copy()
    if len(cats) > 1:
        full[TOTAL] = full[cats].sum(axis=1)
        hh[TOTAL] = hh[cats].sum(axis=1)
    full.loc[TOTAL] = full.sum(axis=0)
    hh.loc[TOTAL] = hh.sum(axis=0)
    cols = list(full.columns)
    flat = {(u, c): full.at[u, c] for u in full.index for c in cols}
    flat_hh = {(u, c): hh.at[u, c] for u in hh.index for c in cols}
    # a category's total over the units is one cell of a one-category table: its key is (TOTAL, c)
    result = suppress(flat, flat_hh, table_equations(units, cats), rule)
    out = full.copy()
    for (u, c), v in result.published(rule.round_to).items():
        out.at[u, c] = np.nan if v is None else v
    out.attrs["suppressed"] = sorted(result.suppressed, key=repr)
    out.attrs["rule"] = rule.text()
    return out


def as_text(table: pd.DataFrame) -> pd.DataFrame:
    """A published table for CSV/XLSX: suppressed cells as :data:`MARKER`, counts as integers."""
    return table.map(lambda v: MARKER if pd.isna(v) else (int(v) if float(v).is_integer() else v))
