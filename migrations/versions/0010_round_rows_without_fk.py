"""``location_figure`` and ``unit_breakdown`` without their foreign keys to ``round``:
imports run side by side, and a round's breakdowns go in without a check per row.

Attaching a round's table as a partition of ``location_figure`` (``service.figures.placement
.attach_round_table``) cloned the foreign key to ``round`` onto it, and adding a foreign key
locks the referenced table (SHARE ROW EXCLUSIVE) against every transaction that has written
a round row and not yet committed: an import attaching its round then waited for every other
import in flight, which were waiting for its turn to end. Imports now stage, place and
aggregate rounds side by side, so the key goes.

What it checked still holds by construction: a round's rows live in the round's own table,
made by the import that writes the ``round`` row in the same transaction, bound to the
round's id by its partition bound (and a CHECK); a round's rows go with its table
(``placement.drop_round_table``) before its row is deleted.

``unit_breakdown`` (about 2,600 rows a round, 4,000 in a large one) paid a foreign-key
check per row: 28 of the 60 ms its insert took per import. Its rows are written only by
``service.figures.aggregate.aggregate_round``, in the transaction that writes the round, and
deleted with the round by ``aggregate.delete_round_aggregates``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE location_figure DROP CONSTRAINT IF EXISTS location_figure_round_id_fkey;
        ALTER TABLE unit_breakdown DROP CONSTRAINT IF EXISTS unit_breakdown_round_id_fkey;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM location_figure f WHERE NOT EXISTS (SELECT FROM round r WHERE r.id = f.round_id);
        ALTER TABLE location_figure ADD CONSTRAINT location_figure_round_id_fkey
          FOREIGN KEY (round_id) REFERENCES round ON DELETE CASCADE;
        DELETE FROM unit_breakdown b WHERE NOT EXISTS (SELECT FROM round r WHERE r.id = b.round_id);
        ALTER TABLE unit_breakdown ADD CONSTRAINT unit_breakdown_round_id_fkey
          FOREIGN KEY (round_id) REFERENCES round ON DELETE CASCADE;
        """
    )
