"""Drop the GiST index on ``location.geom``: no query reads it (locations are read by key;
spatial reads go to ``location_figure``, which keeps its own), and keeping it up to date was
~7 s of a 1,000,000-row import's location upsert.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS location_geom_idx")


def downgrade() -> None:
    op.execute("CREATE INDEX location_geom_idx ON location USING gist (geom)")
