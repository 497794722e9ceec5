"""The monthly flow map of Flow Monitoring: for each point, a line from each origin to the point
and from the point to each destination, its width linear in the month's count (the width of
``service.flows.read.width``: 1 pt for none to 12 pt for the largest), over Natural Earth's
countries. PNG, SVG and PDF; every line carries an id ``flow:<point>:<in|out>:<place>`` in the
SVG, so its drawn width can be read back."""

from __future__ import annotations

import calendar
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text

from service.flows import read

IN_COLOUR, OUT_COLOUR = "#2c7fb8", "#d95f0e"


class FlowMapError(ValueError):
    pass


@dataclass
class FlowMap:
    paths: dict[str, Path]
    lines: list[dict] = field(default_factory=list)  # what was drawn: fmp_id, leg, place, n, width
    seconds: float = 0.0


def pyplot():
    """matplotlib's pyplot on the Agg backend, with the maps' fonts when they load (the flow maps')."""
    import matplotlib

    matplotlib.use("agg", force=False)
    import matplotlib.pyplot as plt

    try:
        from service.maps import fonts

        fonts.setup()
    except Exception:  # noqa: BLE001 - the default font draws these English texts as well
        pass
    return plt


def render_month(
    engine: Engine, month: dt.date, out_dir: Path, *, dpi: int = 200, formats=("png", "svg", "pdf")
) -> FlowMap:
    t0 = time.perf_counter()
    plt = pyplot()
    import numpy as np
    from matplotlib.lines import Line2D

    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    with engine.connect() as conn:
        rows = [r for r in read.lines(conn, shape="legs", day_from=first, day_to=last) if r["gj"] is not None]
        pts = conn.execute(
            text(
                "SELECT p.fmp_id, p.name, ST_X(p.geom), ST_Y(p.geom), p.synthetic, coalesce(s.n, 0) FROM flow_point p "
                "LEFT JOIN (SELECT fmp_id, sum(n) AS n FROM flow_month WHERE month = :m GROUP BY 1) s USING (fmp_id) "
                "WHERE p.geom IS NOT NULL"
            ),
            {"m": first},
        ).all()
    if not rows:
        raise FlowMapError(f"no flow monitoring counts in {first:%B %Y}")
    import json

    coords = [np.asarray(json.loads(r["gj"])["coordinates"]) for r in rows]
    allxy = np.vstack(coords)
    x0, y0 = allxy.min(axis=0)
    x1, y1 = allxy.max(axis=0)
    pad = max(x1 - x0, y1 - y0) * 0.06 + 0.5
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    synthetic = any(p[4] for p in pts)
    fig = plt.figure(figsize=(11.69, 8.27))  # A4 landscape
    ax = fig.add_axes([0.03, 0.06, 0.94, 0.84])
    try:
        from service.maps.basemap import countries

        region = (float(np.floor(x0)), float(np.floor(y0)), float(np.ceil(x1)), float(np.ceil(y1)))
        import geopandas as gpd

        shapes = countries(region)
        if shapes:
            gpd.GeoSeries([g for _, _, g in shapes]).plot(ax=ax, color="#f4f4f1", edgecolor="#b8b8b8", linewidth=0.4)
    except Exception:  # noqa: BLE001 - without world-atlas the lines are still drawn, on white
        pass
    top = max(int(r["n"]) for r in rows)
    drawn = []
    for r, xy in sorted(zip(rows, coords), key=lambda rc: -int(rc[0]["n"])):
        w = read.width(int(r["n"]), top)
        gid = f"flow:{r['fmp_id']}:{r['leg']}:{r['origin_or_destination']}"
        ax.add_line(
            Line2D(
                xy[:, 0],
                xy[:, 1],
                linewidth=w,
                color=IN_COLOUR if r["leg"] == "in" else OUT_COLOUR,
                alpha=0.55,
                solid_capstyle="round",
                gid=gid,
            )
        )
        drawn.append(
            {
                "fmp_id": r["fmp_id"],
                "leg": r["leg"],
                "place": r["origin_or_destination"],
                "n": int(r["n"]),
                "width": w,
                "gid": gid,
            }
        )
    xs = [p[2] for p in pts]
    ys = [p[3] for p in pts]
    ax.scatter(xs, ys, s=14, color="#222222", zorder=5, linewidths=0)
    for p in sorted(pts, key=lambda p: -p[5])[:10]:
        ax.annotate(p[1], (p[2], p[3]), xytext=(3, 3), textcoords="offset points", fontsize=6, zorder=6)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect(1 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    handles = [
        Line2D([], [], color="#777777", linewidth=read.width(v, top), label=f"{v:,.0f} people")
        for v in sorted({top, round(top / 2, -1) or top, round(top / 10, -1) or top}, reverse=True)
    ] + [
        Line2D([], [], color=IN_COLOUR, linewidth=3, label="origin -> point"),
        Line2D([], [], color=OUT_COLOUR, linewidth=3, label="point -> destination"),
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=7, title="Flows in the month", title_fontsize=8)
    label = " (SYNTHETIC DATA)" if synthetic else ""
    fig.text(
        0.03,
        0.95,
        f"Flow Monitoring{label}: flows through {len(pts)} points, {first:%B %Y}",
        fontsize=13,
        weight="bold",
    )
    fig.text(
        0.03,
        0.925,
        f"{sum(int(r['n']) for r in rows if r['leg'] == 'in'):,} people counted; line width linear in the count "
        f"(widest: {top:,}). Countries are drawn at their capital.",
        fontsize=8,
        color="#444444",
    )
    fig.text(
        0.03,
        0.02,
        "Source: IOM DTM Flow Monitoring"
        + (" - SYNTHETIC data made for testing, not real figures" if synthetic else "")
        + ". Basemap: Natural Earth.",
        fontsize=6,
        color="#444444",
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for fmt in formats:
        p = out_dir / f"flows_{first:%Y%m}.{fmt}"
        fig.savefig(
            p, dpi=dpi if fmt == "png" else None, metadata={"Title": f"Flows {first:%B %Y}"} if fmt != "png" else None
        )
        paths[fmt] = p
    plt.close(fig)
    return FlowMap(paths, drawn, time.perf_counter() - t0)
