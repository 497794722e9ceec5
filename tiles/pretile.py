"""Owner of ``admin_unit_tile``: the admin polygons cut into tiles once, at boundary import.

Boundaries change rarely (a new COD-AB release); figures change every round. So the
geometry part of an admin tile is prepared when a level is imported: for every zoom band
(z0-z12) and every tile a unit touches, ``ST_AsMVTGeom`` of the band's generalised coverage
(clipped to the tile plus its buffer, snapped to the tile grid, made valid) is stored with
the unit's P-code. A tile request then reads its rows by primary key, joins the
round's figures and classes, and encodes them with ``ST_AsMVT``: no clipping, snapping or
validation per request. The bytes are those the per-request path (``tiles.mvt``, still
used above z12 and for a layer on another grid) makes from the same generalised geometry:
tests compare the two tile by tile.

What is stored never depends on a round, so no figure is ever cached here: an import of a
round shows in the next tile without touching this table.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from tiles.layers import ADMIN_LAYER_OF_LEVEL, BASE_LAYERS
from tiles.zoom import MAX_BAND, MIN_BAND, WORLD_M

# The tile grid the rows are cut for (units per tile, buffer in units): the admin layers'
# (one grid for all of them). A layer on another grid is made per request.
(GRID,) = {(layer.extent, layer.buffer) for layer in BASE_LAYERS.values() if layer.kind == "admin"}
ADMIN_LEVELS = tuple(ADMIN_LAYER_OF_LEVEL)

_HALF_WORLD = WORLD_M / 2  # Web Mercator: x and y run from -_HALF_WORLD to +_HALF_WORLD

BUILD_SQL = f"""
    INSERT INTO admin_unit_tile (boundary_set_id, level, z, x, y, pcode, geom)
    SELECT g.boundary_set_id, g.level, g.zband, tx, ty, g.pcode, m.geom
    FROM admin_unit_generalised g
    -- tile size and buffer (metres) at the band's zoom; the tiles the unit's box touches
    CROSS JOIN LATERAL (SELECT {2 * _HALF_WORLD!r} / (1 << g.zband) AS ts, (1 << g.zband) - 1 AS last) s
    CROSS JOIN LATERAL (SELECT s.ts * CAST(:buffer AS float8) / CAST(:extent AS float8) AS m) b
    CROSS JOIN LATERAL generate_series(
        greatest(0, floor((ST_XMin(g.geom_3857) - b.m + {_HALF_WORLD!r}) / s.ts)::int),
        least(s.last, floor((ST_XMax(g.geom_3857) + b.m + {_HALF_WORLD!r}) / s.ts)::int)) tx
    CROSS JOIN LATERAL generate_series(
        greatest(0, floor(({_HALF_WORLD!r} - ST_YMax(g.geom_3857) - b.m) / s.ts)::int),
        least(s.last, floor(({_HALF_WORLD!r} - ST_YMin(g.geom_3857) + b.m) / s.ts)::int)) ty
    CROSS JOIN LATERAL (SELECT ST_AsMVTGeom(g.geom_3857, ST_TileEnvelope(g.zband, tx, ty),
                                            CAST(:extent AS int), CAST(:buffer AS int), true) AS geom) m
    WHERE g.boundary_set_id = :s AND g.level = :l AND g.zband BETWEEN {MIN_BAND} AND {MAX_BAND}
      -- the candidate test of the per-request path (tiles.mvt._admin_sql), word for word: the
      -- buffered envelope, which ST_TileEnvelope clamps at the edges of the world
      AND g.geom_3857 && ST_TileEnvelope(g.zband, tx, ty, margin => CAST(:buffer AS float8) / CAST(:extent AS float8))
      AND m.geom IS NOT NULL
"""


def build(conn: Connection, set_id: int, level: int) -> int:
    """(Re)cut one level of a boundary set into tiles; returns the number of rows."""
    conn.execute(
        text("DELETE FROM admin_unit_tile WHERE boundary_set_id = :s AND level = :l"), {"s": set_id, "l": level}
    )
    if level not in ADMIN_LEVELS:
        return 0
    extent, buffer = GRID
    rows = conn.execute(text(BUILD_SQL), {"s": set_id, "l": level, "extent": extent, "buffer": buffer}).rowcount
    conn.execute(text("ANALYZE admin_unit_tile"))  # tile statements run with generic plans: fresh statistics
    return rows


def copy(conn: Connection, from_set: int, to_set: int, exclude_level: int | None = None) -> int:
    """Copy a set's tile rows to a new revision of it (``boundaries.store``), but ``exclude_level``'s."""
    rows = conn.execute(
        text(
            """
            INSERT INTO admin_unit_tile (boundary_set_id, level, z, x, y, pcode, geom)
            SELECT :n, level, z, x, y, pcode, geom FROM admin_unit_tile
            WHERE boundary_set_id = :o AND (CAST(:l AS smallint) IS NULL OR level <> :l)
            """
        ),
        {"o": from_set, "n": to_set, "l": exclude_level},
    ).rowcount
    return rows


def covers(z: int, extent: int, buffer: int) -> bool:
    """Are tiles of zoom ``z`` on this grid made from ``admin_unit_tile``?"""
    return MIN_BAND <= z <= MAX_BAND and (extent, buffer) == GRID
