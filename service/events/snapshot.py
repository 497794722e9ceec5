"""The ETT daily snapshot of a crisis: one static map and a half-page table of new and
cumulative displacement per district, since the onset and in the last 24 hours
(``dtm-atlas package --crisis ID --date D``).

Written files: ``<crisis>_<YYYYMMDD>_snapshot.pdf`` (A4 portrait: the map on the upper half,
the table on the lower half), the map as PNG, the whole table as CSV (HXL-tagged) and a README.
Figures come from ``service.events.read.unit_figures`` (the API's), so they agree with it.
"""

from __future__ import annotations

import csv
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from service.core.constants import UNASSIGNED
from service.events import read

TABLE_ROWS = 16  # districts listed on the half page; the rest are summed on one row
COLUMNS = [
    ("Governorate", "adm1_name"),
    ("District", "name_en"),
    ("New families (24 h)", "day_idp_hh"),
    ("New IDPs (24 h)", "day_idp_ind"),
    ("Families since onset", "cumulative_idp_hh"),
    ("IDPs since onset", "cumulative_idp_ind"),
]


class SnapshotError(ValueError):
    pass


@dataclass
class Snapshot:
    path: Path
    files: list[Path]
    rows: list[dict]
    day: dt.date
    onset: dt.date
    seconds: float


def _table(engine: Engine, crisis_id: str, day: dt.date) -> tuple[read.Crisis, list[dict], dict[str, str]]:
    with engine.connect() as conn:
        try:
            c = read.crisis(conn, crisis_id)
        except read.EventsNotFound as exc:
            raise SnapshotError(str(exc)) from None
        if c.onset is None or not (c.onset <= day <= c.last_day):
            raise SnapshotError(
                f"--date {day}: crisis {crisis_id} has days {c.onset} .. {c.last_day}"
                if c.onset
                else f"crisis {crisis_id} has no days imported"
            )
        rows = read.unit_figures(conn, crisis_id, level=2, day_from=day, day_to=day)
        parents = dict(
            conn.execute(
                text(
                    "SELECT d.pcode, g.name_en FROM admin_unit d JOIN admin_unit g "
                    "ON g.boundary_set_id = d.boundary_set_id "
                    "AND g.level = 1 AND g.pcode = d.parent_pcode WHERE d.boundary_set_id = :s AND d.level = 2"
                ),
                {"s": c.boundary_set_id},
            ).all()
        )
    for r in rows:
        r["adm1_name"] = parents.get(r["pcode"], "")
        if r["pcode"] == UNASSIGNED:
            r["name_en"] = "Unassigned"
    rows = [r for r in rows if r["cumulative_idp_ind"] or r["day_idp_ind"]]
    rows.sort(key=lambda r: (r["pcode"] == UNASSIGNED, -r["cumulative_idp_ind"], r["pcode"]))
    return c, rows, parents


def _map(engine: Engine, c: read.Crisis, rows: list[dict], day: dt.date, ax) -> None:
    import geopandas as gpd
    import mapclassify
    import numpy as np

    with engine.connect() as conn:
        units = gpd.read_postgis(
            text(
                "SELECT u.pcode, g.geom FROM admin_unit u JOIN admin_unit_generalised g ON g.boundary_set_id = "
                "u.boundary_set_id AND g.level = u.level AND g.pcode = u.pcode AND g.zband = 7 "
                "WHERE u.boundary_set_id = :s AND u.level = 2"
            ),
            conn,
            geom_col="geom",
            params={"s": c.boundary_set_id},
        )
        govs = gpd.read_postgis(
            text(
                "SELECT g.geom FROM admin_unit_generalised g "
                "WHERE g.boundary_set_id = :s AND g.level = 1 AND g.zband = 7"
            ),
            conn,
            geom_col="geom",
            params={"s": c.boundary_set_id},
        )
        pts = gpd.read_postgis(
            text(
                "SELECT geom, idp_ind FROM event_row "
                "WHERE crisis_id = :c AND day = :d AND geom IS NOT NULL AND idp_ind > 0"
            ),
            conn,
            geom_col="geom",
            params={"c": c.crisis_id, "d": day},
        )
    values = {r["pcode"]: r["cumulative_idp_ind"] for r in rows}
    units["v"] = units["pcode"].map(values).fillna(0)
    affected = units[units["v"] > 0]
    x0, y0, x1, y1 = (affected if len(affected) else units).total_bounds
    pad = max(x1 - x0, y1 - y0) * 0.08
    units.plot(ax=ax, color="#f2f2f2", edgecolor="#bbbbbb", linewidth=0.3)
    if len(affected):
        k = min(5, len(set(affected["v"])))
        bins = mapclassify.NaturalBreaks(affected["v"].to_numpy(), k=k).bins if k > 1 else [affected["v"].max()]
        colours = ["#fee6ce", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"][-len(bins) :]
        cls = np.searchsorted(bins, affected["v"].to_numpy())
        affected.plot(ax=ax, color=[colours[min(i, len(colours) - 1)] for i in cls], edgecolor="#888888", linewidth=0.4)
        lo = 0
        from matplotlib.patches import Patch

        handles = []
        for b, col in zip(bins, colours):
            handles.append(Patch(facecolor=col, edgecolor="#888888", label=f"{lo:,.0f} - {b:,.0f}"))
            lo = b + 1
        ax.legend(handles=handles, title="IDPs since onset", loc="lower left", fontsize=6, title_fontsize=7)
    govs.boundary.plot(ax=ax, color="#555555", linewidth=0.7)
    if len(pts):
        top = max(pts["idp_ind"].max(), 1)
        ax.scatter(
            pts.geometry.x,
            pts.geometry.y,
            s=2 + 60 * pts["idp_ind"] / top,
            color="#08519c",
            alpha=0.6,
            linewidths=0,
            label="displaced in the last 24 h (location)",
        )
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)
    ax.set_aspect(1 / np.cos(np.radians((y0 + y1) / 2)))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def build(engine: Engine, crisis_id: str, day: dt.date, out: Path, *, dpi: int = 200) -> Snapshot:
    """Write the snapshot into the folder ``out`` (made if missing); returns what was written."""
    t0 = time.perf_counter()
    import matplotlib

    matplotlib.use("agg", force=False)
    import matplotlib.pyplot as plt

    try:
        from service.maps import fonts

        fonts.setup()
    except Exception:  # noqa: BLE001 - the default font draws the English texts as well
        pass
    c, rows, _ = _table(engine, crisis_id, day)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = f"{crisis_id.lower()}_{day:%Y%m%d}"
    label = " (SYNTHETIC DATA)" if c.synthetic else ""
    title = f"{c.name or crisis_id}{label}: Emergency Tracking, {day:%d %B %Y}"
    sub = f"Day {(day - c.onset).days + 1} since the onset ({c.onset:%d %b %Y}); {c.country}"

    fig = plt.figure(figsize=(8.27, 11.69))  # A4 portrait
    fig.text(0.05, 0.965, title, fontsize=12, weight="bold")
    fig.text(0.05, 0.948, sub, fontsize=8, color="#444444")
    ax = fig.add_axes([0.05, 0.5, 0.9, 0.43])
    _map(engine, c, rows, day, ax)
    # the half-page table
    listed = [r for r in rows if r["pcode"] != UNASSIGNED][:TABLE_ROWS]
    rest = [r for r in rows if r not in listed and r["pcode"] != UNASSIGNED]
    unassigned = [r for r in rows if r["pcode"] == UNASSIGNED]
    cells = [[r["adm1_name"], r["name_en"]] + [f"{r[k]:,}" for _, k in COLUMNS[2:]] for r in listed]
    if rest:
        cells.append(["", f"Other districts ({len(rest)})"] + [f"{sum(r[k] for r in rest):,}" for _, k in COLUMNS[2:]])
    for r in unassigned:
        cells.append(["", r["name_en"]] + [f"{r[k]:,}" for _, k in COLUMNS[2:]])
    cells.append(["", "Total"] + [f"{sum(r[k] for r in rows):,}" for _, k in COLUMNS[2:]])
    tax = fig.add_axes([0.05, 0.05, 0.9, 0.42])
    tax.axis("off")
    table = tax.table(cellText=cells, colLabels=[h for h, _ in COLUMNS], loc="upper center", cellLoc="right")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.25)
    for (row, col), cell in table.get_celld().items():
        cell.set_edgecolor("#cccccc")
        if col < 2:
            cell.set_text_props(ha="left")
        if row == 0:
            cell.set_text_props(weight="bold")
            cell.set_facecolor("#eeeeee")
    fig.text(
        0.05,
        0.02,
        "Source: IOM DTM Emergency Tracking"
        + (" - SYNTHETIC data made for testing, not real figures" if c.synthetic else "")
        + f". Boundaries: {c.country} COD-AB. Figures: new displacement reported on the day and since the onset.",
        fontsize=6,
        color="#444444",
    )
    pdf = out / f"{base}_snapshot.pdf"
    fig.savefig(pdf, metadata={"Title": title, "Creator": "DTM Atlas"})
    plt.close(fig)
    # the map alone, as PNG
    fig2 = plt.figure(figsize=(8, 6.5))
    fig2.text(0.03, 0.95, title, fontsize=10, weight="bold")
    ax2 = fig2.add_axes([0.02, 0.02, 0.96, 0.9])
    _map(engine, c, rows, day, ax2)
    png = out / f"{base}_map.png"
    fig2.savefig(png, dpi=dpi)
    plt.close(fig2)
    table_csv = out / f"{base}_table.csv"
    with table_csv.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        keys = ["pcode", "adm1_name", "name_en", "day_idp_hh", "day_idp_ind", "cumulative_idp_hh", "cumulative_idp_ind"]
        w.writerow(keys)
        w.writerow(
            [
                "#adm2+code",
                "#adm1+name",
                "#adm2+name",
                "#affected+hh+idps+new",
                "#affected+ind+idps+new",
                "#affected+hh+idps+total",
                "#affected+ind+idps+total",
            ]
        )
        for r in rows:
            w.writerow([r[k] for k in keys])
    readme = out / "README.txt"
    readme.write_text(
        f"{title}\n{sub}\n\n"
        + (
            "SYNTHETIC DATA: made by bench/synthetic_events_flows.py for tests and demos, not real figures.\n\n"
            if c.synthetic
            else ""
        )
        + f"{pdf.name}: the map and the table of districts (new in the last 24 hours and since the onset)\n"
        f"{png.name}: the map\n{table_csv.name}: every district with figures (HXL-tagged)\n",
        encoding="utf-8",
    )
    return Snapshot(out, [pdf, png, table_csv, readme], rows, day, c.onset, time.perf_counter() - t0)
