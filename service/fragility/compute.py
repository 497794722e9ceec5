"""The fragility index of a method over a table of indicator values (pure numpy, no database).

Per indicator: the transform (none, log1p) of the value and of both goalposts, rescaled to
0-100 between the goalposts (values outside are clamped), flipped when higher is better
(100 = most fragile). Per dimension: the weighted arithmetic mean of its available indicator
scores, if at least ``missing.min_indicator_share`` of its indicators are available, else the
unit is "insufficient data". Across dimensions: the weighted shifted geometric mean
``exp(sum w_d ln(s_d + c) / sum w_d) - c`` (``c`` = ``aggregation.shift``), so one dimension
at 0 lowers the index without zeroing it. Classes: five, fixed thresholds t1..t4; class ``i``
holds ``t(i-1) <= index < t(i)``. Hotspot: class >= ``hotspot.min_class`` and every condition
``variable >= min``.

Uncertainty: ``uncertainty.draws`` draws from ``numpy.random.Generator(PCG64(seed))``: each
indicator weight and each dimension weight multiplied by a uniform factor in ``[1 - spread,
1 + spread]``, and the across-dimension aggregation drawn among ``across_choices``. Each
draw ranks the units with sufficient data (1 = most fragile); a unit's rank p5/p50/p95 and
the share of draws putting it in class >= ``high_class`` are reported. All draws are
computed at once as arrays; the same inputs and seed give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from service.fragility.method import CLASS_KEYS, Method

OK = "ok"
INSUFFICIENT = "insufficient_data"


def _t(x, transform: str):
    if transform == "log1p":
        return np.log1p(np.maximum(x, 0.0))
    return x


def indicator_scores(method: Method, raw: pd.DataFrame) -> pd.DataFrame:
    """0-100 score per indicator (NaN where the value is missing); ``raw`` has a column per
    indicator id."""
    out = {}
    for ind in method.indicators:
        x = raw[ind.id].to_numpy(dtype=float)
        lo, hi = _t(ind.goalposts.min, ind.transform), _t(ind.goalposts.max, ind.transform)
        s = np.clip((_t(x, ind.transform) - lo) / (hi - lo), 0.0, 1.0) * 100.0
        if ind.direction == "higher_is_better":
            s = 100.0 - s
        out[ind.id] = s
    return pd.DataFrame(out, index=raw.index)


def class_of(method: Method, index: np.ndarray) -> np.ndarray:
    """Class 1..5 of each index (0 for NaN)."""
    idx = np.asarray(index, dtype=float)
    cls = np.searchsorted(np.asarray(method.classes.thresholds), idx, side="right") + 1
    return np.where(np.isnan(idx), 0, cls)


def _across(dim_scores: np.ndarray, weights: np.ndarray, how: str, shift: float) -> np.ndarray:
    """Aggregate the last axis: ``dim_scores`` (..., K), ``weights`` broadcastable to it."""
    wsum = weights.sum(axis=-1)
    if how == "arithmetic_mean":
        return (dim_scores * weights).sum(axis=-1) / wsum
    return np.exp((np.log(dim_scores + shift) * weights).sum(axis=-1) / wsum) - shift


@dataclass
class Result:
    units: pd.DataFrame  # per unit: index, class, status, completeness, rank_p5/p50/p95, p_high, hotspot
    dimensions: pd.DataFrame  # per unit: score per dimension (NaN when insufficient)
    indicators: pd.DataFrame  # per unit: score per indicator (NaN when missing)
    draws: np.ndarray  # (draws, units) index of each draw (NaN for insufficient units)
    summary: dict


def compute(method: Method, raw: pd.DataFrame, context: pd.DataFrame | None = None, progress=None) -> Result:
    """The index of every row of ``raw`` (one column per indicator id, NaN = missing; the
    method's ``when_undefined`` is applied by the caller where a value is undefined).
    ``context`` holds the variables the hotspot rule names."""
    dims = [d.id for d in method.dimensions]
    inds = [i.id for i in method.indicators]
    scores = indicator_scores(method, raw)
    S = scores[inds].to_numpy(dtype=float)  # (U, I)
    A = ~np.isnan(S)  # available
    S0 = np.where(A, S, 0.0)
    w = np.array([i.weight for i in method.indicators])
    M = np.array([[i.dimension == d for i in method.indicators] for d in dims], dtype=float)  # (K, I)
    n_in_dim = M.sum(axis=1)
    n_avail = A.astype(float) @ M.T  # (U, K)
    enough = n_avail >= method.missing.min_indicator_share * n_in_dim - 1e-9
    ok = enough.all(axis=1)
    completeness = A.sum(axis=1) / len(inds)  # a fraction (0-1)

    with np.errstate(invalid="ignore", divide="ignore"):
        num = (S0 * w) @ M.T
        den = (A * w) @ M.T
        dim_scores = np.where(enough, num / den, np.nan)  # (U, K)
    V = np.array([d.weight for d in method.dimensions])
    shift = method.aggregation.shift
    index = np.full(len(raw), np.nan)
    index[ok] = _across(dim_scores[ok], V, method.aggregation.across, shift)
    cls = class_of(method, index)

    hot = ok & (cls >= method.hotspot.min_class)
    for cond in method.hotspot.all_of:
        vals = (
            (
                context[cond.variable]
                if context is not None and cond.variable in context
                else pd.Series(np.nan, index=raw.index)
            )
            .reindex(raw.index)
            .to_numpy(dtype=float)
        )
        hot &= np.nan_to_num(vals, nan=-np.inf) >= cond.min

    # ---- uncertainty: all draws at once
    u = method.uncertainty
    rng = np.random.Generator(np.random.PCG64(u.seed))
    D = u.draws
    f_ind = rng.uniform(1 - u.weight_spread, 1 + u.weight_spread, size=(D, len(inds)))
    f_dim = rng.uniform(1 - u.weight_spread, 1 + u.weight_spread, size=(D, len(dims)))
    choice = rng.integers(0, len(u.across_choices), size=D)
    Uok = np.flatnonzero(ok)
    draws = np.full((D, len(raw)), np.nan)
    ranks_out = np.full((len(raw), 3), np.nan)
    p_high = np.full(len(raw), np.nan)
    if len(Uok):
        Wd = w[None, :] * f_ind  # (D, I)
        Sok, Aok = S0[Uok], A[Uok].astype(float)
        dsc = np.empty((D, len(Uok), len(dims)))
        for k in range(len(dims)):
            Wk = Wd * M[k][None, :]  # (D, I)
            dsc[:, :, k] = (Sok @ Wk.T).T / (Aok @ Wk.T).T
        Vd = (V[None, :] * f_dim)[:, None, :]  # (D, 1, K)
        idx_d = np.empty((D, len(Uok)))
        for c, how in enumerate(u.across_choices):
            sel = choice == c
            if sel.any():
                idx_d[sel] = _across(dsc[sel], Vd[sel], how, shift)
            if progress is not None:
                progress("uncertainty draws", int(np.count_nonzero(choice <= c)), D)
        draws[:, Uok] = idx_d
        order = np.argsort(-idx_d, axis=1, kind="stable")
        ranks = np.empty_like(order)
        ranks[np.arange(D)[:, None], order] = np.arange(1, len(Uok) + 1)[None, :]
        ranks_out[Uok] = np.percentile(ranks, [5, 50, 95], axis=0).T
        p_high[Uok] = (class_of(method, idx_d) >= u.high_class).mean(axis=0)

    units = pd.DataFrame(
        {
            "index": index,
            "class": cls.astype(int),
            "status": np.where(ok, OK, INSUFFICIENT),
            "completeness": completeness,
            "rank_p5": ranks_out[:, 0],
            "rank_p50": ranks_out[:, 1],
            "rank_p95": ranks_out[:, 2],
            "p_high": p_high,
            "hotspot": hot,
        },
        index=raw.index,
    )
    counts = {CLASS_KEYS[c - 1]: int((cls == c).sum()) for c in range(1, 6)}
    counts[INSUFFICIENT] = int((~ok).sum())
    summary = {
        "units": len(raw),
        "units_ok": int(ok.sum()),
        "class_counts": counts,
        "hotspots": int(hot.sum()),
        "draws": D,
        "seed": u.seed,
        "median_rank_interval": float(np.median(ranks_out[Uok, 2] - ranks_out[Uok, 0])) if len(Uok) else None,
        "units_with_stable_class": int(((p_high[Uok] <= 0.05) | (p_high[Uok] >= 0.95)).sum()) if len(Uok) else 0,
    }
    return Result(units, pd.DataFrame(dim_scores, index=raw.index, columns=dims), scores, draws, summary)


def aggregate_up(method: Method, result: Result, parent: pd.Series, weights: pd.Series) -> pd.DataFrame:
    """Population-weighted index of parent units (districts, governorates) from the
    sub-districts with sufficient data and residents: the index and dimension scores are the
    residents-weighted means of their sub-districts', for the point estimate and for each
    draw (so ranks and P(high) follow). Completeness: residents-weighted mean of the
    sub-districts'. ``parent``: sub-district -> parent P-code; ``weights``: residents."""
    u = result.units
    w = weights.reindex(u.index).astype(float).to_numpy()
    usable = (u["status"].to_numpy() == OK) & np.isfinite(w) & (w > 0)
    parents = sorted(set(parent.reindex(u.index).dropna()))
    P = np.array([(parent.reindex(u.index) == p).to_numpy() for p in parents], dtype=float)  # (G, U)
    wu = np.where(usable, w, 0.0)
    wall = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    den = P @ wu  # (G,)
    with np.errstate(invalid="ignore", divide="ignore"):
        idx = (P @ (np.nan_to_num(u["index"].to_numpy()) * wu)) / den
        dims = (P @ (np.nan_to_num(result.dimensions.to_numpy()) * wu[:, None])) / den[:, None]
        compl = (P @ (u["completeness"].to_numpy() * wall)) / (P @ wall)
        dr = (np.nan_to_num(result.draws) * wu[None, :]) @ P.T / den[None, :]  # (D, G)
    okg = den > 0
    idx = np.where(okg, idx, np.nan)
    cls = class_of(method, idx)
    ranks_out = np.full((len(parents), 3), np.nan)
    p_high = np.full(len(parents), np.nan)
    G = np.flatnonzero(okg)
    if len(G):
        d = dr[:, G]
        order = np.argsort(-d, axis=1, kind="stable")
        ranks = np.empty_like(order)
        ranks[np.arange(d.shape[0])[:, None], order] = np.arange(1, len(G) + 1)[None, :]
        ranks_out[G] = np.percentile(ranks, [5, 50, 95], axis=0).T
        p_high[G] = (class_of(method, d) >= method.uncertainty.high_class).mean(axis=0)
    hot = P @ u["hotspot"].to_numpy().astype(float)
    out = pd.DataFrame(
        {
            "index": idx,
            "class": cls.astype(int),
            "status": np.where(okg, OK, INSUFFICIENT),
            "completeness": np.nan_to_num(compl),
            "rank_p5": ranks_out[:, 0],
            "rank_p50": ranks_out[:, 1],
            "rank_p95": ranks_out[:, 2],
            "p_high": p_high,
            "hotspot": hot > 0,
            "hotspot_units": hot.astype(int),
            "units": P.sum(axis=1).astype(int),
            "units_ok": (P @ usable.astype(float)).astype(int),
        },
        index=pd.Index(parents, name="pcode"),
    )
    dim_df = pd.DataFrame(np.where(okg[:, None], dims, np.nan), index=out.index, columns=result.dimensions.columns)
    return out, dim_df
