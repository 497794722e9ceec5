"""``dtm-atlas boundaries ...``: import admin boundary files, check the hierarchy, list sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from service.cli.common import check_file, console, err, fail, open_engine

app = typer.Typer(help="Admin boundaries: import files, check the hierarchy, list sets.", no_args_is_help=True)


@app.command("import")
def boundaries_import(
    paths: Annotated[list[Path], typer.Argument(help="GeoJSON, GeoPackage, Shapefile (.shp or .zip); several allowed")],
    level: Annotated[
        Optional[int], typer.Option(min=0, max=3, help="Admin level 0-3 (inferred from fields when omitted)")
    ] = None,
    country: Annotated[Optional[str], typer.Option(help="ISO3 country code (inferred when omitted)")] = None,
    pcode_field: Annotated[Optional[str], typer.Option(help="Field holding the P-code")] = None,
    name_field: Annotated[Optional[str], typer.Option(help="Field holding the English name")] = None,
    name_ar_field: Annotated[Optional[str], typer.Option(help="Field holding the Arabic name")] = None,
    parent_field: Annotated[Optional[str], typer.Option(help="Field holding the parent P-code")] = None,
    crs: Annotated[
        Optional[str],
        typer.Option(
            "--crs",
            help="Reference system of the file's coordinates (EPSG:32638, 32638, WKT), for a file that declares "
            "none or a wrong one; reprojected to lon/lat",
        ),
    ] = None,
    check: Annotated[bool, typer.Option(help="Run the hierarchy check afterwards")] = True,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Import a file for a level of a boundary set (same country, source and validOn) already imported "
            "from a different file as a NEW revision of the set (the old set is kept, with the rounds placed on "
            "it); without it such a file is refused",
        ),
    ] = False,
):
    """Import admin boundaries (one level per file; files are imported in level order)."""
    from boundaries.reader import BoundaryFileError, read_boundaries
    from boundaries.store import import_boundaries

    reads = []
    for p in paths:
        check_file(p)
        try:
            reads.append(
                read_boundaries(
                    p,
                    level=level,
                    country=country,
                    pcode_field=pcode_field,
                    name_field=name_field,
                    parent_field=parent_field,
                    name_ar_field=name_ar_field,
                    crs=crs,
                )
            )
        except BoundaryFileError as exc:
            fail(str(exc), 2)
    engine = open_engine()
    reads.sort(key=lambda r: r.level)
    table = Table("file", "country", "level", "units", "valid on", "outcome", "repairs")
    for r in reads:
        try:
            res = import_boundaries(engine, r, replace=replace)
        except Exception as exc:  # noqa: BLE001
            fail(f"{r.file}: import rejected, database unchanged: {exc}")
        table.add_row(
            Path(r.file).name,
            res.country,
            str(res.level),
            str(res.units),
            str(res.valid_on),
            res.outcome,
            str(len(res.repairs)),
        )
        for rep in res.repairs:
            err.print(f"[yellow]repaired[/] {rep.pcode}: {rep.reason}", highlight=False)
        for note in res.notes:  # accepted and reported, per unit (boundaries.reader.UnitNote)
            err.print(f"[yellow]{note.kind}[/] {note.pcode}: {note.detail}", highlight=False)
    console.print(table)
    if check:
        print_hierarchy(engine, reads[0].country_iso3 if reads else country)


def print_hierarchy(engine, country: str | None) -> int:
    from boundaries.store import hierarchy_problems

    with engine.connect() as conn:
        problems = hierarchy_problems(conn, country)
    if not problems:
        console.print("hierarchy check: no problems")
        return 0
    t = Table("level", "pcode", "parent", "problem", "share inside parent", title="hierarchy problems")
    for p in problems:
        t.add_row(
            str(p["level"]), p["pcode"], p["parent_pcode"] or "", p["problem"], str(p["share_inside_parent"] or "")
        )
    console.print(t)
    return len(problems)


@app.command("check")
def boundaries_check(country: Annotated[Optional[str], typer.Option(help="ISO3 country code")] = None):
    """Hierarchy check: every unit's parent exists and most of its area lies inside it."""
    n = print_hierarchy(open_engine(), country.upper() if country else None)
    if n:
        raise typer.Exit(1)


@app.command("list")
def boundaries_list():
    """List boundary sets and their unit counts per level."""
    from boundaries.store import boundary_sets

    with open_engine().connect() as conn:
        sets = boundary_sets(conn)
    t = Table("id", "country", "source", "valid on", "revision", "current", "units per level")
    for s in sets:
        t.add_row(
            str(s["id"]),
            s["country"],
            s["source"],
            str(s["valid_on"]),
            str(s["revision"]) + (f" (replaced by set {s['superseded_by']})" if s["superseded_by"] else ""),
            "yes" if s["is_current"] else "",
            ", ".join(f"adm{k}: {v}" for k, v in sorted(s["units_per_level"].items())),
        )
    console.print(t)
