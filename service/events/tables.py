"""The tables of ``service.events`` (migration 0016), declared against the one ``metadata``."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import CHAR

from service.core.schema import metadata

event_crisis = Table(
    "event_crisis",
    metadata,
    Column("crisis_id", Text, primary_key=True),
    Column("country", CHAR(3), nullable=False),
    Column("name", Text),
    Column("synthetic", Boolean, nullable=False, server_default=text("false")),
    Column("boundary_set_id", Integer, ForeignKey("boundary_set.id", ondelete="SET NULL")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

event_row = Table(
    "event_row",
    metadata,
    Column("crisis_id", Text, ForeignKey("event_crisis.crisis_id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("loc_code", Text, primary_key=True),
    Column("loc_name", Text),
    Column("adm1", Text, nullable=False),
    Column("adm2", Text, nullable=False),
    Column("adm3", Text, nullable=False),
    Column("placement", Text, nullable=False),
    Column("flag", Text),
    Column("idp_hh", Integer, nullable=False, server_default=text("0")),
    Column("idp_ind", Integer, nullable=False, server_default=text("0")),
    Column("ret_hh", Integer, nullable=False, server_default=text("0")),
    Column("ret_ind", Integer, nullable=False, server_default=text("0")),
    Column("origin_adm1", Text),
    Column("origin_adm2", Text),
    Column("shelter", Text),
    Column("cause", Text),
    Column("source_row", Integer, nullable=False),
    Column("import_id", BigInteger, ForeignKey("import_log.id")),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    CheckConstraint("placement IN ('declared', 'point', 'unassigned')"),
    CheckConstraint("idp_hh >= 0"),
    CheckConstraint("idp_ind >= 0"),
    CheckConstraint("ret_hh >= 0"),
    CheckConstraint("ret_ind >= 0"),
)

event_unit_day = Table(
    "event_unit_day",
    metadata,
    Column("crisis_id", Text, ForeignKey("event_crisis.crisis_id", ondelete="CASCADE"), primary_key=True),
    Column("level", SmallInteger, primary_key=True),
    Column("pcode", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("idp_hh", BigInteger, nullable=False),
    Column("idp_ind", BigInteger, nullable=False),
    Column("ret_hh", BigInteger, nullable=False),
    Column("ret_ind", BigInteger, nullable=False),
    Column("locations", Integer, nullable=False),
    CheckConstraint("level BETWEEN 0 AND 3"),
    Index("event_unit_day_day_idx", "crisis_id", "day"),
)
