"""Vector tiles of a crisis's figures per unit: the tile layers ``events-governorates``,
``events-districts`` and ``events-subdistricts`` of the layer registry (``/tiles/{layers}``,
TileJSON, composites; ``service.events.kind``), with parameters of their own: ``?crisis=``
(needed when several crises are imported), ``?date=`` or ``?from=&to=`` (default: the
crisis's last day). The units are those of the crisis's boundary set, from the same three
sources as the admin layers (``tiles.mvt.admin_geometry``); the figures are sums over
``event_unit_day`` for the period."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from service.core.errors import NotFound, ParamError
from service.events import read
from tiles.layers import Binding, Layer
from tiles.mvt import admin_geometry

EVENT_FIELDS = {
    "pcode": "String",
    "name_en": "String",
    "name_ar": "String",
    "new_idp_ind": "Number",  # newly displaced in the period [from, to]
    "day_idp_ind": "Number",  # on the day ``to`` (the last 24 hours)
    "rolling7_idp_ind": "Number",  # the 7 days to ``to``
    "cumulative_idp_ind": "Number",  # since the onset, to ``to``
    "new_ret_ind": "Number",
    "cumulative_ret_ind": "Number",
}
PARAMS = {
    "crisis": "The crisis (GET /events lists them); needed when several are imported",
    "date": "One day, YYYY-MM-DD (default: the crisis's last day)",
    "from": "First day of a range, YYYY-MM-DD (default: the onset when only to is given)",
    "to": "Last day of a range, YYYY-MM-DD (default: the crisis's last day)",
}
LEVEL_NAMES = {1: "governorates", 2: "districts", 3: "subdistricts"}


def events_sql(layer: Layer, p: str, source: str, extent: int, buffer: int) -> str:
    """The MVT bytes of the crisis's units of ``layer.level`` with the period's sums
    (parameters ``:{p}crisis``, ``:{p}from``, ``:{p}to``, ``:{p}sets``)."""
    tables, where, geom = admin_geometry(layer, source, extent, buffer, sets=f"CAST(:{p}sets AS int[])")
    f, t = f"CAST(:{p}from AS date)", f"CAST(:{p}to AS date)"
    return f"""(WITH s AS (
          SELECT pcode,
                 sum(idp_ind) FILTER (WHERE day >= {f}) AS new_idp_ind,
                 sum(idp_ind) FILTER (WHERE day = {t}) AS day_idp_ind,
                 sum(idp_ind) FILTER (WHERE day > {t} - 7) AS rolling7_idp_ind,
                 sum(idp_ind) AS cumulative_idp_ind,
                 sum(ret_ind) FILTER (WHERE day >= {f}) AS new_ret_ind,
                 sum(ret_ind) AS cumulative_ret_ind
          FROM event_unit_day
          WHERE crisis_id = CAST(:{p}crisis AS text) AND level = {layer.level} AND day <= {t} GROUP BY pcode)
        SELECT coalesce(ST_AsMVT(t, '{layer.id}', {extent}, 'geom'), ''::bytea) FROM (
          SELECT * FROM (
            SELECT u.pcode, u.name_en, u.name_ar,
                   coalesce(s.new_idp_ind, 0)::bigint AS new_idp_ind,
                   coalesce(s.day_idp_ind, 0)::bigint AS day_idp_ind,
                   coalesce(s.rolling7_idp_ind, 0)::bigint AS rolling7_idp_ind,
                   coalesce(s.cumulative_idp_ind, 0)::bigint AS cumulative_idp_ind,
                   coalesce(s.new_ret_ind, 0)::bigint AS new_ret_ind,
                   coalesce(s.cumulative_ret_ind, 0)::bigint AS cumulative_ret_ind,
                   {geom} AS geom
            FROM {tables} LEFT JOIN s ON s.pcode = u.pcode
            WHERE {where}) c
          WHERE c.geom IS NOT NULL
          ORDER BY c.pcode LIMIT {layer.feature_limit}) t)"""


def bind(conn: Connection, values: Mapping[str, str]) -> Binding:
    """``?crisis=&date=&from=&to=`` -> the crisis, its period and boundary set (the only crisis
    when none is named)."""
    crisis_id = values.get("crisis")
    if crisis_id is None:
        ids = [c["crisis_id"] for c in read.crises(conn)]
        if not ids:
            raise NotFound("no crisis is imported (dtm-atlas import events)")
        if len(ids) > 1:
            raise ParamError("crisis", "several crises are imported: name one", ", ".join(ids))
        crisis_id = ids[0]
    lo, hi = read.request_days(conn, crisis_id, values.get("date"), values.get("from"), values.get("to"))
    c = read.crisis(conn, crisis_id)
    return Binding({"crisis": crisis_id, "from": lo, "to": hi, "sets": [c.boundary_set_id]}, country=c.country)


LAYERS = [
    Layer(
        f"events-{name}",
        "events",
        "polygon",
        {1: 0, 2: 3, 3: 4}[level],
        14,
        {1: 1000, 2: 2000, 3: 5000}[level],
        f"Emergency Tracking: {name} (admin level {level}) of the crisis's boundaries with the individuals newly "
        "displaced in the period, on its last day, in its last 7 days and since the onset (returnees beside)",
        EVENT_FIELDS,
        level=level,
        sql=events_sql,
        params=PARAMS,
        bind=bind,
        default_export=False,
    )
    for level, name in LEVEL_NAMES.items()
]
