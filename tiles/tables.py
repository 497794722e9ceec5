"""Tables of the tiles: ``admin_unit_tile``, the generalised units cut into tiles at import (tile
coordinates, no SRID). Owner: ``tiles/pretile.py``. Declared as migration 0004 creates it.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import Column, ForeignKey, Integer, PrimaryKeyConstraint, SmallInteger, Table, Text

from service.core.schema import metadata

admin_unit_tile = Table(
    "admin_unit_tile",
    metadata,
    Column(
        "boundary_set_id",
        Integer,
        ForeignKey("boundary_set.id", ondelete="CASCADE", name="admin_unit_tile_boundary_set_id_fkey"),
        nullable=False,
    ),
    Column("level", SmallInteger, nullable=False),
    Column("z", SmallInteger, nullable=False),
    Column("x", Integer, nullable=False),
    Column("y", Integer, nullable=False),
    Column("pcode", Text, nullable=False),
    Column("geom", Geometry(spatial_index=False), nullable=False),
    PrimaryKeyConstraint("boundary_set_id", "level", "z", "x", "y", "pcode", name="admin_unit_tile_pkey"),
)
