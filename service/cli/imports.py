"""``dtm-atlas import ...``: master lists (one round each) and sites."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from service.cli.common import PopulationChoice, check_file, console, err, fail, open_engine, whole_or_nothing
from service.cli.rounds import print_quality

app = typer.Typer(help="Import displacement data: master lists (rounds) and sites.", no_args_is_help=True)


class PlacementChoice(str, Enum):
    declared = "declared"
    spatial = "spatial"


@app.command("masterlist")
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

    check_file(file)
    engine = open_engine()
    with console.status(f"importing {file.name} ..."), whole_or_nothing(file):
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
    print_quality(engine, res.round_id, show, report_csv)


@app.command("sites")
def import_sites_cmd(
    file: Annotated[Path, typer.Argument(help="Sites: CSV (site_id, name, type, lat, lon, status, households, individuals) or GeoJSON points")],
    country: Annotated[str, typer.Option(help="ISO3 country code")] = "IRQ",
):
    """Import sites (camps, informal settlements, collective centres); upserted by site ID."""
    from service.ingest.sites import SiteFileError, import_sites

    check_file(file)
    engine = open_engine()
    with whole_or_nothing(file):
        try:
            res = import_sites(engine, file, country=country.upper())
        except SiteFileError as exc:
            fail(f"{exc}\nnothing was imported; the database is unchanged", 2)
    console.print(f"{res.file}: {res.inserted_or_updated} sites imported or updated")
    for issue in res.issues:
        err.print(f"[yellow]{issue}[/]", highlight=False)
    if res.without_point:
        err.print(f"[yellow]rows without a valid point (imported without geometry): {res.without_point}[/]")
