"""``dtm-atlas import masterlist``: master lists (one round each)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from service.cli.common import PopulationChoice, check_file, console, err, fail, open_engine, whole_or_nothing
from service.cli.rounds import print_quality
from service.core.constants import IMPORT_JOBS

# the commands of `dtm-atlas import`, registered by the master-list kind (service.figures.kind)


class PlacementChoice(str, Enum):
    declared = "declared"
    spatial = "spatial"


def import_masterlist_cmd(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="DTM master lists: CSV or XLSX (DTM wide, HXL-tagged or long format), also .csv.gz or a .zip holding "
            "one list; files, folders and globs, each file its own round",
            metavar="PATH...",
        ),
    ],
    population: Annotated[PopulationChoice, typer.Option(help="idp or returnee")],
    round_number: Annotated[
        Optional[int],
        typer.Option("--round", help="DTM round number (one file only; default: DTM's round calendar, else none)"),
    ] = None,
    reporting_date: Annotated[
        Optional[datetime],
        typer.Option(
            "--date", formats=["%Y-%m-%d"], help="Reporting date (one file only; default: the file's date column)"
        ),
    ] = None,
    country: Annotated[
        str,
        typer.Option(
            help="ISO3 country code: the boundaries the rows are placed in, and whose P-codes the list's "
            "P-code columns are checked against (a column of another level is read as that level, with a warning)"
        ),
    ] = "IRQ",
    placement: Annotated[
        PlacementChoice,
        typer.Option(help="declared: DTM's declared governorate/district; spatial: point-in-polygon only"),
    ] = PlacementChoice.declared,
    correct_swapped: Annotated[
        bool,
        typer.Option(
            "--correct-swapped/--keep-swapped", help="Use the swapped point when latitude/longitude look swapped"
        ),
    ] = True,
    sheet: Annotated[Optional[str], typer.Option(help="XLSX sheet name")] = None,
    encoding: Annotated[Optional[str], typer.Option(help="CSV encoding (default: detected; e.g. cp1256)")] = None,
    allow_future_date: Annotated[
        bool, typer.Option("--allow-future-date", help="Accept a reporting date after today")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Import a list again even when the same list is already imported")
    ] = False,
    report_csv: Annotated[
        Optional[Path], typer.Option(help="Write the quality report (flagged locations) to this CSV (one file only)")
    ] = None,
    show: Annotated[int, typer.Option(help="Flagged locations to print (one file only)")] = 20,
    jobs: Annotated[
        int, typer.Option(min=1, max=8, help="Files imported at once, each in its own transaction and connection")
    ] = IMPORT_JOBS,
    accept_shrink: Annotated[
        bool,
        typer.Option(
            "--accept-shrink",
            help="Publish a list even when its locations fell by more than DTM_ATLAS_MAX_SHRINK against the round "
            "it replaces (or the one before), or it looks cut short; without it such a list is held",
        ),
    ] = False,
):
    """Import master lists, each file as one round in its own transaction (a round is its
    reporting date: importing a date again replaces that round, whose version is kept: see
    `rounds history`). A list that looks wrong (far fewer locations, cut short) is held, not
    published, until confirmed (`rounds confirm`, or import it with --accept-shrink). A file that
    fails is reported and the others go on. Exit status: 0 all imported (or unchanged), 1 some
    (or held), 2 none."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from service.ingest.batch import import_many
    from service.ingest.sources import expand

    files, problems = expand(paths)
    for problem in problems:
        err.print(f"[bold red]error:[/] {problem}", highlight=False)
    if not files:
        fail("no master list to import", 2)
    if len(files) > 1 and (round_number is not None or reporting_date is not None or report_csv is not None):
        fail("--round, --date and --report-csv name one round: give one file with them", 2)
    for f in files:
        check_file(f)
    from service.core.settings import get_settings
    from service.ingest.masterlist import MasterlistError
    from service.ingest.sources import precheck

    for f in files:  # a zip bomb is refused from the sizes it declares, before any database work
        try:
            precheck(f, get_settings().imports.max_bytes)
        except MasterlistError as exc:
            fail(f"{exc}\nnothing was imported; the database is unchanged", 2)
    options = dict(
        country=country.upper(),
        placement_mode=placement.value,
        correct_swapped=correct_swapped,
        sheet=sheet,
        encoding=encoding,
        allow_future_date=allow_future_date,
        round_number=round_number,
        reporting_date=reporting_date.date() if reporting_date else None,
        accept_shrink=accept_shrink,
        rules=get_settings().imports,  # the limits, calendar, household sizes and user of the settings
    )
    engine = open_engine()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeElapsedColumn(),
        console=console,
        transient=len(files) == 1,
    ) as progress:
        task = progress.add_task(f"importing {files[0].name}" if len(files) == 1 else "importing", total=len(files))

        def advance(path: Path, _outcome) -> None:
            progress.advance(task)

        in_flight = (
            files[0]
            if len(files) == 1
            else (
                f"the files being imported at that moment (up to {jobs} of {len(files)}; those done before are "
                "imported, and are 'unchanged' when the same command runs again)"
            )
        )
        with whole_or_nothing(in_flight):
            outcomes = import_many(
                engine, files, population=population.value, replace=replace, on_file=advance, workers=jobs, **options
            )
    if len(files) == 1 and outcomes[0].outcome == "held":
        res = outcomes[0].result
        ref = res.round_number if res.round_number is not None else res.reporting_date.isoformat()
        fail(
            f"{res.file}: HELD, not published: {res.held_reason}.\n"
            f"It is stored as version {res.version} of the {res.population} round of {res.reporting_date}; the "
            f"round that was published stands. If the list is right: dtm-atlas rounds confirm {ref} "
            f"--population {res.population} (or import it again with --accept-shrink)",
            1,
        )
    if len(files) == 1 and outcomes[0].outcome != "imported":
        out = outcomes[0]
        if out.outcome == "rejected":
            fail(f"{out.message}\nnothing was imported; the database is unchanged", 2)
        console.print(
            f"{out.file}: unchanged (the same list is already round "
            f"{out.round_number if out.round_number is not None else '-'}, {out.reporting_date}); "
            "--replace imports it again"
        )
        return
    if len(files) == 1:
        res = outcomes[0].result
        seconds = sum(res.timings.get(k, 0) for k in ("parse_s", "stage_s", "place_s", "aggregate_s"))
        console.print(
            f"[bold]round {res.round_number if res.round_number is not None else '(no DTM number)'}[/] "
            f"({res.population}, {res.reporting_date}) id {res.round_id}: "
            f"{res.rows} locations, {res.families:,} families, {res.individuals:,} individuals, "
            f"{res.flagged_rows} flagged; {seconds:.2f} s"
        )
        if res.calendar_note:
            console.print(f"[yellow]{res.calendar_note}[/]", highlight=False)
        for line in res.warnings:  # P-code columns read as another level than they say, unknown codes
            err.print(f"[yellow]warning:[/] {line}", highlight=False)
        for issue in res.parser_issues[:show]:
            err.print(f"[yellow]row {issue.row}[/] {issue.field or ''}: {issue.message}", highlight=False)
        print_quality(engine, res.round_id, show, report_csv)
        return
    table = Table(
        "file",
        "round",
        "date",
        "locations",
        "individuals",
        "flagged",
        "outcome",
        title=f"{population.value} master lists",
    )
    for out in outcomes:
        res = out.result
        table.add_row(
            out.file,
            "" if out.round_number is None else str(out.round_number),
            str(out.reporting_date or ""),
            f"{res.rows:,}" if res else "",
            f"{res.individuals:,}" if res else "",
            f"{res.flagged_rows:,}" if res else "",
            (f"[yellow]held[/]: {out.message}" if out.outcome == "held" else out.outcome)
            if out.ok
            else f"[red]rejected[/]: {out.message}",
        )
    console.print(table)
    done = sum(out.ok for out in outcomes)
    console.print(
        f"{sum(o.outcome == 'imported' for o in outcomes)} imported, "
        f"{sum(o.outcome == 'unchanged' for o in outcomes)} unchanged, {len(outcomes) - done} rejected"
        + (
            f", {sum(o.outcome == 'held' for o in outcomes)} held (see `rounds history`)"
            if any(o.outcome == "held" for o in outcomes)
            else ""
        )
    )
    if any(o.outcome == "held" for o in outcomes) and not problems and done == len(outcomes):
        raise typer.Exit(1)
    if problems or done < len(outcomes):
        raise typer.Exit(2 if done == 0 else 1)


# `dtm-atlas import sites` (the site list, and site assessments) is the indicator datasets' command:
# service/cli/datasets.py, registered by service.indicators.kind
