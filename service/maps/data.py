"""What a map shows, read from the database: the round, the classification (the same
``styles.queries.classification_for`` call the choropleth GeoJSON, the tiles and the MapLibre
styles make, so the legend is the same object), the units' names and generalised polygons.
Nothing is recomputed here: figures come from ``unit_figure`` as aggregation stored them.

``MapSpec`` names a map (round, population, level, indicator, extent, paper, orientation,
country); ``load_map`` reads its ``MapData`` (plain values and shapely geometries: it pickles,
so the package renders maps in worker processes without a database connection).

Any country: the round is the country's (``country``, or the one country with figures of the
population: ``service.core.countries.figures_country``; several and none named is a 400 listing
them); the projection is the UTM zone of the country's extent (Iraq: zone 38N); the neighbours
come from a window around the country's extent; the texts name the country and its boundary
source (``service.maps.country``).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from pyproj import Transformer
from sqlalchemy import Connection, text

from boundaries.pcode import normalize_country, normalize_pcode
from service.core import rounds
from service.core.access import ANONYMOUS, Principal, decide, kind_resource
from service.core.countries import NoCountryData, SeveralCountries, check_country, figures_country
from service.core.errors import AtlasError
from service.core.importlog import data_version
from service.core.registry import registry
from service.core.rounds import RoundRef
from service.core.settings import DEFAULT_SHARED_DIR
from service.core.versioncache import VersionCaches
from service.figures import read
from service.maps import layout
from service.maps.country import CountryTexts, round_texts
from service.publish.datasets import boundary_info
from styles.classify import INDICATORS, Classification, parse_classes
from styles.queries import classification_for
from tiles.zoom import MAX_BAND, tolerance_m

LEVEL_NAMES = {1: ("governorate", "governorates"), 2: ("district", "districts"), 3: ("sub-district", "sub-districts")}
POPULATION_WORDS = {"idp": "IDPs", "returnee": "Returnees"}


class MapRequestError(AtlasError, ValueError):
    """A map that cannot be made as asked: ``status`` is 400 (bad parameter) or 404 (no such data)."""

    def __init__(self, status: int, message: str):
        super().__init__(message, status=status)
        self.message = message


def map_hooks(who: Principal = ANONYMOUS) -> dict:
    """The kinds' map indicators (``Kind.map_hook``) that exist for ``who`` (the access policy:
    a kind's ``access``); anonymous by default, so packages and shared caches hold only public
    kinds."""
    reg = registry()
    return {name: hook for name, hook in reg.map_hooks().items() if decide(who, kind_resource(reg.kind(name))).allowed}


def map_indicators(who: Principal = ANONYMOUS) -> list[str]:
    """The indicators a map can show: those of ``styles.classify.INDICATORS``, then the
    kinds' own (``Kind.map_hook`` in the layer registry, e.g. ``fragility``) ``who`` may read."""
    keys = list(INDICATORS)
    keys += [name for name in map_hooks(who) if name not in keys]
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
    country: str | None = None  # ISO3 (or P-code prefix); None: the one country with figures
    # the round by its reporting date (a round without a DTM number has only that); with
    # round_number too, both must match
    reporting_date: dt.date | None = None
    # the web map's view (print the exact view): lon/lat west, south, east, north; the map's frame
    # fits it and shows the units it touches (extent stays national)
    bbox: tuple[float, float, float, float] | None = None
    # a scheme of styles.classify.CLASSES (fixed, quantile, jenks, equal); None: the indicator's default
    classes: str | None = None

    def checked(self) -> MapSpec:
        """The spec with its parameters validated (MapRequestError 400) and the extent normalised."""
        if self.population not in POPULATION_WORDS:
            raise MapRequestError(400, f"unknown population {self.population!r}: use idp or returnee")
        if self.level not in (1, 2, 3):
            raise MapRequestError(
                400, f"unknown level {self.level!r}: use 1 (governorates), 2 (districts) or 3 (sub-districts)"
            )
        known = [*INDICATORS, *registry().map_hooks()]  # who may read a kind's: the route's policy
        if self.indicator not in known:
            raise MapRequestError(
                400, f"unknown indicator {self.indicator!r}: use one of {', '.join(map_indicators())}"
            )
        try:
            layout.page(self.paper, self.orientation)
        except layout.LayoutError as exc:
            raise MapRequestError(400, str(exc)) from None
        extent = self.extent
        if extent.lower() != "national":
            try:
                extent = normalize_pcode(extent)
            except ValueError as exc:
                raise MapRequestError(
                    400, f"extent {self.extent!r} is neither 'national' nor a governorate P-code: {exc}"
                ) from None
        else:
            extent = "national"
        country = self.country
        if country is not None:
            try:
                country = normalize_country(country)
            except ValueError:
                raise MapRequestError(
                    400,
                    f"country: {self.country!r} is not a country code; accepted: an ISO "
                    "3166 alpha-3 code (IRQ) or its P-code prefix (IQ)",
                ) from None
        try:
            classes = parse_classes(self.classes)
        except ValueError as exc:
            raise MapRequestError(400, f"classes: {exc}") from None
        bbox = check_view_bbox(self.bbox) if self.bbox is not None else None
        if bbox is not None and extent != "national":
            raise MapRequestError(400, "bbox: give either a view (bbox) or a governorate (extent), not both")
        return MapSpec(
            self.round_number,
            self.population,
            self.level,
            self.indicator,
            extent,
            self.paper.upper(),
            self.orientation,
            country,
            self.reporting_date,
            bbox,
            classes,
        )


#: the smallest view a map prints (degrees of longitude or latitude): about a town's width
MIN_VIEW_DEG = 0.01


def check_view_bbox(bbox) -> tuple[float, float, float, float]:
    """A view's box checked: four finite numbers, west < east within -180..180, south < north
    within -85..85 (Web Mercator's range, what the web map shows), at least ``MIN_VIEW_DEG``
    wide and high (MapRequestError 400 naming ``bbox``)."""
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise MapRequestError(400, "bbox: four numbers west,south,east,north in degrees (lon/lat)") from None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise MapRequestError(400, "bbox: four finite numbers west,south,east,north in degrees (lon/lat)")
    if not (-180 <= w < e <= 180):
        raise MapRequestError(400, f"bbox: west {w:g} and east {e:g} must lie in -180..180 with west < east")
    if not (-85.06 <= s < n <= 85.06):
        raise MapRequestError(400, f"bbox: south {s:g} and north {n:g} must lie in -85..85 with south < north")
    if e - w < MIN_VIEW_DEG or n - s < MIN_VIEW_DEG:
        raise MapRequestError(400, f"bbox: a view at least {MIN_VIEW_DEG} degrees wide and high")
    return (w, s, e, n)


@dataclass(frozen=True)
class Projection:
    """The main map's projection: the WGS 84 UTM zone of the country's extent (its centre's
    zone and hemisphere; Iraq: zone 38N, EPSG:32638)."""

    epsg: int
    zone: int
    north: bool
    lat: float  # the country's central latitude (ground size of the generalisation bands)

    @property
    def name(self) -> str:
        return f"WGS 84 / UTM zone {self.zone}{'N' if self.north else 'S'} (EPSG:{self.epsg})"

    @property
    def description(self) -> str:
        return f"{self.name}, Transverse Mercator, metres"

    def to_map(self, geom):
        return shapely.transform(geom, lambda xy: _stack(_transformer(4326, self.epsg).transform(xy[:, 0], xy[:, 1])))

    def to_lonlat(self, geom):
        return shapely.transform(geom, lambda xy: _stack(_transformer(self.epsg, 4326).transform(xy[:, 0], xy[:, 1])))


def projection_for(lonlat_bounds: tuple[float, float, float, float]) -> Projection:
    """The UTM zone of a lon/lat extent's centre."""
    x0, y0, x1, y1 = (float(v) for v in lonlat_bounds)
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    zone = min(60, max(1, int(math.floor((lon + 180) / 6)) + 1))
    north = lat >= 0
    return Projection((32600 if north else 32700) + zone, zone, north, lat)


@functools.lru_cache(maxsize=32)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True)


def country_extent(conn: Connection, boundary_set_id: int) -> tuple[float, float, float, float]:
    """Lon/lat bounds of a boundary set's top level (the country outline; its first level when the
    set has no admin 0)."""
    row = (
        conn.execute(
            text(
                "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1 FROM ("
                "SELECT ST_Extent(geom) AS e FROM admin_unit WHERE boundary_set_id = :s AND level = "
                "(SELECT min(level) FROM admin_unit WHERE boundary_set_id = :s)) x"
            ),
            {"s": boundary_set_id},
        )
        .mappings()
        .first()
    )
    if row is None or row["x0"] is None:
        raise MapRequestError(404, "the round's boundary set has no units")
    return row["x0"], row["y0"], row["x1"], row["y1"]


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
    context: list[object]  # the country's other units outside the extent (grey), map CRS
    governorates: list[object]  # level-1 outlines within the view, map CRS
    country: object  # the round's country (admin 0, or its level 1 united), map CRS
    neighbours: list[tuple[str, object]]  # map CRS
    inset_neighbours: list[tuple[str, object]]
    view: tuple[float, float, float, float]  # the main map's extent, map CRS
    inset_view: tuple[float, float, float, float]
    place_en: str
    place_ar: str | None
    boundaries: list[dict]
    unassigned: dict | None
    zband: int | None
    projection: Projection
    texts: CountryTexts  # the country's names and boundary source, for every text of the map
    window: tuple[float, float, float, float]  # lon/lat box whose Natural Earth countries may show
    created: dt.date = field(default_factory=dt.date.today)
    # the round's national total (stored level 0): individuals (the file's) and published (DTM's)
    total: dict | None = None
    governorate_names: list[tuple[str | None, str | None]] = field(default_factory=list)  # as ``governorates``
    context_names: list[tuple[str | None, str | None]] = field(default_factory=list)  # as ``context``
    cities: list[dict] = field(default_factory=list)  # name, x, y (map CRS), kind: capital, admin1, city

    @property
    def legend(self) -> dict:
        return self.classification.to_dict()


def _stack(pair):
    import numpy as np

    return np.column_stack(pair)


def map_country(conn: Connection, spec: MapSpec) -> str | None:
    """The country a map of ``spec`` (checked) is of: the one named (MapRequestError 404 when it
    has no boundaries nor figures), else the one country with figures of the population (and
    round number); MapRequestError 400 listing them when several have; None when none has."""
    try:
        if spec.country is not None:
            return check_country(conn, spec.country)
        return figures_country(conn, None, spec.population, spec.round_number, spec.reporting_date)
    except SeveralCountries as exc:
        raise MapRequestError(400, exc.detail) from None
    except NoCountryData as exc:
        raise MapRequestError(404, exc.detail) from None


def resolve_round(conn: Connection, spec: MapSpec) -> dict:
    """The round of a map (``service.core.rounds.resolve_round`` in the map's country: RoundNotFound, 404)."""
    ref = RoundRef(spec.round_number, spec.reporting_date)
    try:
        return rounds.resolve_round(conn, ref, spec.population, map_country(conn, spec))
    except rounds.RoundNotFound as exc:  # a map's errors are MapRequestError (same status, same message)
        raise MapRequestError(404, str(exc)) from None


def _extent_unit(conn: Connection, rnd: dict, spec: MapSpec, texts: CountryTexts) -> dict:
    if spec.extent == "national":
        row = (
            conn.execute(
                text(
                    "SELECT pcode, name_en, name_ar, level FROM admin_unit WHERE boundary_set_id = :s "
                    "AND level = 0 ORDER BY pcode LIMIT 1"
                ),
                {"s": rnd["boundary_set_id"]},
            )
            .mappings()
            .first()
        )
        if row is None:  # a boundary set without the country level: the country's name, its units' union
            return {"pcode": None, "name_en": texts.name_en, "name_ar": texts.name_ar, "level": 0}
    else:
        row = (
            conn.execute(
                text("SELECT pcode, name_en, name_ar, level FROM admin_unit WHERE boundary_set_id = :s AND pcode = :p"),
                {"s": rnd["boundary_set_id"], "p": spec.extent},
            )
            .mappings()
            .first()
        )
        if row is None or row["level"] != 1:
            govs = (
                conn.execute(
                    text("SELECT pcode FROM admin_unit WHERE boundary_set_id = :s AND level = 1 ORDER BY pcode"),
                    {"s": rnd["boundary_set_id"]},
                )
                .scalars()
                .all()
            )
            what = "not a governorate" if row is not None else "unknown"
            raise MapRequestError(
                404 if row is None else 400,
                f"extent {spec.extent}: {what}; use 'national' or a governorate P-code ({', '.join(govs)})",
            )
    return dict(row)


def governorates(conn: Connection, boundary_set_id: int) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            text(
                "SELECT pcode, name_en, name_ar FROM admin_unit WHERE boundary_set_id = :s AND level = 1 ORDER BY pcode"
            ),
            {"s": boundary_set_id},
        ).mappings()
    ]


def zband_for(ground_m_per_px: float, lat: float = 33.0) -> int | None:
    """The coarsest generalised band whose tolerance (Web Mercator metres, on the ground at
    latitude ``lat``) stays under one printed pixel."""
    for z in range(0, MAX_BAND + 1):
        if tolerance_m(z) * math.cos(math.radians(lat)) <= ground_m_per_px:
            return z
    return None


def _geoms(
    conn: Connection,
    proj: Projection,
    set_id: int,
    level: int,
    zband: int | None,
    where: str = "",
    params: dict | None = None,
):
    key = ("geoms", proj.epsg, set_id, level, zband, where, tuple(sorted((params or {}).items())))
    return _cached(conn, key, lambda: _read_geoms(conn, proj, set_id, level, zband, where, params))


#: what every map of a round reuses (its boundaries in the map's CRS, the neighbouring countries
#: clipped and snapped to the country), per process and database, at the data version of the
#: reading snapshot (an import bumps it, so nothing stale is drawn): the one version-keyed cache
_SHARED = VersionCaches(max_entries=128)


def _cached(conn: Connection, key, compute):
    return _SHARED.get(conn, key, compute)


def _read_geoms(conn, proj, set_id, level, zband, where, params):
    if zband is None:
        src = (
            "SELECT u.pcode, u.parent_pcode, u.name_en, u.name_ar, u.area_km2, ST_AsBinary(u.geom) AS wkb "
            "FROM admin_unit u"
        )
        cond = "u.boundary_set_id = :s AND u.level = :l"
    else:
        src = (
            "SELECT u.pcode, u.parent_pcode, u.name_en, u.name_ar, u.area_km2, ST_AsBinary(g.geom) AS wkb "
            "FROM admin_unit u JOIN admin_unit_generalised g ON g.boundary_set_id = u.boundary_set_id "
            "AND g.level = u.level AND g.pcode = u.pcode AND g.zband = :z"
        )
        cond = "u.boundary_set_id = :s AND u.level = :l"
    rows = (
        conn.execute(
            text(f"{src} WHERE {cond} {where} ORDER BY u.pcode"),
            {"s": set_id, "l": level, "z": zband, **(params or {})},
        )
        .mappings()
        .all()
    )
    out = []
    for r in rows:
        g = proj.to_map(shapely.from_wkb(bytes(r["wkb"])))
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


def _inset_of(view, page) -> tuple[float, float, float, float]:
    """The inset's frame of a national map: its frame with 0.6 of its larger side around it."""
    bounds = shapely.box(*view).buffer(max(view[2] - view[0], view[3] - view[1]) * 0.6).bounds
    return _fit(bounds, page.inset.w / page.inset.h, pad=0.06)


def _national_inset(country_bounds, page) -> tuple[float, float, float, float]:
    """The inset's frame of the country's national map on ``page`` (map CRS)."""
    return _inset_of(_fit(country_bounds, page.main.w / page.main.h), page)


def _clip(geom, clip, ground: float):
    return shapely.simplify(shapely.intersection(geom, clip), ground / 2)


def _lonlat_box(proj: Projection, view) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = view
    ring = shapely.box(x0, y0, x1, y1).segmentize((x1 - x0) / 20)
    return proj.to_lonlat(ring).bounds


def load_map(
    conn: Connection,
    spec: MapSpec,
    *,
    created: dt.date | None = None,
    shared_dir: Path = DEFAULT_SHARED_DIR,
    who: Principal = ANONYMOUS,
) -> MapData:
    """Everything a map shows (one snapshot of the database: call in a REPEATABLE READ
    transaction for strict consistency; the package does); a kind's indicator only when it
    exists for ``who`` (anonymous by default: a public output). ``shared_dir``: the setting
    ``shared_data_dir`` (its Natural Earth places name the cities)."""
    from service.maps import basemap

    spec = spec.checked()
    rnd = resolve_round(conn, spec)
    set_id = rnd["boundary_set_id"]
    page = layout.page(spec.paper, spec.orientation)
    texts = round_texts(conn, rnd)
    ext = _extent_unit(conn, rnd, spec, texts)
    country_box = country_extent(conn, set_id)
    proj = projection_for(country_box)

    hook = map_hooks(who).get(spec.indicator)
    if hook is not None:  # a kind's indicator (e.g. fragility): its classes and values
        cls, values = hook.map_values(conn, round_id=rnd["id"], level=spec.level, population=rnd["population"])
    else:
        cls, values = classification_for(
            conn,
            round_id=rnd["id"],
            level=spec.level,
            indicator=spec.indicator,
            population=rnd["population"],
            classes=spec.classes,
        )

    # the extent's outline (full resolution is fine for its bounds) decides the generalisation band
    if ext["pcode"] is None:  # no country level: its top level's units united
        outline = conn.execute(
            text(
                "SELECT ST_AsBinary(ST_Union(geom)) FROM admin_unit WHERE boundary_set_id = :s AND level = "
                "(SELECT min(level) FROM admin_unit WHERE boundary_set_id = :s)"
            ),
            {"s": set_id},
        ).scalar_one()
    else:
        outline = conn.execute(
            text("SELECT ST_AsBinary(geom) FROM admin_unit WHERE boundary_set_id = :s AND pcode = :p"),
            {"s": set_id, "p": ext["pcode"]},
        ).scalar_one()
    outline = proj.to_map(shapely.from_wkb(bytes(outline)))
    aspect = page.main.w / page.main.h
    if spec.bbox is not None:  # the web map's view: the frame fits it (projected, its edges densified)
        w, s, e, n = spec.bbox
        box = proj.to_map(shapely.box(w, s, e, n).segmentize(min(e - w, n - s) / 20))
        if not box.intersects(outline):
            raise MapRequestError(400, f"bbox: the view {w:g},{s:g},{e:g},{n:g} does not show {texts.name_en}")
        view = _fit(box.bounds, aspect, pad=0.0)
    else:
        view = _fit(outline.bounds, aspect)
    ground = (view[2] - view[0]) / (page.main.w / layout.MM_PER_INCH * layout.DPI)
    zband = zband_for(ground, proj.lat)

    country = _geoms(conn, proj, set_id, 0, zband) or _geoms(conn, proj, set_id, 1, zband)
    country_geom = shapely.union_all([c["geom"] for c in country]) if country else outline
    if spec.bbox is not None:  # the units the view shows, nothing beyond it
        vbox = shapely.box(*view)
        mapped = [g for g in _geoms(conn, proj, set_id, spec.level, zband) if g["geom"].intersects(vbox)]
        context, context_names = [], []
    elif spec.extent == "national":
        mapped = _geoms(conn, proj, set_id, spec.level, zband)
        context, context_names = [], []
    else:
        if spec.level == 1:
            where, params = "AND u.pcode = :g", {"g": ext["pcode"]}
        elif spec.level == 2:
            where, params = "AND u.parent_pcode = :g", {"g": ext["pcode"]}
        else:
            where, params = (
                (
                    "AND u.parent_pcode IN (SELECT pcode FROM admin_unit WHERE boundary_set_id = :s "
                    "AND level = 2 AND parent_pcode = :g)"
                ),
                {"g": ext["pcode"]},
            )
        mapped = _geoms(conn, proj, set_id, spec.level, zband, where, params)
        vbox = shapely.box(*view)
        others = [
            g
            for g in _geoms(conn, proj, set_id, 1, zband, "AND u.pcode <> :g", {"g": ext["pcode"]})
            if g["geom"].intersects(vbox)
        ]
        context = [g["geom"] for g in others]
        context_names = [(g["name_en"] or g["pcode"], g["name_ar"]) for g in others]
    # context outside the frame is never drawn: clipped to the frame (a little wider, so no
    # outline ends at its edge), simplified to a printed pixel
    vbox = shapely.box(*view)
    clip = vbox.buffer(ground * 20, join_style="mitre")
    context = [_clip(g, clip, ground) for g in context]
    gov_rows = [g for g in _geoms(conn, proj, set_id, 1, zband) if g["geom"].intersects(vbox)]
    govs = [_clip(g["geom"], clip, ground) for g in gov_rows]
    gov_names = [(g["name_en"] or g["pcode"], g["name_ar"]) for g in gov_rows]
    place_en, place_ar = ext["name_en"] or ext["pcode"], ext["name_ar"]
    if spec.bbox is not None:  # a view: named by the governorates it shows most of (at most three)
        most = sorted(gov_rows, key=lambda g: -g["geom"].intersection(vbox).area)[:3]
        place_en = f"{place_en}, view of " + ", ".join(g["name_en"] or g["pcode"] for g in most)
        if place_ar and all(g["name_ar"] for g in most):
            place_ar = f"{place_ar}، " + "، ".join(g["name_ar"] for g in most)

    units = [
        Unit(
            u["pcode"],
            u["name_en"],
            u["name_ar"],
            values.get(u["pcode"]),
            cls.color_of(values.get(u["pcode"])),
            u["geom"],
            float(u["area_km2"] or 0),
        )
        for u in mapped
    ]

    # the neighbouring countries: Natural Earth in a window around the country (the lon/lat box of
    # its national map's inset, which holds every map's frame and inset), without the country itself
    pad = 1.0
    wx0, wy0, wx1, wy1 = _lonlat_box(proj, _national_inset(country_geom.bounds, page))
    region = basemap.window((wx0 - pad, wy0 - pad, wx1 + pad, wy1 + pad))
    exclude = basemap.natural_earth_id(rnd["country"])
    lon0, lat0, lon1, lat1 = _lonlat_box(proj, view)

    def neighbours_near():
        near = [
            (n, _clip(proj.to_map(g), clip, ground))
            for n, g in basemap.neighbours((lon0 - pad, lat0 - pad, lon1 + pad, lat1 + pad), exclude, region)
        ]
        # Natural Earth's borders are not COD-AB's: each neighbour grown up to the country's outline
        # and cut by it, so no false strip of water runs between them
        near = [(n, snap_to_outline(g, country_geom, SNAP_M)) for n, g in near if not g.is_empty]
        return [(n, g) for n, g in near if not g.is_empty]

    shared = (proj.epsg, set_id, zband, region, exclude)
    near = _cached(conn, ("neighbours", *shared, view, ground), neighbours_near)
    cities = []
    for c in basemap.places(rnd["country"], shared_dir=shared_dir):
        pt = proj.to_map(shapely.Point(c["lon"], c["lat"]))
        if vbox.contains(pt) and country_geom.contains(pt):
            cities.append({"name": c["name"], "x": pt.x, "y": pt.y, "kind": c["kind"]})
    if spec.extent == "national" and spec.bbox is None:
        inset_view = _inset_of(view, page)
    else:
        inset_view = _fit(country_geom.bounds, page.inset.w / page.inset.h, pad=0.06)
    ilon0, ilat0, ilon1, ilat1 = _lonlat_box(proj, inset_view)
    inset_near = _cached(
        conn,
        ("inset", *shared, inset_view),
        lambda: [
            (n, proj.to_map(g).simplify((inset_view[2] - inset_view[0]) / 800))
            for n, g in basemap.neighbours((ilon0 - pad, ilat0 - pad, ilon1 + pad, ilat1 + pad), exclude, region)
        ],
    )

    return MapData(
        spec=spec,
        round=rnd,
        data_version=data_version(conn),
        classification=cls,
        units=units,
        context=context,
        governorates=govs,
        country=country_geom,
        neighbours=near,
        inset_neighbours=inset_near,
        view=view,
        inset_view=inset_view,
        place_en=place_en,
        place_ar=place_ar,
        boundaries=boundary_info(conn, set_id),
        unassigned=read.bucket(conn, rnd["id"], spec.level),
        zband=zband,
        projection=proj,
        texts=texts,
        window=region,
        created=created or dt.date.today(),
        total=national_total(conn, rnd["id"]),
        governorate_names=gov_names,
        context_names=context_names,
        cities=cities,
    )


#: how far (metres) a neighbour is grown to meet the country's outline
SNAP_M = 6000.0


def snap_to_outline(neighbour, country, distance: float):
    """``neighbour`` (Natural Earth) grown by up to ``distance`` towards the country (only within
    ``distance`` of it: coasts elsewhere stay) and cut by the country's outline: the two share
    the COD-AB border, with neither a gap (a false river) nor an overlap."""
    zone = shapely.buffer(country, distance, quad_segs=2)
    grown = shapely.intersection(shapely.buffer(neighbour, distance, quad_segs=2), zone)
    return _polygons_only(shapely.difference(shapely.union(neighbour, grown), country))


def _polygons_only(g):
    if g.geom_type == "GeometryCollection":
        parts = [p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(parts) if parts else shapely.Polygon()
    return g


def national_total(conn: Connection, round_id: int) -> dict | None:
    """The round's stored national total: ``individuals`` (the master list file's), ``published``
    (DTM's published count), ``families``, ``locations``; None when not stored."""
    row = (
        conn.execute(
            text(
                "SELECT individuals, published_individuals AS published, families, locations FROM unit_figure "
                "WHERE round_id = :r AND level = 0 ORDER BY pcode LIMIT 1"
            ),
            {"r": round_id},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
