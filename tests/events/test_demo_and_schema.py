"""The demo's synthetic crisis and FMP network; the declared tables match migration 0016."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy import text

from tests.conftest import settings_for


def test_demo_loads_one_synthetic_crisis_and_network_once(iraq_fresh_engine):
    from service.demo import DEMO_CRISIS, demo_events_flows

    console = Console(record=True, width=200)
    demo_events_flows(iraq_fresh_engine, settings_for(iraq_fresh_engine), console, fmp_years=0.1)
    demo_events_flows(iraq_fresh_engine, settings_for(iraq_fresh_engine), console, fmp_years=0.1)
    out = console.export_text()
    assert f"SYNTHETIC ETT crisis {DEMO_CRISIS}" in out and "SYNTHETIC FMP network: 66 points" in out
    assert "loaded already" in out
    with iraq_fresh_engine.connect() as conn:
        crisis = conn.execute(text("SELECT synthetic, name FROM event_crisis")).all()
        points = conn.execute(text("SELECT count(*), bool_and(synthetic) FROM flow_point")).one()
        days = conn.execute(text("SELECT count(DISTINCT day) FROM event_row")).scalar_one()
    assert crisis == [(True, "Mosul-like onset (synthetic)")] and tuple(points) == (66, True) and days == 60


def test_declared_tables_match_the_migration(fresh_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import MetaData, Table

    import service.events.tables  # noqa: F401 - declares its tables
    import service.flows.tables  # noqa: F401
    from service.core.schema import metadata

    ours = {"event_crisis", "event_row", "event_unit_day", "flow_point", "flow_count", "flow_month", "flow_place"}
    assert ours <= set(metadata.tables)
    m = MetaData()  # our tables, and the tables they refer to as the database has them
    with fresh_engine.connect() as conn:
        for name in ("boundary_set", "import_log"):
            if name in metadata.tables:
                metadata.tables[name].to_metadata(m)
            else:
                Table(name, m, autoload_with=conn)
        for name in sorted(ours):
            metadata.tables[name].to_metadata(m)
        ctx = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_name": lambda name, kind, parent: kind != "table" or name in ours},
        )
        diff = compare_metadata(ctx, m)

    def table_of(d):
        d = d[0] if isinstance(d, list) else d
        for x in d[1:]:
            name = getattr(x, "name", None) if not isinstance(x, str) else None
            t = getattr(x, "table", None)
            if t is not None and getattr(t, "name", None):
                return t.name
            if name in ours:
                return name
        return d[2] if len(d) > 2 and isinstance(d[2], str) else None

    mine = [d for d in diff if table_of(d) in ours]
    assert mine == []
