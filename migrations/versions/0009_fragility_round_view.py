"""``fragility_round_result``: the stored default-method fragility of a round, as a view.

Readers outside the fragility package (the tile layer and the locations' class in
``tiles/``) read this view like any other table, instead of importing the SQL of
``service.fragility.store``: the newest stored run of the default method that used the round
(as its IDP or its returnee round), one row per unit and level, with the class key. Nothing
is computed here: a round without a stored run has no rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE VIEW fragility_round_result AS
        SELECT rr.round_id, rr.run_id, r.level, r.pcode, r.status, r.index, CAST(r.class AS int) AS class,
               CASE WHEN r.status = 'insufficient_data' THEN 'insufficient_data'
                    ELSE (ARRAY['very_low', 'low', 'medium', 'high', 'very_high'])[r.class] END AS class_key,
               r.completeness, r.p_high, r.rank_p5, r.rank_p50, r.rank_p95, r.hotspot
        FROM (
          SELECT DISTINCT ON (u.round_id) u.round_id, u.run_id
          FROM (SELECT idp_round_id AS round_id, id AS run_id, computed_at FROM fragility_run
                WHERE method_id = 'dtm-atlas-default' AND idp_round_id IS NOT NULL
                UNION ALL
                SELECT returnee_round_id, id, computed_at FROM fragility_run
                WHERE method_id = 'dtm-atlas-default' AND returnee_round_id IS NOT NULL) u
          ORDER BY u.round_id, u.computed_at DESC, u.run_id DESC
        ) rr
        JOIN fragility_result r ON r.run_id = rr.run_id
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW fragility_round_result")
