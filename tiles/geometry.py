"""Geometry-only admin tiles of one boundary set, for the web map (no figures, no round).

A tile of ``/webmap/geometry/{set}/{layers}/{z}/{x}/{y}.mvt`` holds the units of the asked
levels (``pcode``, names, level) read from ``admin_unit_tile`` (cut at import, tiles.pretile)
and a ``labels`` layer: one point per unit, a point on the surface of the unit's generalised
geometry in the zoom band, put in the one tile that contains it (so a label is never drawn
twice), with the unit's area as the label's rank. Nothing in it depends on a round, so a tile
stays valid until the boundary set changes: the web map joins the round's figures in the
browser (feature state by P-code) and a round step fetches no tile.

Only the pretiled zooms (``MIN_BAND``-``MAX_BAND``) are served; MapLibre overzooms above.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import Connection, text

from tiles.layers import ADMIN_LAYER_OF_LEVEL, BASE_LAYERS
from tiles.pretile import GRID
from tiles.zoom import MAX_BAND, MIN_BAND

LABELS_LAYER = "labels"
MIN_ZOOM, MAX_ZOOM = MIN_BAND, MAX_BAND


@lru_cache(maxsize=64)
def _sql(levels: tuple[int, ...]) -> str:
    extent, _buffer = GRID
    parts = []
    for level in levels:
        layer = BASE_LAYERS[ADMIN_LAYER_OF_LEVEL[level]]
        parts.append(f"""(SELECT coalesce(ST_AsMVT(t, '{layer.id}', {extent}, 'geom'), ''::bytea) FROM (
            SELECT g.pcode, u.name_en, u.name_ar, CAST(u.level AS int) AS level, g.geom
            FROM admin_unit_tile g
            JOIN admin_unit u ON u.boundary_set_id = g.boundary_set_id AND u.pcode = g.pcode
            WHERE g.boundary_set_id = :s AND g.level = {level} AND g.z = :z AND g.x = :x AND g.y = :y
            ORDER BY g.pcode) t)""")
    parts.append(f"""(SELECT coalesce(ST_AsMVT(t, '{LABELS_LAYER}', {extent}, 'geom'), ''::bytea) FROM (
            SELECT * FROM (
              SELECT g.pcode, u.name_en, u.name_ar, CAST(u.level AS int) AS level,
                     round(u.area_km2::numeric, 1)::float AS area_km2,
                     ST_AsMVTGeom(p.pt, ST_TileEnvelope(:z, :x, :y), {extent}, 0, true) AS geom
              FROM admin_unit_tile g
              JOIN admin_unit u ON u.boundary_set_id = g.boundary_set_id AND u.pcode = g.pcode
              JOIN admin_unit_generalised a ON a.boundary_set_id = g.boundary_set_id AND a.level = g.level
                                           AND a.pcode = g.pcode AND a.zband = g.z
              CROSS JOIN LATERAL (SELECT ST_PointOnSurface(a.geom_3857) AS pt) p
              WHERE g.boundary_set_id = :s AND g.level = ANY(:levels) AND g.z = :z AND g.x = :x AND g.y = :y
                -- the one tile holding the point (its west and north edges included)
                AND ST_X(p.pt) >= ST_XMin(ST_TileEnvelope(:z, :x, :y))
                    AND ST_X(p.pt) < ST_XMax(ST_TileEnvelope(:z, :x, :y))
                AND ST_Y(p.pt) > ST_YMin(ST_TileEnvelope(:z, :x, :y))
                    AND ST_Y(p.pt) <= ST_YMax(ST_TileEnvelope(:z, :x, :y))
            ) c WHERE c.geom IS NOT NULL ORDER BY c.level, c.pcode) t)""")
    return "SELECT " + "\n || ".join(parts)


def render(conn: Connection, set_id: int, levels: Sequence[int], z: int, x: int, y: int) -> bytes:
    """The MVT bytes (``b""`` when the tile holds no unit)."""
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        raise ValueError(f"geometry tiles go from zoom {MIN_ZOOM} to {MAX_ZOOM} (clients overzoom above); got {z}")
    data = conn.execute(
        text(_sql(tuple(levels))), {"s": set_id, "z": z, "x": x, "y": y, "levels": list(levels)}
    ).scalar_one()
    return bytes(data) if data else b""


def set_stamp(conn: Connection, set_id: int) -> str | None:
    """Changes whenever a level of the set is (re)imported: the tiles' cache key and ``?v=``."""
    row = conn.execute(
        text("SELECT max(import_id), count(*) FROM admin_unit WHERE boundary_set_id = :s"), {"s": set_id}
    ).first()
    if row is None or not row[1]:
        return None
    return f"{set_id}.{row[0]}.{row[1]}"
