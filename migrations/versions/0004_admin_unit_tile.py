"""Tiles: admin polygons cut into tiles per zoom band at import (tiles.pretile).

Fills the table for the boundary sets already imported, with the SQL of tiles.pretile at
this revision (grid 4096 units, buffer 32, bands z0-z12).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_HALF_WORLD = 20037508.342789244


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE admin_unit_tile (
            boundary_set_id integer NOT NULL REFERENCES boundary_set ON DELETE CASCADE,
            level           smallint NOT NULL,
            z               smallint NOT NULL,
            x               integer NOT NULL,
            y               integer NOT NULL,
            pcode           text NOT NULL,
            geom            geometry NOT NULL,  -- tile coordinates (ST_AsMVTGeom), no SRID
            PRIMARY KEY (boundary_set_id, level, z, x, y, pcode)
        );
        """
    )
    op.get_bind().execute(text(f"""
        INSERT INTO admin_unit_tile (boundary_set_id, level, z, x, y, pcode, geom)
        SELECT g.boundary_set_id, g.level, g.zband, tx, ty, g.pcode, m.geom
        FROM admin_unit_generalised g
            CROSS JOIN LATERAL (SELECT {2 * _HALF_WORLD!r} / (1 << g.zband) AS ts, (1 << g.zband) - 1 AS last) s
        CROSS JOIN LATERAL (SELECT s.ts * 32 / 4096.0 AS m) b
        CROSS JOIN LATERAL generate_series(
            greatest(0, floor((ST_XMin(g.geom_3857) - b.m + {_HALF_WORLD!r}) / s.ts)::int),
            least(s.last, floor((ST_XMax(g.geom_3857) + b.m + {_HALF_WORLD!r}) / s.ts)::int)) tx
        CROSS JOIN LATERAL generate_series(
            greatest(0, floor(({_HALF_WORLD!r} - ST_YMax(g.geom_3857) - b.m) / s.ts)::int),
            least(s.last, floor(({_HALF_WORLD!r} - ST_YMin(g.geom_3857) + b.m) / s.ts)::int)) ty
        CROSS JOIN LATERAL (SELECT ST_AsMVTGeom(g.geom_3857, ST_TileEnvelope(g.zband, tx, ty), 4096, 32, true)
                            AS geom) m
        WHERE g.level BETWEEN 1 AND 3 AND g.zband BETWEEN 0 AND 12
          AND g.geom_3857 && ST_TileEnvelope(g.zband, tx, ty, margin => 32 / 4096.0)
          AND m.geom IS NOT NULL
    """))


def downgrade() -> None:
    op.execute("DROP TABLE admin_unit_tile")
