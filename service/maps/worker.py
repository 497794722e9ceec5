"""The package's map workers start warm: the fork server of their process pool
(``package._pool``) imports this module once, before it forks the workers, so each worker
inherits the drawing modules imported, the fonts registered and loaded (a text drawn into a
PNG and a PDF once), folium imported with its templates compiled and Leaflet read (an empty
interactive page made once) instead of importing and loading them itself (about 3 CPU-seconds
a worker on the 2-CPU machine)."""

from __future__ import annotations

import io


def warm() -> None:
    from matplotlib.figure import Figure

    from service.maps import encode, fonts, interactive, package, render  # noqa: F401 - imported to be inherited

    fonts.setup()
    fig = Figure(figsize=(2, 1), dpi=72)
    encode._canvas_class()(fig)
    fig.text(0.1, 0.5, "Warm الموصل", fontweight="bold")
    fig.text(0.1, 0.2, "Warm الموصل")
    with fonts.strict_glyphs():
        fig.canvas.draw()
        fig.savefig(io.BytesIO(), format="pdf")
    import folium

    interactive.leaflet_assets()
    page = folium.Map(location=[0, 0], tiles=None, zoom_start=2)
    page.get_root().header.add_child(interactive._static("<style></style>"), name="warm")
    folium.GeoJson({"type": "FeatureCollection", "features": []}, name="warm").add_to(page)
    page.get_root().render()
    from service.core import heap

    heap.settle()  # the workers forked from here inherit a settled heap


warm()
