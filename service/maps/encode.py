"""A map's figure written out: the Agg canvas that reuses one renderer per page size in each
thread, PNG through libpng (``imagecodecs``) with its resolution and text chunks, PDF through
matplotlib with the fonts embedded, and the tool's version the files name as their creator.
``service.maps.render`` draws the figure; this module only encodes it."""

from __future__ import annotations

import contextlib
import functools
import threading
from pathlib import Path

import numpy as np

from service.maps import fonts


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("dtm-atlas")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "0"


_RENDERERS = threading.local()


@functools.lru_cache(maxsize=1)
def _canvas_class():
    """matplotlib's Agg canvas, reusing one renderer per page size and dpi in each thread: a
    new renderer allocates and clears its 35 MB buffer (A4 at 300 dpi) and sets up its math
    parser, a tenth of a map's PNG. The maps of a thread draw one after another, so they never
    share a renderer at the same time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    class Canvas(FigureCanvasAgg):
        def get_renderer(self):
            w, h = self.get_width_height(physical=True)
            key = w, h, self.figure.dpi
            if self._lastKey != key:
                pool = _RENDERERS.__dict__.setdefault("pool", {})
                renderer = pool.get(key)
                if renderer is None:
                    if len(pool) >= 4:
                        pool.clear()
                    renderer = pool[key] = RendererAgg(w, h, self.figure.dpi)
                self.renderer, self._lastKey = renderer, key
            return self.renderer

    return Canvas


def save(fig, path: Path, fmt: str, *, title: str, producer: str, dpi: int | None = None) -> Path:
    """Write the figure as ``fmt`` (png or pdf) at ``path``; a missing glyph is an error.
    ``producer`` (``CountryTexts.producer``) is the file's author."""
    meta = {"Title": title, "Author": producer, "Creator": f"DTM Atlas {_version()}"}
    if fmt == "png":
        meta = {"Title": title, "Author": producer, "Software": f"DTM Atlas {_version()}"}
    with fonts.strict_glyphs(), _texts_as_outlines(fig, fmt == "png"):
        if fmt == "png" and (dpi is None or dpi == fig.dpi):
            fig.canvas.draw()
            Path(path).write_bytes(png_bytes(np.asarray(fig.canvas.buffer_rgba()), fig.dpi, meta))
        else:
            extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
            fig.savefig(path, format=fmt, dpi=dpi or fig.dpi, metadata=meta, **extra)
    return path


def png_bytes(rgba: np.ndarray, dpi: float, text: dict[str, str]) -> bytes:
    """``rgba`` (height x width x 4, the Agg canvas) as a PNG with its resolution (pHYs) and
    ``text`` (tEXt, iTXt when not Latin-1: Title, Author, Software). libpng (imagecodecs) at zlib level 1 with no
    row filter: a 300 dpi A4 map (flat fills) encodes in 0.07 s to 1.4 MB, where Pillow's
    adaptive filtering took 0.2 s for 1.6 MB."""
    import struct
    import zlib

    import imagecodecs

    png = imagecodecs.png_encode(rgba, level=1, filter=imagecodecs.PNG.FILTER.NONE)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ppm = round(dpi / 0.0254)
    extra = chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
    for key, value in text.items():
        try:
            extra += chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
        except UnicodeEncodeError:  # an Arabic title: international text (UTF-8), as Pillow writes it
            extra += chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))
    end_of_ihdr = 8 + 4 + 4 + 13 + 4  # signature, IHDR's length, type, body, CRC
    if png[12:16] != b"IHDR":
        raise ValueError("libpng wrote no IHDR first")
    return png[:end_of_ihdr] + extra + png[end_of_ihdr:]


@contextlib.contextmanager
def _texts_as_outlines(fig, on: bool):
    """Within (``on``): the map's labels (``labels.draw``, about 330 texts on the national
    district map) are filled as their outlines (matplotlib's ``Normal`` path effect), the
    outlines their halos are already drawn from, instead of shaped and rasterised glyph by glyph
    on every draw: the outlines of a text are converted once per process
    (``fonts._text_paths_once``). A third of the PNG's time; the labels move by less than a
    pixel (no hinting). For the PNG only: the PDF keeps real text (searchable, the fonts
    embedded). The title, legend and notes keep hinted glyphs: their dense small text is where
    hinting shows."""
    if not on:
        yield
        return
    import matplotlib.patheffects as pe

    changed = []
    for t in getattr(fig, "dtm_label_texts", ()):
        if not t.get_path_effects():
            t.set_path_effects([pe.Normal()])
            changed.append(t)
    try:
        yield
    finally:
        for t in changed:
            t.set_path_effects([])
