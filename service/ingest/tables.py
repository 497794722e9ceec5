"""Tables of the imports: ``round_version`` (every version of a round, migration 0013; owner
``ingest/versions.py``), ``round`` (one import of a master list: country, population, reporting
date; owner ``ingest/rounds.py``) and ``site`` (camps and informal sites; owner
``ingest/sites.py``). Declared as migrations 0002, 0006 and 0007 leave them
(``tests/service/test_schema_drift.py``).
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from service.core.schema import metadata

round_ = Table(
    "round",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("country", CHAR(3), nullable=False),
    Column("population", Text, nullable=False),
    Column("round_number", Integer),  # DTM's number, when its calendar gives one
    Column("reporting_date", Date, nullable=False),
    Column(
        "boundary_set_id", Integer, ForeignKey("boundary_set.id", name="round_boundary_set_id_fkey"), nullable=False
    ),
    Column("import_id", BigInteger, ForeignKey("import_log.id", name="round_import_id_fkey")),
    Column("placement", Text, nullable=False),
    Column("swap_corrected", Boolean, nullable=False),
    Column("source_file", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("population IN ('idp', 'returnee')", name="round_population_check"),
    CheckConstraint("placement IN ('declared', 'spatial')", name="round_placement_check"),
    # checked at commit: a re-import adds the new round next to the old one and removes the old last
    UniqueConstraint(
        "country",
        "population",
        "reporting_date",
        name="round_country_population_date_key",
        deferrable=True,
        initially="IMMEDIATE",
    ),
    Index(
        "round_number_idx",
        "country",
        "population",
        "round_number",
        postgresql_where=text("round_number IS NOT NULL"),
    ),
)

site = Table(
    "site",
    metadata,
    Column("country", CHAR(3), nullable=False),
    Column("site_id", Text, nullable=False),
    Column("name_en", Text),
    Column("name_ar", Text),
    Column("site_type", Text),
    Column("status", Text),
    Column("households", Integer),
    Column("individuals", Integer),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    Column("adm1", Text),
    Column("adm2", Text),
    Column("adm3", Text),
    Column("extra", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("import_id", BigInteger, ForeignKey("import_log.id", name="site_import_id_fkey")),
    PrimaryKeyConstraint("country", "site_id", name="site_pkey"),
    Index("site_geom_idx", "geom", postgresql_using="gist"),
)

#: every version of a round (owner ``ingest/versions.py``, migration 0013): the current one, the
#: superseded ones and the held ones, their row and aggregates kept as JSON while not current
round_version = Table(
    "round_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("country", CHAR(3), nullable=False),
    Column("population", Text, nullable=False),
    Column("reporting_date", Date, nullable=False),
    Column("version", Integer, nullable=False),
    Column("round_id", Integer, nullable=False),
    Column("import_id", BigInteger, ForeignKey("import_log.id", name="round_version_import_id_fkey")),
    Column("state", Text, nullable=False),
    Column("reason", Text),
    Column("rows", Integer),
    Column("individuals", BigInteger),
    Column("round_row", JSONB),
    Column("aggregates", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("state IN ('current', 'superseded', 'held')", name="round_version_state_check"),
    UniqueConstraint("round_id", name="round_version_round_id_key"),
    UniqueConstraint("country", "population", "reporting_date", "version", name="round_version_key"),
    Index(
        "round_version_one_current",
        "country",
        "population",
        "reporting_date",
        unique=True,
        postgresql_where=text("state = 'current'"),
    ),
)
