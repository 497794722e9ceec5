"""Tiles: admin polygons cut into tiles per zoom band at import (tiles.pretile).

Fills the table for the boundary sets already imported with ``tiles.pretile.build``, the
code every boundary import runs (the table is derived from ``admin_unit_generalised``).

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
    # the sets already imported are cut by the same code as a new import (derived data)
    from tiles import pretile

    conn = op.get_bind()
    for set_id, level in conn.execute(
        text("SELECT DISTINCT boundary_set_id, level FROM admin_unit_generalised ORDER BY 1, 2")
    ).all():
        pretile.build(conn, set_id, level)


def downgrade() -> None:
    op.execute("DROP TABLE admin_unit_tile")
