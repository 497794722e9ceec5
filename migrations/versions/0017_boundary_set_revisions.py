"""Boundary sets keep their revisions: a file of the same country, source and validOn with other
geometry, imported with ``--replace``, makes a new set (revision + 1) and the old set stays
(``superseded_by`` the new one), with the rounds placed on it (declared again in
``boundaries/tables.py``).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE boundary_set
            ADD COLUMN revision smallint NOT NULL DEFAULT 0 CHECK (revision >= 0),
            ADD COLUMN superseded_by integer REFERENCES boundary_set ON DELETE SET NULL;
        ALTER TABLE boundary_set DROP CONSTRAINT boundary_set_country_source_valid_on_key;
        ALTER TABLE boundary_set ADD CONSTRAINT boundary_set_country_source_valid_on_revision_key
            UNIQUE (country, source, valid_on, revision);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DELETE FROM boundary_set WHERE revision > 0;
        ALTER TABLE boundary_set DROP CONSTRAINT boundary_set_country_source_valid_on_revision_key;
        ALTER TABLE boundary_set ADD CONSTRAINT boundary_set_country_source_valid_on_key
            UNIQUE (country, source, valid_on);
        ALTER TABLE boundary_set DROP COLUMN superseded_by, DROP COLUMN revision;
        """
    )
