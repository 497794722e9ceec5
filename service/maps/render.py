"""Static maps: a ``MapData`` drawn with matplotlib as PNG (300 dpi by default) and vector PDF.

Layout (``layout.page``): title naming the place, subject and data date; subtitle with the
round; the main map in the UTM zone of the country (``MapData.projection``, stated on the map;
Iraq: 38N) with neighbouring countries in grey;
labels in English and Arabic where they fit inside their unit without touching another label
(a halo keeps them legible, white text on dark fills); an inset locator; scale bar; north
arrow; the legend drawn from the ``Classification`` the API serves (its labels and colours,
plus "No data"); sources, boundary disclaimer, map ID, version, producer, creation date.

A glyph missing from the fonts raises ``fonts.MissingGlyph`` (never a box on the map).

Every text naming the country, the operation, the producer or the boundary source comes from
the round's country and boundary set (``MapData.texts``, ``service.maps.country``).
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from service.maps import fonts, layout, naming
from service.maps.data import LEVEL_NAMES, POPULATION_WORDS, MapData
from service.maps.encode import _canvas_class, _version, save

SOURCE_NE = "Natural Earth (neighbouring countries)"
DISCLAIMER = (
    "The boundaries and names shown and the designations used on this map do not imply official "
    "endorsement or acceptance by the International Organization for Migration (IOM)."
)
WATER = "#eef4f8"
NEIGHBOUR_FILL, NEIGHBOUR_EDGE = "#dedede", "#b4b4b4"
NEIGHBOUR_TEXT = "#8c8c8c"
CONTEXT_FILL, CONTEXT_EDGE = "#f3f3f3", "#c4c4c4"
INK = "#222222"
FORMATS = ("png", "pdf")


def base_name(data: MapData, page: layout.Page | None = None) -> str:
    s = data.spec
    page = page or layout.page(s.paper, s.orientation)
    return naming.map_base(
        country=data.round["country"],
        population=s.population,
        level=s.level,
        indicator=s.indicator,
        extent="view" if s.bbox is not None else s.extent,
        round_number=data.round["round_number"],
        paper_code=page.code,
        date=data.round["reporting_date"],
    )


def long_date(d: dt.date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def title_texts(data: MapData) -> tuple[str, str]:
    s, rnd, cls = data.spec, data.round, data.classification
    place = data.place_en + (f" | {data.place_ar}" if data.place_ar else "")
    if s.extent != "national":
        place = f"{data.place_en} governorate" + (f" | {data.place_ar}" if data.place_ar else "")
    level_one, level_many = LEVEL_NAMES[s.level]
    subject = cls.title or s.indicator
    title = f"{place}: {subject} by {level_one}, {long_date(rnd['reporting_date'])}"
    subtitle = (
        f"{data.texts.dtm} Master List, {naming.round_label(rnd)} ({POPULATION_WORDS[s.population]}), data as of "
        f"{rnd['reporting_date'].isoformat()}; {len(data.units)} {level_many}"
    )
    return title, subtitle


# ------------------------------------------------------------------------------ geometry
def _path(geom):
    from matplotlib.path import Path as MPath

    geom = shapely.orient_polygons(geom)  # exterior counter-clockwise, holes clockwise
    verts, codes = [], []
    polys = getattr(geom, "geoms", [geom])
    for p in polys:
        if p.is_empty or p.geom_type != "Polygon":
            continue
        for ring in [p.exterior, *p.interiors]:
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            verts.append(xy)
            c = np.full(len(xy), MPath.LINETO, dtype=np.uint8)
            c[0], c[-1] = MPath.MOVETO, MPath.CLOSEPOLY
            codes.append(c)
    if not verts:
        return None
    return MPath(np.concatenate(verts), np.concatenate(codes))


def _polygons(geom):
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(parts) if parts else None
    return geom if geom.geom_type in ("Polygon", "MultiPolygon") else None


def _collection(geoms, **kw):
    from matplotlib.collections import PathCollection

    paths, keep = [], []
    for i, g in enumerate(geoms):
        p = _path(_polygons(g)) if g is not None else None
        if p is not None:
            paths.append(p)
            keep.append(i)
    fc = kw.pop("facecolors", None)
    if isinstance(fc, list):
        fc = [fc[i] for i in keep]
    return PathCollection(paths, facecolors=fc if fc is not None else "none", **kw)


def _luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def nice_length(max_m: float) -> float:
    """The largest 1, 2 or 5 x 10^n metres not above ``max_m``."""
    e = 10 ** math.floor(math.log10(max_m))
    for f in (5, 2, 1):
        if f * e <= max_m:
            return f * e
    return e


# ------------------------------------------------------------------------------- drawing
def _scale_bar(ax, view, s: float):
    x0, y0, x1, y1 = view
    length = nice_length((x1 - x0) * 0.22)
    bx, by = x0 + (x1 - x0) * 0.03, y0 + (y1 - y0) * 0.035
    h = (y1 - y0) * 0.008
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (bx - (x1 - x0) * 0.01, by - h * 2.2),
            length + (x1 - x0) * 0.04,
            h * 7.2,
            facecolor="white",
            edgecolor="none",
            alpha=0.8,
            zorder=20,
        )
    )
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (bx + i * length / 4, by),
                length / 4,
                h,
                facecolor=INK if i % 2 == 0 else "white",
                edgecolor=INK,
                linewidth=0.4,
                zorder=21,
            )
        )
    unit = "km"
    for frac in (0, 0.5, 1):
        v = length * frac / 1000
        label = f"{v:g}" + (f" {unit}" if frac == 1 else "")
        ax.text(
            bx + length * frac, by + h * 1.6, label, fontsize=5.5 * s, ha="center", va="bottom", color=INK, zorder=22
        )
    return length


def _north_arrow(ax, s: float):
    from matplotlib.patches import Polygon as MPolygon

    cx, top = 0.955, 0.965
    w, h = 0.014, 0.06
    ax.add_patch(
        MPolygon(
            [(cx, top), (cx - w, top - h), (cx, top - h * 0.72)],
            closed=True,
            transform=ax.transAxes,
            facecolor=INK,
            edgecolor=INK,
            linewidth=0.5,
            zorder=22,
        )
    )
    ax.add_patch(
        MPolygon(
            [(cx, top), (cx + w, top - h), (cx, top - h * 0.72)],
            closed=True,
            transform=ax.transAxes,
            facecolor="white",
            edgecolor=INK,
            linewidth=0.5,
            zorder=22,
        )
    )
    ax.text(
        cx,
        top - h - 0.012,
        "N",
        transform=ax.transAxes,
        ha="center",
        va="top",
        fontsize=8 * s,
        fontweight="bold",
        color=INK,
        zorder=22,
    )


def _cartography(fig, ax, data: MapData, page: layout.Page, s: float) -> list:
    """Every name of the main map (``service.maps.labels``): the capital, the units (an inset
    of the densest cluster of names that do not fit, numbers and an index for the rest), the
    governorates (district maps) or the neighbouring governorates (governorate maps), the main
    cities, the neighbouring countries. Returns how many units are named on the map, named in
    the inset only, numbered (with the index rows)."""
    from service.maps import labels as lb

    ax.apply_aspect()
    renderer = fig.canvas.get_renderer()
    measure = lb.Measure(ax, renderer)
    view = shapely.box(*data.view)
    x0, y0, x1, y1 = data.view
    size = (6.0 if data.spec.level == 1 else 5.0) * s
    national = data.spec.extent == "national"

    def obstacles(plan):
        # the scale bar, the north arrow and the projection's name
        plan.add(shapely.box(x0, y0, x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.11))
        plan.add(shapely.box(x0 + (x1 - x0) * 0.92, y0 + (y1 - y0) * 0.86, x1, y1))
        plan.add(shapely.box(x0 + (x1 - x0) * 0.7, y0, x1, y0 + (y1 - y0) * 0.03))

    capital = [c for c in data.cities if c["kind"] == "capital"]
    others = [c for c in data.cities if c["kind"] != "capital"]

    def units_pass(extra=None):
        plan = lb.Plan()
        obstacles(plan)
        if extra is not None:
            plan.add(extra)
        lb.label_cities(plan, measure, capital, view, 5.5 * s, s)
        return plan, lb.label_units(plan, measure, data.units, view, size, s, known=anchors)

    anchors: dict = {}  # the units' anchors, the same in both passes

    plan, left = units_pass()
    inset_box = None
    win = lb.dense_window(left, view) if len(left) >= 3 else None
    if win is not None:
        window, _members = win
        ww, wh = window[2] - window[0], window[3] - window[1]
        aspect = max(0.7, min(ww / wh, 1.4))
        bw = (x1 - x0) * (0.27 if page.orientation == "landscape" else 0.3)
        inset_box = lb.emptiest_box(data.view, data.country, bw, bw / aspect, plan)
        if inset_box is not None and inset_box.area < 4 * ww * wh:  # the inset would barely enlarge
            inset_box = None
    in_inset: set = set()
    if inset_box is not None:
        plan, left = units_pass(inset_box)
        before = {u.pcode for u, _ in left}
        left = _dense_inset(fig, ax, data, window, inset_box, left, s, size)
        in_inset = before - {u.pcode for u, _ in left}
        ax.add_patch(_frame(window, lw=0.8 * s))
    # the governorates' names in the room the units' names leave (anywhere inside them)
    if data.spec.level > 1 and national:
        lb.label_areas(plan, measure, data.governorates, data.governorate_names, view, 6.2 * s, lb.GOV_INK)
    if data.context:
        lb.label_areas(plan, measure, data.context, data.context_names, view, 6.0 * s, lb.CONTEXT_INK)
    lb.label_cities(plan, measure, others, view, 5.0 * s, s, required_kinds=())
    index = lb.label_numbers(plan, measure, left, size)
    if index:
        _index_box(ax, plan, measure, data, index, inset_box, s)
    # the neighbouring countries, in their visible part
    for name, g in data.neighbours:
        a = lb.anchor(g, view)
        if a is None or a[0].area < 0.002 * view.area:
            continue
        part, pole, r = a
        got = lb.place_in(plan, measure, part, pole, r, [name.upper()], [7 * s, 6 * s], view, inside=0.9, anywhere=True)
        if got is not None:
            x, y, label, fs, rect = got
            plan.add(rect, lb.Placed(x, y, label, fs, NEIGHBOUR_TEXT, "", weight="normal"))
    fig.dtm_label_texts = getattr(fig, "dtm_label_texts", []) + lb.draw(ax, plan, s)
    return {"named": len(plan.named), "inset": len(in_inset), "numbered": len(index), "index": index}


def _index_box(ax, plan, measure, data: MapData, index, inset_box, s: float) -> None:
    """The index of the numbered units in a box inside the map frame, where it hides least: number
    and English | Arabic name, one or two columns."""
    from matplotlib.patches import Rectangle

    from service.maps import labels as lb

    fs = 5.0 * s
    rows = [
        (str(n), f"{u.name_en or u.pcode} | {u.name_ar}" if u.name_ar else (u.name_en or u.pcode)) for n, u in index
    ]
    head = "Units numbered on the map"
    nw = max(measure.size(n, fs, "bold")[0] for n, _ in rows)
    tw = max(measure.size(t, fs)[0] for _, t in rows)
    lh = measure.size("Ag", fs)[1] * 1.1
    x0, y0, x1, y1 = data.view
    cols = 1 if len(rows) * lh < (y1 - y0) * 0.4 else 2
    per_col = math.ceil(len(rows) / cols)
    gap = nw * 0.8
    colw = nw + gap + tw
    pad = lh * 0.5
    w = cols * colw + (cols - 1) * gap * 2 + 2 * pad
    h = (per_col + 1.3) * lh + 2 * pad
    where = lb.emptiest_box(data.view, data.country, w, h, plan, avoid=[inset_box] if inset_box is not None else [])
    if where is None:
        return
    bx0, by0, bx1, by1 = where.bounds
    ax.add_patch(
        Rectangle((bx0, by0), w, h, facecolor="white", edgecolor="#777777", linewidth=0.5 * s, alpha=0.92, zorder=20)
    )
    ax.text(bx0 + pad, by1 - pad, head, fontsize=fs, fontweight="bold", va="top", color=INK, zorder=21)
    for k, (n, t) in enumerate(rows):
        col, row = divmod(k, per_col)
        x = bx0 + pad + col * (colw + gap * 2)
        y = by1 - pad - (row + 1.3) * lh
        ax.text(x + nw, y, n, fontsize=fs, fontweight="bold", va="top", ha="right", color=INK, zorder=21)
        ax.text(x + nw + gap, y, t, fontsize=fs, va="top", color=INK, zorder=21)
    plan.add(where)


def _frame(window, lw: float, color: str = "#d7301f"):
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = window
    return Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor=color, linewidth=lw, zorder=19)


def _dense_inset(fig, ax, data: MapData, window, box, left, s: float, size: float) -> list:
    """The enlarged inset of ``window`` drawn over the main map in ``box`` (map units); its
    units named there (all that fit). Returns the units still unnamed."""
    from service.maps import labels as lb

    bx0, by0, bx1, by1 = box.bounds
    (fx0, fy0), (fx1, fy1) = fig.transFigure.inverted().transform(ax.transData.transform([(bx0, by0), (bx1, by1)]))
    iax = fig.add_axes([fx0, fy0, fx1 - fx0, fy1 - fy0], zorder=5)
    iax.set_facecolor(WATER)
    wx0, wy0, wx1, wy1 = window
    # the window at the inset's aspect
    aspect = (bx1 - bx0) / (by1 - by0)
    cx, cy, w, h = (wx0 + wx1) / 2, (wy0 + wy1) / 2, wx1 - wx0, wy1 - wy0
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    win = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    wbox = shapely.box(*win)
    near = [u for u in data.units if u.geom.intersects(wbox)]
    iax.add_collection(
        _collection([g for _, g in data.neighbours if g.intersects(wbox)], facecolors=NEIGHBOUR_FILL, edgecolors="none")
    )
    iax.add_collection(
        _collection(
            [u.geom for u in near], facecolors=[u.color for u in near], edgecolors="white", linewidths=0.5 * s, zorder=3
        )
    )
    if data.spec.level > 1:
        iax.add_collection(
            _collection([g for g in data.governorates if g.intersects(wbox)], edgecolors="#555555", linewidths=0.9 * s)
        )
    iax.set_xlim(win[0], win[2])
    iax.set_ylim(win[1], win[3])
    iax.set_aspect("equal", adjustable="box")
    iax.set_xticks([])
    iax.set_yticks([])
    for sp in iax.spines.values():
        sp.set_edgecolor("#d7301f")
        sp.set_linewidth(0.9 * s)
    iax.apply_aspect()
    measure = lb.Measure(iax, fig.canvas.get_renderer())
    plan = lb.Plan()
    title = f"Enlarged: {_area_name(data, near)}"
    tw, th = measure.size(title, 5 * s, "bold")
    plan.add(shapely.box(win[0], win[3] - th * 1.4, win[0] + tw * 1.2, win[3]))
    iax.text(0.02, 0.985, title, transform=iax.transAxes, fontsize=5 * s, fontweight="bold", va="top", color=INK)
    wanted = {u.pcode for u, _ in left}
    # the unnamed first (they are why the inset is there), then the others for context
    tried = [u for u in near if u.pcode in wanted]
    rest = lb.label_units(plan, measure, tried, wbox, size, s)
    lb.label_units(plan, measure, [u for u in near if u.pcode not in wanted], wbox, size, s)
    fig.dtm_label_texts = getattr(fig, "dtm_label_texts", []) + lb.draw(iax, plan, s)
    named = {u.pcode for u in tried} - {u.pcode for u, _ in rest}
    return [(u, a) for u, a in left if u.pcode not in named]


def _area_name(data: MapData, near) -> str:
    """The inset's name: the governorate most of its units are in (its name), else "dense area"."""
    from collections import Counter

    if not near or not data.governorates:
        return "dense area"
    counts = Counter()
    for u in near:
        pt = u.geom.representative_point()
        for g, (en, _ar) in zip(data.governorates, data.governorate_names):
            if g.contains(pt):
                counts[en] += 1
                break
    return counts.most_common(1)[0][0] if counts else "dense area"


def _legend(ax, data: MapData, s: float):
    cls = data.classification
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    title = cls.title or data.spec.indicator
    lines = textwrap.wrap(title, 34)
    y = 0.98
    for line in lines:
        ax.text(0, y, line, fontsize=8.5 * s, fontweight="bold", va="top", color=INK)
        y -= 0.075
    y -= 0.02
    rows = [(c, lab) for c, lab in zip(cls.colors, cls.labels)] + [(cls.no_data_color, "No data")]
    step = min(0.085, (y - 0.16) / max(len(rows), 1))
    from matplotlib.patches import Rectangle

    for color, label in rows:
        ax.add_patch(
            Rectangle((0, y - step * 0.8), 0.12, step * 0.72, facecolor=color, edgecolor="#777777", linewidth=0.4)
        )
        ax.text(0.16, y - step * 0.44, label, fontsize=7.5 * s, va="center", color=INK)
        y -= step
    notes = [f"Classes: {cls.method.replace('_', ' ')} ({cls.k}), as in the web map and the API."]
    total = total_text(data)
    if total:
        notes.insert(0, total)
    ua = data.unassigned
    if ua and ua.get("individuals"):
        notes.append(
            f"Not placed in a {LEVEL_NAMES[data.spec.level][0]}: {ua['individuals']:,} individuals "
            f"({ua['locations']:,} locations)."
        )
    y -= 0.02
    for note in notes:
        for line in textwrap.wrap(note, 52):
            ax.text(0, y, line, fontsize=6 * s, va="top", color="#444444")
            y -= 0.05


def total_text(data: MapData) -> str:
    """The national total a national map states: DTM's published count and the file's count."""
    t = data.total
    if data.spec.extent != "national" or data.spec.bbox is not None or not t or t.get("individuals") is None:
        return ""
    who = POPULATION_WORDS[data.spec.population]
    pub = t.get("published")
    if pub is not None and pub != t["individuals"]:
        return (
            f"National total: {pub:,} {who} (DTM's published count); {t['individuals']:,} in the master list "
            "file, whose figures the map shows."
        )
    return f"National total: {t['individuals']:,} {who}."


def _inset(ax, data: MapData):
    ax.set_facecolor(WATER)
    ax.add_collection(
        _collection(
            [g for _, g in data.inset_neighbours], facecolors=NEIGHBOUR_FILL, edgecolors=NEIGHBOUR_EDGE, linewidths=0.3
        )
    )
    ax.add_collection(
        _collection(
            [data.country.simplify((data.inset_view[2] - data.inset_view[0]) / 800)],
            facecolors="#9a9a9a",
            edgecolors="#555555",
            linewidths=0.4,
        )
    )
    if data.spec.extent != "national" and data.units:
        ax.add_collection(
            _collection(
                [shapely.union_all([u.geom for u in data.units])],
                facecolors="#d7301f",
                edgecolors="#7f0000",
                linewidths=0.4,
            )
        )
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = data.view
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor="none", edgecolor="#d7301f", linewidth=0.9))
    ax.set_xlim(data.inset_view[0], data.inset_view[2])
    ax.set_ylim(data.inset_view[1], data.inset_view[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_edgecolor("#777777")
        sp.set_linewidth(0.5)


def figure(data: MapData, dpi: int = layout.DPI, *, logo: Path | None = None):
    """The map as a matplotlib Figure (labels placed for this figure's renderer); ``logo``: the
    image of the header's logo slot (``MapSettings.logo``), None for none."""
    fonts.setup()
    from matplotlib.figure import Figure

    spec = data.spec
    page = layout.page(spec.paper, spec.orientation)
    s = page.scale
    fig = Figure(figsize=page.size_inches, dpi=dpi)
    _canvas_class()(fig)
    base = base_name(data, page)
    title, subtitle = title_texts(data)

    hx, hy, hw, hh = page.frac(page.header)
    text_w = hw - _logo(fig, page, logo)  # the logo slot at the header's right end
    renderer = fig.canvas.get_renderer()
    lines = fit_text(fig, renderer, title, text_w, 14 * s, weight="bold")
    fig.text(hx, hy + hh, lines.text, fontsize=lines.size, fontweight="bold", va="top", ha="left", color=INK)
    sub = fit_text(fig, renderer, subtitle, text_w, 9 * s, max_lines=1)
    fig.text(
        hx,
        hy + hh * (0.32 if lines.lines == 1 else 0.1),
        sub.text,
        fontsize=sub.size,
        va="bottom",
        ha="left",
        color="#444444",
    )
    fig.add_artist(_hline(fig, hx, hx + hw, hy))

    ax = fig.add_axes(page.frac(page.main))
    ax.set_facecolor(WATER)
    x0, y0, x1, y1 = data.view
    ax.add_collection(
        _collection(
            [g for _, g in data.neighbours],
            facecolors=NEIGHBOUR_FILL,
            edgecolors=NEIGHBOUR_EDGE,
            linewidths=0.4 * s,
            zorder=1,
        )
    )
    if data.context:
        ax.add_collection(
            _collection(data.context, facecolors=CONTEXT_FILL, edgecolors=CONTEXT_EDGE, linewidths=0.4 * s, zorder=2)
        )
    ax.add_collection(
        _collection(
            [u.geom for u in data.units],
            facecolors=[u.color for u in data.units],
            edgecolors="white",
            linewidths=0.35 * s,
            zorder=3,
        )
    )
    if spec.level > 1:
        ax.add_collection(_collection(data.governorates, edgecolors="#555555", linewidths=0.7 * s, zorder=4))
    ax.add_collection(_collection([data.country], edgecolors="#333333", linewidths=1.0 * s, zorder=5))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for sp in ax.spines.values():
        sp.set_edgecolor("#555555")
        sp.set_linewidth(0.6)
    scale_m = _scale_bar(ax, data.view, s)
    _north_arrow(ax, s)
    ax.text(
        0.99,
        0.005,
        data.projection.name,
        transform=ax.transAxes,
        fontsize=5 * s,
        ha="right",
        va="bottom",
        color="#555555",
        zorder=22,
    )

    _inset(fig.add_axes(page.frac(page.inset)), data)
    fig.dtm_labels = _cartography(fig, ax, data, page, s)
    _legend(fig.add_axes(page.frac(page.legend)), data, s)

    rnd = data.round
    bset = data.boundaries[0] if data.boundaries else {}
    notes = [
        ("Data", f"{data.texts.master_list}, {naming.round_label(rnd)}, {rnd['reporting_date'].isoformat()}."),
        (
            "Boundaries",
            f"{data.texts.boundaries}"
            + (f", valid on {bset['valid_on'].isoformat()}" if bset.get("valid_on") else "")
            + ".",
        ),
        ("Context", f"{SOURCE_NE}."),
        ("Projection", data.projection.description + "."),
        (
            "Scale",
            f"bar of {scale_m / 1000:g} km; generalised boundaries (band {data.zband})."
            if data.zband is not None
            else f"bar of {scale_m / 1000:g} km; full-resolution boundaries.",
        ),
    ]
    nax = fig.add_axes(page.frac(page.notes))
    nax.set_axis_off()
    y = 1.0
    width = 50 if spec.orientation == "landscape" else 40
    for head, body in notes:
        lines = textwrap.wrap(f"{head}: {body}", width)
        for line in lines:
            nax.text(0, y, line, fontsize=6 * s, va="top", color="#333333", transform=nax.transAxes)
            y -= 0.062 if spec.orientation == "landscape" else 0.05
        y -= 0.02

    fx, fy, fw, fh = page.frac(page.footer)
    fig.add_artist(_hline(fig, fx, fx + fw, fy + fh))
    chars = int(page.footer.w / (1.12 * s))  # characters of 5.8 pt Noto Sans across the footer
    lines = textwrap.wrap(f"Disclaimer: {DISCLAIMER}", chars)
    lines += textwrap.wrap(
        f"Map ID: {naming.map_id(base)}   |   Version: data version {data.data_version}, "
        f"DTM Atlas {_version()}   |   Producer: {data.texts.producer}   |   Created: {data.created.isoformat()}",
        chars,
    )
    lines += textwrap.wrap(f"File: {base}   |   Sources: {data.texts.sources_line}. Credit: IOM DTM.", chars)
    step = 0.9 / max(len(lines), 4)
    for i, line in enumerate(lines):
        fig.text(fx, fy + fh * (0.92 - i * step), line, fontsize=5.8 * s, va="top", color="#333333")
    return fig


@dataclass
class Fitted:
    text: str
    size: float
    lines: int


def fit_text(fig, renderer, text: str, width: float, size: float, *, weight="normal", max_lines: int = 2) -> Fitted:
    """``text`` fitted to ``width`` (a fraction of the figure's width): at ``size`` when it fits,
    else shrunk (down to 80 %), else wrapped on two lines at 80 % (at a " | ", ": " or ", " when
    one falls near the middle, else at a space), shrunk further if a line is still too wide.
    The title of every paper and orientation stays whole."""
    from matplotlib.text import Text

    def w(t: str, fs: float) -> float:
        m = Text(0, 0, t, fontsize=fs, fontweight=weight, figure=fig)
        return m.get_window_extent(renderer).width / fig.bbox.width

    full = w(text, size)
    if full <= width:
        return Fitted(text, size, 1)
    if full * 0.8 <= width or max_lines == 1:
        return Fitted(text, size * max(width / full, 0.5 if max_lines == 1 else 0.8) * 0.995, 1)
    small = size * 0.8
    overall = None
    for sep in (": ", " | ", ", ", " "):
        splits = [
            (text[: k + len(sep)].rstrip(), text[k + len(sep) :]) for k in range(len(text)) if text.startswith(sep, k)
        ]
        if not splits:
            continue
        widest, one, two = min((max(w(a, small), w(b, small)), a, b) for a, b in splits)
        if overall is None or widest < overall[0]:
            overall = (widest, one, two)
        if widest <= width:  # the first separator (by rank) that gives two lines that fit
            return Fitted(f"{one}\n{two}", small, 2)
    if overall is None:  # one word: shrink it
        return Fitted(text, size * width / full * 0.995, 1)
    widest, one, two = overall
    return Fitted(f"{one}\n{two}", small * width / widest * 0.995, 2)


def _logo(fig, page, logo: Path | None) -> float:
    """Draw the logo (``MapSettings.logo``, a PNG or JPEG) at the header's right end, its height
    80 % of the header's; returns the width it takes (a fraction of the figure's width, with a
    gap), 0 without a logo. A logo asked for that is no longer there is an error (a map without
    it is not published)."""
    if logo is None:
        return 0.0
    logo = Path(logo)
    if not logo.is_file():
        raise FileNotFoundError(f"DTM_ATLAS_MAP_LOGO: {logo} is not a file")
    from PIL import Image

    with Image.open(logo) as im:
        img = np.asarray(im.convert("RGBA"))
    hx, hy, hw, hh = page.frac(page.header)
    h = hh * 0.8
    w = h * (img.shape[1] / img.shape[0]) * (page.height_mm / page.width_mm)
    lax = fig.add_axes([hx + hw - w, hy + hh - h, w, h])
    lax.imshow(img, interpolation="lanczos")
    lax.set_axis_off()
    return w + hw * 0.02


def _hline(fig, x0, x1, y):
    from matplotlib.lines import Line2D

    return Line2D([x0, x1], [y, y], transform=fig.transFigure, color="#999999", linewidth=0.6)


#: the label counts of the last map ``render`` drew in this process (the catalogue's QC fields)
last_labels: dict = {}


def render(
    data: MapData, out_dir: Path, formats=FORMATS, *, dpi: int = layout.DPI, logo: Path | None = None
) -> dict[str, Path]:
    """Draw the map and write each format into ``out_dir`` under its OCHA-style name (``logo``:
    the header's logo, ``MapSettings.logo``)."""
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"unsupported format {', '.join(bad)}: use png, pdf")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    global last_labels
    with fonts.strict_glyphs():
        fig = figure(data, dpi=dpi, logo=logo)
    last_labels = {k: v for k, v in fig.dtm_labels.items() if k != "index"}
    base = base_name(data)
    title = title_texts(data)[0]
    return {
        fmt: save(fig, out_dir / f"{base}.{fmt}", fmt, title=title, producer=data.texts.producer) for fmt in formats
    }
