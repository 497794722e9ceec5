"""Tables of the fragility overlay: ``fragility_run`` (one computation: method, inputs and their
fingerprint), ``fragility_result`` (per unit) and ``fragility_overlay`` (figures per class).
Owner: ``fragility/store.py``. Declared as migration 0008 creates them
(``tests/service/test_schema_drift.py``); the view ``fragility_round_result`` (migration 0009)
is not a table and is not declared.
"""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB

from service.core.schema import metadata

fragility_run = Table(
    "fragility_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("country", CHAR(3), nullable=False),
    Column("round_number", Integer, nullable=False),
    Column("method_id", Text, nullable=False),
    Column("method_version", Text, nullable=False),
    Column("method_sha256", Text, nullable=False),
    Column("method", JSONB, nullable=False),
    # no foreign keys to round: a re-import replaces the round (the fingerprint tells)
    Column("idp_round_id", Integer),
    Column("returnee_round_id", Integer),
    Column(
        "boundary_set_id",
        Integer,
        ForeignKey("boundary_set.id", ondelete="CASCADE", name="fragility_run_boundary_set_id_fkey"),
        nullable=False,
    ),
    Column("fingerprint", Text, nullable=False),
    Column("inputs", JSONB, nullable=False),  # rounds, files (name, SHA-256), population source, issues
    Column("summary", JSONB, nullable=False),  # class counts, uncertainty summary
    Column("import_id", BigInteger, ForeignKey("import_log.id", name="fragility_run_import_id_fkey")),
    Column("stale", Boolean, nullable=False, server_default=text("false")),
    Column("computed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    UniqueConstraint(
        "country",
        "round_number",
        "method_id",
        "method_version",
        name="fragility_run_country_round_number_method_id_method_version_key",
    ),
)

fragility_result = Table(
    "fragility_result",
    metadata,
    Column(
        "run_id",
        Integer,
        ForeignKey("fragility_run.id", ondelete="CASCADE", name="fragility_result_run_id_fkey"),
        nullable=False,
    ),
    Column("level", SmallInteger, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("index", DOUBLE_PRECISION),
    Column("class", SmallInteger),
    Column("completeness", DOUBLE_PRECISION, nullable=False),
    Column("dimensions", JSONB, nullable=False),
    Column("indicators", JSONB, nullable=False),  # level 3: value and score per indicator
    Column("rank_p5", DOUBLE_PRECISION),
    Column("rank_p50", DOUBLE_PRECISION),
    Column("rank_p95", DOUBLE_PRECISION),
    Column("p_high", DOUBLE_PRECISION),
    Column("hotspot", Boolean, nullable=False),
    Column("hotspot_units", Integer),
    Column("idps", BigInteger),
    Column("returnees", BigInteger),
    Column("residents", DOUBLE_PRECISION),
    CheckConstraint("level >= 1 AND level <= 3", name="fragility_result_level_check"),
    CheckConstraint("status IN ('ok', 'insufficient_data')", name="fragility_result_status_check"),
    CheckConstraint("class >= 1 AND class <= 5", name="fragility_result_class_check"),
    PrimaryKeyConstraint("run_id", "level", "pcode", name="fragility_result_pkey"),
)

fragility_overlay = Table(
    "fragility_overlay",
    metadata,
    Column(
        "run_id",
        Integer,
        ForeignKey("fragility_run.id", ondelete="CASCADE", name="fragility_overlay_run_id_fkey"),
        nullable=False,
    ),
    Column("adm1", Text, nullable=False),  # a governorate P-code, 'UNASSIGNED' or the national P-code
    Column("class_key", Text, nullable=False),  # very_low .. very_high, insufficient_data, unassigned
    Column("idps", BigInteger, nullable=False),
    Column("returnees", BigInteger, nullable=False),
    Column("idp_locations", Integer, nullable=False),
    Column("returnee_locations", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "adm1", "class_key", name="fragility_overlay_pkey"),
)
