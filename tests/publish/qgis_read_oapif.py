"""Run by Debian's python3 (PyQGIS, offscreen) from tests/publish/test_qgis_client.py: open an
OGC API - Features collection with QGIS's OAPIF provider, keep the features an expression
selects, and print what QGIS read as one line of JSON."""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsVectorLayer  # noqa: E402

url, collection, expression = sys.argv[1:4]
app = QgsApplication([], False)
app.initQgis()
layer = QgsVectorLayer(f"url='{url}' typename='{collection}'", collection, "OAPIF")
out = {"valid": layer.isValid()}
if layer.isValid():
    out["fields"] = [f.name() for f in layer.fields()]
    out["crs"] = layer.crs().authid()
    out["subset"] = layer.setSubsetString(expression)
    feats = list(layer.getFeatures())
    out["ids"] = sorted(str(f["id"]) for f in feats)
    out["geometries"] = sum(1 for f in feats if f.hasGeometry())
print(json.dumps(out), flush=True)
