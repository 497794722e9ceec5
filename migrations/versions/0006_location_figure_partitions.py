"""``location_figure`` partitioned by round (LIST on round_id): one table per round.

An import fills a new table of its own, builds the indexes once over the loaded rows, and
attaches it (the foreign key to ``round`` is then checked in one query, not row by row); a
replaced round's table is dropped whole, at the end of the import, not deleted row by row.
There is no DEFAULT partition (attaching a table would lock it): whoever writes rows for a
round creates its partition first (``service.figures.placement.add_round_partition``).

The key (country, population, round number) of ``round`` becomes DEFERRABLE: a re-import
adds the new round next to the old one and removes the old one at the end of its
transaction, so readers keep seeing the old round, unlocked, until the commit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE location_figure RENAME TO location_figure_unpartitioned;
        ALTER INDEX location_figure_pkey RENAME TO location_figure_unpartitioned_pkey;
        ALTER INDEX location_figure_round_idx RENAME TO location_figure_unpartitioned_round_idx;
        ALTER INDEX location_figure_loc_idx RENAME TO location_figure_unpartitioned_loc_idx;
        ALTER INDEX location_figure_geom_idx RENAME TO location_figure_unpartitioned_geom_idx;
        ALTER TABLE location_figure_unpartitioned
          RENAME CONSTRAINT location_figure_round_id_fkey TO location_figure_unpartitioned_round_id_fkey;

        CREATE TABLE location_figure (LIKE location_figure_unpartitioned INCLUDING DEFAULTS)
          PARTITION BY LIST (round_id);
        ALTER SEQUENCE location_figure_id_seq OWNED BY location_figure.id;
        ALTER TABLE location_figure ADD CONSTRAINT location_figure_pkey PRIMARY KEY (round_id, id);
        CREATE INDEX location_figure_loc_idx ON location_figure (country, location_id);
        CREATE INDEX location_figure_geom_idx ON location_figure USING gist (geom);
        ALTER TABLE location_figure ADD CONSTRAINT location_figure_round_id_fkey
          FOREIGN KEY (round_id) REFERENCES round ON DELETE CASCADE;

        DO $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT id FROM round ORDER BY id LOOP
            EXECUTE format('CREATE TABLE location_figure_r%s PARTITION OF location_figure FOR VALUES IN (%s)',
                           r.id, r.id);
          END LOOP;
        END $$;
        INSERT INTO location_figure SELECT * FROM location_figure_unpartitioned;
        DROP TABLE location_figure_unpartitioned;

        ALTER TABLE round DROP CONSTRAINT round_country_population_round_number_key,
          ADD CONSTRAINT round_country_population_round_number_key
            UNIQUE (country, population, round_number) DEFERRABLE INITIALLY IMMEDIATE;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE round DROP CONSTRAINT round_country_population_round_number_key,
          ADD CONSTRAINT round_country_population_round_number_key UNIQUE (country, population, round_number);
        CREATE TABLE location_figure_flat (LIKE location_figure INCLUDING DEFAULTS);
        INSERT INTO location_figure_flat SELECT * FROM location_figure;
        ALTER SEQUENCE location_figure_id_seq OWNED BY location_figure_flat.id;
        DROP TABLE location_figure;
        ALTER TABLE location_figure_flat RENAME TO location_figure;
        ALTER TABLE location_figure ADD PRIMARY KEY (id);
        ALTER TABLE location_figure ADD FOREIGN KEY (round_id) REFERENCES round ON DELETE CASCADE;
        CREATE INDEX location_figure_round_idx ON location_figure (round_id);
        CREATE INDEX location_figure_loc_idx ON location_figure (country, location_id);
        CREATE INDEX location_figure_geom_idx ON location_figure USING gist (geom);
        """
    )
