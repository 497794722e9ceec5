"""A static site map of a dataset: its sites or locations as proportional symbols (an indicator,
default individuals) over the admin units of its boundary set (PNG, matplotlib)."""

from __future__ import annotations

import io

import numpy as np
import shapely
from sqlalchemy import Connection, text

from service.core.access import ANONYMOUS, Principal
from service.indicators.publish import dataset, indicators


def site_map_png(
    conn: Connection, ds_id: int, indicator: str | None = None, dpi: int = 150, who: Principal = ANONYMOUS
) -> bytes:
    """The map as ``who`` may see it: the symbol's indicator is one of the columns it may read."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 7), dpi=dpi)
    try:
        d, n, label = draw_site_map(ax, conn, ds_id, indicator, who)
        ax.set_title(f"{d['title']}: {n} {d['unit']}s, symbol area = {label}", fontsize=10)
        fig.text(0.01, 0.01, SOURCE_NOTE, fontsize=6)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buf.getvalue()


SOURCE_NOTE = "Source: IOM DTM. Boundaries: OCHA COD-AB. Symbol area proportional to the value."


def draw_site_map(ax, conn: Connection, ds_id: int, indicator: str | None = None, who: Principal = ANONYMOUS):
    """Draw the sites or locations of the dataset as proportional symbols over its admin-1 units
    on the matplotlib axes ``ax``; returns (the dataset, the symbols drawn, the indicator's label).
    LookupError for an indicator ``who`` may not read."""
    d = dataset(conn, ds_id, who)
    cols = {c["id"]: c for c in indicators(conn, ds_id, who)}
    indicator = indicator or ("individuals" if "individuals" in cols else next(iter(cols)))
    if indicator not in cols:
        raise LookupError(f"dataset {ds_id} has no public indicator {indicator!r}")
    units = (
        conn.execute(
            text(
                "SELECT ST_AsBinary(g.geom) FROM admin_unit_generalised g JOIN indicator_dataset d "
                "ON d.boundary_set_id = g.boundary_set_id WHERE d.id = :d AND g.level = 1 AND g.zband = 7"
            ),
            {"d": ds_id},
        )
        .scalars()
        .all()
    )
    pts = conn.execute(
        text(
            "SELECT ST_X(geom), ST_Y(geom), CASE WHEN jsonb_typeof(\"values\" -> :c) = 'number' "
            'THEN ("values" ->> :c)::float8 END FROM indicator_observation WHERE dataset_id = :d AND geom IS NOT NULL'
        ),
        {"d": ds_id, "c": indicator},
    ).all()
    for wkb in units:
        g = shapely.from_wkb(bytes(wkb))
        for poly in getattr(g, "geoms", [g]):
            x, y = poly.exterior.xy
            ax.fill(x, y, facecolor="#f2f0eb", edgecolor="#8c8c8c", linewidth=0.4)
    if pts:
        xs, ys, vs = (np.array([p[i] for p in pts], dtype=float) for i in range(3))
        vs = np.nan_to_num(vs)
        size = 400 * np.sqrt(vs / vs.max()) if vs.max() > 0 else np.full(len(vs), 10.0)
        ax.scatter(xs, ys, s=size, c="#0033a0", alpha=0.45, edgecolors="white", linewidths=0.4)
        pad = 0.5
        ax.set_xlim(xs.min() - pad, xs.max() + pad)
        ax.set_ylim(ys.min() - pad, ys.max() + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return d, len(pts), cols[indicator]["label_en"]
