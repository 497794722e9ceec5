"""The tables of ``service.flows`` (migration 0016), declared against the one ``metadata``."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import CHAR

from service.core.schema import metadata

flow_point = Table(
    "flow_point",
    metadata,
    Column("fmp_id", Text, primary_key=True),
    Column("name", Text),
    Column("point_type", Text),
    Column("country", CHAR(3), nullable=False),
    Column("adm1", Text),
    Column("adm2", Text),
    Column("placement", Text, nullable=False),
    Column("synthetic", Boolean, nullable=False, server_default=text("false")),
    Column("import_id", BigInteger, ForeignKey("import_log.id")),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    CheckConstraint("placement IN ('declared', 'point', 'unchecked', 'unassigned')"),
)

flow_count = Table(
    "flow_count",
    metadata,
    Column("fmp_id", Text, nullable=False),
    Column("t", Date, nullable=False),
    Column("period", CHAR(1), nullable=False),
    Column("route", Text, nullable=False, server_default=text("''")),
    Column("subroute", Text, nullable=False, server_default=text("''")),
    Column("direction", Text, nullable=False, server_default=text("''")),
    Column("origin", Text, nullable=False, server_default=text("''")),
    Column("previous", Text, nullable=False, server_default=text("''")),
    Column("next", Text, nullable=False, server_default=text("''")),
    Column("final", Text, nullable=False, server_default=text("''")),
    Column("nationality", Text, nullable=False, server_default=text("''")),
    Column("n", Integer, nullable=False),
    Column("reason_seasonal", Integer),
    Column("reason_disaster", Integer),
    Column("reason_conflict", Integer),
    Column("reason_economic", Integer),
    Column("import_id", BigInteger),
    CheckConstraint("period IN ('D', 'M')"),
    CheckConstraint("direction IN ('', 'incoming', 'outgoing')"),
    CheckConstraint("n >= 0"),
    Index("flow_count_point_day_idx", "fmp_id", "t"),
)

flow_month = Table(
    "flow_month",
    metadata,
    Column("fmp_id", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("direction", Text, primary_key=True),
    Column("origin", Text, primary_key=True),
    Column("final", Text, primary_key=True),
    Column("n", BigInteger, nullable=False),
    Index("flow_month_month_idx", "month"),
)

flow_place = Table(
    "flow_place",
    metadata,
    Column("code", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("name", Text),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    CheckConstraint("kind IN ('country', 'pcode')"),
)
