"""Fonts of the static maps: Noto Sans with Noto Sans Arabic as its fallback (Debian
``fonts-noto-core``). matplotlib >= 3.11 shapes Arabic and lays it out right to left itself
(no reshaper or bidi step). PDFs embed subsets of both fonts as TrueType (``pdf.fonttype``
42), so the text stays text (pdftotext finds it) and prints as drawn.

A glyph missing from both fonts would be drawn as a box: ``strict_glyphs()`` turns matplotlib's
"Glyph ... missing from font(s)" warning into ``MissingGlyph``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
import threading
import warnings
from pathlib import Path

FONT_DIRS = [Path(p) for p in os.environ.get("DTM_ATLAS_FONT_DIRS", "/usr/share/fonts/truetype/noto").split(":")]
FONT_FILES = [
    "NotoSans-Regular.ttf",
    "NotoSans-Bold.ttf",
    "NotoSans-Italic.ttf",
    "NotoSansArabic-Regular.ttf",
    "NotoSansArabic-Bold.ttf",
]
FAMILY = ["Noto Sans", "Noto Sans Arabic"]


class MissingGlyph(ValueError):
    """A character that no map font has (it would be drawn as a box)."""


class FontsMissing(RuntimeError):
    pass


def _find(name: str) -> Path | None:
    for d in FONT_DIRS:
        if (d / name).exists():
            return d / name
    return None


@functools.lru_cache(maxsize=1)
def setup() -> None:
    """Register the Noto fonts with matplotlib and set the map defaults (once per process)."""
    import matplotlib

    matplotlib.use("agg", force=False)
    from matplotlib import font_manager

    missing = [n for n in FONT_FILES if _find(n) is None]
    if missing:
        raise FontsMissing(
            f"fonts {', '.join(missing)} not found in {':'.join(map(str, FONT_DIRS))}: "
            "install Debian's fonts-noto-core (./dev setup does)"
        )
    for n in FONT_FILES:
        font_manager.fontManager.addfont(str(_find(n)))
    # matplotlib scores every font it knows on each new (family, weight, size) it looks up: 400
    # on a machine with Debian's Noto (1.8 ms a lookup, 0.4 s of each process's first map);
    # the maps and charts ask only for their own families and matplotlib's DejaVu defaults
    kept = {*FAMILY, "DejaVu Sans", "DejaVu Sans Mono", "DejaVu Serif"}
    font_manager.fontManager.ttflist = [f for f in font_manager.fontManager.ttflist if f.name in kept]
    font_manager.FontManager._findfont_cached.cache_clear()
    matplotlib.rcParams.update(
        {
            "font.family": FAMILY,
            "pdf.fonttype": 42,  # TrueType subsets: text stays searchable and selectable
            "ps.fonttype": 42,
            "svg.fonttype": "none",
            "text.parse_math": False,  # "$" in a name is a dollar sign
            "axes.unicode_minus": False,  # ASCII "-": the Noto subsets have no U+2212 (a box on a negative tick)
            "path.simplify": True,
            "pdf.compression": 1,  # zlib level 1: a map PDF writes in 20 % less time, 15 % larger
        }
    )
    _lean_pdf_subsets()
    _pdf_ligatures_in_visual_order()
    _text_paths_once()
    _text_metrics_per_process()
    _text_layouts_once()


#: right-to-left letters (Hebrew, Arabic and its presentation forms)
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def visual_unicode(chars: str) -> str:
    """The ToUnicode text of one glyph in the order its glyph run is drawn. matplotlib draws
    Arabic shaped and laid out right to left, i.e. its glyphs in visual order, and every text
    extractor (poppler's ``pdftotext``, pdf.js, copy-paste) turns a visual run back into logical
    order by reversing it: a ligature's characters must then be in visual order too, or the
    reversal scrambles them (lam-alef "لأ" came out "أل": "الأنبار" read "األنبار", "ديالى"
    read "دياىل"). Single characters and left-to-right text are unchanged."""
    if len(chars) > 1 and all(_RTL.match(c) for c in chars):
        return chars[::-1]
    return chars


def _pdf_ligatures_in_visual_order() -> None:
    """Every PDF's ToUnicode maps a right-to-left ligature glyph to its characters in visual
    order (``visual_unicode``): wraps matplotlib's ``CharacterTracker.subset_to_unicode``, the
    one place its ToUnicode CMaps take a glyph's text from (3.11; left alone when absent)."""
    from matplotlib.backends import _backend_pdf_ps as pdfps

    tracker = getattr(pdfps, "CharacterTracker", None)
    original = getattr(tracker, "subset_to_unicode", None)
    if original is None or getattr(original, "_dtm_visual", False):
        return

    def subset_to_unicode(self, *args, **kwargs):
        return visual_unicode(original(self, *args, **kwargs))

    subset_to_unicode._dtm_visual = True
    tracker.subset_to_unicode = subset_to_unicode


def _lean_pdf_subsets() -> None:
    """PDF font subsets without the OpenType layout tables (GSUB, GPOS, GDEF): matplotlib
    embeds glyphs already shaped, by glyph id, so a PDF never uses them, and reading them is
    most of the subsetting time (a third of a map's PDF). The fonts are read once per process
    with those tables removed (``_lean_font``): fontTools' subsetter otherwise decodes them
    before it drops them. A glyph set subset before is embedded from its bytes (``_SUBSETS``).
    Applied only when matplotlib's private ``get_glyphs_subset(fontfile, glyphs)`` is the one
    this was written for (3.11)."""
    import inspect

    from matplotlib.backends import _backend_pdf_ps as pdfps

    original = getattr(pdfps, "get_glyphs_subset", None)
    if original is None or getattr(original, "_dtm_lean", False):
        return
    if list(inspect.signature(original).parameters) != ["fontfile", "glyphs"]:
        return
    from fontTools import subset, ttLib

    base_options = subset.Options

    def lean_options(*args, **kwargs):
        options = base_options(*args, **kwargs)
        options.layout_features = []
        options.layout_closure = False
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH"]
        return options

    base_load = subset.load_font

    def lean_load(font_file, options, *args, **kwargs):
        if isinstance(font_file, str):
            font_file = io.BytesIO(_lean_font(str(font_file), options.font_number))
        return base_load(font_file, options, *args, **kwargs)

    def get_glyphs_subset(fontfile, glyphs):
        glyphs = frozenset(glyphs)
        key = (str(fontfile), getattr(fontfile, "face_index", 0), glyphs)
        with _SUBSET:  # module attributes swapped for the call: one thread at a time
            made = _SUBSETS.get(key)
            if made is None:
                subset.Options, subset.load_font = lean_options, lean_load
                try:
                    with original(fontfile, glyphs) as done:
                        made = pdfps.font_as_file(done.font).getvalue(), dict(done.glyph_index_map)
                finally:
                    subset.Options, subset.load_font = base_options, base_load
                if len(_SUBSETS) >= _SUBSETS_KEPT:
                    _SUBSETS.pop(next(iter(_SUBSETS)))
                _SUBSETS[key] = made
        data, index_map = made
        return pdfps.SubsetResults(ttLib.TTFont(io.BytesIO(data)), dict(index_map))._as_cm()

    get_glyphs_subset._dtm_lean = True
    pdfps.get_glyphs_subset = get_glyphs_subset


_SUBSET = threading.Lock()
#: the subsets made (font, face, glyph ids) -> (the subset font's bytes, glyph index map): a
#: glyph set seen before (the same names and legend on another map of the package, a map drawn
#: again) is embedded without subsetting the font again (a tenth of a map's PDF time); oldest out
_SUBSETS: dict = {}
_SUBSETS_KEPT = 64
_LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "BASE", "JSTF", "MATH")


@functools.lru_cache(maxsize=16)
def _lean_font(path: str, face_index: int) -> bytes:
    """The font file's bytes without its OpenType layout tables (read once per process)."""
    from fontTools import ttLib

    font = ttLib.TTFont(path, fontNumber=face_index, lazy=True)
    for tag in _LAYOUT_TABLES:
        if tag in font:
            del font[tag]
    out = io.BytesIO()
    font.save(out, reorderTables=False)
    return out.getvalue()


def _text_paths_once() -> None:
    """A text drawn as outlines (the labels' halos) is converted once per process: matplotlib's
    ``TextToPath.get_text_path`` lays the text out and collects its glyphs' outlines on every
    call, for the PNG and again for the PDF of each map, and the package's maps repeat the same
    names. The outlines are keyed by the text and every font property, and handed out as copies."""
    from matplotlib import textpath

    original = textpath.TextToPath.get_text_path
    if getattr(original, "_dtm_once", False):
        return
    cache: dict = {}

    def get_text_path(self, prop, s, ismath=False, **kwargs):
        if ismath or kwargs.get("features") or kwargs.get("language"):
            return original(self, prop, s, ismath, **kwargs)
        key = (
            s,
            tuple(prop.get_family()),
            prop.get_style(),
            prop.get_variant(),
            prop.get_weight(),
            prop.get_stretch(),
            prop.get_file(),
        )
        got = cache.get(key)
        if got is None:
            if len(cache) > 20_000:
                cache.clear()
            got = cache[key] = original(self, prop, s, ismath, **kwargs)
        verts, codes = got
        return list(verts), list(codes)

    get_text_path._dtm_once = True
    textpath.TextToPath.get_text_path = get_text_path


def _text_metrics_per_process() -> None:
    """Text sizes measured once per process and renderer kind: matplotlib caches them per
    renderer object, and every figure has its own renderers (one for the PNG, one for the PDF),
    so each map re-shaped every text (its labels line by line, its legend, its notes) on each
    draw, though the package's maps repeat the same texts. The sizes are keyed by the renderer's
    class, the text, its font properties, math or not, and the dpi: all a size depends on (Agg
    hints, the PDF renderer does not; the class keeps them apart). Applied only when matplotlib's
    private ``_get_text_metrics_function(renderer)`` is the one this was written for (3.11)."""
    import inspect

    from matplotlib import text as mtext

    original = getattr(mtext, "_get_text_metrics_function", None)
    if original is None or getattr(original, "_dtm_once", False):
        return
    if list(inspect.signature(original).parameters)[:1] != ["input_renderer"]:
        return
    caches: dict = {}

    def _get_text_metrics_function(input_renderer, _cache=None):
        cache = caches.setdefault(type(input_renderer), {})

        def metrics(text, fontprop, ismath, dpi):
            key = (text, fontprop, ismath, dpi)
            got = cache.get(key)
            if got is None:
                if len(cache) > 50_000:
                    cache.clear()
                got = cache[key] = input_renderer.get_text_width_height_descent(text, fontprop, ismath)
            return got

        return metrics

    _get_text_metrics_function._dtm_once = True
    mtext._get_text_metrics_function = _get_text_metrics_function


#: glyph runs (shaped text) by text, font object, size, dpi, features and language
_LAYOUTS: dict = {}
_PDF_TEXT = threading.local()


def _text_layouts_once() -> None:
    """A text is shaped once per process for each renderer: matplotlib (3.11) shapes a text
    (libraqm: ``FT2Font._layout``) on every draw, in Agg's ``draw_text`` and in the PDF's, and
    the package's maps repeat their texts (notes, legend, index rows, names). The glyph runs are
    kept by text, font object (one per font file list, kept by ``get_font``), size, dpi,
    features and language: all a run depends on. Agg: ``draw_text`` is matplotlib's, with the run
    looked up; PDF: ``_text_helpers.layout`` answers from the runs only inside the PDF's
    ``draw_text`` (where the font's size is the text's at 72 dpi). Applied only to the 3.11
    functions this was written for; a glyph missing from the fonts still raises on first use."""
    import inspect

    from matplotlib import _text_helpers
    from matplotlib.backends import backend_agg, backend_pdf

    agg_draw = backend_agg.RendererAgg.draw_text
    if getattr(agg_draw, "_dtm_once", False):
        return
    params = ["self", "gc", "x", "y", "s", "prop", "angle", "ismath", "mtext"]
    if list(inspect.signature(agg_draw).parameters) != params or not hasattr(
        backend_agg.RendererAgg, "_draw_text_glyphs_and_boxes"
    ):
        return
    if list(inspect.signature(backend_pdf.RendererPdf.draw_text).parameters) != params:
        return
    hinting = backend_agg.get_hinting_flag

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return agg_draw(self, gc, x, y, s, prop, angle, ismath, mtext)
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        font = self._prepare_font(prop)
        size = prop.get_size_in_points()
        flags = hinting()
        key = ("agg", s, font, size, self.dpi, flags, features, language)
        run = _LAYOUTS.get(key)
        if run is None:
            items = font._layout(s, flags=flags, features=features, language=language)
            run = [(i.ft_object, i.glyph_index, i.x, i.y) for i in items]
            _remember(key, run)
        _draw_run(self, gc, x, y, angle, size, run, flags)

    pdf_draw = backend_pdf.RendererPdf.draw_text

    def pdf_draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        _PDF_TEXT.size = prop.get_size_in_points()
        try:
            return pdf_draw(self, gc, x, y, s, prop, angle, ismath, mtext)
        finally:
            _PDF_TEXT.size = None

    layout = _text_helpers.layout

    def layout_once(string, font, *, features=None, language=None):
        size = getattr(_PDF_TEXT, "size", None)
        if size is None:
            return layout(string, font, features=features, language=language)
        key = ("pdf", string, font, size, features, language)
        run = _LAYOUTS.get(key)
        if run is None:
            run = list(layout(string, font, features=features, language=language))
            _remember(key, run)
        return iter(run)

    draw_text._dtm_once = True
    backend_agg.RendererAgg.draw_text = draw_text
    backend_pdf.RendererPdf.draw_text = pdf_draw_text
    _text_helpers.layout = layout_once


#: a glyph's bitmap by font object, size, dpi, glyph, rotation, position within its pixel (in
#: FreeType's 64ths), hinting and antialiasing: all FreeType's rendering depends on
_GLYPHS: dict = {}


def _draw_run(renderer, gc, x, y, angle, size, run, flags) -> None:
    """Agg's ``_draw_text_glyphs_and_boxes`` (matplotlib 3.11) for a shaped run, each glyph's
    bitmap rendered by FreeType once per process: a glyph placed at the same 64th of a pixel
    renders the same pixels, whole pixels away. The maps repeat their notes, legends, index
    rows and scale labels at the same places (FreeType's rendering was 40 % of the PNG's text
    time); the pixels are matplotlib's to the bit."""
    import numpy as np
    from matplotlib.ft2font import RenderMode

    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    matrix = [[round(0x10000 * cos), round(-0x10000 * sin)], [round(0x10000 * sin), round(0x10000 * cos)]]
    turn = (matrix[0][0], matrix[0][1], matrix[1][0], matrix[1][1])
    antialiased = gc.get_antialiased()
    height, dpi = renderer.height, renderer.dpi
    for font, glyph, dx, dy in run:
        tx = round(0x40 * (x + dx * cos - dy * sin))
        ty = round(0x40 * (height - y + dx * sin + dy * cos))  # FreeType's y is upwards
        key = (font, size, dpi, glyph, turn, tx & 63, ty & 63, flags, antialiased)
        got = _GLYPHS.get(key)
        if got is None:
            font.set_size(size, dpi)
            font._set_transform(np.array(matrix), [tx & 63, ty & 63])
            bitmap = font._render_glyph(glyph, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO)
            buffer = bitmap.buffer if antialiased else bitmap.buffer * 0xFF
            if len(_GLYPHS) > 100_000:
                _GLYPHS.clear()
            got = _GLYPHS[key] = (buffer, bitmap.left, bitmap.top)
        buffer, left, top = got
        # draw_text_image's y is downwards and the bitmap's bottom side
        renderer._renderer.draw_text_image(
            buffer, left + (tx >> 6), int(height) - (top + (ty >> 6)) + buffer.shape[0], 0, gc
        )


def _remember(key, run) -> None:
    if len(_LAYOUTS) > 20_000:
        _LAYOUTS.clear()
    _LAYOUTS[key] = run


# warnings filters are process-wide: drawing threads (the HTTP server's) take turns, so one
# thread leaving the block never lifts the filter of another still drawing
_STRICT = threading.RLock()


@contextlib.contextmanager
def strict_glyphs():
    """Within: a missing glyph raises ``MissingGlyph`` instead of drawing a box."""
    with _STRICT, warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"Glyph .* missing from font")
        try:
            yield
        except UserWarning as exc:
            if "missing from font" in str(exc):
                raise MissingGlyph(f"{exc} (the map fonts are {', '.join(FAMILY)})") from None
            raise
