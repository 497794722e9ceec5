"""Tables of the boundaries: ``boundary_set`` (one imported set of a country's levels),
``admin_unit`` (the units as read), ``admin_unit_generalised`` (coverage-simplified copies per
zoom band) and ``admin_unit_subdivided`` (units cut into small pieces for point-in-polygon
joins). Owner: ``boundaries/store.py``.

Declared as migrations 0001, 0002 and 0017 create them (``tests/service/test_schema_drift.py``).
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
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
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION

from service.core.schema import metadata

boundary_set = Table(
    "boundary_set",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("country", CHAR(3), nullable=False),
    Column("source", Text, nullable=False),
    Column("valid_on", Date, nullable=False),
    Column("is_current", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    # migration 0017: a --replace of a set's level makes revision + 1; the old set is kept
    Column("revision", SmallInteger, nullable=False, server_default=text("0")),
    Column(
        "superseded_by",
        Integer,
        ForeignKey("boundary_set.id", ondelete="SET NULL", name="boundary_set_superseded_by_fkey"),
    ),
    CheckConstraint("revision >= 0", name="boundary_set_revision_check"),
    UniqueConstraint(
        "country", "source", "valid_on", "revision", name="boundary_set_country_source_valid_on_revision_key"
    ),
    Index("boundary_set_one_current", "country", unique=True, postgresql_where=text("is_current")),
)

admin_unit = Table(
    "admin_unit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "boundary_set_id",
        Integer,
        ForeignKey("boundary_set.id", ondelete="CASCADE", name="admin_unit_boundary_set_id_fkey"),
        nullable=False,
    ),
    Column("country", CHAR(3), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("parent_pcode", Text),
    Column("name_en", Text),
    Column("name_ar", Text),
    Column("alt_names", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    Column("source", Text, nullable=False),
    Column("valid_on", Date),
    Column("import_id", BigInteger, ForeignKey("import_log.id", name="admin_unit_import_id_fkey")),
    Column("sha256", Text),
    Column("area_km2", DOUBLE_PRECISION),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    CheckConstraint("level >= 0 AND level <= 3", name="admin_unit_level_check"),
    CheckConstraint("pcode = upper(pcode)", name="admin_unit_pcode_check"),
    UniqueConstraint("boundary_set_id", "pcode", name="admin_unit_boundary_set_id_pcode_key"),
    Index("admin_unit_geom_idx", "geom", postgresql_using="gist"),
    Index("admin_unit_level_idx", "boundary_set_id", "level"),
    Index("admin_unit_pcode_idx", "pcode"),
)

admin_unit_generalised = Table(
    "admin_unit_generalised",
    metadata,
    Column(
        "boundary_set_id",
        Integer,
        ForeignKey("boundary_set.id", ondelete="CASCADE", name="admin_unit_generalised_boundary_set_id_fkey"),
        nullable=False,
    ),
    Column("level", SmallInteger, nullable=False),
    Column("zband", SmallInteger, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("geom_3857", Geometry("MULTIPOLYGON", srid=3857, spatial_index=False), nullable=False),
    PrimaryKeyConstraint("boundary_set_id", "level", "zband", "pcode", name="admin_unit_generalised_pkey"),
    Index("admin_unit_generalised_3857_idx", "geom_3857", postgresql_using="gist"),
)

admin_unit_subdivided = Table(
    "admin_unit_subdivided",
    metadata,
    Column(
        "boundary_set_id",
        Integer,
        ForeignKey("boundary_set.id", ondelete="CASCADE", name="admin_unit_subdivided_boundary_set_id_fkey"),
        nullable=False,
    ),
    Column("level", SmallInteger, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("geom", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
    Index("admin_unit_subdivided_geom_idx", "geom", postgresql_using="gist"),
    Index("admin_unit_subdivided_set_idx", "boundary_set_id", "level"),
)
