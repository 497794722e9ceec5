"""Run by Debian's /usr/bin/python3 (PyQGIS, python3-qgis) from tests/maps/test_package.py:
open a QGIS project offscreen, render it, list its print layouts, export one of them to PDF
(``qgis_check.py PROJECT [LAYOUT PDF]``), print what it found as JSON. Not a test module."""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsCoordinateTransform,
    QgsExpression,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsLayoutExporter,
    QgsLayoutItemLabel,
    QgsLayoutItemLegend,
    QgsLayoutItemMap,
    QgsLayoutItemPicture,
    QgsLayoutItemScaleBar,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
messages = []


def _log(message, tag, level):
    if level >= Qgis.Warning:
        messages.append(f"{tag}: {message}")


QgsApplication.messageLog().messageReceived.connect(_log)
project = QgsProject.instance()
read = project.read(sys.argv[1])
out = {
    "read": read,
    "error": project.error(),
    "version": Qgis.QGIS_VERSION,
    "crs": project.crs().authid(),
    "layers": [],
}
root = project.layerTreeRoot()
visible = []
for layer in project.mapLayers().values():
    node = root.findLayer(layer.id())
    renderer = layer.renderer()
    rules = []
    if renderer is not None and renderer.type() == "RuleRenderer":
        rules = [(r.filterExpression(), r.symbol().color().name(), r.label()) for r in renderer.rootRule().children()]
    # the colour each unit gets: the first rule whose filter it passes (as the renderer draws it)
    colour_of = {}
    if rules:
        context = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
        children = renderer.rootRule().children()
        exprs = [(QgsExpression(r.filterExpression()), r.symbol().color().name()) for r in children]
        for feature in layer.getFeatures():
            context.setFeature(feature)
            colour_of[feature["pcode"]] = next((c for e, c in exprs if e.evaluate(context)), None)
    labeling = layer.labeling()
    out["layers"].append(
        {
            "name": layer.name(),
            "valid": layer.isValid(),
            "features": layer.featureCount(),
            "source": layer.source(),
            "renderer": renderer.type() if renderer else None,
            "rules": rules,
            "labels": layer.labelsEnabled(),
            "label_expression": labeling.settings().fieldName if labeling else None,
            "visible": bool(node and node.isVisible()),
            "colour_of": colour_of,
        }
    )
    if node and node.isVisible():
        visible.append(layer)
# draw the visible layers at the project's view, as QGIS would on opening it
order = [la for la in root.layerOrder() if la in visible]
settings = QgsMapSettings()
settings.setLayers(order)
settings.setDestinationCrs(project.crs())
settings.setOutputSize(QSize(1200, 900))
settings.setOutputDpi(96)
extent = QgsCoordinateTransform(order[0].crs(), project.crs(), project).transformBoundingBox(order[0].extent())
settings.setExtent(extent)
settings.setBackgroundColor(QColor("white"))
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
image = job.renderedImage()
colours = {}
for y in range(0, image.height(), 3):
    for x in range(0, image.width(), 3):
        c = image.pixelColor(x, y).name()
        colours[c] = colours.get(c, 0) + 1
results = job.takeLabelingResults()
labels = results.allLabels() if results else []
out["labels_placed"] = {la.layerID: 0 for la in labels}
for la in labels:
    out["labels_placed"][la.layerID] += 1
out["labels_placed"] = {project.mapLayer(k).name(): v for k, v in out["labels_placed"].items()}
out["label_texts"] = [la.labelText for la in labels]
out["colours"] = colours
# the print layouts: their page, map items (extent, layers), texts and other items
out["layouts"] = []
for layout in project.layoutManager().printLayouts():
    items = layout.items()
    maps = [i for i in items if isinstance(i, QgsLayoutItemMap)]
    size = layout.pageCollection().page(0).pageSize()
    out["layouts"].append(
        {
            "name": layout.name(),
            "page_mm": [size.width(), size.height()],
            "maps": [
                {
                    "extent": [
                        m.extent().xMinimum(),
                        m.extent().yMinimum(),
                        m.extent().xMaximum(),
                        m.extent().yMaximum(),
                    ],
                    "layers": [la.name() for la in m.layers()],
                    "crs": m.crs().authid(),
                }
                for m in maps
            ],
            "labels": [i.text() for i in items if isinstance(i, QgsLayoutItemLabel)],
            "legends": [i.title() for i in items if isinstance(i, QgsLayoutItemLegend)],
            "scale_bars": [i.unitLabel() for i in items if isinstance(i, QgsLayoutItemScaleBar)],
            "pictures": [i.picturePath() for i in items if isinstance(i, QgsLayoutItemPicture)],
        }
    )
if len(sys.argv) > 3:
    layout = project.layoutManager().layoutByName(sys.argv[2])
    exporter = QgsLayoutExporter(layout)
    out["export"] = exporter.exportToPdf(sys.argv[3], QgsLayoutExporter.PdfExportSettings())
    out["export_ok"] = out["export"] == QgsLayoutExporter.Success
out["messages"] = messages
print(json.dumps(out, ensure_ascii=False))
