"""COPY helpers: bulk loads go through COPY, never per-row INSERTs."""

from __future__ import annotations

import re
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


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def execute_literal(conn: Connection, statement: str, params: dict) -> None:
    """Run a statement PostgreSQL cannot prepare (``CREATE TABLE AS``, several statements)
    with ``:name`` parameters rendered as properly quoted literals by psycopg."""
    from psycopg import sql

    template = statement.replace("{", "{{").replace("}", "}}")
    template = _PARAM.sub(lambda m: "{" + m.group(1) + "}", template)
    names = set(_PARAM.findall(statement))
    composed = sql.SQL(template).format(**{k: sql.Literal(params[k]) for k in names})
    conn.exec_driver_sql(composed.as_string(raw(conn)))
