"""The tables of indicator datasets (site assessments, location assessments, indices), declared
with SQLAlchemy Core against the one ``metadata`` (migration 0014 creates the same).

Owner of every table here: ``service.indicators`` (its SQL lives in this package only).

* ``indicator_dataset``: one imported file = one dataset (country, component, round or period,
  unit of observation, access). ``access`` is ``restricted`` until an editor publishes it.
* ``indicator_column``: the catalogue of a dataset's columns (label en/ar, type, unit, HXL tag,
  aggregation rule, sensitivity).
* ``indicator_observation``: one row per site or location: its point, the P-codes it was placed
  in per level (NULL: the UNASSIGNED bucket of that level), how it was placed, and its values
  as JSONB (typed by the catalogue; aggregated set-based with ``jsonb_each``).
* ``indicator_aggregate``: the values per admin unit and level by each column's rule; level 0 is
  the national row; ``pcode = 'UNASSIGNED'`` holds what could not be placed at that level.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from service.core.schema import metadata

ACCESS = ("public", "partner", "restricted")
COMPONENTS = ("site_assessment", "location_assessment", "index", "baseline")
UNITS = ("site", "location")
TYPES = ("integer", "number", "text", "boolean", "date", "select_one", "select_multiple", "area", "code", "key")
RULES = ("sum", "mean", "weighted_mean", "share", "count", "none")

indicator_dataset = Table(
    "indicator_dataset",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("country", String(3), nullable=False),
    Column("component", Text, nullable=False),
    Column("round_label", Text),
    Column("reporting_date", Date),
    Column("unit", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("access", Text, nullable=False, server_default=text("'restricted'")),
    Column("boundary_set_id", Integer, ForeignKey("boundary_set.id", ondelete="SET NULL")),
    Column("file_name", Text),
    Column("sha256", Text),
    Column("import_id", BigInteger, ForeignKey("import_log.id")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("access IN ('public', 'partner', 'restricted')", name="indicator_dataset_access_check"),
    CheckConstraint(
        "component IN ('site_assessment', 'location_assessment', 'index', 'baseline')",
        name="indicator_dataset_component_check",
    ),
    CheckConstraint("unit IN ('site', 'location')", name="indicator_dataset_unit_check"),
)

indicator_column = Table(
    "indicator_column",
    metadata,
    Column("dataset_id", Integer, ForeignKey("indicator_dataset.id", ondelete="CASCADE"), primary_key=True),
    Column("column_id", Text, primary_key=True),
    Column("position", SmallInteger, nullable=False),
    Column("header", Text, nullable=False),
    Column("label_en", Text, nullable=False),
    Column("label_ar", Text),
    Column("type", Text, nullable=False),
    Column("unit", Text),
    Column("hxl", Text),
    Column("aggregation", Text, nullable=False, server_default=text("'none'")),
    Column("weight", Text),
    Column("share_of", Text),
    Column("sensitivity", Text, nullable=False, server_default=text("'public'")),
    Column("source", Text, nullable=False),
    Column("description", Text),
    CheckConstraint(
        "aggregation IN ('sum', 'mean', 'weighted_mean', 'share', 'count', 'none')",
        name="indicator_column_aggregation_check",
    ),
    CheckConstraint("sensitivity IN ('public', 'partner', 'restricted')", name="indicator_column_sensitivity_check"),
)

indicator_observation = Table(
    "indicator_observation",
    metadata,
    Column("dataset_id", Integer, ForeignKey("indicator_dataset.id", ondelete="CASCADE"), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("obs_id", Text, nullable=False),
    Column("name", Text),
    Column("geom", Geometry("POINT", 4326, spatial_index=False)),
    Column("adm1", Text),
    Column("adm2", Text),
    Column("adm3", Text),
    Column("placement", Text, nullable=False),
    Column("values", JSONB, nullable=False),
    UniqueConstraint("dataset_id", "obs_id", name="indicator_observation_obs_key"),
    Index("indicator_observation_geom_idx", "geom", postgresql_using="gist"),
)

indicator_aggregate = Table(
    "indicator_aggregate",
    metadata,
    Column("dataset_id", Integer, ForeignKey("indicator_dataset.id", ondelete="CASCADE"), primary_key=True),
    Column("level", SmallInteger, primary_key=True),
    Column("pcode", Text, primary_key=True),
    Column("column_id", Text, primary_key=True),
    Column("value", Float),
    Column("n", Integer, nullable=False),
)
