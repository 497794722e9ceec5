"""The declared schema: one SQLAlchemy ``MetaData`` that every owner module declares its tables in.

Each kind of data declares its tables (SQLAlchemy Core + GeoAlchemy2) in its own package, against
this ``metadata``; Alembic's comparison (``tests/service/test_schema_drift.py``) holds the
declared tables against the migrated database, so a migration and the code cannot drift.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
