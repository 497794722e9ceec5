"""The ``dtm-atlas`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from service.settings import get_settings
from tiles import cli as tiles_cli

app = typer.Typer(help="DTM Atlas: displacement figures, boundaries, maps and exports.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: embedded PostgreSQL/PostGIS cluster and migrations.", no_args_is_help=True)
boundaries_app = typer.Typer(help="Admin boundaries: import files, check the hierarchy, list sets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(boundaries_app, name="boundaries")
app.add_typer(tiles_cli.app, name="tiles")

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _engine(migrate: bool = True):
    from service import db

    settings = get_settings()
    try:
        engine = db.get_engine(settings)
        if migrate:
            db.migrate(engine)
    except Exception as exc:  # noqa: BLE001 - shown to the user, with the reason
        fail(f"database: {exc}")
    return engine


# ------------------------------------------------------------------------------------ db
@db_app.command("start")
def db_start():
    """Create (first time) and start the embedded PostgreSQL cluster, then apply migrations."""
    settings = get_settings()
    if not settings.embedded:
        console.print("DATABASE_URL is set: using that server; no embedded cluster is started.")
        _engine()
        return
    from service import db

    try:
        db.embedded(settings).start()
    except Exception as exc:  # noqa: BLE001
        fail(str(exc))
    _engine()
    st = db.embedded(settings).status()
    console.print(f"embedded PostgreSQL running on 127.0.0.1:{st['port']} (data in {st['pgdata']})")


@db_app.command("stop")
def db_stop():
    """Stop the embedded cluster (no effect with DATABASE_URL)."""
    settings = get_settings()
    if not settings.embedded:
        console.print("DATABASE_URL is set: nothing to stop.")
        return
    from service import db

    stopped = db.embedded(settings).stop()
    console.print("stopped" if stopped else "not running")


@db_app.command("status")
def db_status():
    """Show whether the database runs, where, and its migration state."""
    settings = get_settings()
    from service import db

    if settings.embedded:
        st = db.embedded(settings).status()
        console.print(f"embedded cluster: {'running' if st['running'] else 'stopped'}"
                      f" (initialised: {st['initialised']}, port: {st['port']}, data: {st['pgdata']})")
        if not st["running"]:
            raise typer.Exit(3)
    else:
        console.print("external server from DATABASE_URL")
    engine = db.get_engine(settings, start=False)
    try:
        console.print(f"PostGIS {db.postgis_version(engine)}; migration {db.current_revision(engine)} "
                      f"(head {db.head_revision(engine)})")
    except Exception as exc:  # noqa: BLE001
        fail(f"cannot connect: {exc}")


@db_app.command("migrate")
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


# ---------------------------------------------------------------------------- boundaries
@boundaries_app.command("import")
def boundaries_import(
    paths: Annotated[list[Path], typer.Argument(help="GeoJSON, GeoPackage, Shapefile (.shp or .zip); several allowed")],
    level: Annotated[Optional[int], typer.Option(min=0, max=3, help="Admin level 0-3 (inferred from fields when omitted)")] = None,
    country: Annotated[Optional[str], typer.Option(help="ISO3 country code (inferred when omitted)")] = None,
    pcode_field: Annotated[Optional[str], typer.Option(help="Field holding the P-code")] = None,
    name_field: Annotated[Optional[str], typer.Option(help="Field holding the English name")] = None,
    name_ar_field: Annotated[Optional[str], typer.Option(help="Field holding the Arabic name")] = None,
    parent_field: Annotated[Optional[str], typer.Option(help="Field holding the parent P-code")] = None,
    check: Annotated[bool, typer.Option(help="Run the hierarchy check afterwards")] = True,
):
    """Import admin boundaries (one level per file; files are imported in level order)."""
    from boundaries.reader import BoundaryFileError, read_boundaries
    from boundaries.store import import_boundaries

    reads = []
    for p in paths:
        try:
            reads.append(read_boundaries(p, level=level, country=country, pcode_field=pcode_field,
                                         name_field=name_field, parent_field=parent_field, name_ar_field=name_ar_field))
        except BoundaryFileError as exc:
            fail(str(exc), 2)
    engine = _engine()
    reads.sort(key=lambda r: r.level)
    table = Table("file", "country", "level", "units", "valid on", "outcome", "repairs")
    for r in reads:
        try:
            res = import_boundaries(engine, r)
        except Exception as exc:  # noqa: BLE001
            fail(f"{r.file}: import rejected, database unchanged: {exc}")
        table.add_row(Path(r.file).name, res.country, str(res.level), str(res.units), str(res.valid_on), res.outcome,
                      str(len(res.repairs)))
        for rep in res.repairs:
            err.print(f"[yellow]repaired[/] {rep.pcode}: {rep.reason}", highlight=False)
    console.print(table)
    if check:
        _print_hierarchy(engine, reads[0].country_iso3 if reads else country)


def _print_hierarchy(engine, country: str | None) -> int:
    from boundaries.store import hierarchy_problems

    with engine.connect() as conn:
        problems = hierarchy_problems(conn, country)
    if not problems:
        console.print("hierarchy check: no problems")
        return 0
    t = Table("level", "pcode", "parent", "problem", "share inside parent", title="hierarchy problems")
    for p in problems:
        t.add_row(str(p["level"]), p["pcode"], p["parent_pcode"] or "", p["problem"], str(p["share_inside_parent"] or ""))
    console.print(t)
    return len(problems)


@boundaries_app.command("check")
def boundaries_check(country: Annotated[Optional[str], typer.Option(help="ISO3 country code")] = None):
    """Hierarchy check: every unit's parent exists and most of its area lies inside it."""
    n = _print_hierarchy(_engine(), country.upper() if country else None)
    if n:
        raise typer.Exit(1)


@boundaries_app.command("list")
def boundaries_list():
    """List boundary sets and their unit counts per level."""
    from boundaries.store import boundary_sets

    with _engine().connect() as conn:
        sets = boundary_sets(conn)
    t = Table("id", "country", "source", "valid on", "current", "units per level")
    for s in sets:
        t.add_row(str(s["id"]), s["country"], s["source"], str(s["valid_on"]), "yes" if s["is_current"] else "",
                  ", ".join(f"adm{k}: {v}" for k, v in sorted(s["units_per_level"].items())))
    console.print(t)


# --------------------------------------------------------------------------------- serve
@app.command("demo")
def demo():
    """Load the real demo data from ../shared/data (Iraq COD-AB, all four levels). Idempotent."""
    from service.demo import load_demo

    load_demo(_engine(), get_settings(), console)


@app.command("serve")
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address (default from settings: 127.0.0.1)")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default from settings: 8000)")] = None,
    demo_data: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the real demo data first")] = False,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
):
    """Serve the API: starts the embedded database if needed and applies migrations."""
    import uvicorn

    settings = get_settings()
    engine = _engine()
    if demo_data:
        from service.demo import load_demo

        load_demo(engine, settings, console)
    host = host or settings.host
    port = port or settings.port
    console.print(f"serving DTM Atlas on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    if workers > 1:
        uvicorn.run("service.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level=settings.log_level, access_log=False)
    else:
        from service.app import create_app

        uvicorn.run(create_app(settings, engine), host=host, port=port, log_level=settings.log_level, access_log=False)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
