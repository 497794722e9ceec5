"""Tables of the figures: ``location`` and ``location_figure`` (one row per source row of a round,
a LIST partition per round; owner ``figures/placement.py``), ``unit_figure``,
``unit_breakdown`` and ``origin_flow`` (aggregates per round, level and unit; owner
``figures/aggregate.py``). Declared as migrations 0002, 0005-0007, 0010 and 0011 leave them
(``tests/service/test_schema_drift.py``).

``location_figure``'s partitions (``location_figure_r<round id>``) are made and attached by
``placement``, one per round; they are not declared here. ``location_figure`` and
``unit_breakdown`` have no foreign key to ``round`` (migration 0010: a round's rows go with its
partition, and a replaced round's aggregates are deleted by ``aggregate``).
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    CHAR,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB

from service.core.schema import metadata

_EMPTY = text("'{}'::jsonb")

location = Table(
    "location",
    metadata,
    Column("country", CHAR(3), nullable=False),
    Column("location_id", Text, nullable=False),
    Column("place_id", Text),
    Column("name_en", Text),
    Column("name_ar", Text),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    Column("reporting_date", Date),  # of the round the names and point were taken from
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("country", "location_id", name="location_pkey"),
)

location_figure = Table(
    "location_figure",
    metadata,
    # bigserial (its sequence, location_figure_id_seq, survives the partitioning of migration 0006)
    Column("id", BigInteger, nullable=False, autoincrement=True),
    Column("round_id", Integer, nullable=False),
    Column("country", CHAR(3), nullable=False),
    Column("location_id", Text),
    Column("source_row", Integer, nullable=False),
    Column("name_en", Text),
    Column("name_ar", Text),
    Column("families", Integer),
    Column("individuals", Integer),
    Column("origin", JSONB, nullable=False, server_default=_EMPTY),
    Column("shelter", JSONB, nullable=False, server_default=_EMPTY),
    Column("period", JSONB, nullable=False, server_default=_EMPTY),
    Column("extra", JSONB, nullable=False, server_default=_EMPTY),
    Column("reported_lat", DOUBLE_PRECISION),
    Column("reported_lon", DOUBLE_PRECISION),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    Column("declared_adm1_name", Text),
    Column("declared_adm2_name", Text),
    Column("declared_adm1", Text),
    Column("declared_adm2", Text),
    Column("spatial_adm1", Text),
    Column("spatial_adm2", Text),
    Column("spatial_adm3", Text),
    Column("adm1", Text, nullable=False),
    Column("adm2", Text, nullable=False),
    Column("adm3", Text, nullable=False),
    Column("placement", Text, nullable=False),
    Column("flags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    PrimaryKeyConstraint("round_id", "id", name="location_figure_pkey"),
    Index("location_figure_loc_idx", "country", "location_id"),
    Index("location_figure_geom_idx", "geom", postgresql_using="gist"),
    postgresql_partition_by="LIST (round_id)",
)

unit_figure = Table(
    "unit_figure",
    metadata,
    Column(
        "round_id",
        Integer,
        ForeignKey("round.id", ondelete="CASCADE", name="unit_figure_round_id_fkey"),
        nullable=False,
    ),
    Column("level", SmallInteger, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("families", BigInteger, nullable=False),
    Column("individuals", BigInteger, nullable=False),
    Column("locations", Integer, nullable=False),
    Column(
        "prev_round_id", Integer, ForeignKey("round.id", ondelete="SET NULL", name="unit_figure_prev_round_id_fkey")
    ),
    Column("prev_individuals", BigInteger),
    Column("change_individuals", BigInteger),
    Column("change_share", DOUBLE_PRECISION),  # a fraction (-1 = all left)
    Column("share_national", DOUBLE_PRECISION),
    Column(
        "ref12_round_id", Integer, ForeignKey("round.id", ondelete="SET NULL", name="unit_figure_ref12_round_id_fkey")
    ),
    Column("individuals_12m_ago", BigInteger),
    Column("change_12m_individuals", BigInteger),
    Column("change_12m_share", DOUBLE_PRECISION),
    Column("published_individuals", BigInteger, nullable=False),  # DTM's count (figures/household.py)
    CheckConstraint("level >= 0 AND level <= 3", name="unit_figure_level_check"),
    PrimaryKeyConstraint("round_id", "level", "pcode", name="unit_figure_pkey"),
)

unit_breakdown = Table(
    "unit_breakdown",
    metadata,
    Column("round_id", Integer, nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("dimension", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("families", BigInteger, nullable=False),
    CheckConstraint("dimension IN ('origin', 'shelter', 'period')", name="unit_breakdown_dimension_check"),
    PrimaryKeyConstraint("round_id", "level", "pcode", "dimension", "category", name="unit_breakdown_pkey"),
)

origin_flow = Table(
    "origin_flow",
    metadata,
    Column(
        "round_id",
        Integer,
        ForeignKey("round.id", ondelete="CASCADE", name="origin_flow_round_id_fkey"),
        nullable=False,
    ),
    Column("origin_name", Text, nullable=False),
    Column("origin_adm1", Text),
    Column("adm2", Text, nullable=False),
    Column("families", BigInteger, nullable=False),
    PrimaryKeyConstraint("round_id", "origin_name", "adm2", name="origin_flow_pkey"),
)
