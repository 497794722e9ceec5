"""Owner of ``import_log`` and ``data_version``.

Every import records itself. A committed import writes its log row inside the import's own
transaction and bumps the data version there too, so caches never see data without the bump.
A rejected import rolls back, then records the rejection in a transaction of its own.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text


def current_user() -> str:
    """Who an import is logged as when its caller names nobody (the CLI names the setting
    ``user``, DTM_ATLAS_USER; the API the signed-in user): the OS user."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


@dataclass
class ImportRecord:
    kind: str
    file_name: str | None
    sha256: str | None
    username: str = field(default_factory=current_user)
    rows_read: int | None = None
    rows_accepted: int | None = None
    rows_flagged: int | None = None
    details: dict = field(default_factory=dict)


def log_import(conn: Connection, rec: ImportRecord, outcome: str, message: str | None = None) -> int:
    return conn.execute(
        text(
            """
            INSERT INTO import_log (kind, file_name, sha256, rows_read, rows_accepted, rows_flagged,
                                    finished_at, username, outcome, message, details)
            VALUES (:kind, :file_name, :sha256, :rows_read, :rows_accepted, :rows_flagged,
                    clock_timestamp(), :username, :outcome, :message, CAST(:details AS jsonb))
            RETURNING id
            """
        ),
        {
            "kind": rec.kind,
            "file_name": rec.file_name,
            "sha256": rec.sha256,
            "rows_read": rec.rows_read,
            "rows_accepted": rec.rows_accepted,
            "rows_flagged": rec.rows_flagged,
            "username": rec.username,
            "outcome": outcome,
            "message": message,
            "details": json.dumps(rec.details, default=str, ensure_ascii=False),
        },
    ).scalar_one()


def log_rejection(engine: Engine, rec: ImportRecord, message: str) -> None:
    """Record a rejected import after its transaction rolled back; never raises."""
    try:
        with engine.begin() as conn:
            log_import(conn, rec, "rejected", message)
    except Exception:
        pass


def bump_data_version(conn: Connection) -> int:
    return conn.execute(
        text("UPDATE data_version SET version = version + 1, changed_at = now() RETURNING version")
    ).scalar_one()


def data_version(conn: Connection) -> int:
    return conn.execute(text("SELECT version FROM data_version")).scalar_one()
