"""The master lists' flow map of a round: a line from each governorate of origin to each district
(``level`` 2) or other governorate (``level`` 1) of displacement, its width linear in families
(``service.flows.read.width``: 1 pt for none to 12 pt for the largest line drawn), over the
round's governorates. The lines are those of ``/flows/origins/lines/{level}`` and of the tile
layers ``origin-flows-*``. PNG, SVG and PDF; every line carries an id
``origin:<origin P-code>:<destination P-code>`` in the SVG, so its drawn width can be read back."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, text

from service.flows import read
from service.flows.maps import FlowMap, pyplot

LINE_COLOUR = "#b2182b"


class OriginMapError(ValueError):
    pass


OriginMap = FlowMap  # what was drawn: lines of origin, dest, families, width, gid


def render_origins(
    engine: Engine, round_row: dict, level: int, out_dir: Path, *, dpi: int = 200, formats=("png", "svg", "pdf")
) -> OriginMap:
    """The flow map of the round ``round_row`` (a ``service.core.rounds`` row) at ``level``."""
    t0 = time.perf_counter()
    plt = pyplot()
    import numpy as np
    import shapely
    from matplotlib.lines import Line2D

    with engine.connect() as conn:
        fc = read.origin_lines(conn, round_row, level)
        units = conn.execute(
            text(
                "SELECT pcode, name_en, ST_AsBinary(ST_SimplifyPreserveTopology(geom, 0.005)) FROM admin_unit "
                "WHERE boundary_set_id = :s AND level = 1 ORDER BY pcode"
            ),
            {"s": round_row["boundary_set_id"]},
        ).all()
    feats = fc["features"]
    if not feats:
        raise OriginMapError(f"round {round_row.get('round_number') or round_row['id']} has no origin flows")
    fig = plt.figure(figsize=(8.27, 11.69))  # A4 portrait
    ax = fig.add_axes([0.04, 0.08, 0.92, 0.80])
    import geopandas as gpd

    shapes = gpd.GeoSeries([shapely.from_wkb(bytes(u[2])) for u in units])
    shapes.plot(ax=ax, color="#f4f4f1", edgecolor="#9a9a9a", linewidth=0.5)
    for u, g in zip(units, shapes):
        c = g.representative_point()
        ax.annotate(u[1], (c.x, c.y), fontsize=6, color="#555555", ha="center", zorder=2)
    top = max(f["properties"]["families"] for f in feats)
    drawn = []
    for f in sorted(feats, key=lambda f: -f["properties"]["families"]):
        p = f["properties"]
        if not p["leaves"]:  # (level 2) a district of the origin governorate: a short line, drawn lighter
            alpha = 0.25
        else:
            alpha = 0.6
        xy = np.asarray(f["geometry"]["coordinates"])
        gid = f"origin:{p['origin_adm1']}:{p['dest']}"
        ax.add_line(
            Line2D(
                xy[:, 0],
                xy[:, 1],
                linewidth=p["width"],
                color=LINE_COLOUR,
                alpha=alpha,
                solid_capstyle="round",
                gid=gid,
            )
        )
        drawn.append({**p, "gid": gid})
    for p in drawn[:8]:  # the largest flows named at their destination
        xy = next(f["geometry"]["coordinates"][-1] for f in feats if f["properties"]["dest"] == p["dest"])
        ax.annotate(p["dest_name"], xy, xytext=(3, -6), textcoords="offset points", fontsize=6, zorder=6)
    x0, y0, x1, y1 = shapes.total_bounds
    ax.set_xlim(x0 - 0.2, x1 + 0.2)
    ax.set_ylim(y0 - 0.2, y1 + 0.2)
    ax.set_aspect(1 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_axis_off()
    handles = [
        Line2D([], [], color=LINE_COLOUR, alpha=0.6, linewidth=read.width(v, top), label=f"{v:,.0f} families")
        for v in sorted({top, round(top / 2, -1) or top, round(top / 10, -1) or top}, reverse=True)
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=7, title="Families displaced", title_fontsize=8)
    number = round_row.get("round_number")
    when = round_row.get("reporting_date")
    dest = "district" if level == 2 else "governorate"
    title = f"Where IDPs come from: governorate of origin -> {dest} of displacement"
    fig.text(
        0.04,
        0.95,
        title,
        fontsize=13,
        weight="bold",
    )
    fig.text(
        0.04,
        0.93,
        f"DTM master list, round {number if number is not None else round_row['id']}"
        + (f" ({when:%d %B %Y})" if when else "")
        + f"; {sum(p['families'] for p in drawn):,} families on {len(drawn)} lines; line width linear in families "
        f"(widest: {top:,})"
        + (f"; {fc['within']:,} families displaced within their governorate are not drawn" if level == 1 else ""),
        fontsize=7,
        color="#444444",
        wrap=True,
    )
    fig.text(
        0.04,
        0.03,
        "Source: IOM DTM master list (Integrated Location Assessment of origin). Boundaries: the round's COD-AB. "
        "Lines join the units' points on surface.",
        fontsize=6,
        color="#444444",
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    name = f"origin_flows_r{number if number is not None else round_row['id']}_adm{level}"
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        meta = {"Title": title} if fmt in ("png", "pdf") else None  # the package's catalogue reads it
        fig.savefig(path, dpi=dpi if fmt == "png" else None, metadata=meta)
        paths[fmt] = path
    plt.close(fig)
    return OriginMap(paths, drawn, time.perf_counter() - t0)


class OriginPackageMaps:
    """The registry's ``package_maps`` of flows: the round's origin-flow maps, to each governorate
    and to each district (PNG and PDF), in the round's information package (``maps/flows/``).
    The maps say where IDPs come from: an IDP round's only (a round without flows has none)."""

    def write(self, engine: Engine, round_row: dict, folder: Path, *, dpi: int) -> list[Path]:
        out: list[Path] = []
        if round_row.get("population") != "idp":
            return out
        for level in (1, 2):
            try:
                res = render_origins(engine, round_row, level, folder, dpi=dpi, formats=("png", "pdf"))
            except OriginMapError:
                return out
            out += list(res.paths.values())
        return out


PACKAGE_MAPS = OriginPackageMaps()
