"""Flow lines as tile layers of the layer registry (``/tiles/{layers}``, TileJSON, composites;
``service.flows.kind``):

* ``flows`` -- Flow Monitoring legs: origin -> point and point -> destination, summed per point
  and place over ``?from=&to=`` (days or months; default: the last month with counts), and
  ``?fmp=`` one point; ``flow-routes`` -- origin -> point -> destination, one line each.
  ``n`` and ``width`` (px, linear in ``n``: 1 for none to 12 for the period's largest line,
  the GeoJSON's ``width``). Not of one country: they need no ``?country=``.
* ``origin-flows-governorates`` / ``origin-flows-districts`` -- the master lists' origin
  governorate -> governorate (lines that leave it) / district of displacement of the round
  (``?round=&population=&country=`` as the admin layers), ``families`` and ``width``."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, text

from service.core.errors import ParamError
from service.flows import read
from tiles.layers import Binding, Layer

FLOW_FIELDS = {
    "fmp_id": "String",
    "leg": "String",  # in (origin -> point), out (point -> destination), route (origin -> point -> destination)
    "from": "String",
    "to": "String",
    "n": "Number",
    "width": "Number",
}
ORIGIN_FIELDS = {
    "origin_adm1": "String",
    "origin_name": "String",
    "dest": "String",
    "dest_name": "String",
    "dest_adm1": "String",
    "families": "Number",
    "leaves": "Boolean",
    "width": "Number",
}
PARAMS = {
    "from": "First day (YYYY-MM-DD) or month (YYYY-MM) (default: the last month with counts)",
    "to": "Last day (YYYY-MM-DD) or month (YYYY-MM: to its last day)",
    "fmp": "One flow monitoring point's id",
}
_W = read.MAX_WIDTH - 1


def _mvt(name: str, extent: int, buffer: int, rows_sql: str, columns: str, n: str) -> str:
    """The MVT expression of line rows ``rows_sql`` (lon/lat ``geom``, ``top``) in the tile."""
    margin = buffer / extent
    return f"""(WITH q AS ({rows_sql}),
        mvt AS (
          SELECT {columns},
                 round((1 + {_W} * q.{n}::float8 / nullif(q.top, 0))::numeric, 2)::float8 AS width,
                 ST_AsMVTGeom(ST_Transform(q.geom, 3857), ST_TileEnvelope(:z, :x, :y), {extent}, {buffer}, true) AS geom
          FROM q
          WHERE q.geom IS NOT NULL
            AND ST_Transform(q.geom, 3857) && ST_TileEnvelope(:z, :x, :y, margin => {margin!r})
        )
        SELECT coalesce(ST_AsMVT(mvt, '{name}', {extent}, 'geom'), ''::bytea) FROM mvt WHERE geom IS NOT NULL)"""


def _lines_sql(shape: str):
    def sql(layer: Layer, p: str, source: str, extent: int, buffer: int) -> str:
        rows = (
            f"SELECT q.*, max(q.n) FILTER (WHERE q.geom IS NOT NULL) OVER () AS top FROM ({read.lines_sql(shape, p)}) q"
        )
        columns = 'q.fmp_id, q.leg, q.from_code AS "from", q.to_code AS "to", q.n::bigint AS n'
        return _mvt(layer.id, extent, buffer, rows, columns, "n")

    return sql


def _origin_sql(level: int):
    def sql(layer: Layer, p: str, source: str, extent: int, buffer: int) -> str:
        keep = "WHERE q.leaves" if level == 1 else ""  # within a governorate: no line at level 1
        rows = f"SELECT * FROM ({read.origin_sql(level, f'CAST(:{p}round AS int)')}) q {keep}"
        columns = (
            "q.origin_adm1, q.origin_name, q.dest, q.dest_name, "
            f"{'q.dest_parent' if level == 2 else 'q.dest'} AS dest_adm1, q.families, q.leaves"
        )
        return _mvt(layer.id, extent, buffer, rows, columns, "families")

    return sql


def period(conn: Connection, values: Mapping[str, str]):
    """``from``/``to`` of a request (days or months); both omitted: the last month with counts."""
    lo, hi = read.period(values.get("from"), values.get("to"))
    if lo is None and hi is None:
        first, last = read.extent(conn)
        if last is not None:
            lo, hi = last.replace(day=1), last
    return lo, hi


def bind(conn: Connection, values: Mapping[str, str]) -> Binding:
    lo, hi = period(conn, values)
    fmp = values.get("fmp")
    if fmp is not None and conn.execute(text("SELECT 1 FROM flow_point WHERE fmp_id = :p"), {"p": fmp}).first() is None:
        raise ParamError("fmp", f"no flow monitoring point {fmp!r}", "an id of GET /flows/points")
    return Binding(read.line_params(lo, hi, fmp))


def _flow_layer(layer_id: str, shape: str, description: str) -> Layer:
    return Layer(
        layer_id,
        "flows",
        "line",
        0,
        14,
        20000,
        description,
        FLOW_FIELDS,
        buffer=64,
        sql=_lines_sql(shape),
        params=PARAMS,
        bind=bind,
        default_export=False,
        country_free=True,
    )


LAYERS = [
    _flow_layer(
        "flows",
        "legs",
        "Flow Monitoring lines of the period: origin -> point (leg in) and point -> destination (leg out), "
        "n people, width in px linear in n",
    ),
    _flow_layer(
        "flow-routes",
        "routes",
        "Flow Monitoring routes of the period: origin -> point -> final destination, n people, width in px linear in n",
    ),
] + [
    Layer(
        f"origin-flows-{name}",
        "flows",
        "line",
        0,
        14,
        5000,
        f"Master lists: families displaced from each governorate of origin to each {noun} of the round "
        "(a line between the units' points on surface; width in px linear in families)",
        ORIGIN_FIELDS,
        buffer=64,
        sql=_origin_sql(level),
        round_based=True,
        default_export=False,
    )
    for level, name, noun in ((1, "governorates", "other governorate"), (2, "districts", "district"))
]
