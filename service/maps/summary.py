"""The one-page summary of a round (A4 portrait PDF): headline totals and change since the
previous round per population, the national trend chart, and the governorate table. Every
number is a stored aggregate (``list_rounds`` national totals, the governorate table of
``tables.unit_tables``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from service.maps import charts, fonts, naming
from service.maps.country import CountryTexts
from service.maps.data import POPULATION_WORDS
from service.maps.render import DISCLAIMER, long_date, save
from service.maps.tables import Table

INK = "#222222"


def summary_base(rnd: dict) -> str:
    """``irq_dtm_summary_r120_A4P_20210228`` (a round without a DTM number: ``..._d20150604_...``)."""
    return (
        f"{rnd['country'].lower()}_dtm_summary_{naming.round_tag(rnd['round_number'], rnd['reporting_date'])}_A4P_"
        f"{rnd['reporting_date'].strftime('%Y%m%d')}"
    )


def render_summary(
    path: Path,
    *,
    rounds: dict[str, dict],
    totals: dict[str, dict],
    trend: charts.TrendData,
    governorates: dict[str, Table],
    created: dt.date,
    data_version: int,
    texts: CountryTexts,
) -> Path:
    """``rounds``/``totals``: per population, the round row and its national totals
    (``list_rounds`` row: individuals, families, locations) with ``change`` (stored level-0
    change_individuals) and ``previous`` (the previous round number). ``texts``: the country's
    names, operation and boundary source (``service.maps.country.round_texts``)."""
    fonts.setup()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(210 / 25.4, 297 / 25.4), dpi=150)
    FigureCanvasAgg(fig)
    first = next(iter(rounds.values()))
    with fonts.strict_glyphs():
        fig.text(
            0.06,
            0.965,
            f"{texts.place}: displacement, {naming.round_label(first)}, {long_date(first['reporting_date'])}",
            fontsize=14,
            fontweight="bold",
            va="top",
            color=INK,
        )
        fig.text(
            0.06,
            0.94,
            f"{texts.dtm} information package: summary of IDPs and returnees (IOM DTM Master Lists)",
            fontsize=9,
            va="top",
            color="#444444",
        )
        # headline boxes
        x = 0.06
        for pop in ("idp", "returnee"):
            if pop not in rounds:
                continue
            t = totals[pop]
            ax = fig.add_axes([x, 0.80, 0.42, 0.12])
            ax.set_axis_off()
            color = charts.population_color(pop)
            ax.add_patch(
                Rectangle((0, 0), 1, 1, transform=ax.transAxes, facecolor="#f6f6f6", edgecolor=color, linewidth=1.2)
            )
            ax.text(
                0.05,
                0.85,
                f"{POPULATION_WORDS[pop]}, {naming.round_label(rounds[pop])}",
                fontsize=9,
                color=color,
                fontweight="bold",
                va="top",
                transform=ax.transAxes,
            )
            ax.text(
                0.05,
                0.58,
                f"{t['individuals']:,}",
                fontsize=18,
                fontweight="bold",
                va="center",
                color=INK,
                transform=ax.transAxes,
            )
            ax.text(
                0.05,
                0.33,
                f"individuals in {t['families']:,} families, {t['locations']:,} locations",
                fontsize=7.5,
                va="center",
                color="#333333",
                transform=ax.transAxes,
            )
            since = (
                naming.round_label({"round_number": t.get("previous"), "reporting_date": t["previous_date"]})
                if t.get("previous_date") is not None
                else f"round {t.get('previous')}"
            )
            change = (
                f"{t['change']:+,} since {since}"
                if t.get("change") is not None
                else "no previous round to compare with"
            )
            ax.text(0.05, 0.12, change, fontsize=7.5, va="center", color="#333333", transform=ax.transAxes)
            x += 0.46
        # trend
        tax = fig.add_axes([0.1, 0.55, 0.84, 0.2])
        charts.draw_trend(tax, trend, highlight=first["reporting_date"], s=0.9)
        # governorate table
        fig.text(
            0.06,
            0.505,
            "Per governorate (individuals; change since the previous round)",
            fontsize=9.5,
            fontweight="bold",
            va="top",
            color=INK,
        )
        cols = [("Governorate", 0.06, "left")]
        pops = [p for p in ("idp", "returnee") if p in governorates]
        xpos = 0.44
        for pop in pops:
            cols += [(POPULATION_WORDS[pop], xpos, "right"), ("change", xpos + 0.13, "right")]
            xpos += 0.27
        y = 0.48
        for label, cx, ha in cols:
            fig.text(cx, y, label, fontsize=7.5, fontweight="bold", ha=ha, va="top", color=INK)
        rows = {}
        for pop in pops:
            t = governorates[pop]
            c = {name: t.columns.index(name) for name in t.columns}
            for r in t.rows:
                key = r[c["pcode"]]
                entry = rows.setdefault(key, {"name": (r[c["name_en"]] or key, r[c["name_ar"]])})
                entry[pop] = (r[c["individuals"]], r[c["change_individuals"]])
        y -= 0.018
        for pcode in sorted(rows, key=lambda k: (k == "UNASSIGNED", rows[k]["name"][0])):
            e = rows[pcode]
            en, ar = e["name"]
            fig.text(0.06, y, f"{en} | {ar}" if ar else en, fontsize=7, va="top", color=INK)
            xpos = 0.44
            for pop in pops:
                v, ch = e.get(pop, (None, None))
                fig.text(xpos, y, "–" if v is None else f"{v:,}", fontsize=7, ha="right", va="top", color=INK)
                fig.text(
                    xpos + 0.13, y, "–" if ch is None else f"{ch:+,}", fontsize=7, ha="right", va="top", color="#444444"
                )
                xpos += 0.27
            y -= 0.0205
        fig.text(
            0.06,
            0.035,
            f"Sources: {texts.master_lists}; {texts.boundaries_short}. Credit: IOM DTM. {DISCLAIMER}",
            fontsize=5.5,
            va="bottom",
            color="#444444",
            wrap=True,
        )
        fig.text(
            0.06,
            0.02,
            f"Producer: {texts.producer} | Created: {created.isoformat()} | Data version {data_version}",
            fontsize=5.5,
            va="bottom",
            color="#444444",
        )
    return save(
        fig, Path(path), "pdf", title=f"{texts.dtm} {naming.round_label(first)}: summary", producer=texts.producer
    )
