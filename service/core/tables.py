"""Tables of the base layer: ``data_version`` (one row; every committed import bumps it, caches
key on it) and ``import_log`` (every import, committed or rejected). Owner: ``core/importlog.py``.

Declared as migrations 0001 and 0003 create them (``tests/service/test_schema_drift.py``
holds the two together); the NOTIFY trigger on ``data_version`` lives in migration 0003 only.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, DateTime, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from service.core.schema import metadata

data_version = Table(
    "data_version",
    metadata,
    Column("singleton", Boolean, primary_key=True, server_default=text("true")),
    Column("version", BigInteger, nullable=False, server_default=text("0")),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    CheckConstraint("singleton", name="data_version_singleton_check"),
)

import_log = Table(
    "import_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("file_name", Text),
    Column("sha256", Text),
    Column("rows_read", Integer),
    Column("rows_accepted", Integer),
    Column("rows_flagged", Integer),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("finished_at", DateTime(timezone=True)),
    Column("username", Text),
    Column("outcome", Text, nullable=False),
    Column("message", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    CheckConstraint(
        "outcome IN ('running', 'committed', 'unchanged', 'rejected', 'held')",  # 'held': migration 0013
        name="import_log_outcome_check",
    ),
)
