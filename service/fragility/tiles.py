"""The ``fragility`` tile layer: sub-district polygons (the same three sources as the admin
layers: pretiled, generalised, full resolution; ``tiles.mvt.admin_geometry``) with the stored
fragility of the round's default run joined (the view ``fragility_round_result``, migration
0009). Tiles never compute fragility: a round without a stored run gives polygons with null
class. Registered through the layer registry (``service.fragility.kind``).
"""

from __future__ import annotations

from tiles.layers import Layer
from tiles.mvt import admin_geometry

FRAGILITY_FIELDS = {  # the stored default run of the round (none computed: null class)
    "pcode": "String",
    "name_en": "String",
    "name_ar": "String",
    "status": "String",
    "index": "Number",
    "class": "Number",
    "class_key": "String",
    "completeness": "Number",
    "p_high": "Number",
    "rank_p5": "Number",
    "rank_p50": "Number",
    "rank_p95": "Number",
    "hotspot": "Boolean",
}


def fragility_sql(layer: Layer, p: str, source: str, extent: int, buffer: int) -> str:
    tables, where, geom = admin_geometry(layer, source, extent, buffer)
    frag = (  # the round's stored default run (the view of migration 0009, kept by service.fragility)
        "SELECT pcode, status, index, class, class_key, completeness, p_high, rank_p5, rank_p50, rank_p95, hotspot "
        f"FROM fragility_round_result WHERE round_id = CAST(:{p}round AS int) AND level = {layer.level}"
    )
    return f"""(WITH frag AS ({frag})
        SELECT coalesce(ST_AsMVT(t, '{layer.id}', {extent}, 'geom'), ''::bytea) FROM (
          SELECT * FROM (
            SELECT u.pcode, u.name_en, u.name_ar, coalesce(f.status, 'insufficient_data') AS status, f.index,
                   f.class, coalesce(f.class_key, 'insufficient_data') AS class_key,
                   round(f.completeness::numeric, 4)::float8 AS completeness,
                   round(f.p_high::numeric, 4)::float8 AS p_high,
                   f.rank_p5, f.rank_p50, f.rank_p95, coalesce(f.hotspot, false) AS hotspot, {geom} AS geom
            FROM {tables} LEFT JOIN frag f ON f.pcode = u.pcode
            WHERE {where}) c
          WHERE c.geom IS NOT NULL
          ORDER BY c.pcode LIMIT {layer.feature_limit}) t)"""


LAYER = Layer(
    "fragility",
    "fragility",
    "polygon",
    4,
    14,
    5000,
    "Fragility class of each sub-district (the default method's stored run of the round; service.fragility)",
    FRAGILITY_FIELDS,
    level=3,
    sql=fragility_sql,
    round_based=True,
)
