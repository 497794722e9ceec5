"""Label placement of the static maps (the cartographers' conventions, as QGIS's labelling
engine places them and better):

* every unit is named where its name fits: English over Arabic, else English only, at its pole
  of inaccessibility or at one of a ring of candidates around it, first wholly inside the unit,
  then (as QGIS's "around centroid" placement does) centred in it and mostly inside; then at a
  smaller size; never touching another label;
* where names do not fit in a dense cluster (Baghdad's districts), an inset enlarges the area of
  most unplaced names (chosen by label density, not by name) in the map's emptiest corner, and
  names them there;
* every other unit gets a number at its pole, and an index (number, English and Arabic name)
  beside the map;
* governorate names (district maps), the neighbouring governorates (governorate maps), the
  capital and main cities (Natural Earth), the neighbouring countries.

Text boxes are measured once per text and size (``Measure``) and placed as rectangles in map
units, so trying candidates costs no drawing; only the chosen labels become matplotlib texts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely

INK = "#222222"
GOV_INK = "#3d3d3d"
CONTEXT_INK = "#7a7a7a"
NEIGHBOUR_INK = "#8c8c8c"
LINESPACING = 1.05


class Measure:
    """Text box sizes in map units of one axes (equal aspect), cached per text, size and weight."""

    def __init__(self, ax, renderer):
        self.ax, self.renderer = ax, renderer
        self.cache: dict = {}
        inv = ax.transData.inverted()
        (x0, _), (x1, _) = inv.transform([(0, 0), (1, 0)])
        self.unit = abs(x1 - x0)  # map units per display pixel

    def size(self, label: str, fontsize: float, weight: str = "normal") -> tuple[float, float]:
        key = (label, fontsize, weight)
        if key not in self.cache:
            w, h = _pixels(label, fontsize, weight, self.ax.figure.dpi, self.ax.figure, self.renderer)
            self.cache[key] = (w * self.unit, h * self.unit)
        return self.cache[key]


#: text box sizes in pixels by (text, size, weight, dpi): every map of a process (the package's
#: national and governorate maps name the same units) measures a text once
_PIXELS: dict = {}
_PIXELS_MAX = 50_000


def _pixels(label: str, fontsize: float, weight: str, dpi: float, figure, renderer) -> tuple[float, float]:
    key = (label, fontsize, weight, dpi)
    got = _PIXELS.get(key)
    if got is None:
        from matplotlib.text import Text

        t = Text(0, 0, label, fontsize=fontsize, fontweight=weight, linespacing=LINESPACING)
        t.set_figure(figure)
        bb = t.get_window_extent(renderer)
        if len(_PIXELS) >= _PIXELS_MAX:
            _PIXELS.clear()
        got = _PIXELS[key] = (bb.width, bb.height)
    return got


@dataclass
class Placed:
    x: float
    y: float
    text: str
    size: float
    color: str
    halo: str
    weight: str = "normal"
    style: str = "normal"
    ha: str = "center"


@dataclass
class Plan:
    """The labels of one axes: placed texts, their boxes (obstacles), unplaced units."""

    boxes: list = field(default_factory=list)
    texts: list[Placed] = field(default_factory=list)
    named: set = field(default_factory=set)  # pcodes named
    markers: list = field(default_factory=list)  # (x, y, capital?) city symbols
    tree_dirty: bool = True
    _tree: object = None

    def clear(self, rect) -> bool:
        if not self.boxes:
            return True
        if self.tree_dirty:
            self._tree = shapely.STRtree(self.boxes)
            self.tree_dirty = False
        return len(self._tree.query(rect, predicate="intersects")) == 0

    def clear_many(self, rects):
        """``clear`` of each of ``rects`` (an array of geometries), as a boolean array."""
        free = np.ones(len(rects), dtype=bool)
        if self.boxes:
            if self.tree_dirty:
                self._tree = shapely.STRtree(self.boxes)
                self.tree_dirty = False
            free[self._tree.query(rects, predicate="intersects")[0]] = False
        return free

    def add(self, rect, placed: Placed | None = None) -> None:
        self.boxes.append(rect)
        self.tree_dirty = True
        if placed is not None:
            self.texts.append(placed)


def _box(x, y, w, h, pad=0.05):
    return shapely.box(x - w / 2 * (1 + pad), y - h / 2 * (1 + pad), x + w / 2 * (1 + pad), y + h / 2 * (1 + pad))


def _boxes(points, w, h, pad=0.05):
    """``_box`` of each point, as an array."""
    xy = np.asarray(points, dtype=float)
    dx, dy = w / 2 * (1 + pad), h / 2 * (1 + pad)
    return shapely.box(xy[:, 0] - dx, xy[:, 1] - dy, xy[:, 0] + dx, xy[:, 1] + dy)


def _inside_box(view, points, w, h, pad=0.05):
    """For each point, whether its ``_box`` lies inside ``view`` (the map's frame, a rectangle):
    ``view.contains(box)`` by bounds."""
    vx0, vy0, vx1, vy1 = view.bounds
    xy = np.asarray(points, dtype=float)
    dx, dy = w / 2 * (1 + pad), h / 2 * (1 + pad)
    return (xy[:, 0] - dx >= vx0) & (xy[:, 0] + dx <= vx1) & (xy[:, 1] - dy >= vy0) & (xy[:, 1] + dy <= vy1)


def luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def polygons(geom):
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(parts) if parts else None
    return geom if geom.geom_type in ("Polygon", "MultiPolygon") else None


def anchor(geom, view) -> tuple[object, tuple[float, float], float] | None:
    """The largest visible part of ``geom`` in ``view``, its pole of inaccessibility and radius."""
    g = polygons(geom)
    if g is None or not g.intersects(view):
        return None
    g = polygons(g.intersection(view))
    if g is None:
        return None
    part = max(getattr(g, "geoms", [g]), key=lambda p: p.area)
    circle = shapely.maximum_inscribed_circle(part, tolerance=max(part.length / 2000, 1.0))
    (cx, cy), (ex, ey) = circle.coords[0], circle.coords[1]
    return part, (cx, cy), math.hypot(ex - cx, ey - cy)


def candidates(cx, cy, r, w, h):
    """The pole first, then a ring around it (up to about half the label's size away)."""
    yield cx, cy
    for k in (0.5, 1.0):
        dx, dy = max(r * 0.6, w * 0.25) * k, max(r * 0.6, h * 0.5) * k
        for ux, uy in ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)):
            yield cx + ux * dx, cy + uy * dy


def grid_points(part, n: int = 9):
    """Points of an ``n`` x ``n`` grid over ``part``'s bounds that lie inside it, nearest to its
    centre first."""
    x0, y0, x1, y1 = part.bounds
    c = part.centroid
    pts = [(x0 + (x1 - x0) * (i + 0.5) / n, y0 + (y1 - y0) * (j + 0.5) / n) for i in range(n) for j in range(n)]
    xy = np.asarray(pts)
    inside = shapely.contains_xy(part, xy[:, 0], xy[:, 1])
    pts = [p for p, ok in zip(pts, inside) if ok]
    return sorted(pts, key=lambda p: (p[0] - c.x) ** 2 + (p[1] - c.y) ** 2)


def place_in(
    plan: Plan,
    measure: Measure,
    part,
    pole,
    radius,
    texts: list[str],
    sizes: list[float],
    view,
    *,
    inside: float,
    anywhere: bool = False,
) -> tuple | None:
    """The first ``(x, y, text, size, box)`` whose box lies ``inside`` (share of its area at
    least) the unit, in ``view``, and clear of every placed box."""
    cx, cy = pole
    for size in sizes:
        for label in texts:
            w, h = measure.size(label, size)
            if w * h > part.area * (1 / max(inside, 0.3)) * 1.3:
                continue
            spots = list(candidates(cx, cy, radius, w, h))
            if anywhere:
                spots += grid_points(part)
            # cheapest tests first, for all candidates at once: the frame, the placed labels (an
            # index), the point in the unit; then the share of the box in the unit, candidate
            # by candidate in order
            free = _inside_box(view, spots, w, h)
            if not free.any():
                continue
            rects = _boxes(spots, w, h)
            free &= plan.clear_many(rects)
            if not free.any():
                continue
            # the unit cut to the box every candidate lies in: the same areas, fewer vertices
            xy = np.asarray(spots, dtype=float)
            (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
            near = shapely.clip_by_rect(part, x0 - w, y0 - h, x1 + w, y1 + h)
            shapely.prepare(near)
            if inside < 0.95:
                free &= shapely.contains_xy(near, xy[:, 0], xy[:, 1])
            # the share of a box inside the unit: the unit clipped to the box (a rectangle clip,
            # much cheaper than a general overlay such as rect.difference(near))
            dx, dy = w / 2 * 1.05, h / 2 * 1.05  # _boxes' half sides
            need = inside * (2 * dx) * (2 * dy)
            for i in np.flatnonzero(free):
                x, y = spots[i]
                if (inside >= 0.95 and near.contains(rects[i])) or shapely.clip_by_rect(
                    near, x - dx, y - dy, x + dx, y + dy
                ).area >= need:
                    return x, y, label, size, rects[i]
    return None


def unit_texts(u) -> list[str]:
    out = []
    if u.name_en and u.name_ar:
        out.append(f"{u.name_en}\n{u.name_ar}")
    if u.name_en:
        out.append(u.name_en)
    elif u.name_ar:
        out.append(u.name_ar)
    return out


STRICT, RELAXED = (0, 2), (2, 4)  # the passes wholly inside; the passes partly outside


def label_units(
    plan: Plan, measure: Measure, units, view, size: float, s: float, keep=None, passes=(0, 4), known=None
) -> list:
    """Name the units (largest first) where they fit; returns the units left unnamed (with their
    anchors). ``keep``: only these pcodes; ``passes``: which of the passes below (a range);
    ``known``: a dict of anchors by (pcode, view) kept between calls on the same map."""
    anchors = []
    known = {} if known is None else known
    for u in sorted(units, key=lambda u: -u.geom.area):
        if keep is not None and u.pcode not in keep:
            continue
        key = (u.pcode, view.bounds)
        if key not in known:
            known[key] = anchor(u.geom, view)
        a = known[key]
        if a is None:
            continue
        anchors.append((u, a))
    # four passes: wholly inside at the full size; wholly inside, smaller; mostly inside (QGIS's
    # around-centroid placement lets a name cross its unit's edge); half inside at 75 %
    todo = anchors
    for sizes, inside in [([size], 0.96), ([size * 0.85], 0.96), ([size, size * 0.85], 0.6), ([size * 0.75], 0.5)][
        passes[0] : passes[1]
    ]:
        rest = []
        for u, (part, pole, r) in todo:
            got = place_in(plan, measure, part, pole, r, unit_texts(u), sizes, view, inside=inside)
            if got is None:
                rest.append((u, (part, pole, r)))
                continue
            x, y, label, fs, rect = got
            dark = luminance(u.color) < 0.22
            color, halo = ("white", "#3a3a3a") if dark else (INK, "white")
            plan.add(rect, Placed(x, y, label, fs, color, halo))
            plan.named.add(u.pcode)
        todo = rest
    return todo


def dense_window(left, view, min_units: int = 3):
    """The area of most unnamed units: the unnamed unit with the most unnamed poles within 7 % of
    the view's width, and the box of those units (padded); None when no such cluster."""
    if len(left) < min_units:
        return None
    width = view.bounds[2] - view.bounds[0]
    radius = width * 0.04
    poles = [shapely.Point(a[1]) for _, a in left]
    best, members = None, []
    for i, p in enumerate(poles):
        near = [j for j, q in enumerate(poles) if p.distance(q) <= radius]
        if len(near) > len(members):
            best, members = i, near
    if best is None or len(members) < min_units:
        return None
    x0, y0, x1, y1 = shapely.MultiPoint([poles[j] for j in members]).bounds
    pad = radius * 0.35
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad), [left[j][0].pcode for j in members]


def emptiest_box(view, country, w: float, h: float, plan: Plan | None = None, avoid=()):
    """Where a ``w`` x ``h`` box (an inset, the index) hides least: of the places along the
    map's frame (corners and edge middles; none over the scale bar or the north arrow), the one
    covering least of the country and of the labels placed so far."""
    x0, y0, x1, y1 = view
    m = (x1 - x0) * 0.012
    xs = [x0 + m, (x0 + x1 - w) / 2, x1 - m - w]
    ys = [y1 - m - h, (y0 + y1 - h) / 2, y0 + m + (y1 - y0) * 0.11]
    boxes = []
    for bx in xs:
        for by in ys:
            if (bx, by) == (xs[1], ys[1]):
                continue  # the middle of the map
            b = shapely.box(bx, by, bx + w, by + h)
            if any(b.intersects(a) for a in avoid):
                continue
            boxes.append(b)
    if not boxes:
        return None

    def cost(b):
        covered = b.intersection(country).area / b.area
        labels = 0
        if plan is not None and plan.boxes:
            labels = sum(1 for r in plan.boxes if r.intersects(b))
        return covered + 0.02 * labels

    return min(boxes, key=cost)


def draw(ax, plan: Plan, s: float, zorder: int = 16) -> list:
    """The placed texts: real text (searchable; the font embedded in the PDF) over a halo drawn
    as a stroke of the same text (path effects turn it into outlines); the cities' symbols
    (capital: a white square with a dot). Returns the texts (not their halos)."""
    import matplotlib.patheffects as pe

    fills = []
    for x, y, capital in plan.markers:
        ax.plot(
            [x],
            [y],
            marker="s" if capital else "o",
            markersize=(3.6 if capital else 2.6) * s,
            markerfacecolor="white" if capital else INK,
            markeredgecolor=INK,
            markeredgewidth=0.9 * s if capital else 0.5 * s,
            zorder=zorder + 1,
            linestyle="none",
        )
        if capital:
            ax.plot([x], [y], marker="o", markersize=1.3 * s, color=INK, zorder=zorder + 2, linestyle="none")

    for t in plan.texts:
        kw = dict(
            fontsize=t.size,
            ha=t.ha,
            va="center",
            linespacing=LINESPACING,
            fontweight=t.weight,
            fontstyle=t.style,
        )
        if t.halo:
            ax.text(
                t.x,
                t.y,
                t.text,
                color=t.halo,
                zorder=zorder - 1,
                path_effects=[pe.Stroke(linewidth=1.6 * s, foreground=t.halo)],
                **kw,
            )
        fills.append(ax.text(t.x, t.y, t.text, color=t.color, zorder=zorder, **kw))
    return fills


def label_areas(plan: Plan, measure: Measure, geoms, names, view, size, color, *, upper=True, inside=0.7):
    """Names of areas (governorates, neighbouring governorates) at a clear place inside them."""
    n = 0
    for geom, (en, ar) in sorted(zip(geoms, names), key=lambda gn: -gn[0].area):
        a = anchor(geom, view)
        if a is None:
            continue
        part, pole, r = a
        name = (en or "").upper() if upper else en or ""
        texts = [f"{name}\n{ar}" if ar else name, name] if name else [ar]
        got = place_in(
            plan, measure, part, pole, r, texts, [size, size * 0.85, size * 0.72], view, inside=inside, anywhere=True
        )
        if got is None:
            continue
        x, y, label, fs, rect = got
        plan.add(rect, Placed(x, y, label, fs, color, "white", weight="bold"))
        n += 1
    return n


def label_cities(plan: Plan, measure: Measure, cities, view, size, s, *, required_kinds=("capital",)):
    """A symbol and name for each city (capital: a square in a circle, bigger and bold); a name
    beside its symbol right, left, above or below, where it is clear; the capital always."""
    n = 0
    for c in cities:
        x, y = c["x"], c["y"]
        if not view.contains(shapely.Point(x, y)):
            continue
        capital = c["kind"] == "capital"
        fs = size * (1.15 if capital else 1.0)
        weight = "bold" if capital else "normal"
        w, h = measure.size(c["name"], fs, weight)
        off = (w / 2 + measure.unit * 4 * s * 2.2, h / 2 + measure.unit * 4 * s * 2.2)
        spots = [
            (x + off[0], y, "left"),
            (x - off[0], y, "right"),
            (x, y + off[1], "center"),
            (x, y - off[1], "center"),
        ]
        chosen = None
        for cx, cy, ha in spots:
            rect = _box(cx, cy, w, h)
            if view.contains(rect) and plan.clear(rect):
                chosen = (cx, cy, rect)
                break
        if chosen is None and c["kind"] not in required_kinds:
            continue
        if chosen is None:
            cx, cy, _ = spots[0]
            chosen = (cx, cy, _box(cx, cy, w, h))
        cx, cy, rect = chosen
        ha = "center"
        plan.add(rect, Placed(cx, cy, c["name"], fs, INK, "white", weight=weight, ha=ha))
        r = measure.unit * (3.2 if capital else 2.2) * s * 1.6
        plan.add(shapely.Point(x, y).buffer(r))
        plan.markers.append((x, y, capital))
        n += 1
    return n


def label_numbers(plan: Plan, measure: Measure, left, size) -> list:
    """A number at each unnamed unit's pole (north to south, west to east); returns the index
    rows (number, unit)."""
    rows = []
    order = sorted(left, key=lambda ua: (-round(ua[1][1][1], -3), ua[1][1][0]))
    for i, (u, (part, pole, r)) in enumerate(order, 1):
        label = str(i)
        w, h = measure.size(label, size, "bold")
        x, y = pole
        best = None
        for cx, cy in candidates(x, y, r, w, h):
            rect = _box(cx, cy, w, h)
            if plan.clear(rect) and part.contains(shapely.Point(cx, cy)):
                best = (cx, cy, rect)
                break
        if best is None:
            best = (x, y, _box(x, y, w, h))
        cx, cy, rect = best
        dark = luminance(u.color) < 0.22
        color, halo = ("white", "#3a3a3a") if dark else (INK, "white")
        plan.add(rect, Placed(cx, cy, label, size, color, halo, weight="bold"))
        rows.append((i, u))
    return rows
