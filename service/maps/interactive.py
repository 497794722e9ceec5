"""Interactive maps for partners who get files, not servers: one self-contained folium
(Leaflet) HTML per static map, with the same classes and colours (the ``MapData``'s
``Classification``), a legend, tooltips in English and Arabic, neighbouring countries in grey,
and the static map's names (units in English and Arabic, governorates, the capital and cities,
neighbouring countries) as a labels' layer that hides the names that would overlap at the
current zoom.

It works offline: Leaflet's JavaScript and CSS come from npm (``maps/node_modules/leaflet``,
installed by ``./dev``) and are inlined (its CSS images as data URIs); folium's CDN links
(Leaflet, jQuery, Bootstrap, Font Awesome) are left out, and no tile layer is added. The page
loads nothing from anywhere else.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from pathlib import Path

import shapely

from service.maps import naming
from service.maps.basemap import ROOT
from service.maps.data import LEVEL_NAMES, MapData
from service.maps.render import DISCLAIMER, base_name, title_texts

LEAFLET = ROOT / "maps" / "node_modules" / "leaflet" / "dist"


class LeafletMissing(RuntimeError):
    pass


@functools.lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str]:
    """(JavaScript, CSS) of Leaflet, the CSS's images inlined as data URIs."""
    js, css = LEAFLET / "leaflet.js", LEAFLET / "leaflet.css"
    if not js.exists() or not css.exists():
        raise LeafletMissing(f"{LEAFLET} is missing: run ./dev setup (npm ci in maps/) to install Leaflet")

    def data_uri(m: re.Match) -> str:
        img = LEAFLET / m.group(1)
        if not img.exists():
            return "none"
        return f"url(data:image/png;base64,{base64.b64encode(img.read_bytes()).decode()})"

    css_text = re.sub(r"url\((images/[^)]+)\)", data_uri, css.read_text())
    return js.read_text(), css_text


def _fmt(value, number_format: str) -> str:
    if value is None:
        return "No data"
    if number_format == "percent":
        return f"{value * 100:.2f} %"
    if number_format == "signed":
        return f"{int(value):+,}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def feature_collection(data: MapData, tolerance_m: float = 150.0) -> dict:
    cls = data.classification
    feats = []
    for u in data.units:
        g = data.projection.to_lonlat(shapely.simplify(u.geom, tolerance_m, preserve_topology=True))
        feats.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(g),
                "properties": {
                    "pcode": u.pcode,
                    "name_en": u.name_en or u.pcode,
                    "name_ar": u.name_ar or "",
                    "value": _fmt(u.value, cls.number_format),
                    "class": cls.label_of(u.value),
                    "color": u.color,
                    "no_data": u.value is None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def legend_html(data: MapData) -> str:
    cls = data.classification
    rows = "".join(
        f'<div class="row"><span class="sw" style="background:{c}"></span>{html.escape(label)}</div>'
        for c, label in [*zip(cls.colors, cls.labels), (cls.no_data_color, "No data")]
    )
    return f"""
<div id="dtm-legend" class="dtm-legend">
  <div class="t">{html.escape(cls.title or data.spec.indicator)}</div>{rows}
  <div class="n">Classes: {html.escape(cls.method.replace("_", " "))} ({cls.k}), as in the web map and the API.</div>
</div>"""


PAGE_CSS = """
<style>
 .dtm-legend{position:absolute;z-index:1000;right:10px;bottom:30px;background:rgba(255,255,255,.92);padding:8px 10px;
   font:12px/1.35 'Noto Sans','Noto Sans Arabic',Arial,sans-serif;border:1px solid #aaa;border-radius:3px;
 max-width:260px}
 .dtm-legend .t{font-weight:bold;margin-bottom:4px}
 .dtm-legend .sw{display:inline-block;width:18px;height:12px;margin-right:6px;border:1px solid #777;
 vertical-align:middle}
 .dtm-legend .n{color:#555;font-size:10px;margin-top:4px}
 .dtm-title{position:absolute;z-index:1000;left:50px;top:10px;background:rgba(255,255,255,.92);padding:6px 10px;
   font:13px/1.35 'Noto Sans','Noto Sans Arabic',Arial,sans-serif;border:1px solid #aaa;border-radius:3px;max-width:70%}
 .dtm-title .s{color:#555;font-size:11px}
 .dtm-foot{position:absolute;z-index:1000;left:120px;bottom:8px;font:10px 'Noto Sans',Arial,sans-serif;color:#444;
   background:rgba(255,255,255,.8);padding:2px 6px;max-width:60%}
 .leaflet-container{background:#eef4f8}
 [dir=rtl]{unicode-bidi:isolate}
</style>"""


#: the neighbouring countries' fill: lighter than the "No data" grey of the units
NEIGHBOUR_FILL = "#efefef"

LABEL_CSS = """
<style>
 .dtm-label{width:0;height:0;overflow:visible;pointer-events:none}
 .dtm-label .c{position:absolute;transform:translate(-50%,-50%);white-space:nowrap;text-align:center;
   font:11px/1.15 'Noto Sans','Noto Sans Arabic',Arial,sans-serif;color:#222;
   text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff}
 .dtm-label .c span{display:block}
 .dtm-label.dark .c{color:#fff;text-shadow:0 0 2px #3a3a3a,0 0 2px #3a3a3a}
 .dtm-label.area .c{font-weight:bold;color:#3d3d3d;letter-spacing:.04em}
 .dtm-label.context .c{font-weight:bold;color:#7a7a7a}
 .dtm-label.country .c{color:#8c8c8c;font-size:12px;letter-spacing:.12em}
 .dtm-label.capital .c,.dtm-label.city .c{transform:translate(6px,-50%);text-align:left}
 .dtm-label.capital .c{font-weight:bold}
 .dtm-label.capital .c:before,.dtm-label.city .c:before{content:"";position:absolute;left:-10px;top:50%;
   margin-top:-3px;width:6px;height:6px;border-radius:50%;background:#222;border:1px solid #fff}
 .dtm-label.capital .c:before{border-radius:0;background:#fff;border:2px solid #222;width:5px;height:5px}
</style>"""

#: the labels' layer: every name as a marker (DivIcon) at its place; after each zoom and move
#: the names are laid out again in priority order (capital, governorates, units largest first,
#: cities, countries) and a name that would overlap one already shown is hidden, so the map
#: stays legible at every zoom and names appear as the user zooms in (as web maps label)
LABEL_JS = """
document.addEventListener('DOMContentLoaded', function () {
  var map = %(map)s, items = %(labels)s;
  var layer = L.layerGroup().addTo(map);
  items.forEach(function (d) {
    var box = document.createElement('div');
    box.className = 'c';
    [d.en, d.ar].forEach(function (t, i) {
      if (!t) return;
      var s = document.createElement('span');
      s.textContent = t;
      if (i === 1) s.dir = 'rtl';
      box.appendChild(s);
    });
    d.marker = L.marker([d.lat, d.lon], {
      icon: L.divIcon({className: 'dtm-label ' + d.kind + (d.dark ? ' dark' : ''), html: box, iconSize: [0, 0]}),
      interactive: false, keyboard: false
    }).addTo(layer);
  });
  function declutter() {
    var shown = [];
    items.forEach(function (d) {
      var el = d.marker.getElement();
      if (!el) return;
      el.style.visibility = 'visible';
      var r = el.firstChild.getBoundingClientRect();
      var clash = shown.some(function (p) {
        return !(r.right < p.left || r.left > p.right || r.bottom < p.top || r.top > p.bottom);
      });
      if (clash) { el.style.visibility = 'hidden'; } else { shown.push(r); }
      el.dataset.shown = clash ? '0' : '1';
    });
  }
  map.on('zoomend moveend', declutter);
  map.whenReady(function () { setTimeout(declutter, 0); });
});
"""


def label_points(data: MapData) -> list[dict]:
    """Every name of the map as ``{lon, lat, en, ar, kind, dark}``, in the priority order the page
    lays them out: the capital, the governorates (district maps) or neighbouring governorates,
    the units (largest first; at the pole of inaccessibility of their largest visible part), the
    other cities, the neighbouring countries (in their visible part)."""
    from service.maps import labels as lb

    view = shapely.box(*data.view)
    proj = data.projection

    def lonlat(x: float, y: float) -> tuple[float, float]:
        p = proj.to_lonlat(shapely.Point(x, y))
        return round(p.x, 5), round(p.y, 5)

    def at(geom) -> tuple[float, float] | None:
        a = lb.anchor(geom, view)
        return None if a is None else lonlat(*a[1])

    out: list[dict] = []

    def add(where, en, ar, kind, dark=False):
        if where is not None and (en or ar):
            out.append({"lon": where[0], "lat": where[1], "en": en or "", "ar": ar or "", "kind": kind, "dark": dark})

    for c in data.cities:
        if c["kind"] == "capital":
            add(lonlat(c["x"], c["y"]), c["name"], "", "capital")
    if data.spec.level > 1 and data.spec.extent == "national":
        for g, (en, ar) in sorted(zip(data.governorates, data.governorate_names), key=lambda t: -t[0].area):
            add(at(g), (en or "").upper(), ar, "area")
    for g, (en, ar) in sorted(zip(data.context, data.context_names), key=lambda t: -t[0].area):
        add(at(g), (en or "").upper(), ar, "context")
    for u in sorted(data.units, key=lambda u: -u.geom.area):
        add(at(u.geom), u.name_en or u.pcode, u.name_ar, "unit", lb.luminance(u.color) < 0.22)
    for c in data.cities:
        if c["kind"] != "capital":
            add(lonlat(c["x"], c["y"]), c["name"], "", "city")
    for name, g in data.neighbours:
        a = lb.anchor(g, view)
        if a is not None and a[0].area >= 0.002 * view.area:
            add(lonlat(*a[1]), name.upper(), "", "country")
    return out


@functools.lru_cache(maxsize=8)
def neighbour_features(window: tuple[float, float, float, float], exclude: str | None) -> dict:
    """The neighbouring countries of ``window`` (Natural Earth, lon/lat, simplified) as GeoJSON:
    every interactive map of a country shares them (computed once per process)."""
    from service.maps import basemap

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": n},
                "geometry": shapely.geometry.mapping(shapely.simplify(g, 0.005)),
            }
            for n, g in basemap.neighbours(window, exclude, window)
        ],
    }


_RAW = "{{ this.dtm_markup }}"


@functools.lru_cache(maxsize=1)
def _raw_template():
    from jinja2 import Template

    return Template(_RAW)


def _static(text: str):
    """A branca ``Element`` of ready markup: one template that prints it (compiled once per
    process), where ``Element(text)`` compiles the text itself as a Jinja template: for the
    inlined Leaflet (about 150 kB) and the names' script that was most of a page's time."""
    from branca.element import Element

    el = Element()
    el._template_str = _RAW  # what branca recompiles after unpickling
    el._template = _raw_template()
    el.dtm_markup = text
    return el


def build(data: MapData):
    """The folium Map of ``data`` (nothing loaded from outside: see the module docstring)."""
    import folium

    js, css = leaflet_assets()
    frame = shapely.box(*data.view).segmentize((data.view[2] - data.view[0]) / 20)
    x0, y0, x1, y1 = data.projection.to_lonlat(frame).bounds
    m = folium.Map(
        location=[(y0 + y1) / 2, (x0 + x1) / 2], tiles=None, zoom_start=6, control_scale=True, prefer_canvas=False
    )
    m.default_js, m.default_css = [], []  # no CDN: Leaflet is inlined below
    root = m.get_root()
    root.header.add_child(_static(f"<style>{css}</style>\n<script>{js}</script>\n{PAGE_CSS}"), name="leaflet_inline")
    root.header.add_child(_static('<meta charset="utf-8">'), name="charset")

    # the neighbours straight from Natural Earth in lon/lat, in the map's lon/lat window (no box
    # projected from the static map's UTM frame, which came out skewed)
    from service.maps import basemap

    exclude = basemap.natural_earth_id(data.round["country"])
    folium.GeoJson(
        neighbour_features(tuple(data.window), exclude),
        name="Neighbouring countries",
        interactive=False,
        style_function=lambda f: {"fillColor": NEIGHBOUR_FILL, "color": "#b4b4b4", "weight": 0.8, "fillOpacity": 1},
    ).add_to(m)
    if data.context:
        folium.GeoJson(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": shapely.geometry.mapping(data.projection.to_lonlat(shapely.simplify(g, 300.0))),
                    }
                    for g in data.context
                ],
            },
            name="Other governorates",
            interactive=False,
            style_function=lambda f: {"fillColor": "#f3f3f3", "color": "#c4c4c4", "weight": 0.8, "fillOpacity": 1},
        ).add_to(m)
    level_one = LEVEL_NAMES[data.spec.level][0]
    folium.GeoJson(
        feature_collection(data),
        name=f"{data.classification.title} by {level_one}",
        # a unit without data: its grey hatched by a dashed dark outline, never the neighbours' grey
        style_function=lambda f: {
            "fillColor": f["properties"]["color"],
            "color": "#6b6b6b" if f["properties"]["no_data"] else "#ffffff",
            "dashArray": "3 3" if f["properties"]["no_data"] else None,
            "weight": 0.7,
            "fillOpacity": 0.95,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#333333"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name_en", "name_ar", "pcode", "value", "class"],
            aliases=["Name", "الاسم", "P-code", data.classification.title or "value", "Class"],
            localize=False,
            sticky=True,
        ),
    ).add_to(m)
    # the country's outline over everything (no fill): the COD-AB border
    folium.GeoJson(
        shapely.geometry.mapping(data.projection.to_lonlat(shapely.simplify(data.country, 300.0))),
        name="Country outline",
        interactive=False,
        style_function=lambda f: {"fill": False, "color": "#333333", "weight": 1.6},
    ).add_to(m)
    m.fit_bounds([[y0, x0], [y1, x1]])
    # the names (labels' layer, laid out again at every zoom: LABEL_JS)
    labels = json.dumps(label_points(data), ensure_ascii=False).replace("</", "<\\/")
    root.header.add_child(_static(LABEL_CSS), name="dtm_label_css")
    root.script.add_child(_static(LABEL_JS % {"map": m.get_name(), "labels": labels}), name="dtm_labels")
    # Leaflet's attribution prefix is a link to its web site: plain text here (nothing points out)
    # (run once the page's scripts made the map: folium adds the map's own script when rendering)
    root.script.add_child(
        _static(
            "document.addEventListener('DOMContentLoaded', function () { "
            f"{m.get_name()}.attributionControl.setPrefix('Leaflet (BSD-2-Clause)'); }});"
        ),
        name="attribution_prefix",
    )

    title, subtitle = title_texts(data)
    rnd = data.round
    root.html.add_child(
        _static(
            f'<div class="dtm-title"><div>{html.escape(title)}</div><div class="s">{html.escape(subtitle)}</div></div>'
            + legend_html(data)
            + f'<div class="dtm-foot">Source: IOM {html.escape(data.texts.dtm)}, {naming.round_label(rnd)} '
            f"({rnd['reporting_date'].isoformat()}); {html.escape(data.texts.boundaries_short)}; Natural Earth. "
            f"{html.escape(DISCLAIMER)} Map ID: {html.escape(base_name(data).upper())}</div>"
        )
    )
    return m


def write(data: MapData, out_dir: Path) -> Path:
    """Write the interactive map as ``<static map name>.html`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{base_name(data)}.html"
    path.write_text(build(data).get_root().render(), encoding="utf-8")
    return path


def external_references(page: str) -> list[str]:
    """``src``/``href`` attributes of the page's elements that point outside the file (none
    in our pages; the tests check it, and Chromium checks that nothing is requested)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name in ("src", "href") and value and not value.startswith(("#", "data:", "javascript:")):
                    found.append(f"<{tag} {name}={value!r}>")

    Parser().feed(page)
    return found


__all__ = ["build", "write", "external_references", "leaflet_assets"]
