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


def household_note(rnd: dict, extra: str | None = None) -> str:
    """The household-size rule behind DTM's published count of a round, in words: "DTM's
    published count: families in camps counted at 5 persons (6 in the file) from 31 Aug 2020
    (rounds 117-) ..."; empty when the file's count is the published one."""
    from service.figures.household import rules, sizes_for

    sizes = sizes_for(rnd["country"], rnd["population"], rnd["reporting_date"], extra)
    adjust = sizes.adjustments()
    if not adjust:
        return ""
    parts = []
    for shelter in adjust:
        rule = next(
            (
                r
                for r in rules(extra)
                if r.shelter == shelter and r.applies(rnd["country"], rnd["population"], rnd["reporting_date"])
            ),
            None,
        )
        since = f" from {rule.first_date.day} {rule.first_date.strftime('%b %Y')}" if rule else ""
        rounds = f" (DTM rounds {rule.dtm_rounds})" if rule and rule.dtm_rounds else ""
        parts.append(f"families in {shelter.lower()}s counted at {sizes.shelters[shelter]} persons{since}{rounds}")
    return (
        f"Headline: DTM's published count ({POPULATION_WORDS[rnd['population']]}): "
        + "; ".join(parts)
        + f", {sizes.default} persons per family elsewhere. The master list file counts families x {sizes.default}"
        " on every row (its total beside the headline)."
    )


def _rule(fig, x0, x1, y):
    from matplotlib.lines import Line2D

    return Line2D([x0, x1], [y, y], transform=fig.transFigure, color="#999999", linewidth=0.5)


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
    footnote: str = "",
) -> Path:
    """``rounds``/``totals``: per population, the round row and its national totals
    (``list_rounds`` row: individuals, families, locations) with ``change`` (stored level-0
    change_individuals) and ``previous`` (the previous round number). ``texts``: the country's
    names, operation and boundary source (``service.maps.country.round_texts``).

    The headline of each population is DTM's published count (``published``: the stored level-0
    ``published_individuals``, household size per shelter) with the file's count beside it and
    ``footnote`` (``household_note``) saying the rule; the governorate table shows the published
    counts, sorted by size, with a total row."""
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
        # headline boxes: DTM's published count, the file's count beside it (footnote 1)
        x = 0.06
        for pop in ("idp", "returnee"):
            if pop not in rounds:
                continue
            t = totals[pop]
            headline = t.get("published") if t.get("published") is not None else t["individuals"]
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
                f"{headline:,}",
                fontsize=18,
                fontweight="bold",
                va="center",
                color=INK,
                transform=ax.transAxes,
            )
            if headline != t["individuals"]:
                ax.text(
                    0.52,
                    0.58,
                    f"master list file: {t['individuals']:,} (1)",
                    fontsize=7,
                    va="center",
                    color="#555555",
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
            change = t["published_change"] if t.get("published_change") is not None else t.get("change")
            change = f"{change:+,} since {since}" if change is not None else "no previous round to compare with"
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
            count = c.get("published_individuals", c["individuals"])
            for r in t.rows:
                key = r[c["pcode"]]
                entry = rows.setdefault(key, {"name": (r[c["name_en"]] or key, r[c["name_ar"]])})
                entry[pop] = (r[count], r[c["change_individuals"]])
        y -= 0.018
        # by size (the first population's count, largest first), the UNASSIGNED bucket last; a total row
        first_pop = pops[0] if pops else None
        order = sorted(
            rows, key=lambda k: (k == "UNASSIGNED", -((rows[k].get(first_pop) or (0, 0))[0] or 0), rows[k]["name"][0])
        )
        total = {
            pop: [
                sum(v for v in vals if v is not None) for vals in zip(*(rows[k].get(pop, (None, None)) for k in rows))
            ]
            for pop in pops
        }
        for pcode in [*order, None]:
            bold = "bold" if pcode is None else "normal"
            if pcode is None:
                fig.add_artist(_rule(fig, 0.06, 0.94, y + 0.004))
                en, ar = "Total", None
                values = {pop: tuple(total[pop]) for pop in pops}
            else:
                (en, ar), values = rows[pcode]["name"], rows[pcode]
            fig.text(0.06, y, f"{en} | {ar}" if ar else en, fontsize=7, va="top", color=INK, fontweight=bold)
            xpos = 0.44
            for pop in pops:
                v, ch = values.get(pop, (None, None))
                fig.text(
                    xpos,
                    y,
                    "–" if v is None else f"{v:,}",
                    fontsize=7,
                    ha="right",
                    va="top",
                    color=INK,
                    fontweight=bold,
                )
                fig.text(
                    xpos + 0.13, y, "–" if ch is None else f"{ch:+,}", fontsize=7, ha="right", va="top", color="#444444"
                )
                xpos += 0.27
            y -= 0.0205
        if footnote:
            fig.text(0.06, 0.05, f"(1) {footnote}", fontsize=6, va="bottom", color="#444444", wrap=True)
        fig.text(
            0.06,
            0.033,
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
