"""Emergency Tracking (daily events of a crisis) and Flow Monitoring (counts at flow monitoring
points): the tables of ``service.events`` and ``service.flows`` (declared again in their
``tables.py``).

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        -- one crisis of Emergency Tracking (Mosul 2016-17, a flood ...)
        CREATE TABLE event_crisis (
            crisis_id       text PRIMARY KEY,
            country         char(3) NOT NULL,
            name            text,
            synthetic       boolean NOT NULL DEFAULT false,
            boundary_set_id integer REFERENCES boundary_set ON DELETE SET NULL,
            created_at      timestamptz NOT NULL DEFAULT now()
        );

        -- one row per location (or site) and day, as imported and placed
        CREATE TABLE event_row (
            crisis_id    text NOT NULL REFERENCES event_crisis ON DELETE CASCADE,
            day          date NOT NULL,
            loc_code     text NOT NULL,
            loc_name     text,
            adm1         text NOT NULL,
            adm2         text NOT NULL,
            adm3         text NOT NULL,
            placement    text NOT NULL CHECK (placement IN ('declared', 'point', 'unassigned')),
            flag         text,
            idp_hh       integer NOT NULL DEFAULT 0 CHECK (idp_hh >= 0),
            idp_ind      integer NOT NULL DEFAULT 0 CHECK (idp_ind >= 0),
            ret_hh       integer NOT NULL DEFAULT 0 CHECK (ret_hh >= 0),
            ret_ind      integer NOT NULL DEFAULT 0 CHECK (ret_ind >= 0),
            origin_adm1  text,
            origin_adm2  text,
            shelter      text,
            cause        text,
            source_row   integer NOT NULL,
            import_id    bigint REFERENCES import_log,
            geom         geometry(Point, 4326),
            PRIMARY KEY (crisis_id, day, loc_code)
        );

        -- daily sums per unit (levels 0-3; an UNASSIGNED row per level), remade for the days an import touches
        CREATE TABLE event_unit_day (
            crisis_id  text NOT NULL REFERENCES event_crisis ON DELETE CASCADE,
            level      smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
            pcode      text NOT NULL,
            day        date NOT NULL,
            idp_hh     bigint NOT NULL,
            idp_ind    bigint NOT NULL,
            ret_hh     bigint NOT NULL,
            ret_ind    bigint NOT NULL,
            locations  integer NOT NULL,
            PRIMARY KEY (crisis_id, level, pcode, day)
        );
        CREATE INDEX event_unit_day_day_idx ON event_unit_day (crisis_id, day);

        -- flow monitoring points (the point registry)
        CREATE TABLE flow_point (
            fmp_id      text PRIMARY KEY,
            name        text,
            point_type  text,
            country     char(3) NOT NULL,
            adm1        text,
            adm2        text,
            placement   text NOT NULL CHECK (placement IN ('declared', 'point', 'unchecked', 'unassigned')),
            synthetic   boolean NOT NULL DEFAULT false,
            import_id   bigint REFERENCES import_log,
            geom        geometry(Point, 4326)
        );

        -- counts at the points, by day (D: DTM West and Central Africa) or month (M: East and Horn of Africa)
        CREATE TABLE flow_count (
            fmp_id          text NOT NULL,
            t               date NOT NULL,
            period          char(1) NOT NULL CHECK (period IN ('D', 'M')),
            route           text NOT NULL DEFAULT '',
            subroute        text NOT NULL DEFAULT '',
            direction       text NOT NULL DEFAULT '' CHECK (direction IN ('', 'incoming', 'outgoing')),
            origin          text NOT NULL DEFAULT '',
            previous        text NOT NULL DEFAULT '',
            next            text NOT NULL DEFAULT '',
            final           text NOT NULL DEFAULT '',
            nationality     text NOT NULL DEFAULT '',
            n               integer NOT NULL CHECK (n >= 0),
            reason_seasonal integer,
            reason_disaster integer,
            reason_conflict integer,
            reason_economic integer,
            import_id       bigint
        );
        CREATE INDEX flow_count_point_day_idx ON flow_count (fmp_id, t);

        -- monthly sums per point, direction, origin and destination: flow lines, maps, tiles
        CREATE TABLE flow_month (
            fmp_id    text NOT NULL,
            month     date NOT NULL,
            direction text NOT NULL,
            origin    text NOT NULL,
            final     text NOT NULL,
            n         bigint NOT NULL,
            PRIMARY KEY (fmp_id, month, direction, origin, final)
        );
        CREATE INDEX flow_month_month_idx ON flow_month (month);

        -- where an origin or destination is drawn: a country (its capital) or an admin unit (a point on it)
        CREATE TABLE flow_place (
            code  text PRIMARY KEY,
            kind  text NOT NULL CHECK (kind IN ('country', 'pcode')),
            name  text,
            geom  geometry(Point, 4326)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE flow_place, flow_month, flow_count, flow_point, event_unit_day, event_row, event_crisis")
