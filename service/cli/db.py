"""``dtm-atlas db ...``: the embedded PostgreSQL/PostGIS cluster and migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.common import console, fail, open_engine
from service.core.settings import get_settings

app = typer.Typer(help="The database: embedded PostgreSQL/PostGIS cluster and migrations.", no_args_is_help=True)


@app.command("start")
def db_start():
    """Create (first time) and start the embedded PostgreSQL cluster, then apply migrations."""
    settings = get_settings()
    if not settings.embedded:
        console.print("DATABASE_URL is set: using that server; no embedded cluster is started.")
        open_engine()
        return
    from service import db

    pg = db.embedded(settings)
    try:
        pg.start()
    except Exception as exc:  # noqa: BLE001
        fail(str(exc))
    if pg.recovery:
        console.print(pg.recovery)
    open_engine()
    st = db.embedded(settings).status()
    console.print(f"embedded PostgreSQL running on 127.0.0.1:{st['port']} (data in {st['pgdata']})")


@app.command("stop")
def db_stop():
    """Stop the embedded cluster (no effect with DATABASE_URL)."""
    settings = get_settings()
    if not settings.embedded:
        console.print("DATABASE_URL is set: nothing to stop.")
        return
    from service import db

    stopped = db.embedded(settings).stop()
    console.print("stopped" if stopped else "not running")


@app.command("status")
def db_status():
    """Show whether the database runs, where, and its migration state."""
    settings = get_settings()
    from service import db

    if settings.embedded:
        st = db.embedded(settings).status()
        console.print(
            f"embedded cluster: {'running' if st['running'] else 'stopped'}"
            f" (initialised: {st['initialised']}, port: {st['port']}, data: {st['pgdata']})"
        )
        if not st["running"]:
            raise typer.Exit(3)
    else:
        console.print("external server from DATABASE_URL")
    engine = db.get_engine(settings, start=False)
    try:
        console.print(
            f"PostGIS {db.postgis_version(engine)}; migration {db.current_revision(engine)} "
            f"(head {db.head_revision(engine)})"
        )
    except Exception as exc:  # noqa: BLE001
        fail(f"cannot connect: {exc}")


@app.command("migrate")
def db_migrate(revision: Annotated[str, typer.Argument(help="Target revision")] = "head"):
    """Apply Alembic migrations (the only way the schema changes)."""
    from service import db

    settings = get_settings()
    engine = db.get_engine(settings)
    try:
        rev = db.migrate(engine, revision)
    except Exception as exc:  # noqa: BLE001
        fail(f"migration failed: {exc}")
    console.print(f"database at migration {rev}")
