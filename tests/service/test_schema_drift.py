"""The declared tables (SQLAlchemy Core + GeoAlchemy2, each in its owner's ``tables`` module,
all in ``service.core.schema.metadata``) against a freshly migrated database, with Alembic's
own comparison: a migration and the code cannot drift apart.

Compared: tables, columns, types (geometry type and SRID included), nullability, server
defaults, primary keys, unique constraints, indexes (partial and GiST ones too) and foreign
keys. Not compared (Alembic does not): CHECK constraints, views (``fragility_round_result``),
triggers and functions (``data_version``'s NOTIFY).

Left out (``include_object``): PostGIS's own ``spatial_ref_sys``, and the partitions of
``location_figure`` (``location_figure_r<round id>``: one per round, made and attached by
``figures/placement.py`` at import, not declared).
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, Text, text

import boundaries
import service
import styles
import tiles
from service.core.schema import metadata

_PARTITION = re.compile(r"^location_figure_r\d+$")


def declared() -> MetaData:
    """``metadata`` with every module of the service imported: each declares its tables where
    its owner lives (``<package>/tables.py``, ``service/auth``...), and none may be missed."""
    for pkg in (service, boundaries, tiles, styles):
        for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not mod.name.endswith("__main__"):
                importlib.import_module(mod.name)
    return metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "table" and reflected and compare_to is None:
        return name != "spatial_ref_sys" and not _PARTITION.match(name)
    return True


def differences(conn, target: MetaData) -> list:
    ctx = MigrationContext.configure(
        conn,
        opts={"compare_type": True, "compare_server_default": True, "include_object": include_object},
    )
    return compare_metadata(ctx, target)


def test_declared_tables_are_the_migrated_tables(fresh_engine):
    target = declared()
    with fresh_engine.begin() as conn:
        # a round's partition, as an import makes it: not a declared table, and not a difference
        conn.execute(text("CREATE TABLE location_figure_r1 PARTITION OF location_figure FOR VALUES IN (1)"))
        diff = differences(conn, target)
    assert diff == [], "the declared tables and the migrations differ:\n" + "\n".join(map(str, diff))
    assert len(target.tables) == 32  # 18 + four indicator_* + access_audit + round_version + seven of events and
    # flows + auth_session


def test_a_column_declared_without_its_migration_is_a_difference(fresh_engine):
    """The comparison sees a change made in code only (here: a column added to a copy)."""
    copy = MetaData()
    for table in declared().tables.values():
        table.to_metadata(copy)
    copy.tables["round"].append_column(Column("note", Text))
    with fresh_engine.connect() as conn:
        diff = differences(conn, copy)
    assert [d[:3] + (d[3].name,) if d[0] == "add_column" else d for d in diff] == [
        ("add_column", None, "round", "note")
    ]
