"""Charts of a round: the national trend of IDPs and returnees across every round, and the
governorates with the largest change since the previous round. Figures come from the stored
aggregates (``list_rounds``: national totals; ``styles.queries.unit_values``: the stored
``change_individuals`` per governorate); nothing is recomputed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from service.core.rounds import list_rounds
from service.maps import fonts, naming
from service.maps.country import country_texts
from service.maps.data import POPULATION_WORDS, governorates
from styles.palette import get_palette
from styles.queries import unit_values

INK = "#222222"


def population_color(population: str) -> str:
    return get_palette(population).colors(5)[-1]


@dataclass
class TrendData:
    series: dict[str, list[tuple[dt.date, int, int]]]  # population -> (date, round number, individuals)
    country: str  # ISO3


@dataclass
class ChangeData:
    population: str
    round: dict
    previous_round: int | None
    rows: list[tuple[str, str | None, int]]  # (name_en, name_ar, change), largest |change| first
    top: int
    previous_date: dt.date | None = None  # the previous round's reporting date (it may have no number)

    @property
    def previous_label(self) -> str:
        if self.previous_round is None and self.previous_date is None:
            return "the previous round"
        return naming.round_label({"round_number": self.previous_round, "reporting_date": self.previous_date})


def load_trend(conn: Connection, country: str) -> TrendData:
    series: dict[str, list] = {}
    for r in list_rounds(conn, country):
        if r["individuals"] is None:
            continue
        series.setdefault(r["population"], []).append((r["reporting_date"], r["round_number"], int(r["individuals"])))
    return TrendData(series, country)


def load_change(conn: Connection, rnd: dict, top: int = 10) -> ChangeData:
    from sqlalchemy import text

    names = {g["pcode"]: (g["name_en"], g["name_ar"]) for g in governorates(conn, rnd["boundary_set_id"])}
    changes = [(p, v) for p, v in unit_values(conn, rnd["id"], 1, "change_individuals") if v is not None]
    prev = conn.execute(
        text(
            "SELECT p.round_number, p.reporting_date FROM unit_figure f JOIN round p ON p.id = f.prev_round_id "
            "WHERE f.round_id = :r AND f.level = 0"
        ),
        {"r": rnd["id"]},
    ).first()
    prev_number, prev_date = (prev[0], prev[1]) if prev is not None else (None, None)
    changes.sort(key=lambda pv: (-abs(pv[1]), pv[0]))
    rows = [(names.get(p, (p, None))[0] or p, names.get(p, (p, None))[1], int(v)) for p, v in changes[:top]]
    return ChangeData(rnd["population"], rnd, prev_number, rows, top, prev_date)


def draw_trend(ax, data: TrendData, *, highlight: dt.date | None = None, s: float = 1.0) -> None:
    from matplotlib.ticker import FuncFormatter

    for pop, pts in sorted(data.series.items()):
        pts = sorted(pts)
        xs, ys = [p[0] for p in pts], [p[2] for p in pts]
        color = population_color(pop)
        many = len(pts) > 12  # a long history: small markers, labels on the first, peak and last rounds only
        ax.plot(
            xs,
            ys,
            marker="o",
            color=color,
            linewidth=1.6 * s,
            markersize=(1.5 if many else 4) * s,
            label=POPULATION_WORDS[pop],
        )
        peak = max(range(len(pts)), key=lambda i: pts[i][2]) if pts else 0
        for i, (d, n, v) in enumerate(pts):
            if many and i not in (0, peak, len(pts) - 1):
                continue
            which = f"R{n}: " if n is not None else ""  # a round DTM's calendar does not number: its value alone
            ax.annotate(
                f"{which}{v / 1e6:.2f}M",
                (d, v),
                textcoords="offset points",
                xytext=(0, 6 * s),
                ha="center",
                fontsize=6.5 * s,
                color=color,
            )
    if highlight:
        ax.axvline(highlight, color="#999999", linewidth=0.6, linestyle="--")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:.1f}M"))
    ax.set_ylim(bottom=0, top=max([v for pts in data.series.values() for *_, v in pts] or [1]) * 1.2)
    ax.tick_params(labelsize=7 * s)
    ax.set_ylabel("individuals", fontsize=7.5 * s)
    ax.legend(fontsize=7 * s, frameon=False, loc="upper left")
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title("National trend of IDPs and returnees, every round", fontsize=9 * s, loc="left", color=INK)


def draw_change(ax, data: ChangeData, s: float = 1.0) -> None:
    who = POPULATION_WORDS[data.population]
    pal = get_palette("change").colors(7)
    if not data.rows:
        ax.set_axis_off()
        ax.text(
            0.5,
            0.5,
            f"{who}: no previous round to compare {naming.round_label(data.round)} with",
            ha="center",
            va="center",
            fontsize=8 * s,
            color="#555555",
            transform=ax.transAxes,
        )
        return
    rows = list(reversed(data.rows))
    labels = [f"{en} | {ar}" if ar else en for en, ar, _ in rows]
    values = [v for *_, v in rows]
    ax.barh(range(len(rows)), values, color=[pal[-1] if v > 0 else pal[0] for v in values], height=0.65)
    ax.set_yticks(range(len(rows)), labels, fontsize=6.5 * s)
    ax.axvline(0, color="#555555", linewidth=0.6)
    span = max(abs(v) for v in values) or 1
    for i, v in enumerate(values):
        ax.text(
            v + (span * 0.02 if v >= 0 else -span * 0.02),
            i,
            f"{v:+,}",
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=6 * s,
            color=INK,
        )
    ax.set_xlim(min(0, min(values)) - span * 0.3, max(0, max(values)) + span * 0.3)
    ax.tick_params(axis="x", labelsize=6.5 * s)
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+,.0f}"))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"{who}: governorates with the largest change since {data.previous_label} "
        f"({naming.round_label(data.round)}, individuals)",
        fontsize=8.5 * s,
        loc="left",
        color=INK,
    )


def _figure(size_mm=(180, 100), dpi=300):
    fonts.setup()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size_mm[0] / 25.4, size_mm[1] / 25.4), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, out_dir: Path, base: str, formats, title: str, country: str) -> dict[str, Path]:
    from service.maps.render import save

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    producer = country_texts(country).producer
    return {f: save(fig, out_dir / f"{base}.{f}", f, title=title, producer=producer) for f in formats}


def trend_base(data: TrendData, rnd: dict) -> str:
    return naming.chart_base(
        "trend", country=data.country, round_number=rnd["round_number"], date=rnd["reporting_date"]
    )


def change_base(data: ChangeData) -> str:
    r = data.round
    return naming.chart_base(
        "change",
        country=r["country"],
        round_number=r["round_number"],
        date=r["reporting_date"],
        population=data.population,
        level=1,
    )


def render_trend(data: TrendData, rnd: dict, out_dir: Path, formats=("png", "pdf"), dpi: int = 300) -> dict[str, Path]:
    fig = _figure(dpi=dpi)
    with fonts.strict_glyphs():
        draw_trend(fig.add_subplot(), data, highlight=rnd["reporting_date"])
        fig.supxlabel(
            f"Source: {country_texts(data.country).master_lists} (national totals per round)",
            x=0.99,
            ha="right",
            fontsize=5.5,
            color="#555555",
        )
    return _save(fig, out_dir, trend_base(data, rnd), formats, "National trend of IDPs and returnees", data.country)


def render_change(data: ChangeData, out_dir: Path, formats=("png", "pdf"), dpi: int = 300) -> dict[str, Path]:
    fig = _figure(dpi=dpi)
    with fonts.strict_glyphs():
        draw_change(fig.add_subplot(), data)
        fig.supxlabel(
            f"Source: {country_texts(data.round['country']).master_lists} (stored change per governorate)",
            x=0.99,
            ha="right",
            fontsize=5.5,
            color="#555555",
        )
    return _save(
        fig,
        out_dir,
        change_base(data),
        formats,
        "Change per governorate since the previous round",
        data.round["country"],
    )
