"""The package's QGIS project (``.qgz``): the round's GeoPackages as layers, styled like the
static maps (the same classes and colours, "No data" grey), named in English and Arabic, for a
GIS officer who adjusts a map instead of redrawing it.

Written as QGIS 3.22 project XML without QGIS (the service never needs it); the layers point
to the package's GeoPackages by relative paths (``../data/...`` from the package's ``qgis/``),
so the project opens wherever the package is unpacked. The tests open it with PyQGIS
(Debian's ``python3-qgis``, offscreen).

* one layer per GeoPackage (population x admin level), a rule-based renderer whose rules are
  ``Classification.class_of``'s (``value <= b0``, ``b(i-1) < value <= b(i)``, ``value > b(k-2)``;
  "No data" where the unit has no locations, as on the maps), white unit borders; the national
  district map of IDPs visible, the others ready in the layer tree;
* labels: English over Arabic (``name_en || '\\n' || name_ar``) in Noto Sans with a white halo,
  placed by QGIS's engine inside each unit ("around centroid", "free" for polygons);
* the governorates' outlines over the districts (the adm1 layer, no fill), named in capitals;
* the project CRS: the maps' UTM zone (Iraq: EPSG:32638).
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from styles.classify import Classification

QGIS_VERSION = "3.22.16-Białowieża"
FONT = "Noto Sans"
INK = "34,34,34,255"
EDGE = "255,255,255,255"
GOV_EDGE = "85,85,85,255"


@dataclass
class ProjectLayer:
    name: str  # as shown in the layer tree
    source: str  # "./data/x.gpkg|layername=x"
    classification: Classification | None  # None: an outline layer (no fill)
    field: str = "individuals"
    visible: bool = False
    label_size: float = 6.5
    upper: bool = False  # labels in capitals (the governorates)


def _rgba(hex_color: str, alpha: int = 255) -> str:
    h = hex_color.lstrip("#")
    return ",".join(str(int(h[i : i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _opt(parent, name: str, value: str, typ: str = "QString"):
    return ET.SubElement(parent, "Option", {"type": typ, "name": name, "value": value})


def _srs(parent, epsg: int) -> None:
    from pyproj import CRS

    crs = CRS.from_epsg(epsg)
    srs = ET.SubElement(parent, "spatialrefsys")
    ET.SubElement(srs, "wkt").text = crs.to_wkt()
    with warnings.catch_warnings():  # PROJ strings lose information: QGIS reads the WKT first
        warnings.simplefilter("ignore", UserWarning)
        ET.SubElement(srs, "proj4").text = crs.to_proj4()
    ET.SubElement(srs, "srid").text = str(epsg)
    ET.SubElement(srs, "authid").text = f"EPSG:{epsg}"
    ET.SubElement(srs, "description").text = crs.name
    ET.SubElement(srs, "geographicflag").text = "true" if crs.is_geographic else "false"


def _fill_symbol(parent, name: str, fill: str | None, edge: str, width: float) -> None:
    sym = ET.SubElement(
        parent, "symbol", {"type": "fill", "alpha": "1", "clip_to_extent": "1", "name": name, "force_rhr": "0"}
    )
    lay = ET.SubElement(sym, "layer", {"enabled": "1", "class": "SimpleFill", "pass": "0", "locked": "0"})
    opts = ET.SubElement(lay, "Option", {"type": "Map"})
    _opt(opts, "color", fill or "0,0,0,0")
    _opt(opts, "style", "solid" if fill else "no")
    _opt(opts, "outline_color", edge)
    _opt(opts, "outline_style", "solid")
    _opt(opts, "outline_width", f"{width:g}")
    _opt(opts, "outline_width_unit", "MM")
    _opt(opts, "joinstyle", "round")


#: a unit without figures: the exports write 0 where the maps (and the API) have no row
NO_DATA = 'coalesce("locations", 0) = 0'


def rules(cls: Classification, field: str, no_data: str = NO_DATA) -> list[tuple[str, str, str]]:
    """``(filter expression, colour, label)`` of each class of ``cls`` (its ``class_of``), then
    "No data" (``no_data``, or a null value); the rules exclude each other."""
    f = f'"{field}"'
    has = f"NOT ({no_data}) AND {f} IS NOT NULL"
    out = []
    if cls.diverging:
        raise ValueError("diverging classes are not styled in the QGIS project")
    b = list(cls.breaks)
    for i in range(cls.k):
        if cls.k == 1:
            expr = has
        elif i == 0:
            expr = f"{has} AND {f} <= {b[0]!r}"
        elif i == cls.k - 1:
            expr = f"{has} AND {f} > {b[i - 1]!r}"
        else:
            expr = f"{has} AND {f} > {b[i - 1]!r} AND {f} <= {b[i]!r}"
        out.append((expr, cls.colors[i], cls.labels[i]))
    out.append((f"({no_data}) OR {f} IS NULL", cls.no_data_color, "No data"))
    return out


def _renderer(ml, layer: ProjectLayer) -> None:
    if layer.classification is None:
        r = ET.SubElement(ml, "renderer-v2", {"type": "singleSymbol", "symbollevels": "0", "forceraster": "0"})
        _fill_symbol(ET.SubElement(r, "symbols"), "0", None, GOV_EDGE, 0.5)
        return
    r = ET.SubElement(ml, "renderer-v2", {"type": "RuleRenderer", "symbollevels": "0", "forceraster": "0"})
    root = ET.SubElement(r, "rules", {"key": "root"})
    symbols = ET.SubElement(r, "symbols")
    for i, (expr, color, label) in enumerate(rules(layer.classification, layer.field)):
        ET.SubElement(root, "rule", {"key": f"class{i}", "filter": expr, "symbol": str(i), "label": label})
        _fill_symbol(symbols, str(i), _rgba(color), EDGE, 0.15)


def _labeling(ml, layer: ProjectLayer) -> None:
    lab = ET.SubElement(ml, "labeling", {"type": "simple"})
    st = ET.SubElement(lab, "settings", {"calloutType": "simple"})
    expr = 'upper("name_en") || \'\\n\' || "name_ar"' if layer.upper else '"name_en" || \'\\n\' || "name_ar"'
    ts = ET.SubElement(
        st,
        "text-style",
        {
            "fieldName": expr,
            "isExpression": "1",
            "fontFamily": FONT,
            "namedStyle": "Bold" if layer.upper else "Regular",
            "fontWeight": "75" if layer.upper else "50",
            "fontSize": f"{layer.label_size:g}",
            "fontSizeUnit": "Point",
            "textColor": INK,
            "textOpacity": "1",
            "multilineHeight": "1",
            "allowHtml": "0",
            "capitalization": "0",
        },
    )
    ET.SubElement(
        ts,
        "text-buffer",
        {
            "bufferDraw": "1",
            "bufferSize": "0.6",
            "bufferSizeUnits": "MM",
            "bufferColor": "255,255,255,255",
            "bufferOpacity": "0.9",
            "bufferJoinStyle": "128",
            "bufferNoFill": "1",
        },
    )
    ET.SubElement(st, "text-format", {"multilineAlign": "1", "wrapChar": "", "autoWrapLength": "0"})
    # polygons: around the centroid (inside), else free inside; priority and obstacles as QGIS's defaults
    ET.SubElement(
        st,
        "placement",
        {
            "placement": "0" if not layer.upper else "1",
            "centroidInside": "1",
            "centroidWhole": "0",
            "fitInPolygonOnly": "0" if layer.upper else "1",
            "polygonPlacementFlags": "2",
            "priority": "7" if layer.upper else "5",
            "dist": "0",
        },
    )
    ET.SubElement(
        st,
        "rendering",
        {
            "drawLabels": "1",
            "obstacle": "1",
            "obstacleType": "1",
            "displayAll": "0",
            "labelPerPart": "0",
            "upsidedownLabels": "0",
            "minFeatureSize": "0",
            "limitNumLabels": "0",
            "maxNumLabels": "2000",
        },
    )


def project_xml(title: str, epsg: int, layers: list[ProjectLayer], extent: tuple[float, float, float, float]) -> bytes:
    """The ``.qgs`` XML of the project (``extent``: the view in the project CRS)."""
    root = ET.Element("qgis", {"version": QGIS_VERSION, "projectname": title})
    ET.SubElement(root, "homePath", {"path": ""})
    ET.SubElement(root, "title").text = title
    _srs(ET.SubElement(root, "projectCrs"), epsg)
    ids = [f"{re.sub(r'[^A-Za-z0-9]+', '_', layer.name)}_{i}" for i, layer in enumerate(layers)]
    tree = ET.SubElement(root, "layer-tree-group")
    for lid, layer in zip(ids, layers):
        ET.SubElement(
            tree,
            "layer-tree-layer",
            {
                "id": lid,
                "name": layer.name,
                "source": layer.source,
                "providerKey": "ogr",
                "checked": "Qt::Checked" if layer.visible else "Qt::Unchecked",
                "expanded": "1" if layer.visible else "0",
            },
        )
    canvas = ET.SubElement(root, "mapcanvas", {"name": "theMapCanvas", "annotationsVisible": "1"})
    ET.SubElement(canvas, "units").text = "meters"
    ext = ET.SubElement(canvas, "extent")
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), extent):
        ET.SubElement(ext, k).text = repr(float(v))
    ET.SubElement(canvas, "rotation").text = "0"
    _srs(ET.SubElement(canvas, "destinationsrs"), epsg)
    order = ET.SubElement(root, "layerorder")
    for lid in ids:
        ET.SubElement(order, "layer", {"id": lid})
    pl = ET.SubElement(root, "projectlayers")
    for lid, layer in zip(ids, layers):
        ml = ET.SubElement(
            pl,
            "maplayer",
            {
                "type": "vector",
                "geometry": "Polygon",
                "wkbType": "MultiPolygon",
                "labelsEnabled": "1",
                "hasScaleBasedVisibilityFlag": "0",
                "styleCategories": "AllStyleCategories",
            },
        )
        ET.SubElement(ml, "id").text = lid
        ET.SubElement(ml, "datasource").text = layer.source
        ET.SubElement(ml, "layername").text = layer.name
        _srs(ET.SubElement(ml, "srs"), 4326)
        ET.SubElement(ml, "provider", {"encoding": "UTF-8"}).text = "ogr"
        _renderer(ml, layer)
        _labeling(ml, layer)
        ET.SubElement(ml, "blendMode").text = "0"
        ET.SubElement(ml, "layerOpacity").text = "1"
    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", {"type": "bool"}).text = "false"
    srs = ET.SubElement(props, "SpatialRefSys")  # without it QGIS ignores projectCrs
    ET.SubElement(srs, "ProjectionsEnabled", {"type": "int"}).text = "1"
    pal = ET.SubElement(props, "PAL")  # QGIS 3's labelling engine (version 2: the current rules)
    ET.SubElement(pal, "PlacementEngineVersion", {"type": "int"}).text = "1"
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n").encode("utf-8")


def write_qgz(path: Path, title: str, epsg: int, layers: list[ProjectLayer], extent) -> Path:
    """The project as ``path`` (a ``.qgz``: a zip holding ``<name>.qgs``)."""
    path = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{path.stem}.qgs", project_xml(title, epsg, layers, extent))
    path.write_bytes(buf.getvalue())
    return path


GPKG_NAME = re.compile(r"_(?P<pop>idp|returnee)_adm(?P<level>\d)_")
LEVEL_WORDS = {1: "governorates", 2: "districts", 3: "sub-districts"}


def package_layers(
    data_dir: Path, classes: dict[tuple[str, int], Classification], prefix: str = "../data/"
) -> list[ProjectLayer]:
    """The layers of the package's GeoPackages in ``data_dir`` (``classes``: the maps'
    classification by population and level): the choropleths, sub-districts at the bottom, and the
    governorates' outlines on top; the district map of IDPs (else the first) visible. ``prefix``:
    the data folder seen from the project's folder."""
    found = []
    for gpkg in sorted(Path(data_dir).glob("*.gpkg")):
        m = GPKG_NAME.search(gpkg.name)
        if m is None:
            continue
        pop, level = m["pop"], int(m["level"])
        found.append((pop, level, gpkg))
    layers: list[ProjectLayer] = []
    for pop, level, gpkg in sorted(found, key=lambda t: (-t[1], t[0] != "idp", t[0])):
        cls = classes.get((pop, level))
        if cls is None:
            continue
        who = "IDPs" if pop == "idp" else "Returnees"
        layers.append(
            ProjectLayer(
                f"{who} by {LEVEL_WORDS.get(level, f'admin {level}')[:-1]} ({gpkg.stem})",
                f"{prefix}{gpkg.name}|layername={gpkg.stem}",
                cls,
                visible=False,
                label_size=6.0 if level == 2 else 5.0 if level == 3 else 7.0,
            )
        )
    if layers:
        wanted = next((la for la in layers if "IDPs by district" in la.name), layers[0])
        wanted.visible = True
    outline = next((g for p, lvl, g in found if lvl == 1 and p == "idp"), None) or next(
        (g for _p, lvl, g in found if lvl == 1), None
    )
    if outline is not None:
        layers.append(
            ProjectLayer(
                "Governorates (outlines)",
                f"{prefix}{outline.name}|layername={outline.stem}",
                None,
                visible=True,
                label_size=7.5,
                upper=True,
            )
        )
    return layers
