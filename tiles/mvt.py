"""Mapbox Vector Tiles built in PostGIS: one SQL statement per tile, every layer in it.

* Polygons come from ``admin_unit_generalised.geom_3857`` at ``zband = band_for_zoom(z)``:
  generalised once at import, as a coverage, already in Web Mercator, so a tile request never
  simplifies nor reprojects them. At z0-z12 they are also cut into tiles at import
  (``admin_unit_tile``, tiles.pretile): a request reads its rows by key and only joins the
  figures and encodes. Above the last band (z > 12) the full-resolution ``admin_unit.geom``
  is clipped per request (transformed; only the few units a tile touches, found through the
  4326 GiST index).
* Points (locations of a round, sites) are stored in EPSG:4326 and transformed on the fly.
* The figures of the round are joined per unit; the ``class`` of a unit's value is computed
  in the same statement from the breaks of the shared classification (``styles.classify``),
  passed in as parameters, so the tile's class is exactly ``Classification.class_of(value)``
  (the same as the choropleth GeoJSON's). The classification is computed once per (round,
  level, indicator, data version) from ``unit_figure`` (the 'UNASSIGNED' bucket excluded).
* A composite tile is the concatenation of its layers' MVT blobs (MVT layers concatenate
  as protobuf messages), all computed by the one statement, in one snapshot.

``render_tile`` is used by the HTTP API and by the offline export, so both hold the same
features.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import morecantile
from sqlalchemy import Connection, text

from service.core.countries import check_country, figures_country, geometry_country
from service.core.errors import BadRequest
from service.core.registry import registry
from service.core.rounds import RoundRef, find_round, resolve_round
from service.core.versioncache import MISSING, VersionCache
from tiles import pretile
from tiles.layers import MAX_REQUEST_ZOOM, Binding, Layer
from tiles.zoom import band_for_zoom

TMS = morecantile.tms.get("WebMercatorQuad")


class TileError(BadRequest):
    """Bad tile coordinates (HTTP 400)."""


@lru_cache(maxsize=None)
def _matrix_size(z: int) -> tuple[int, int]:
    """Tiles across and down at zoom ``z`` (morecantile's matrix, read once per zoom: the
    pydantic model is slow to read on every request)."""
    matrix = TMS.matrix(z)
    return matrix.matrixWidth, matrix.matrixHeight


def check_tile(z: int, x: int, y: int) -> None:
    if z < 0 or x < 0 or y < 0:
        raise TileError(f"tile {z}/{x}/{y}: z, x and y must not be negative")
    if z > MAX_REQUEST_ZOOM:
        raise TileError(f"tile {z}/{x}/{y}: zoom above {MAX_REQUEST_ZOOM} is not served")
    width, height = _matrix_size(z)
    if x >= width or y >= height:
        n = 2**z - 1
        raise TileError(f"tile {z}/{x}/{y} does not exist: at zoom {z}, x and y go from 0 to {n}")


@dataclass(frozen=True)
class TileQuery:
    """What a tile request asks for besides z/x/y (the query string)."""

    population: str = "idp"
    round_number: int | None = None  # DTM's round number; None = the latest by reporting date
    indicator: str = "individuals"
    reporting_date: dt.date | None = None  # the round of this date (a round without a DTM number)
    country: str | None = None  # ISO3; None: the one country with figures (or boundaries), see tile_country
    classes: str | None = None  # styles.classify.CLASSES; None: the indicator's default over the round
    extra: tuple[tuple[str, str], ...] = ()  # the kinds' layers' own parameters (tiles.layers.layer_params)

    def key(self) -> str:
        number = "" if self.round_number is None else self.round_number
        return (
            f"{self.population}:{number}:{self.indicator}"
            + (f":{self.reporting_date}" if self.reporting_date else "")
            + (f":{self.country}" if self.country else "")
            + (f":classes={self.classes}" if self.classes else "")
            + "".join(f":{k}={v}" for k, v in self.extra)
        )

    def names_a_round(self) -> bool:
        return self.round_number is not None or self.reporting_date is not None

    def round_label(self) -> str:
        if self.reporting_date is not None:
            return f"round of {self.reporting_date.isoformat()}"
        return f"round number {self.round_number}"


# ----------------------------------------------------------------------------------- context
@dataclass
class Context:
    """Everything a tile of ``query`` needs, resolved in one snapshot at ``version``."""

    version: int
    query: TileQuery
    set_ids: list[int]
    round: dict | None
    legends: dict[int, object] = field(default_factory=dict)  # admin level -> Classification
    country: str | None = None  # the country the tiles hold (None: nothing loaded)
    bindings: dict[str, Binding] = field(default_factory=dict)  # layer id -> its own parameters' binding


def _uses_round(layers: Sequence[Layer]) -> bool:
    return any(layer.uses_round for layer in layers)


def tile_country(conn: Connection, query: TileQuery, uses_round: bool) -> str | None:
    """The country a tile request means (service.core.countries): ``?country=`` (404 when it
    has no data); else, for layers of a round, the one country with figures of the population
    (of the round named); else (no round named and no figures, or geometry-only layers) the one
    country with current boundaries. Several: SeveralCountries (400)."""
    if query.country is not None:
        return check_country(conn, query.country)
    if uses_round:
        country = figures_country(conn, None, query.population, query.round_number, query.reporting_date)
        if country is not None or query.names_a_round():
            return country  # None: no country has the round named (RoundNotFound follows)
    return geometry_country(conn, None)


def _country_free(layers: Sequence[Layer]) -> bool:
    return bool(layers) and all(layer.country_free for layer in layers)


def _hint(bindings: dict[str, Binding]) -> str | None:
    """The country the kinds' layers' bindings name (a crisis's), if any."""
    return next((b.country for b in bindings.values() if b.country), None)


def _country_key(query: TileQuery, uses_round: bool, free: bool = False, hint: str | None = None) -> tuple:
    if query.country is None and free:
        return ("country-free",)
    if query.country is None and hint is not None:
        return ("country-of", hint)
    if not uses_round:
        return ("country", query.country)
    return ("country", query.country, query.population, query.round_number, query.reporting_date)


def _indicator(name: str):
    from styles.classify import get_indicator

    return get_indicator(name)


def classification_for(
    conn: Connection, round_id: int, level: int, indicator: str, population: str, classes: str | None = None
):
    """The shared classification of one level's values in a round (styles.queries)."""
    from styles.queries import classification_for as shared

    return shared(conn, round_id=round_id, level=level, indicator=indicator, population=population, classes=classes)[0]


class Resolver:
    """Per data version caches of the boundary sets, rounds and classifications: the base
    layer's ``VersionCache`` (a newer version drops them; an older one is computed, not kept)."""

    def __init__(self, settings: Any = None) -> None:
        self._cache = VersionCache()
        self.settings = settings  # the application's, for the layers that bind with them (Layer.bind_settings)

    def cached(self, version: int, key: tuple, compute):
        """``compute()`` once per data version and ``key`` (thread-safe; an older version is
        computed but not kept; computed outside the lock: peek() runs on the event loop)."""
        return self._cache.get(version, key, compute)

    def peek(self, version: int, query: TileQuery, layers: Sequence[Layer]) -> Context | None:
        """The context from the cache alone (no query), or None when a part is missing (each
        part is of ``version``: one of another version is missing)."""
        uses_round = _uses_round(layers)
        bindings = {}
        for layer in layers:
            if layer.bind is not None:
                bound = self._cache.peek(version, ("bind", layer.id, query.extra))
                if bound is MISSING:
                    return None
                bindings[layer.id] = bound
        country = self._cache.peek(version, _country_key(query, uses_round, _country_free(layers), _hint(bindings)))
        if country is MISSING:
            return None
        set_ids = self._cache.peek(version, ("sets", country))
        if set_ids is MISSING:
            return None
        rnd = None
        if uses_round:
            rnd = self._cache.peek(
                version, ("round", country, query.population, query.round_number, query.reporting_date)
            )
            if rnd is MISSING:
                return None
            if rnd is None and query.names_a_round():
                return None  # let context() raise RoundNotFound
        ctx = Context(version, query, set_ids, rnd, country=country, bindings=bindings)
        if rnd is not None:
            for layer in layers:
                if layer.kind == "admin":
                    legend = self._cache.peek(
                        version, ("legend", rnd["id"], layer.level, query.indicator, query.classes)
                    )
                    if legend is MISSING or legend is None:
                        return None
                    ctx.legends[layer.level] = legend
        return ctx

    def context(self, conn: Connection, version: int, query: TileQuery, layers: Sequence[Layer]) -> Context:
        """The context read through ``conn``, whose snapshot must be at ``version``.
        SeveralCountries (400) / NoCountryData (404) when the country is ambiguous / has no data."""
        uses_round = _uses_round(layers)
        bindings = {
            layer.id: self.cached(
                version, ("bind", layer.id, query.extra), lambda layer=layer: _bind(conn, layer, query, self.settings)
            )
            for layer in layers
            if layer.bind is not None
        }
        free, hint = _country_free(layers), _hint(bindings)
        country = self.cached(
            version,
            _country_key(query, uses_round, free, hint),
            lambda: hint if query.country is None and (free or hint) else tile_country(conn, query, uses_round),
        )
        set_ids = self.cached(
            version,
            ("sets", country),
            lambda: list(
                conn.execute(
                    text(
                        "SELECT id FROM boundary_set WHERE is_current "
                        "AND (CAST(:c AS text) IS NULL OR country = :c) ORDER BY id"
                    ),
                    {"c": country},
                ).scalars()
            ),
        )
        rnd = None
        if uses_round:
            rnd = self.cached(
                version,
                ("round", country, query.population, query.round_number, query.reporting_date),
                lambda: find_round(
                    conn,
                    round_number=query.round_number,
                    population=query.population,
                    reporting_date=query.reporting_date,
                    country=country,
                ),
            )
            if rnd is None and query.names_a_round():  # the one 404 of a round (service.core.rounds)
                ref = RoundRef(query.round_number, query.reporting_date)
                resolve_round(conn, ref, query.population, country)  # raises RoundNotFound
        ctx = Context(version, query, set_ids, rnd, country=country, bindings=bindings)
        if rnd is not None:
            for layer in layers:
                if layer.kind == "admin":
                    ctx.legends[layer.level] = self.legend(
                        conn, version, rnd, layer.level, query.indicator, query.classes
                    )
        return ctx

    def legend(self, conn: Connection, version: int, rnd: dict, level: int, indicator: str, classes: str | None = None):
        """The shared classification of a level's values in the round (cached per version)."""
        return self.cached(
            version,
            ("legend", rnd["id"], level, indicator, classes),
            lambda: classification_for(conn, rnd["id"], level, indicator, rnd["population"], classes),
        )


def _bind(conn: Connection, layer: Layer, query: TileQuery, settings: Any = None) -> Binding:
    """The layer's own parameters of ``query`` bound (``Layer.bind``), only those it names."""
    values = {k: v for k, v in query.extra if k in layer.params}
    return layer.bind(conn, values, settings) if layer.bind_settings else layer.bind(conn, values)


# ------------------------------------------------------------------------------------- SQL
def _class_params(legend) -> dict:
    """Parameters of the SQL class expression, reproducing ``Classification.class_of``.

    ``class_of`` is ``min(bisect_left(breaks, v), k - 1)`` (diverging: the same on |v| with
    ``abs_breaks``, mirrored around the middle class). ``bisect_left(b, v)`` is the number
    of breaks < v, i.e. ``len(b) - width_bucket(-v, reversed(-b))`` in SQL.
    """
    if legend is None or legend.k == 0:
        return {"nr": [], "m": 0, "k": 0, "h": 0, "div": False}
    bounds = list(legend.abs_breaks) if legend.diverging else list(legend.breaks)
    return {
        "nr": [-float(b) for b in reversed(bounds)],
        "m": len(bounds),
        "k": int(legend.k),
        "h": (int(legend.k) - 1) // 2,
        "div": bool(legend.diverging),
    }


def _class_expr(p: str) -> str:
    v = "CAST(f.value AS float8)"
    below = f"(CAST(:{p}m AS int) - width_bucket(-abs({v}), CAST(:{p}nr AS float8[])))"
    return f"""CASE WHEN f.value IS NULL OR CAST(:{p}k AS int) = 0 OR {v} = 'NaN'::float8 THEN NULL
              WHEN CAST(:{p}div AS boolean) THEN
                CASE WHEN {v} >= 0 THEN CAST(:{p}h AS int) + LEAST({below}, CAST(:{p}h AS int))
                     ELSE CAST(:{p}h AS int) - LEAST({below}, CAST(:{p}h AS int)) END
              ELSE LEAST(CAST(:{p}m AS int) - width_bucket(-{v}, CAST(:{p}nr AS float8[])), CAST(:{p}k AS int) - 1)
         END"""


def _envelope(margin: float = 0.0) -> str:
    if margin:
        return f"ST_TileEnvelope(:z, :x, :y, margin => {margin!r})"
    return "ST_TileEnvelope(:z, :x, :y)"


def admin_geometry(layer: Layer, source: str, extent: int, buffer: int, sets: str = ":sets") -> tuple[str, str, str]:
    """The FROM list, WHERE condition and geometry expression of a level's units in a tile,
    from one of the three sources: ``"pretiled"`` (``admin_unit_tile``: rows by key, cut at
    import, tiles.pretile), ``"generalised"`` (the zoom band's coverage, clipped per request)
    or ``"full"`` (full resolution, above z12). The unit's row is ``u`` in each. ``sets``: the
    SQL of the boundary set ids (an int[]; default the tile's current sets)."""
    margin = buffer / extent
    unit = "JOIN admin_unit u ON u.boundary_set_id = g.boundary_set_id AND u.pcode = g.pcode"
    if source == "pretiled":
        tables = f"admin_unit_tile g {unit}"
        where = f"g.boundary_set_id = ANY({sets}) AND g.level = {layer.level} AND g.z = :z AND g.x = :x AND g.y = :y"
        geom = "g.geom"  # clipped, snapped and made valid at import
    elif source == "full":
        tables = "admin_unit u"
        where = (
            f"u.boundary_set_id = ANY({sets}) AND u.level = {layer.level}"
            f" AND u.geom && ST_Transform({_envelope(margin)}, 4326)"
        )
        geom = f"ST_AsMVTGeom(ST_Transform(u.geom, 3857), {_envelope()}, {extent}, {buffer}, true)"
    else:
        tables = f"admin_unit_generalised g {unit}"
        where = (
            f"g.boundary_set_id = ANY({sets}) AND g.level = {layer.level} AND g.zband = :zband"
            f" AND g.geom_3857 && {_envelope(margin)}"
        )
        geom = f"ST_AsMVTGeom(g.geom_3857, {_envelope()}, {extent}, {buffer}, true)"
    return tables, where, geom


#: unit_figure columns that are shares (fractions): rounded to 4 decimals in tiles' properties
SHARE_COLUMNS = frozenset({"share_national", "change_share", "change_12m_share"})


def _admin_sql(layer: Layer, p: str, source: str, value_column: str, extent: int, buffer: int) -> str:
    """An admin layer with the round's figures and classes joined. ``source``: ``"pretiled"``
    (``admin_unit_tile``: rows by key, cut at import, tiles.pretile), ``"generalised"`` (the
    zoom band's coverage, clipped per request) or ``"full"`` (full resolution, above z12).
    The first two give the same bytes: the pretiled rows are what the clipping makes."""
    tables, where, geom = admin_geometry(layer, source, extent, buffer)
    # a share is a fraction rounded to 4 decimals in data (docs/exports.md); classed on the stored value
    shown = "CAST(round(CAST(f.value AS numeric), 4) AS float8)" if value_column in SHARE_COLUMNS else "f.value"
    return f"""(WITH figures AS (
          SELECT pcode, families, individuals, {value_column} AS value FROM unit_figure
          WHERE round_id = CAST(:{p}round AS int) AND level = {layer.level})
        SELECT coalesce(ST_AsMVT(t, '{layer.id}', {extent}, 'geom'), ''::bytea) FROM (
          SELECT * FROM (
            SELECT u.pcode, u.name_en, u.name_ar, CAST(u.level AS int) AS level,
                   {shown} AS value, {_class_expr(p)} AS class, f.families, f.individuals, {geom} AS geom
            FROM {tables} LEFT JOIN figures f ON f.pcode = u.pcode
            WHERE {where}) c
          WHERE c.geom IS NOT NULL  -- the feature limit counts features, not empty candidates
          ORDER BY c.pcode LIMIT {layer.feature_limit}) t)"""


def _locations_sql(layer: Layer, p: str, extent: int, buffer: int) -> str:
    extra = "".join(  # the kinds' location columns (service.core.registry), e.g. the fragility class
        f"{c.sql(f'CAST(:{p}round AS int)', 'lf.adm3')} AS {c.name}, " for c in registry().location_columns()
    )
    margin = buffer / extent
    return f"""(SELECT coalesce(ST_AsMVT(t, '{layer.id}', {extent}, 'geom', 'fid'), ''::bytea) FROM (
          SELECT lf.id AS fid, lf.location_id, lf.name_en, lf.name_ar, lf.families, lf.individuals,
                 lf.adm1, lf.adm2, lf.adm3, {extra}
                 ST_AsMVTGeom(ST_Transform(lf.geom, 3857), {_envelope()}, {extent}, {buffer}, true) AS geom
          FROM location_figure lf
          WHERE lf.round_id = CAST(:{p}round AS int) AND lf.geom && ST_Transform({_envelope(margin)}, 4326)
          ORDER BY lf.individuals DESC NULLS LAST, lf.id LIMIT {layer.feature_limit}) t
        WHERE t.geom IS NOT NULL)"""


def _sites_sql(layer: Layer, p: str, extent: int, buffer: int) -> str:
    margin = buffer / extent
    return f"""(SELECT coalesce(ST_AsMVT(t, '{layer.id}', {extent}, 'geom'), ''::bytea) FROM (
          SELECT s.site_id, s.name_en, s.name_ar, s.site_type, s.status, s.households, s.individuals,
                 s.adm1, s.adm2, s.adm3,
                 ST_AsMVTGeom(ST_Transform(s.geom, 3857), {_envelope()}, {extent}, {buffer}, true) AS geom
          FROM site s
          WHERE s.geom && ST_Transform({_envelope(margin)}, 4326)
            AND (CAST(:{p}country AS text) IS NULL OR s.country = :{p}country)
          ORDER BY s.individuals DESC NULLS LAST, s.site_id LIMIT {layer.feature_limit}) t
        WHERE t.geom IS NOT NULL)"""


@dataclass(frozen=True, eq=False)
class Statement:
    clause: object  # SQLAlchemy text(), for Connection.execute
    sql: str  # the same for a plain psycopg connection (%(name)s placeholders)
    # a generic plan suits it (no planning per tile): it reads no round's rows. Over
    # location_figure a generic plan locks every round's partition before pruning.
    generic_plan: bool = True


@lru_cache(maxsize=1024)
def _statement(layers: tuple[Layer, ...], *args) -> Statement:
    from sqlalchemy.dialects.postgresql.psycopg import dialect

    clause = _clause(layers, *args)
    return Statement(
        clause,
        str(clause.compile(dialect=dialect())),
        generic_plan=not any(layer.kind == "locations" for layer in layers),
    )


def _clause(
    layers: tuple[Layer, ...],
    admin_source: str,
    value_columns: tuple[str, ...],
    grids: tuple[tuple[int, int], ...],
    with_version: bool = False,
):
    parts = []
    for i, (layer, column, (extent, buffer)) in enumerate(zip(layers, value_columns, grids)):
        p = f"l{i}_"
        if layer.kind == "admin":
            parts.append(_admin_sql(layer, p, admin_source, column, extent, buffer))
        elif layer.sql is not None:  # a kind's layer (service.core.registry)
            parts.append(layer.sql(layer, p, admin_source, extent, buffer))
        elif layer.kind == "locations":
            parts.append(_locations_sql(layer, p, extent, buffer))
        else:
            parts.append(_sites_sql(layer, p, extent, buffer))
    tile = "\n || ".join(parts)
    if with_version:  # the version of the statement's own snapshot, next to the tile
        return text(f"SELECT (SELECT version FROM data_version) AS version, {tile} AS tile")
    return text(f"SELECT {tile}")


def tile_statement(layers: Sequence[Layer], z: int, ctx: Context, with_version: bool = False, pretiled: bool = True):
    """The Statement and its parameters (without x, y) for a tile of ``layers`` at zoom ``z``;
    (None, params) when no layer has features at that zoom. Admin layers come from
    ``admin_unit_tile`` where it covers the zoom and grid (``pretiled=False``: always cut
    per request, as above z12)."""
    zband = band_for_zoom(z)
    column = _indicator(ctx.query.indicator).field
    active = [layer for layer in layers if layer.covers(z)]
    params: dict = {"z": z, "sets": ctx.set_ids, "zband": zband}
    round_id = ctx.round["id"] if ctx.round else None
    columns = []
    for i, layer in enumerate(active):
        p = f"l{i}_"
        columns.append(column if layer.kind == "admin" else "")
        if layer.uses_round:
            params[p + "round"] = round_id
        if layer.kind == "sites":
            params[p + "country"] = ctx.country
        if layer.kind == "admin":
            for k, v in _class_params(ctx.legends.get(layer.level)).items():
                params[p + k] = v
        if layer.bind is not None:
            for k, v in ctx.bindings[layer.id].params.items():
                params[p + k] = v
    if not active:
        return None, params
    grids = tuple((layer.extent_for(z), layer.buffer_for(z)) for layer in active)
    if pretiled and all(pretile.covers(z, *grid) for layer, grid in zip(active, grids) if layer.geometry == "polygon"):
        admin_source = "pretiled"
    else:
        admin_source = "full" if zband is None else "generalised"
    return _statement(tuple(active), admin_source, tuple(columns), grids, with_version), params


def render_tile(
    conn: Connection, layers: Sequence[Layer], z: int, x: int, y: int, ctx: Context, pretiled: bool = True
) -> bytes:
    """The MVT bytes of one tile (``b""`` when it holds no feature)."""
    check_tile(z, x, y)
    stmt, params = tile_statement(layers, z, ctx, pretiled=pretiled)
    if stmt is None:
        return b""
    params.update(x=x, y=y)
    data = conn.execute(stmt.clause, params).scalar_one()
    return bytes(data) if data else b""


# -------------------------------------------------------------------------------- metadata
def set_bounds(conn: Connection, set_ids: Sequence[int]) -> list[float] | None:
    """[west, south, east, north] of the boundary sets (lon/lat)."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) AS e FROM admin_unit WHERE boundary_set_id = ANY(:s)) q"
        ),
        {"s": list(set_ids)},
    ).first()
    if row is None or row[0] is None:
        return None
    return [round(float(v), 6) for v in row]


def tiles_in(bounds: Sequence[float], z: int):
    """The tiles at zoom ``z`` covering ``bounds`` (morecantile)."""
    w, s, e, n = bounds
    return TMS.tiles(w, s, e, n, [z])
