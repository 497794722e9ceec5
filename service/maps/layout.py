"""Paper sizes and the page layout of the static maps (millimetres; 300 dpi PNG).

Landscape: header (title, subtitle) across the top, the main map on the left, a side panel on
the right (inset locator, legend, notes), a footer with sources, disclaimer and the map's
metadata. Portrait: the panel goes under the map, in three columns.
"""

from __future__ import annotations

from dataclasses import dataclass

MM_PER_INCH = 25.4
DPI = 300
PAPERS = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}  # short, long side in mm
ORIENTATIONS = ("landscape", "portrait")


class LayoutError(ValueError):
    pass


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float  # mm from the lower-left corner of the page


@dataclass(frozen=True)
class Page:
    paper: str
    orientation: str
    width_mm: float
    height_mm: float
    scale: float  # type and spacing relative to A4
    header: Box
    main: Box
    inset: Box
    legend: Box
    notes: Box
    footer: Box

    @property
    def code(self) -> str:
        """``A4L``, ``A3P``: the paper part of file names and map IDs."""
        return f"{self.paper}{self.orientation[0].upper()}"

    @property
    def size_inches(self) -> tuple[float, float]:
        """The page in inches, rounded to whole pixels at 300 dpi (A4 landscape: 3508 x 2480 px;
        the PDF page is then 841.92 x 595.2 pt, A4 within 0.1 pt)."""
        return round(self.width_mm / MM_PER_INCH * DPI) / DPI, round(self.height_mm / MM_PER_INCH * DPI) / DPI

    def frac(self, b: Box) -> list[float]:
        """A box as a matplotlib figure rectangle (fractions of the page)."""
        return [b.x / self.width_mm, b.y / self.height_mm, b.w / self.width_mm, b.h / self.height_mm]

    def pixels(self, dpi: int = DPI) -> tuple[int, int]:
        w, h = self.size_inches
        return int(round(w * dpi, 6)), int(round(h * dpi, 6))  # as matplotlib sizes the canvas


def page(paper: str = "A4", orientation: str = "landscape") -> Page:
    paper_key = paper.upper()
    if paper_key not in PAPERS:
        raise LayoutError(f"unsupported paper {paper!r}: use {' or '.join(PAPERS)}")
    if orientation not in ORIENTATIONS:
        raise LayoutError(f"unsupported orientation {orientation!r}: use landscape or portrait")
    short, long = PAPERS[paper_key]
    w, h = (long, short) if orientation == "landscape" else (short, long)
    s = short / PAPERS["A4"][0]
    m = 8 * s  # margin
    head_h, foot_h = 17 * s, 15 * s
    header = Box(m, h - m - head_h, w - 2 * m, head_h)
    footer = Box(m, m, w - 2 * m, foot_h)
    body_y = m + foot_h + 2 * s
    body_h = h - 2 * m - head_h - foot_h - 4 * s
    if orientation == "landscape":
        panel_w = 68 * s
        main = Box(m, body_y, w - 2 * m - panel_w - 4 * s, body_h)
        px = w - m - panel_w
        inset_h = 46 * s
        inset = Box(px, body_y + body_h - inset_h, panel_w, inset_h)
        notes_h = 40 * s
        notes = Box(px, body_y, panel_w, notes_h)
        legend = Box(px, body_y + notes_h + 3 * s, panel_w, body_h - inset_h - notes_h - 6 * s)
    else:
        panel_h = 62 * s
        main = Box(m, body_y + panel_h + 4 * s, w - 2 * m, body_h - panel_h - 4 * s)
        col = (w - 2 * m - 8 * s) / 3
        inset = Box(m, body_y, col, panel_h)
        legend = Box(m + col + 4 * s, body_y, col, panel_h)
        notes = Box(m + 2 * (col + 4 * s), body_y, col, panel_h)
    return Page(paper_key, orientation, w, h, s, header, main, inset, legend, notes, footer)
