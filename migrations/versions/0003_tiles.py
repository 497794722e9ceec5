"""Tiles: notify listeners when the data version changes.

Every committed import bumps ``data_version`` in its own transaction; this trigger turns the
bump into ``NOTIFY dtm_atlas_data_version, '<version>'``, delivered at commit (in commit
order). The tile server LISTENs and keeps the version in memory, so a cached tile costs no
database round trip and no tile is served stale after an import (tiles.cache.VersionWatcher).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION dtm_atlas_notify_data_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('dtm_atlas_data_version', NEW.version::text);
          RETURN NEW;
        END
        $$;

        CREATE TRIGGER data_version_notify
          AFTER UPDATE OF version ON data_version
          FOR EACH ROW WHEN (NEW.version IS DISTINCT FROM OLD.version)
          EXECUTE FUNCTION dtm_atlas_notify_data_version();
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS data_version_notify ON data_version; "
        "DROP FUNCTION IF EXISTS dtm_atlas_notify_data_version();"
    )
