"""Foundation: PostGIS, data version, import log, boundary sets and admin units.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(
        """
        -- one row; every committed import bumps it, caches key on it
        CREATE TABLE data_version (
            singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version    bigint NOT NULL DEFAULT 0,
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO data_version (singleton, version) VALUES (true, 0);

        CREATE TABLE import_log (
            id            bigserial PRIMARY KEY,
            kind          text NOT NULL,
            file_name     text,
            sha256        text,
            rows_read     integer,
            rows_accepted integer,
            rows_flagged  integer,
            started_at    timestamptz NOT NULL DEFAULT now(),
            finished_at   timestamptz,
            username      text,
            outcome       text NOT NULL CHECK (outcome IN ('running', 'committed', 'unchanged', 'rejected')),
            message       text,
            details       jsonb NOT NULL DEFAULT '{}'::jsonb
        );

        CREATE TABLE boundary_set (
            id         serial PRIMARY KEY,
            country    char(3) NOT NULL,
            source     text NOT NULL,
            valid_on   date NOT NULL,
            is_current boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (country, source, valid_on)
        );
        CREATE UNIQUE INDEX boundary_set_one_current ON boundary_set (country) WHERE is_current;

        CREATE TABLE admin_unit (
            id              serial PRIMARY KEY,
            boundary_set_id integer NOT NULL REFERENCES boundary_set ON DELETE CASCADE,
            country         char(3) NOT NULL,
            level           smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
            pcode           text NOT NULL CHECK (pcode = upper(pcode)),
            parent_pcode    text,
            name_en         text,
            name_ar         text,
            alt_names       text[] NOT NULL DEFAULT '{}',
            source          text NOT NULL,
            valid_on        date,
            import_id       bigint REFERENCES import_log,
            sha256          text,
            area_km2        double precision,
            geom            geometry(MultiPolygon, 4326) NOT NULL,
            UNIQUE (boundary_set_id, pcode)
        );
        CREATE INDEX admin_unit_geom_idx ON admin_unit USING gist (geom);
        CREATE INDEX admin_unit_level_idx ON admin_unit (boundary_set_id, level);
        CREATE INDEX admin_unit_pcode_idx ON admin_unit (pcode);

        -- coverage-simplified copies per zoom band, made once at import (boundaries.generalise)
        CREATE TABLE admin_unit_generalised (
            boundary_set_id integer NOT NULL REFERENCES boundary_set ON DELETE CASCADE,
            level           smallint NOT NULL,
            zband           smallint NOT NULL,
            pcode           text NOT NULL,
            geom            geometry(MultiPolygon, 4326) NOT NULL,
            geom_3857       geometry(MultiPolygon, 3857) NOT NULL,
            PRIMARY KEY (boundary_set_id, level, zband, pcode)
        );
        CREATE INDEX admin_unit_generalised_3857_idx ON admin_unit_generalised USING gist (geom_3857);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE admin_unit_generalised; DROP TABLE admin_unit; DROP TABLE boundary_set; "
        "DROP TABLE import_log; DROP TABLE data_version;"
    )
