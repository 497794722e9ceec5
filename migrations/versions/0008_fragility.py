"""Fragility runs and results (owner: service.fragility.store).

``fragility_run``: one per (country, DTM round number, method id, method version); it
records the rounds, inputs and their fingerprint. A run whose fingerprint no longer matches
the current inputs (a round re-imported, the population file or the method changed) is stale
and is recomputed on the next request. ``fragility_result``: per level and unit.
``fragility_overlay``: IDPs, returnees and locations per fragility class, nationally and per
governorate.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE fragility_run (
            id                serial PRIMARY KEY,
            country           char(3) NOT NULL,
            round_number      integer NOT NULL,
            method_id         text NOT NULL,
            method_version    text NOT NULL,
            method_sha256     text NOT NULL,
            method            jsonb NOT NULL,
            idp_round_id      integer,          -- no foreign key: a re-import replaces the round
                                                -- (the fingerprint tells)
            returnee_round_id integer,
            boundary_set_id   integer NOT NULL REFERENCES boundary_set ON DELETE CASCADE,
            fingerprint       text NOT NULL,
            inputs            jsonb NOT NULL,   -- rounds, files (name, SHA-256), population source, issues
            summary           jsonb NOT NULL,   -- class counts, uncertainty summary
            import_id         bigint REFERENCES import_log,
            stale             boolean NOT NULL DEFAULT false,
            computed_at       timestamptz NOT NULL DEFAULT now(),
            UNIQUE (country, round_number, method_id, method_version)
        );

        CREATE TABLE fragility_result (
            run_id        integer NOT NULL REFERENCES fragility_run ON DELETE CASCADE,
            level         smallint NOT NULL CHECK (level BETWEEN 1 AND 3),
            pcode         text NOT NULL,
            status        text NOT NULL CHECK (status IN ('ok', 'insufficient_data')),
            index         double precision,
            class         smallint CHECK (class BETWEEN 1 AND 5),
            completeness  double precision NOT NULL,
            dimensions    jsonb NOT NULL,
            indicators    jsonb NOT NULL,   -- level 3: value and score per indicator
            rank_p5       double precision,
            rank_p50      double precision,
            rank_p95      double precision,
            p_high        double precision,
            hotspot       boolean NOT NULL,
            hotspot_units integer,
            idps          bigint,
            returnees     bigint,
            residents     double precision,
            PRIMARY KEY (run_id, level, pcode)
        );

        CREATE TABLE fragility_overlay (
            run_id              integer NOT NULL REFERENCES fragility_run ON DELETE CASCADE,
            adm1                text NOT NULL,    -- a governorate P-code, 'UNASSIGNED' or the national P-code
            class_key           text NOT NULL,    -- very_low .. very_high, insufficient_data, unassigned
            idps                bigint NOT NULL,
            returnees           bigint NOT NULL,
            idp_locations       integer NOT NULL,
            returnee_locations  integer NOT NULL,
            PRIMARY KEY (run_id, adm1, class_key)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE fragility_overlay, fragility_result, fragility_run")
