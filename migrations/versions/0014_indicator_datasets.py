"""Indicator datasets: site assessments, location assessments and indices of any operation.

``indicator_dataset`` (one imported file), ``indicator_column`` (its catalogue),
``indicator_observation`` (one row per site or location, values as JSONB) and
``indicator_aggregate`` (values per admin unit and level by each column's rule, with the
UNASSIGNED bucket and the national row). Declared also in ``service/indicators/tables.py``.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE indicator_dataset (
            id              serial PRIMARY KEY,
            country         varchar(3) NOT NULL,
            component       text NOT NULL,
            round_label     text,
            reporting_date  date,
            unit            text NOT NULL,
            title           text NOT NULL,
            access          text NOT NULL DEFAULT 'restricted',
            boundary_set_id integer REFERENCES boundary_set (id) ON DELETE SET NULL,
            file_name       text,
            sha256          text,
            import_id       bigint REFERENCES import_log (id),
            created_at      timestamp with time zone NOT NULL DEFAULT now(),
            CONSTRAINT indicator_dataset_access_check CHECK (access IN ('public', 'partner', 'restricted')),
            CONSTRAINT indicator_dataset_component_check
                CHECK (component IN ('site_assessment', 'location_assessment', 'index', 'baseline')),
            CONSTRAINT indicator_dataset_unit_check CHECK (unit IN ('site', 'location'))
        );
        CREATE TABLE indicator_column (
            dataset_id  integer NOT NULL REFERENCES indicator_dataset (id) ON DELETE CASCADE,
            column_id   text NOT NULL,
            position    smallint NOT NULL,
            header      text NOT NULL,
            label_en    text NOT NULL,
            label_ar    text,
            type        text NOT NULL,
            unit        text,
            hxl         text,
            aggregation text NOT NULL DEFAULT 'none',
            weight      text,
            share_of    text,
            sensitivity text NOT NULL DEFAULT 'public',
            source      text NOT NULL,
            description text,
            PRIMARY KEY (dataset_id, column_id),
            CONSTRAINT indicator_column_aggregation_check
                CHECK (aggregation IN ('sum', 'mean', 'weighted_mean', 'share', 'count', 'none')),
            CONSTRAINT indicator_column_sensitivity_check CHECK (sensitivity IN ('public', 'partner', 'restricted'))
        );
        CREATE TABLE indicator_observation (
            dataset_id integer NOT NULL REFERENCES indicator_dataset (id) ON DELETE CASCADE,
            row_number integer NOT NULL,
            obs_id     text NOT NULL,
            name       text,
            geom       geometry(Point, 4326),
            adm1       text,
            adm2       text,
            adm3       text,
            placement  text NOT NULL,
            "values"   jsonb NOT NULL,
            PRIMARY KEY (dataset_id, row_number),
            CONSTRAINT indicator_observation_obs_key UNIQUE (dataset_id, obs_id)
        );
        CREATE INDEX indicator_observation_geom_idx ON indicator_observation USING gist (geom);
        CREATE TABLE indicator_aggregate (
            dataset_id integer NOT NULL REFERENCES indicator_dataset (id) ON DELETE CASCADE,
            level      smallint NOT NULL,
            pcode      text NOT NULL,
            column_id  text NOT NULL,
            value      double precision,
            n          integer NOT NULL,
            PRIMARY KEY (dataset_id, level, pcode, column_id)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE indicator_aggregate; DROP TABLE indicator_observation; "
        "DROP TABLE indicator_column; DROP TABLE indicator_dataset"
    )
