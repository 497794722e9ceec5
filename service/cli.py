"""The ``dtm-atlas`` command line."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from service.settings import get_settings
from tiles import cli as tiles_cli
from service.publish import cli as export_cli
from service.maps import cli as maps_cli

app = typer.Typer(help="DTM Atlas: displacement figures, boundaries, maps and exports.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The database: embedded PostgreSQL/PostGIS cluster and migrations.", no_args_is_help=True)
boundaries_app = typer.Typer(help="Admin boundaries: import files, check the hierarchy, list sets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(boundaries_app, name="boundaries")
app.add_typer(tiles_cli.app, name="tiles")
app.add_typer(export_cli.app, name="export")
app.add_typer(maps_cli.app, name="maps")
app.add_typer(maps_cli.package_app, name="package")
import_app = typer.Typer(help="Import displacement data: master lists (rounds) and sites.", no_args_is_help=True)
rounds_app = typer.Typer(help="Rounds: list them, show their quality report.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for HTTP writes (stored hashed).", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(rounds_app, name="rounds")
app.add_typer(token_app, name="token")

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


# ------------------------------------------------------------------------------ figures
class PopulationChoice(str, Enum):
    idp = "idp"
    returnee = "returnee"


class PlacementChoice(str, Enum):
    declared = "declared"
    spatial = "spatial"


@import_app.command("masterlist")
def import_masterlist_cmd(
    file: Annotated[Path, typer.Argument(help="DTM master list: CSV or XLSX (DTM wide, HXL-tagged or long format)")],
    population: Annotated[PopulationChoice, typer.Option(help="idp or returnee")],
    round_number: Annotated[Optional[int], typer.Option("--round", help="DTM round number (known Iraq rounds are looked up)")] = None,
    reporting_date: Annotated[Optional[datetime], typer.Option("--date", formats=["%Y-%m-%d"], help="Reporting date (default: the file's date column)")] = None,
    country: Annotated[str, typer.Option(help="ISO3 country code")] = "IRQ",
    placement: Annotated[PlacementChoice, typer.Option(help="declared: DTM's declared governorate/district; spatial: point-in-polygon only")] = PlacementChoice.declared,
    correct_swapped: Annotated[bool, typer.Option("--correct-swapped/--keep-swapped", help="Use the swapped point when latitude/longitude look swapped")] = True,
    sheet: Annotated[Optional[str], typer.Option(help="XLSX sheet name")] = None,
    encoding: Annotated[Optional[str], typer.Option(help="CSV encoding (default: detected; e.g. cp1256)")] = None,
    report_csv: Annotated[Optional[Path], typer.Option(help="Write the quality report (flagged locations) to this CSV")] = None,
    show: Annotated[int, typer.Option(help="Flagged locations to print")] = 20,
):
    """Import a master list as one round (one transaction; re-importing a round replaces it)."""
    from service.ingest.masterlist import MasterlistError
    from service.ingest.rounds import ImportRejected, import_masterlist

    engine = _engine()
    with console.status(f"importing {file.name} ..."):
        try:
            res = import_masterlist(
                engine, file, population=population.value, round_number=round_number,
                reporting_date=reporting_date.date() if reporting_date else None, country=country.upper(),
                placement_mode=placement.value, correct_swapped=correct_swapped, sheet=sheet, encoding=encoding,
            )
        except (MasterlistError, ImportRejected) as exc:
            fail(f"{exc}\nnothing was imported; the database is unchanged", 2)
    console.print(
        f"[bold]round {res.round_number}[/] ({res.population}, {res.reporting_date}) id {res.round_id}: "
        f"{res.rows} locations, {res.families:,} families, {res.individuals:,} individuals, "
        f"{res.flagged_rows} flagged; {sum(res.timings.get(k, 0) for k in ('parse_s', 'stage_s', 'place_s', 'aggregate_s')):.2f} s"
    )
    for issue in res.parser_issues[:show]:
        err.print(f"[yellow]row {issue.row}[/] {issue.field or ''}: {issue.message}", highlight=False)
    _print_quality(engine, res.round_id, show, report_csv)


def _print_quality(engine, round_id: int, show: int, report_csv: Path | None) -> None:
    from service.figures.quality import quality_report, report_csv as to_csv

    with engine.connect() as conn:
        report = quality_report(conn, round_id)
    t = Table("flag", "locations", "meaning", title=f"quality report, round id {round_id}")
    for flag, info in report["flags"].items():
        t.add_row(flag, str(info["count"]), info["meaning"])
    console.print(t)
    console.print(f"unassigned: adm1 {report['unassigned_adm1']}, adm2 {report['unassigned_adm2']}, "
                  f"adm3 {report['unassigned_adm3']} of {report['rows']} locations")
    if show:
        rows = [r for r in report["locations"] if set(r["flags"]) - {"declared_differs_from_spatial"}][:show]
        if rows:
            d = Table("row", "location", "name", "declared", "lat", "lon", "placed in", "flags",
                      title="flagged locations (other than declared/spatial differences)")
            for r in rows:
                d.add_row(str(r["source_row"]), r["location_id"] or "", r["name_en"] or "",
                          f"{r['declared_adm1_name'] or ''} / {r['declared_adm2_name'] or ''}",
                          str(r["reported_lat"]), str(r["reported_lon"]), r["adm3"], ", ".join(r["flags"]))
            console.print(d)
    if report_csv:
        report_csv.write_text(to_csv(report), encoding="utf-8")
        console.print(f"quality report written to {report_csv}")


@import_app.command("sites")
def import_sites_cmd(
    file: Annotated[Path, typer.Argument(help="Sites: CSV (site_id, name, type, lat, lon, status, households, individuals) or GeoJSON points")],
    country: Annotated[str, typer.Option(help="ISO3 country code")] = "IRQ",
):
    """Import sites (camps, informal settlements, collective centres); upserted by site ID."""
    from service.ingest.sites import SiteFileError, import_sites

    engine = _engine()
    try:
        res = import_sites(engine, file, country=country.upper())
    except SiteFileError as exc:
        fail(f"{exc}\nnothing was imported; the database is unchanged", 2)
    console.print(f"{res.file}: {res.inserted_or_updated} sites imported or updated")
    for issue in res.issues:
        err.print(f"[yellow]{issue}[/]", highlight=False)
    if res.without_point:
        err.print(f"[yellow]rows without a valid point (imported without geometry): {res.without_point}[/]")


@rounds_app.command("list")
def rounds_list():
    """List rounds with their national totals."""
    from service.figures.rounds import list_rounds

    with _engine().connect() as conn:
        rows = list_rounds(conn)
    t = Table("id", "country", "population", "round", "date", "locations", "families", "individuals", "file")
    for r in rows:
        t.add_row(str(r["id"]), r["country"], r["population"], str(r["round_number"]), str(r["reporting_date"]),
                  f"{r['locations'] or 0:,}", f"{r['families'] or 0:,}", f"{r['individuals'] or 0:,}", r["source_file"] or "")
    console.print(t)


@rounds_app.command("quality")
def rounds_quality(
    round_id: Annotated[int, typer.Argument(help="Round id (see `dtm-atlas rounds list`)")],
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Write all flagged locations to this CSV")] = None,
    show: Annotated[int, typer.Option(help="Flagged locations to print")] = 20,
):
    """Show a round's quality report (CLI table, optional CSV)."""
    from service.figures.rounds import get_round

    engine = _engine()
    with engine.connect() as conn:
        if get_round(conn, round_id) is None:
            fail(f"no round with id {round_id}")
    _print_quality(engine, round_id, show, csv_out)


@token_app.command("create")
def token_create(
    label: Annotated[str, typer.Option(help="Who or what the token is for")],
    role: Annotated[str, typer.Option(help="reader, editor or admin")] = "editor",
):
    """Issue a token (printed once; only its hash is stored)."""
    from service.auth import create_token

    try:
        token = create_token(_engine(), role, label)
    except ValueError as exc:
        fail(str(exc))
    console.print(token, highlight=False, soft_wrap=True)


@token_app.command("list")
def token_list():
    """List tokens (never their values)."""
    from service.auth import list_tokens

    with _engine().connect() as conn:
        rows = list_tokens(conn)
    t = Table("id", "role", "label", "created", "last used", "revoked")
    for r in rows:
        t.add_row(str(r["id"]), r["role"], r["label"], str(r["created_at"])[:19], str(r["last_used_at"] or "")[:19],
                  str(r["revoked_at"] or "")[:19])
    console.print(t)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="Token id")]):
    """Revoke a token."""
    from service.auth import revoke_token

    if not revoke_token(_engine(), token_id):
        fail(f"no active token with id {token_id}")
    console.print(f"token {token_id} revoked")


# --------------------------------------------------------------------------------- serve
@app.command("demo")
def demo():
    """Load the real demo data from ../shared/data (Iraq COD-AB, the three master lists). Idempotent."""
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
                    log_level=settings.log_level, access_log=False, log_config=None)
    else:
        from service.app import create_app

        uvicorn.run(create_app(settings, engine), host=host, port=port, log_level=settings.log_level, access_log=False,
                    log_config=None)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
