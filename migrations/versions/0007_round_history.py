"""A history of rounds: a round is (country, population, reporting date), DTM's round number
is an attribute; unit figures also hold the change over twelve months.

The history of a country holds rounds that DTM's calendar does not number: ``round_number``
may be NULL. The key moves to the reporting date (still DEFERRABLE, for a re-import that
adds the new round beside the old one and drops the old one last). A round number names
at most one round of a population: checked by the import, since a plain unique index could
not be deferred.

``unit_figure`` gains the change against the round closest to one year earlier (within two
months of it): ``ref12_round_id``, ``individuals_12m_ago``, ``change_12m_individuals``,
``change_12m_pct`` (service.figures.aggregate.refresh_changes keeps them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE round ALTER COLUMN round_number DROP NOT NULL,
          DROP CONSTRAINT round_country_population_round_number_key,
          ADD CONSTRAINT round_country_population_date_key UNIQUE (country, population, reporting_date)
            DEFERRABLE INITIALLY IMMEDIATE;
        CREATE INDEX round_number_idx ON round (country, population, round_number) WHERE round_number IS NOT NULL;
        ALTER TABLE unit_figure
          ADD COLUMN ref12_round_id integer REFERENCES round ON DELETE SET NULL,
          ADD COLUMN individuals_12m_ago bigint,
          ADD COLUMN change_12m_individuals bigint,
          ADD COLUMN change_12m_pct double precision;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE unit_figure DROP COLUMN ref12_round_id, DROP COLUMN individuals_12m_ago,
          DROP COLUMN change_12m_individuals, DROP COLUMN change_12m_pct;
        DROP INDEX round_number_idx;
        DELETE FROM round WHERE round_number IS NULL;
        ALTER TABLE round DROP CONSTRAINT round_country_population_date_key,
          ALTER COLUMN round_number SET NOT NULL,
          ADD CONSTRAINT round_country_population_round_number_key UNIQUE (country, population, round_number)
            DEFERRABLE INITIALLY IMMEDIATE;
        """
    )
