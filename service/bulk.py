"""COPY helpers: bulk loads go through COPY, never per-row INSERTs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import shapely
from sqlalchemy import Connection


def raw(conn: Connection):
    """The psycopg connection under a SQLAlchemy connection (same transaction)."""
    return conn.connection.driver_connection


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY ``rows`` into ``table(columns)`` inside the caller's transaction."""
    n = 0
    cols = ", ".join(columns)
    with raw(conn).cursor() as cur:
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
                n += 1
    return n


def ewkb_hex(geoms: Sequence, srid: int) -> list[str | None]:
    arr = np.asarray(geoms, dtype=object)
    out = shapely.to_wkb(shapely.set_srid(arr, srid), hex=True, include_srid=True)
    return [None if g is None else s for g, s in zip(arr, out)]
