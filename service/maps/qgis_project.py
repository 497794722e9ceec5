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
    population: str = ""  # the choropleths' population and admin level (print layouts pick by them)
    level: int = 0


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


@dataclass
class PrintLayout:
    """One map of the package as a QGIS print layout: its paper, title, the layers it shows
    (``ProjectLayer.name``), its view in the project CRS, its notes, the logo (a path relative
    to the project, or None)."""

    name: str  # the map's file name without extension (unique in the project)
    title: str
    subtitle: str
    layers: list[str]
    view: tuple[float, float, float, float]
    width_mm: float
    height_mm: float
    notes: str = ""
    legend_title: str = ""
    logo: str | None = None


LABEL, MAP, LEGEND, SCALEBAR, PICTURE, PAGE = "65641", "65639", "65642", "65646", "65640", "65638"
NORTH_ARROW = ":/images/north_arrows/layout_default_north_arrow.svg"


def _qfont(size: float, bold: bool = False) -> str:
    """A Qt font description (family, points, pixels, style hint, weight, italic, ...)."""
    return f"{FONT},{size:g},-1,5,{75 if bold else 50},0,0,0,0,0"


def _item(parent, typ: str, uid: str, x: float, y: float, w: float, h: float, z: int, **attrs):
    el = ET.SubElement(
        parent,
        "LayoutItem",
        {
            "type": typ,
            "uuid": uid,
            "templateUuid": uid,
            "id": attrs.pop("item_id", ""),
            "position": f"{x:g},{y:g},mm",
            "positionOnPage": f"{x:g},{y:g},mm",
            "size": f"{w:g},{h:g},mm",
            "zValue": str(z),
            "visibility": "1",
            "positionLock": "false",
            "frame": attrs.pop("frame", "false"),
            "background": attrs.pop("background", "false"),
            "opacity": "1",
            "blendMode": "0",
            "referencePoint": "0",
            "itemRotation": "0",
            "excludeFromExports": "0",
            "outlineWidthM": "0.3,mm",
            "frameJoinStyle": "miter",
            "groupUuid": "",
            **attrs,
        },
    )
    ET.SubElement(el, "FrameColor", {"red": "85", "green": "85", "blue": "85", "alpha": "255"})
    ET.SubElement(el, "BackgroundColor", {"red": "255", "green": "255", "blue": "255", "alpha": "255"})
    return el


def _label(parent, uid, x, y, w, h, z, text: str, size: float, *, bold=False, color=(34, 34, 34), item_id=""):
    el = _item(
        parent,
        LABEL,
        uid,
        x,
        y,
        w,
        h,
        z,
        item_id=item_id,
        labelText=text,
        htmlState="0",
        halign="1",
        valign="32",
        marginX="0",
        marginY="0",
    )
    ET.SubElement(el, "LabelFont", {"description": _qfont(size, bold), "style": "Bold" if bold else ""})
    r, g, b = color
    ET.SubElement(el, "FontColor", {"red": str(r), "green": str(g), "blue": str(b), "alpha": "255"})
    return el


def _fit(view, w: float, h: float) -> tuple[float, float, float, float]:
    """``view`` grown (centred) to the aspect of a ``w`` x ``h`` frame: the extent the map item
    shows, so that it holds the whole view undistorted."""
    x0, y0, x1, y1 = view
    vw, vh = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if vw / vh < w / h:
        vw = vh * w / h
    else:
        vh = vw * h / w
    return cx - vw / 2, cy - vh / 2, cx + vw / 2, cy + vh / 2


def _layout(parent, n: int, pl: PrintLayout, ids: dict[str, str], layers: dict[str, ProjectLayer]) -> None:
    """The print layout of one map: title and subtitle (the logo at the header's right end), the
    map (its layers, its view), legend, scale bar (km), north arrow, notes; A4/A3 in the map's
    orientation, the legend right of the map (landscape) or under it (portrait)."""
    W, H, m = pl.width_mm, pl.height_mm, 10.0
    lay = ET.SubElement(
        parent, "Layout", {"name": pl.name, "units": "mm", "printResolution": "300", "worldFileMap": ""}
    )
    pages = ET.SubElement(lay, "PageCollection")
    _item(pages, PAGE, f"{{page-{n}}}", 0, 0, W, H, 0, background="true")
    uid = f"{{map-{n}}}"
    landscape = W > H
    top = m + 22
    notes_h = 16.0
    if landscape:
        legend_w = 62.0
        mx, my, mw, mh = m, top, W - 2 * m - legend_w - 5, H - top - m - notes_h - 3
        lx, ly = m + mw + 5, top
    else:
        mx, my, mw, mh = m, top, W - 2 * m, (H - top - m - notes_h) * 0.72
        lx, ly = m, top + mh + 5
    logo_w = 0.0
    if pl.logo:
        logo_w = 40.0
        _item(
            lay,
            PICTURE,
            f"{{logo-{n}}}",
            W - m - logo_w,
            m,
            logo_w,
            18,
            6,
            item_id="logo",
            file=pl.logo,
            mode="1",
            resizeMode="3",
            anchorPoint="2",
            pictureRotation="0",
            northMode="0",
            northOffset="0",
            mapUuid="",
            svgFillColor="255,255,255,255",
            svgBorderColor="0,0,0,255",
            svgBorderWidth="0.2",
        )
    _label(
        lay,
        f"{{title-{n}}}",
        m,
        m,
        W - 2 * m - logo_w - 2,
        12,
        7,
        pl.title,
        14 if landscape else 13,
        bold=True,
        item_id="title",
    )
    _label(
        lay,
        f"{{subtitle-{n}}}",
        m,
        m + 13,
        W - 2 * m - logo_w - 2,
        7,
        7,
        pl.subtitle,
        8.5,
        color=(68, 68, 68),
        item_id="subtitle",
    )
    x0, y0, x1, y1 = _fit(pl.view, mw, mh)
    mp = _item(
        lay,
        MAP,
        uid,
        mx,
        my,
        mw,
        mh,
        1,
        item_id="map",
        frame="true",
        background="true",
        keepLayerSet="true",
        followPreset="false",
        followPresetName="",
        drawCanvasItems="true",
        mapRotation="0",
        isTemporal="0",
        labelMargin="0,mm",
        mapFlags="0",
    )
    for el in mp.iter("BackgroundColor"):
        el.attrib.update({"red": "238", "green": "244", "blue": "248"})  # the static maps' water
    ET.SubElement(mp, "Extent", {"xmin": repr(x0), "ymin": repr(y0), "xmax": repr(x1), "ymax": repr(y1)})
    ls = ET.SubElement(mp, "LayerSet")
    for name in pl.layers:
        ET.SubElement(ls, "Layer", {"source": layers[name].source, "provider": "ogr", "name": name}).text = ids[name]
    ET.SubElement(mp, "AtlasMap", {"atlasDriven": "0", "scalingMode": "2", "margin": "0.1"})
    leg = _item(
        lay,
        LEGEND,
        f"{{legend-{n}}}",
        lx,
        ly,
        60,
        60,
        3,
        item_id="legend",
        map_uuid=uid,
        title=pl.legend_title,
        resizeToContents="1",
        columnCount="1",
        symbolWidth="7",
        symbolHeight="4",
        boxSpace="1",
        columnSpace="2",
        lineSpacing="1",
        fontColor="#222222",
        wrapChar="",
        splitLayer="0",
        equalColumnWidth="0",
        legendFilterByAtlas="0",
        titleAlignment="1",
        symbolAlignment="1",
        rasterBorder="0",
    )
    styles = ET.SubElement(leg, "styles")
    for sname, size, bold, extra in (
        ("title", 9, True, {"marginBottom": "2.5"}),
        ("group", 8, True, {"marginTop": "2"}),
        ("subgroup", 7.5, False, {"marginTop": "2"}),
        ("symbol", 7.5, False, {"marginTop": "1.5"}),
        ("symbolLabel", 7.5, False, {"marginTop": "1.5", "marginLeft": "2"}),
    ):
        st = ET.SubElement(leg, "style", {"name": sname, "alignment": "1", "indent": "0", **extra})
        styles.append(st)
        leg.remove(st)
        ET.SubElement(st, "styleFont", {"description": _qfont(size, bold), "style": "Bold" if bold else ""})
    tree = ET.SubElement(leg, "layer-tree-group")
    order = ET.SubElement(tree, "custom-order", {"enabled": "0"})
    for name in pl.layers:
        la = layers[name]
        if la.classification is None:
            continue  # outlines: nothing to read in a legend
        ET.SubElement(
            tree,
            "layer-tree-layer",
            {
                "id": ids[name],
                "name": name,
                "source": la.source,
                "providerKey": "ogr",
                "checked": "Qt::Checked",
                "expanded": "1",
                "legend_exp": "",
                "patch_size": "-1,-1",
                "legend_split_behavior": "0",
            },
        )
        ET.SubElement(order, "item").text = ids[name]
    tree.remove(order)
    tree.append(order)
    sb = _item(
        lay,
        SCALEBAR,
        f"{{scalebar-{n}}}",
        mx + 4,
        my + mh - 14,
        60,
        10,
        4,
        item_id="scale bar",
        mapUuid=uid,
        style="Single Box",
        unitType="km",
        unitLabel="km",
        numMapUnitsPerScaleBarUnit="1",
        numSegments="2",
        numSegmentsLeft="0",
        numSubdivisions="1",
        subdivisionsHeight="1.5",
        segmentSizeMode="1",
        minBarWidth="30",
        maxBarWidth="60",
        numUnitsPerSegment="100",
        segmentMillimeters="0",
        height="2",
        labelBarSpace="1.5",
        boxContentSpace="1",
        alignment="0",
        labelVerticalPlacement="0",
        labelHorizontalPlacement="0",
        outlineWidth="0.3",
        lineJoinStyle="miter",
        lineCapStyle="square",
        background="true",
    )
    ts = ET.SubElement(
        sb,
        "text-style",
        {
            "fontFamily": FONT,
            "fontSize": "7",
            "fontSizeUnit": "Point",
            "textColor": INK,
            "fontWeight": "50",
            "namedStyle": "Regular",
            "textOpacity": "1",
            "multilineHeight": "1",
            "allowHtml": "0",
        },
    )
    ET.SubElement(ts, "text-buffer", {"bufferDraw": "0"})
    _item(
        lay,
        PICTURE,
        f"{{north-{n}}}",
        mx + mw - 14,
        my + 3,
        10,
        14,
        5,
        item_id="north arrow",
        file=NORTH_ARROW,
        mode="0",
        resizeMode="0",
        anchorPoint="0",
        pictureRotation="0",
        northMode="0",
        northOffset="0",
        mapUuid=uid,
        svgFillColor="255,255,255,255",
        svgBorderColor="34,34,34,255",
        svgBorderWidth="0.2",
    )
    if pl.notes:
        _label(
            lay,
            f"{{notes-{n}}}",
            m,
            H - m - notes_h,
            W - 2 * m,
            notes_h,
            2,
            pl.notes,
            6,
            color=(51, 51, 51),
            item_id="notes",
        )


def project_xml(
    title: str,
    epsg: int,
    layers: list[ProjectLayer],
    extent: tuple[float, float, float, float],
    layouts: list[PrintLayout] = (),
) -> bytes:
    """The ``.qgs`` XML of the project (``extent``: the view in the project CRS; ``layouts``: a
    print layout per map of the package)."""
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
    if layouts:
        by_name = {la.name: la for la in layers}
        id_of = {la.name: lid for lid, la in zip(ids, layers)}
        box = ET.SubElement(root, "Layouts")
        for n, pl in enumerate(layouts):
            _layout(box, n, pl, id_of, by_name)
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


def write_qgz(path: Path, title: str, epsg: int, layers: list[ProjectLayer], extent, layouts=()) -> Path:
    """The project as ``path`` (a ``.qgz``: a zip holding ``<name>.qgs``)."""
    path = Path(path)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{path.stem}.qgs", project_xml(title, epsg, layers, extent, list(layouts)))
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
                population=pop,
                level=level,
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


def map_layout(data, layers: list[ProjectLayer], logo: str | None = None) -> PrintLayout | None:
    """The print layout of one static map (a ``MapData``): its title, subtitle, paper, view and
    legend title; its choropleth layer of the project and the governorates' outlines. None when
    the project has no layer for the map (a map of another indicator than the population)."""
    from service.maps import layout, render

    s = data.spec
    if s.indicator != "individuals":
        return None
    choropleth = next((la for la in layers if la.population == s.population and la.level == s.level), None)
    if choropleth is None:
        return None
    outlines = [la.name for la in layers if la.classification is None]
    page = layout.page(s.paper, s.orientation)
    title, subtitle = render.title_texts(data)
    return PrintLayout(
        name=render.base_name(data, page),
        title=title,
        subtitle=subtitle,
        layers=[*outlines, choropleth.name],  # top first, as QGIS lists a map's layers
        view=tuple(float(v) for v in data.view),
        width_mm=page.width_mm,
        height_mm=page.height_mm,
        notes=(
            f"Sources: {data.texts.sources_line}. Projection: {data.projection.description}. "
            f"{render.DISCLAIMER} Map: {render.base_name(data, page)}."
        ),
        legend_title=data.classification.title or s.indicator,
        logo=logo,
    )
