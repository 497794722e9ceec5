"""Vector tiles of a crisis's figures per unit (layer ``events``): the stored generalised band
of the zoom (``admin_unit_generalised``, made at boundary import), joined to the period's sums."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

from service.events import read
from tiles.zoom import band_for_zoom


def unit_tile(
    conn: Connection, crisis_id: str, level: int, z: int, x: int, y: int, *, day_from: dt.date, day_to: dt.date
) -> bytes:
    c = read.crisis(conn, crisis_id)
    band = band_for_zoom(z)
    geom = (
        "(SELECT g.geom_3857 FROM admin_unit_generalised g WHERE g.boundary_set_id = u.boundary_set_id "
        "AND g.level = u.level AND g.pcode = u.pcode AND g.zband = :band)"
        if band is not None
        else "ST_Transform(u.geom, 3857)"
    )
    tile = conn.execute(
        text(
            f"""
            WITH s AS (
                SELECT pcode,
                       sum(idp_ind) FILTER (WHERE day >= :f) AS new_idp_ind,
                       sum(idp_ind) FILTER (WHERE day = :t) AS day_idp_ind,
                       sum(idp_ind) FILTER (WHERE day > :t - 7) AS rolling7_idp_ind,
                       sum(idp_ind) AS cumulative_idp_ind,
                       sum(ret_ind) FILTER (WHERE day >= :f) AS new_ret_ind,
                       sum(ret_ind) AS cumulative_ret_ind
                FROM event_unit_day WHERE crisis_id = :c AND level = :l AND day <= :t GROUP BY pcode
            ), u AS (
                SELECT u.pcode, u.name_en, {geom} AS g FROM admin_unit u
                WHERE u.boundary_set_id = :s AND u.level = :l
                  AND ST_Transform(u.geom, 3857) && ST_TileEnvelope(:z, :x, :y)
            ), mvt AS (
                SELECT u.pcode, u.name_en, coalesce(s.new_idp_ind, 0)::bigint AS new_idp_ind,
                       coalesce(s.day_idp_ind, 0)::bigint AS day_idp_ind,
                       coalesce(s.rolling7_idp_ind, 0)::bigint AS rolling7_idp_ind,
                       coalesce(s.cumulative_idp_ind, 0)::bigint AS cumulative_idp_ind,
                       coalesce(s.new_ret_ind, 0)::bigint AS new_ret_ind,
                       coalesce(s.cumulative_ret_ind, 0)::bigint AS cumulative_ret_ind,
                       ST_AsMVTGeom(u.g, ST_TileEnvelope(:z, :x, :y), 4096, 64, true) AS geom
                FROM u LEFT JOIN s USING (pcode)
            )
            SELECT ST_AsMVT(mvt, 'events', 4096, 'geom') FROM mvt WHERE geom IS NOT NULL
            """
        ),
        {
            "c": crisis_id,
            "l": level,
            "f": day_from,
            "t": day_to,
            "s": c.boundary_set_id,
            "z": z,
            "x": x,
            "y": y,
            "band": band,
        },
    ).scalar_one()
    return bytes(tile) if tile else b""
