"""Figures per round: rounds, locations, location figures, unit aggregates, sites, tokens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- admin polygons cut into small pieces (<= 64 vertices) for fast point-in-polygon joins
        CREATE TABLE admin_unit_subdivided (
            boundary_set_id integer NOT NULL REFERENCES boundary_set ON DELETE CASCADE,
            level           smallint NOT NULL,
            pcode           text NOT NULL,
            geom            geometry(Polygon, 4326) NOT NULL
        );
        CREATE INDEX admin_unit_subdivided_geom_idx ON admin_unit_subdivided USING gist (geom);
        CREATE INDEX admin_unit_subdivided_set_idx ON admin_unit_subdivided (boundary_set_id, level);

        CREATE TABLE round (
            id              serial PRIMARY KEY,
            country         char(3) NOT NULL,
            population      text NOT NULL CHECK (population IN ('idp', 'returnee')),
            round_number    integer NOT NULL,
            reporting_date  date NOT NULL,
            boundary_set_id integer NOT NULL REFERENCES boundary_set,
            import_id       bigint REFERENCES import_log,
            placement       text NOT NULL CHECK (placement IN ('declared', 'spatial')),
            swap_corrected  boolean NOT NULL,
            source_file     text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            UNIQUE (country, population, round_number)
        );

        -- a DTM location (village, neighbourhood, camp) within a country; upserted by imports
        CREATE TABLE location (
            country     char(3) NOT NULL,
            location_id text NOT NULL,
            place_id    text,
            name_en     text,
            name_ar     text,
            geom        geometry(Point, 4326),
            reporting_date date,            -- of the round the names and point were taken from
            updated_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (country, location_id)
        );
        CREATE INDEX location_geom_idx ON location USING gist (geom);

        -- one row per source row of a round (duplicates are kept and flagged, never dropped)
        CREATE TABLE location_figure (
            id              bigserial PRIMARY KEY,
            round_id        integer NOT NULL REFERENCES round ON DELETE CASCADE,
            country         char(3) NOT NULL,
            location_id     text,
            source_row      integer NOT NULL,
            name_en         text,
            name_ar         text,
            families        integer,
            individuals     integer,
            origin          jsonb NOT NULL DEFAULT '{}'::jsonb,
            shelter         jsonb NOT NULL DEFAULT '{}'::jsonb,
            period          jsonb NOT NULL DEFAULT '{}'::jsonb,
            extra           jsonb NOT NULL DEFAULT '{}'::jsonb,
            reported_lat    double precision,
            reported_lon    double precision,
            geom            geometry(Point, 4326),
            declared_adm1_name text,
            declared_adm2_name text,
            declared_adm1   text,
            declared_adm2   text,
            spatial_adm1    text,
            spatial_adm2    text,
            spatial_adm3    text,
            adm1            text NOT NULL,
            adm2            text NOT NULL,
            adm3            text NOT NULL,
            placement       text NOT NULL,
            flags           text[] NOT NULL DEFAULT '{}'
        );
        CREATE INDEX location_figure_round_idx ON location_figure (round_id);
        CREATE INDEX location_figure_loc_idx ON location_figure (country, location_id);
        CREATE INDEX location_figure_geom_idx ON location_figure USING gist (geom);

        -- aggregates per round, level and unit ('UNASSIGNED' is the explicit bucket)
        CREATE TABLE unit_figure (
            round_id        integer NOT NULL REFERENCES round ON DELETE CASCADE,
            level           smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
            pcode           text NOT NULL,
            families        bigint NOT NULL,
            individuals     bigint NOT NULL,
            locations       integer NOT NULL,
            prev_round_id   integer REFERENCES round ON DELETE SET NULL,
            prev_individuals bigint,
            change_individuals bigint,
            change_pct      double precision,
            share_national  double precision,
            PRIMARY KEY (round_id, level, pcode)
        );

        CREATE TABLE unit_breakdown (
            round_id  integer NOT NULL REFERENCES round ON DELETE CASCADE,
            level     smallint NOT NULL,
            pcode     text NOT NULL,
            dimension text NOT NULL CHECK (dimension IN ('origin', 'shelter', 'period')),
            category  text NOT NULL,
            families  bigint NOT NULL,
            PRIMARY KEY (round_id, level, pcode, dimension, category)
        );

        -- origin governorate -> current district, for flow maps
        CREATE TABLE origin_flow (
            round_id     integer NOT NULL REFERENCES round ON DELETE CASCADE,
            origin_name  text NOT NULL,
            origin_adm1  text,
            adm2         text NOT NULL,
            families     bigint NOT NULL,
            PRIMARY KEY (round_id, origin_name, adm2)
        );

        CREATE TABLE site (
            country     char(3) NOT NULL,
            site_id     text NOT NULL,
            name_en     text,
            name_ar     text,
            site_type   text,
            status      text,
            households  integer,
            individuals integer,
            geom        geometry(Point, 4326),
            adm1        text,
            adm2        text,
            adm3        text,
            extra       jsonb NOT NULL DEFAULT '{}'::jsonb,
            import_id   bigint REFERENCES import_log,
            PRIMARY KEY (country, site_id)
        );
        CREATE INDEX site_geom_idx ON site USING gist (geom);

        CREATE TABLE api_token (
            id           serial PRIMARY KEY,
            token_sha256 text NOT NULL UNIQUE,
            role         text NOT NULL CHECK (role IN ('editor', 'admin', 'reader')),
            label        text NOT NULL,
            created_at   timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at   timestamptz
        );
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE api_token, site, origin_flow, unit_breakdown, unit_figure, location_figure, location, round, "
        "admin_unit_subdivided"
    )
