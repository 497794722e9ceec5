"""One convention for shares and relative changes: a fraction 0-1 in data, percent only in
labels. ``unit_figure.change_pct`` and ``change_12m_pct`` (0-100) become ``change_share`` and
``change_12m_share`` (fractions); ``fragility_result.completeness`` becomes a fraction and the
stored indicator ``idp_change_pct`` of level-3 results becomes ``idp_change_share`` (declared
again in ``figures/tables.py`` and ``fragility/tables.py``).

Revision ID: 0024
Revises: 0017
Create Date: 2026-12-05
"""

from alembic import op

revision = "0024"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE unit_figure RENAME COLUMN change_pct TO change_share;
        ALTER TABLE unit_figure RENAME COLUMN change_12m_pct TO change_12m_share;
        UPDATE unit_figure SET change_share = change_share / 100.0, change_12m_share = change_12m_share / 100.0
         WHERE change_share IS NOT NULL OR change_12m_share IS NOT NULL;
        UPDATE fragility_result SET completeness = completeness / 100.0;
        UPDATE fragility_result
           SET indicators = (indicators - 'idp_change_pct') || jsonb_build_object('idp_change_share',
               jsonb_build_object('value', (indicators->'idp_change_pct'->>'value')::float8 / 100.0,
                                  'score', indicators->'idp_change_pct'->'score'))
         WHERE indicators ? 'idp_change_pct';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        UPDATE fragility_result
           SET indicators = (indicators - 'idp_change_share') || jsonb_build_object('idp_change_pct',
               jsonb_build_object('value', (indicators->'idp_change_share'->>'value')::float8 * 100.0,
                                  'score', indicators->'idp_change_share'->'score'))
         WHERE indicators ? 'idp_change_share';
        UPDATE fragility_result SET completeness = completeness * 100.0;
        UPDATE unit_figure SET change_share = change_share * 100.0, change_12m_share = change_12m_share * 100.0
         WHERE change_share IS NOT NULL OR change_12m_share IS NOT NULL;
        ALTER TABLE unit_figure RENAME COLUMN change_12m_share TO change_12m_pct;
        ALTER TABLE unit_figure RENAME COLUMN change_share TO change_pct;
        """
    )
