"""DTM's published count next to the file's: ``unit_figure.published_individuals``.

The master lists count individuals as families x 6 on every row; DTM's published figures
use the household sizes kept as data in ``service/data/household_sizes.csv`` (Iraq IDPs from
31 Aug 2020: 5 persons per family in camps). ``individuals`` stays the file's count; the new
column holds the published one (``service.figures.household``, computed by
``service.figures.aggregate``). The rounds already imported are filled here: the file's
count where no shelter rule is in force (one UPDATE), and the few rounds where one is from
their rows (one set-based UPDATE per round, the code every import runs).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op
from sqlalchemy import text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from service.figures import aggregate
    from service.figures.household import sizes_for

    op.execute("ALTER TABLE unit_figure ADD COLUMN published_individuals bigint")
    op.execute("UPDATE unit_figure SET published_individuals = individuals")
    conn = op.get_bind()
    rounds = conn.execute(text("SELECT id, country, population, reporting_date FROM round ORDER BY id")).all()
    for round_id, country, population, date in rounds:
        if sizes_for(country.strip(), population, date).adjustments():
            aggregate.refresh_published(conn, round_id)
    op.execute("ALTER TABLE unit_figure ALTER COLUMN published_individuals SET NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE unit_figure DROP COLUMN published_individuals")
