"""What a map shows, read from the database: the round, the classification (the same
``styles.queries.classification_for`` call the choropleth GeoJSON, the tiles and the MapLibre
styles make, so the legend is the same object), the units' names and generalised polygons.
Nothing is recomputed here: figures come from ``unit_figure`` as aggregation stored them.

``MapSpec`` names a map (round, population, level, indicator, extent, paper, orientation);
``load_map`` reads its ``MapData`` (plain values and shapely geometries: it pickles, so the
package renders maps in worker processes without a database connection).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import shapely
from pyproj import Transformer
from sqlalchemy import Connection, text

from boundaries.pcode import normalize_pcode
from service.figures import read
from service.core.rounds import find_round, list_rounds
from service.maps import layout
from service.publish.datasets import boundary_info
from styles.classify import INDICATORS, Classification
from styles.queries import classification_for
from service.core.importlog import data_version
from tiles.zoom import MAX_BAND, tolerance_m

CRS = "EPSG:32638"
CRS_NAME = "WGS 84 / UTM zone 38N (EPSG:32638), Transverse Mercator, metres"
LEVEL_NAMES = {1: ("governorate", "governorates"), 2: ("district", "districts"), 3: ("sub-district", "sub-districts")}
POPULATION_WORDS = {"idp": "IDPs", "returnee": "Returnees"}
_TO_MAP = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
_TO_LONLAT = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


class MapRequestError(ValueError):
    """A map that cannot be made as asked: ``status`` is 400 (bad parameter) or 404 (no such data)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def map_indicators() -> list[str]:
    """The indicators a map can show: those of ``styles.classify.INDICATORS``, plus the
    fragility layer's (issue 12) once it exists (``service.maps.hooks``)."""
    from service.maps import hooks

    keys = list(INDICATORS)
    if hooks.fragility() is not None and "fragility" not in keys:
        keys.append("fragility")
    return keys


@dataclass(frozen=True)
class MapSpec:
    round_number: int | None = None
    population: str = "idp"
    level: int = 2
    indicator: str = "individuals"
    extent: str = "national"  # or a governorate P-code (any P-code form)
    paper: str = "A4"
    orientation: str = "landscape"

    def checked(self) -> MapSpec:
        """The spec with its parameters validated (MapRequestError 400) and the extent normalised."""
        if self.population not in POPULATION_WORDS:
            raise MapRequestError(400, f"unknown population {self.population!r}: use idp or returnee")
        if self.level not in (1, 2, 3):
            raise MapRequestError(400, f"unknown level {self.level!r}: use 1 (governorates), 2 (districts) or 3 (sub-districts)")
        if self.indicator not in map_indicators():
            raise MapRequestError(400, f"unknown indicator {self.indicator!r}: use one of {', '.join(map_indicators())}")
        try:
            layout.page(self.paper, self.orientation)
        except layout.LayoutError as exc:
            raise MapRequestError(400, str(exc)) from None
        extent = self.extent
        if extent.lower() != "national":
            try:
                extent = normalize_pcode(extent)
            except ValueError as exc:
                raise MapRequestError(400, f"extent {self.extent!r} is neither 'national' nor a governorate P-code: {exc}") from None
        else:
            extent = "national"
        return MapSpec(self.round_number, self.population, self.level, self.indicator, extent,
                       self.paper.upper(), self.orientation)


@dataclass
class Unit:
    pcode: str
    name_en: str | None
    name_ar: str | None
    value: float | int | None
    color: str
    geom: object  # shapely, map CRS
    area_km2: float


@dataclass
class MapData:
    spec: MapSpec
    round: dict
    data_version: int
    classification: Classification
    units: list[Unit]  # the mapped units (within the extent)
    context: list[object]  # other units of Iraq outside the extent (grey), map CRS
    governorates: list[object]  # level-1 outlines within the view, map CRS
    country: object  # Iraq (admin 0), map CRS
    neighbours: list[tuple[str, object]]  # map CRS
    inset_neighbours: list[tuple[str, object]]
    view: tuple[float, float, float, float]  # the main map's extent, map CRS
    inset_view: tuple[float, float, float, float]
    place_en: str
    place_ar: str | None
    boundaries: list[dict]
    unassigned: dict | None
    zband: int | None
    created: dt.date = field(default_factory=dt.date.today)

    @property
    def legend(self) -> dict:
        return self.classification.to_dict()


def to_map(geom):
    return shapely.transform(geom, lambda xy: _stack(_TO_MAP.transform(xy[:, 0], xy[:, 1])))


def to_lonlat(geom):
    return shapely.transform(geom, lambda xy: _stack(_TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


def _stack(pair):
    import numpy as np

    return np.column_stack(pair)


def resolve_round(conn: Connection, spec: MapSpec) -> dict:
    rnd = find_round(conn, round_number=spec.round_number, population=spec.population)
    if rnd is None:
        which = f"round {spec.round_number}" if spec.round_number is not None else "any round"
        known = [r["round_number"] for r in list_rounds(conn, population=spec.population)]
        raise MapRequestError(404, f"no {spec.population} data for {which}; rounds with {spec.population} data: "
                                   f"{', '.join(map(str, known)) or 'none'}")
    return rnd


def _extent_unit(conn: Connection, rnd: dict, spec: MapSpec) -> dict:
    if spec.extent == "national":
        row = conn.execute(text("SELECT pcode, name_en, name_ar, level FROM admin_unit WHERE boundary_set_id = :s "
                                "AND level = 0 ORDER BY pcode LIMIT 1"), {"s": rnd["boundary_set_id"]}).mappings().first()
    else:
        row = conn.execute(text("SELECT pcode, name_en, name_ar, level FROM admin_unit WHERE boundary_set_id = :s "
                                "AND pcode = :p"), {"s": rnd["boundary_set_id"], "p": spec.extent}).mappings().first()
        if row is None or row["level"] != 1:
            govs = conn.execute(text("SELECT pcode FROM admin_unit WHERE boundary_set_id = :s AND level = 1 ORDER BY pcode"),
                                {"s": rnd["boundary_set_id"]}).scalars().all()
            what = "not a governorate" if row is not None else "unknown"
            raise MapRequestError(404 if row is None else 400,
                                  f"extent {spec.extent}: {what}; use 'national' or a governorate P-code "
                                  f"({', '.join(govs)})")
    if row is None:
        raise MapRequestError(404, "the round's boundary set has no country outline (admin level 0)")
    return dict(row)


def governorates(conn: Connection, boundary_set_id: int) -> list[dict]:
    return [dict(r) for r in conn.execute(text(
        "SELECT pcode, name_en, name_ar FROM admin_unit WHERE boundary_set_id = :s AND level = 1 ORDER BY pcode"),
        {"s": boundary_set_id}).mappings()]


def zband_for(ground_m_per_px: float) -> int | None:
    """The coarsest generalised band whose tolerance stays under one printed pixel."""
    for z in range(0, MAX_BAND + 1):
        if tolerance_m(z) * math.cos(math.radians(33)) <= ground_m_per_px:
            return z
    return None


def _geoms(conn: Connection, set_id: int, level: int, zband: int | None, where: str = "", params: dict | None = None):
    if zband is None:
        src = "SELECT u.pcode, u.parent_pcode, u.name_en, u.name_ar, u.area_km2, ST_AsBinary(u.geom) AS wkb FROM admin_unit u"
        cond = "u.boundary_set_id = :s AND u.level = :l"
    else:
        src = ("SELECT u.pcode, u.parent_pcode, u.name_en, u.name_ar, u.area_km2, ST_AsBinary(g.geom) AS wkb "
               "FROM admin_unit u JOIN admin_unit_generalised g ON g.boundary_set_id = u.boundary_set_id "
               "AND g.level = u.level AND g.pcode = u.pcode AND g.zband = :z")
        cond = "u.boundary_set_id = :s AND u.level = :l"
    rows = conn.execute(text(f"{src} WHERE {cond} {where} ORDER BY u.pcode"),
                        {"s": set_id, "l": level, "z": zband, **(params or {})}).mappings().all()
    out = []
    for r in rows:
        g = to_map(shapely.from_wkb(bytes(r["wkb"])))
        out.append({**{k: r[k] for k in ("pcode", "parent_pcode", "name_en", "name_ar", "area_km2")}, "geom": g})
    return out


def _fit(bounds, aspect: float, pad: float = 0.04) -> tuple[float, float, float, float]:
    """``bounds`` padded and widened to the frame's aspect (width / height)."""
    x0, y0, x1, y1 = bounds
    w, h = (x1 - x0) * (1 + 2 * pad), (y1 - y0) * (1 + 2 * pad)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def _clip(geom, clip, ground: float):
    return shapely.simplify(shapely.intersection(geom, clip), ground / 2)


def _lonlat_box(view) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = view
    ring = shapely.box(x0, y0, x1, y1).segmentize((x1 - x0) / 20)
    return to_lonlat(ring).bounds


def load_map(conn: Connection, spec: MapSpec, *, created: dt.date | None = None) -> MapData:
    """Everything a map shows (one snapshot of the database: call in a REPEATABLE READ
    transaction for strict consistency; the package does)."""
    from service.maps import basemap, hooks

    spec = spec.checked()
    rnd = resolve_round(conn, spec)
    set_id = rnd["boundary_set_id"]
    page = layout.page(spec.paper, spec.orientation)
    ext = _extent_unit(conn, rnd, spec)

    if spec.indicator == "fragility":
        layer = hooks.fragility()
        cls, values = layer.map_values(conn, round_id=rnd["id"], level=spec.level, population=rnd["population"])
    else:
        cls, values = classification_for(conn, round_id=rnd["id"], level=spec.level, indicator=spec.indicator,
                                         population=rnd["population"])

    # the extent's outline (full resolution is fine for its bounds) decides the generalisation band
    outline = conn.execute(text(
        "SELECT ST_AsBinary(geom) FROM admin_unit WHERE boundary_set_id = :s AND pcode = :p"),
        {"s": set_id, "p": ext["pcode"]}).scalar_one()
    outline = to_map(shapely.from_wkb(bytes(outline)))
    aspect = page.main.w / page.main.h
    view = _fit(outline.bounds, aspect)
    ground = (view[2] - view[0]) / (page.main.w / layout.MM_PER_INCH * layout.DPI)
    zband = zband_for(ground)

    country = _geoms(conn, set_id, 0, zband)
    country_geom = shapely.union_all([c["geom"] for c in country]) if country else outline
    if spec.extent == "national":
        mapped = _geoms(conn, set_id, spec.level, zband)
        context = []
    else:
        if spec.level == 1:
            where, params = "AND u.pcode = :g", {"g": ext["pcode"]}
        elif spec.level == 2:
            where, params = "AND u.parent_pcode = :g", {"g": ext["pcode"]}
        else:
            where, params = ("AND u.parent_pcode IN (SELECT pcode FROM admin_unit WHERE boundary_set_id = :s "
                             "AND level = 2 AND parent_pcode = :g)"), {"g": ext["pcode"]}
        mapped = _geoms(conn, set_id, spec.level, zband, where, params)
        vbox = shapely.box(*view)
        context = [g["geom"] for g in _geoms(conn, set_id, 1, zband, "AND u.pcode <> :g", {"g": ext["pcode"]})
                   if g["geom"].intersects(vbox)]
    # context outside the frame is never drawn: clipped to the frame (a little wider, so no
    # outline ends at its edge), simplified to a printed pixel
    vbox = shapely.box(*view)
    clip = vbox.buffer(ground * 20, join_style="mitre")
    context = [_clip(g, clip, ground) for g in context]
    govs = [_clip(g["geom"], clip, ground) for g in _geoms(conn, set_id, 1, zband) if g["geom"].intersects(vbox)]

    units = [Unit(u["pcode"], u["name_en"], u["name_ar"], values.get(u["pcode"]), cls.color_of(values.get(u["pcode"])),
                  u["geom"], float(u["area_km2"] or 0)) for u in mapped]

    lon0, lat0, lon1, lat1 = _lonlat_box(view)
    pad = 1.0
    near = [(n, _clip(to_map(g), clip, ground))
            for n, g in basemap.neighbours((lon0 - pad, lat0 - pad, lon1 + pad, lat1 + pad))]
    near = [(n, g) for n, g in near if not g.is_empty]
    inset_frame = page.inset.w / page.inset.h
    if spec.extent == "national":
        inset_bounds = shapely.box(*view).buffer(max(view[2] - view[0], view[3] - view[1]) * 0.6).bounds
    else:
        inset_bounds = country_geom.bounds
    inset_view = _fit(inset_bounds, inset_frame, pad=0.06)
    ilon0, ilat0, ilon1, ilat1 = _lonlat_box(inset_view)
    inset_near = [(n, to_map(g).simplify((inset_view[2] - inset_view[0]) / 800))
                  for n, g in basemap.neighbours((ilon0 - pad, ilat0 - pad, ilon1 + pad, ilat1 + pad))]

    return MapData(
        spec=spec, round=rnd, data_version=data_version(conn), classification=cls, units=units, context=context,
        governorates=govs, country=country_geom, neighbours=near, inset_neighbours=inset_near, view=view,
        inset_view=inset_view, place_en=ext["name_en"] or ext["pcode"], place_ar=ext["name_ar"],
        boundaries=boundary_info(conn, set_id), unassigned=read.bucket(conn, rnd["id"], spec.level),
        zband=zband, created=created or dt.date.today(),
    )
