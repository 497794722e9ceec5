"""Imports never destroy a round: ``round_version`` keeps every version of a round.

A round (country, population, reporting date) has versions 1, 2, ... in the order they were
imported. One is ``current`` (the round published in ``round``); a version replaced by a later
import is ``superseded`` and a suspicious import (rows fallen by more than the allowed share,
a file that ends mid-row or mid-quote) is ``held``: both are kept whole until pruned -- the
round's row and its aggregates as JSON here, its rows in its own table
``location_figure_r{round_id}``, detached from ``location_figure`` -- and can be restored
(``service.ingest.versions``). The rounds already imported become version 1, current.
``import_log.outcome`` gains ``held``.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE round_version (
            id             serial PRIMARY KEY,
            country        char(3) NOT NULL,
            population     text NOT NULL,
            reporting_date date NOT NULL,
            version        integer NOT NULL,
            round_id       integer NOT NULL UNIQUE,
            import_id      bigint REFERENCES import_log,
            state          text NOT NULL CHECK (state IN ('current', 'superseded', 'held')),
            reason         text,
            rows           integer,
            individuals    bigint,
            round_row      jsonb,
            aggregates     jsonb,
            created_at     timestamptz NOT NULL DEFAULT now(),
            changed_at     timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT round_version_key UNIQUE (country, population, reporting_date, version)
        );
        CREATE UNIQUE INDEX round_version_one_current ON round_version (country, population, reporting_date)
          WHERE state = 'current';

        ALTER TABLE import_log DROP CONSTRAINT IF EXISTS import_log_outcome_check,
          ADD CONSTRAINT import_log_outcome_check
            CHECK (outcome IN ('running', 'committed', 'unchanged', 'rejected', 'held'));

        INSERT INTO round_version (country, population, reporting_date, version, round_id, import_id, state,
                                   rows, individuals)
        SELECT r.country, r.population, r.reporting_date, 1, r.id, r.import_id, 'current', u.locations, u.individuals
        FROM round r LEFT JOIN unit_figure u ON u.round_id = r.id AND u.level = 0 AND u.pcode <> 'UNASSIGNED';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DO $$
        DECLARE t record;
        BEGIN
          FOR t IN SELECT round_id FROM round_version WHERE state <> 'current' LOOP
            EXECUTE format('DROP TABLE IF EXISTS location_figure_r%s', t.round_id);
          END LOOP;
        END $$;
        DROP TABLE round_version;
        UPDATE import_log SET outcome = 'rejected' WHERE outcome = 'held';
        ALTER TABLE import_log DROP CONSTRAINT IF EXISTS import_log_outcome_check,
          ADD CONSTRAINT import_log_outcome_check CHECK (outcome IN ('running', 'committed', 'unchanged', 'rejected'));
        """
    )
