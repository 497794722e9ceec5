"""The national district map of IDPs drawn by QGIS (PyQGIS, Debian's python3-qgis, offscreen)
from the package's QGIS project, as a GIS officer would print it: an A4 landscape print layout
with the map (its labels placed by QGIS's engine), title, legend, scale bar and north arrow,
exported as PNG (300 dpi) and PDF. Run by Debian's /usr/bin/python3 from bench/package_bench.py;
prints JSON: wall and CPU seconds of the first and of each warm export, labels placed.

    /usr/bin/python3 bench/qgis_map.py PACKAGE/qgis/irq_dtm_maps_r120_20210228.qgz OUT_DIR [REPEAT]
"""

import json
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsCoordinateTransform,
    QgsLayoutExporter,
    QgsLayoutItemLabel,
    QgsLayoutItemLegend,
    QgsLayoutItemMap,
    QgsLayoutItemScaleBar,
    QgsLayoutPoint,
    QgsLayoutSize,
    QgsPrintLayout,
    QgsProject,
    QgsUnitTypes,
)
from qgis.PyQt.QtGui import QFont  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
assert project.read(sys.argv[1]), project.error()
out = sys.argv[2]
repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
root = project.layerTreeRoot()
visible = [la for la in root.layerOrder() if root.findLayer(la.id()).isVisible()]
districts = next(la for la in visible if "district" in la.name())


def layout() -> QgsPrintLayout:
    lay = QgsPrintLayout(project)
    lay.initializeDefaults()  # one A4 page
    page = lay.pageCollection().page(0)
    page.setPageSize("A4", page.Landscape)
    mm = QgsUnitTypes.LayoutMillimeters
    title = QgsLayoutItemLabel(lay)
    title.setText("Iraq | العراق: IDPs (individuals) by district, 28 February 2021")
    title.setFont(QFont("Noto Sans", 14, QFont.Bold))
    title.attemptMove(QgsLayoutPoint(8, 6, mm))
    title.attemptResize(QgsLayoutSize(230, 10, mm))
    lay.addLayoutItem(title)
    m = QgsLayoutItemMap(lay)
    m.attemptMove(QgsLayoutPoint(8, 20, mm))
    m.attemptResize(QgsLayoutSize(210, 180, mm))
    m.setCrs(project.crs())
    ext = QgsCoordinateTransform(districts.crs(), project.crs(), project).transformBoundingBox(districts.extent())
    m.setExtent(ext)
    m.setLayers(visible)
    m.setFrameEnabled(True)
    lay.addLayoutItem(m)
    legend = QgsLayoutItemLegend(lay)
    legend.setLinkedMap(m)
    legend.setAutoUpdateModel(False)
    legend.model().rootGroup().clear()
    legend.model().rootGroup().addLayer(districts)
    legend.attemptMove(QgsLayoutPoint(224, 22, mm))
    lay.addLayoutItem(legend)
    bar = QgsLayoutItemScaleBar(lay)
    bar.setStyle("Single Box")
    bar.setLinkedMap(m)
    bar.applyDefaultSize()
    bar.attemptMove(QgsLayoutPoint(12, 185, mm))
    lay.addLayoutItem(bar)
    north = QgsLayoutItemLabel(lay)
    north.setText("▲\nN")
    north.attemptMove(QgsLayoutPoint(205, 22, mm))
    lay.addLayoutItem(north)
    return lay


def once(i: int) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    lay = layout()
    exporter = QgsLayoutExporter(lay)
    png = QgsLayoutExporter.ImageExportSettings()
    png.dpi = 300
    assert exporter.exportToImage(os.path.join(out, f"qgis_{i}.png"), png) == QgsLayoutExporter.Success
    pdf = QgsLayoutExporter.PdfExportSettings()
    assert exporter.exportToPdf(os.path.join(out, f"qgis_{i}.pdf"), pdf) == QgsLayoutExporter.Success
    return time.perf_counter() - t0, time.process_time() - c0


first = once(0)
warm = [once(i + 1) for i in range(repeat)]
print(
    json.dumps(
        {
            "version": Qgis.QGIS_VERSION,
            "first_wall": first[0],
            "first_cpu": first[1],
            "warm_wall": statistics.median(w for w, _ in warm),
            "warm_cpu": statistics.median(c for _, c in warm),
            "best_wall": min(w for w, _ in warm),
        }
    )
)
