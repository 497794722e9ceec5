"""The ``dataset-points`` tile layer: the sites or locations of an indicator dataset as points,
with one of its columns as ``value`` (``/tiles/dataset-points/{z}/{x}/{y}.mvt?dataset=ID&column=C``;
composites with the admin layers; TileJSON). Registered through the layer registry
(``service.indicators.kind``) with parameters of its own (``tiles.layers.Layer.params``).

Tiles are shared by every reader (one cache entry per data version and query), so the layer
serves what an anonymous reader may see, decided by the one access policy
(``service.core.access``): a public dataset, a public column, the names only where the
catalogue's name column is public. Partner and restricted data stay behind the routes that
authorize each request (``/datasets``, OGC, ``/exports``).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from service.core.access import ANONYMOUS, decide
from service.core.errors import NotFound, ParamError
from tiles.layers import Binding, Layer

POINT_FIELDS = {
    "obs_id": "String",
    "name": "String",
    "adm1": "String",
    "adm2": "String",
    "adm3": "String",
    "placement": "String",
    "value": "Number",
}
PARAMS = {
    "dataset": "The indicator dataset (GET /datasets lists the public ones)",
    "column": "A numeric column of its catalogue shown as each point's value (default: none)",
}
NUMERIC = ("integer", "number", "area")


def points_sql(layer: Layer, p: str, source: str, extent: int, buffer: int) -> str:
    """The MVT bytes of the dataset's points in the tile, the largest values first when the
    tile holds more than the layer's limit (parameters ``:{p}dataset``, ``:{p}column``, ``:{p}names``)."""
    margin = buffer / extent
    col = f"CAST(:{p}column AS text)"
    return f"""(SELECT coalesce(ST_AsMVT(t, '{layer.id}', {extent}, 'geom'), ''::bytea) FROM (
          SELECT o.obs_id, CASE WHEN CAST(:{p}names AS boolean) THEN o.name END AS name,
                 o.adm1, o.adm2, o.adm3, o.placement,
                 CASE WHEN jsonb_typeof(o."values" -> {col}) = 'number' THEN (o."values" ->> {col})::float8 END
                   AS value,
                 ST_AsMVTGeom(ST_Transform(o.geom, 3857), ST_TileEnvelope(:z, :x, :y), {extent}, {buffer}, true)
                   AS geom
          FROM indicator_observation o
          WHERE o.dataset_id = CAST(:{p}dataset AS int)
            AND o.geom && ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {margin!r}), 4326)
          ORDER BY value DESC NULLS LAST, o.row_number LIMIT {layer.feature_limit}) t
        WHERE t.geom IS NOT NULL)"""


def bind(conn: Connection, values: Mapping[str, str]) -> Binding:
    """``?dataset=&column=`` -> the public dataset, a public numeric column, whether names show."""
    from service.indicators import publish
    from service.indicators.ogc import who_reads_names

    raw = values.get("dataset")
    if raw is None:
        raise ParamError("dataset", "name an indicator dataset (GET /datasets lists them)")
    if not raw.isdigit() or not 1 <= int(raw) <= 2_147_483_647:
        raise ParamError("dataset", f"{raw!r} is not a dataset id", "a whole number from 1")
    ds_id = int(raw)
    res = publish.resource(conn, ds_id)
    if res is None or not decide(ANONYMOUS, res).allowed:
        raise NotFound(f"no public dataset {ds_id}; see /datasets")
    column = values.get("column")
    if column is not None:
        numeric = [c["id"] for c in publish.catalogue(conn, ds_id, ANONYMOUS) if c["type"] in NUMERIC]
        if column not in numeric:
            raise ParamError("column", f"dataset {ds_id} has no public numeric column {column!r}", ", ".join(numeric))
    names = who_reads_names(conn, ds_id, res, ANONYMOUS)
    return Binding({"dataset": ds_id, "column": column or "", "names": names}, country=res.country)


LAYER = Layer(
    "dataset-points",
    "indicators",
    "point",
    4,
    14,
    20000,
    "The sites or locations of an indicator dataset (?dataset=ID; public datasets) as points, with one of its "
    "numeric columns as value (?column=)",
    POINT_FIELDS,
    buffer=128,
    sql=points_sql,
    params=PARAMS,
    bind=bind,
    default_export=False,
    access="public",  # it serves only what the policy lets anonymous readers see (bind)
)


# ------------------------------------------------------------------ aggregates on admin polygons
UNIT_FIELDS = {
    "pcode": "String",
    "name_en": "String",
    "name_ar": "String",
    "value": "Number",
    "n": "Number",
    "class": "Number",
    "suppressed": "Boolean",
}
UNIT_PARAMS = {
    "dataset": "The indicator dataset (GET /datasets lists the public ones)",
    # (not ``indicator``: the tiles' own parameter, the master-list indicator of the admin layers)
    "column": "One of its aggregated indicators (default: individuals, else the first)",
}
UNIT_LEVELS = {1: "adm1", 2: "adm2", 3: "adm3"}


def units_sql(layer: Layer, p: str, source: str, extent: int, buffer: int) -> str:
    """The MVT bytes of the dataset's units of ``layer.level`` with the indicator's published
    value, count and class (parameters ``:{p}sets``, ``:{p}pcodes``, ``:{p}vals``, ``:{p}ns``,
    ``:{p}classes``, ``:{p}hidden``: the binding's arrays, disclosure control applied)."""
    from tiles.mvt import admin_geometry

    tables, where, geom = admin_geometry(layer, source, extent, buffer, sets=f"CAST(:{p}sets AS int[])")
    return f"""(WITH v AS (
          SELECT * FROM unnest(CAST(:{p}pcodes AS text[]), CAST(:{p}vals AS float8[]), CAST(:{p}ns AS int[]),
                               CAST(:{p}classes AS int[]), CAST(:{p}hidden AS bool[]))
                        AS v(pcode, value, n, class, hidden))
        SELECT coalesce(ST_AsMVT(t, '{layer.id}', {extent}, 'geom'), ''::bytea) FROM (
          SELECT * FROM (
            SELECT u.pcode, u.name_en, u.name_ar, v.value, CASE WHEN v.hidden THEN NULL ELSE v.n END AS n,
                   v.class, CASE WHEN v.hidden THEN true END AS suppressed, {geom} AS geom
            FROM {tables} LEFT JOIN v ON v.pcode = u.pcode
            WHERE {where}) c
          WHERE c.geom IS NOT NULL
          ORDER BY c.pcode LIMIT {layer.feature_limit}) t)"""


def units_bind(level: int):
    def bind_units(conn: Connection, values: Mapping[str, str], settings=None) -> Binding:
        """``?dataset=&column=`` -> the public dataset's published values per unit of the level:
        what the public choropleth answers (``publish.choropleth_values``: small cells suppressed
        by the disclosure rule of the settings)."""
        from service.core.disclosure import Rule
        from service.indicators import publish

        ds_id = _dataset_param(values)
        res = publish.resource(conn, ds_id)
        if res is None or not decide(ANONYMOUS, res).allowed:
            raise NotFound(f"no public dataset {ds_id}; see /datasets")
        cols = [c["id"] for c in publish.indicators(conn, ds_id, ANONYMOUS)]
        indicator = values.get("column") or ("individuals" if "individuals" in cols else cols[0])
        if indicator not in cols:
            raise ParamError("column", f"dataset {ds_id} has no public indicator {indicator!r}", ", ".join(cols))
        rule = Rule.from_settings(settings) if settings is not None else Rule()
        spatial, classes, hidden, _ = publish.choropleth_values(conn, ds_id, level, indicator, ANONYMOUS, rule)
        set_id = publish.dataset_boundary_set(conn, ds_id)
        return Binding(
            {
                "sets": [set_id],
                "pcodes": [p for p, _, _ in spatial],
                "vals": [v for _, v, _ in spatial],
                "ns": [n for _, _, n in spatial],
                "classes": classes,
                "hidden": [p in hidden for p, _, _ in spatial],
            },
            country=res.country,
        )

    return bind_units


def _dataset_param(values: Mapping[str, str]) -> int:
    raw = values.get("dataset")
    if raw is None:
        raise ParamError("dataset", "name an indicator dataset (GET /datasets lists them)")
    if not raw.isdigit() or not 1 <= int(raw) <= 2_147_483_647:
        raise ParamError("dataset", f"{raw!r} is not a dataset id", "a whole number from 1")
    return int(raw)


UNIT_LAYERS = [
    Layer(
        f"dataset-{name}",
        "indicators",
        "polygon",
        {1: 0, 2: 3, 3: 4}[level],
        14,
        {1: 1000, 2: 2000, 3: 5000}[level],
        f"An indicator of an indicator dataset (?dataset=ID&column=; public datasets) per admin level {level} "
        "unit: the published value (small cells suppressed as in the public choropleth), count and class",
        UNIT_FIELDS,
        level=level,
        sql=units_sql,
        params=UNIT_PARAMS,
        bind=units_bind(level),
        bind_settings=True,
        default_export=False,
        access="public",  # only what the policy lets anonymous readers see, suppressed (bind)
    )
    for level, name in UNIT_LEVELS.items()
]
