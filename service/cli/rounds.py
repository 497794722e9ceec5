"""``dtm-atlas rounds ...``: the rounds loaded and their quality reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from service.cli.common import console, fail, open_engine
from service.core.settings import get_settings

app = typer.Typer(
    help="Rounds: list them, show their quality report, their versions (history, restore, confirm, prune).",
    no_args_is_help=True,
)


@app.command("list")
def rounds_list():
    """List rounds with their national totals: individuals as the file counts them, and DTM's
    published count (household sizes of service/data/household_sizes.csv)."""
    from service.core.rounds import list_rounds

    with open_engine().connect() as conn:
        rows = list_rounds(conn)
    t = Table(
        "id", "country", "population", "round", "date", "locations", "families", "individuals", "DTM published", "file"
    )
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["country"],
            r["population"],
            "" if r["round_number"] is None else str(r["round_number"]),  # (a round DTM's calendar does not number)
            str(r["reporting_date"]),
            f"{r['locations'] or 0:,}",
            f"{r['families'] or 0:,}",
            f"{r['individuals'] or 0:,}",
            f"{r['published_individuals'] or 0:,}",
            r["source_file"] or "",
        )
    console.print(t)


@app.command("recount")
def rounds_recount():
    """Recompute DTM's published count of every round from its stored rows, with the household
    sizes in force now (service/data/household_sizes.csv, then DTM_ATLAS_HOUSEHOLD_SIZES): run it
    after changing the rules. The file's own individuals are not touched."""
    from service.figures import aggregate
    from service.figures.household import HouseholdSizeError

    try:
        with open_engine().begin() as conn:
            count, changed = aggregate.recount_published(conn, get_settings().imports.household_sizes)
    except HouseholdSizeError as exc:
        fail(str(exc))
    if changed:
        t = Table("id", "country", "population", "round", "date", "DTM published before", "after")
        for r in changed:
            t.add_row(
                str(r["id"]),
                r["country"],
                r["population"],
                "" if r["round_number"] is None else str(r["round_number"]),
                str(r["reporting_date"]),
                f"{r['before'] or 0:,}",
                f"{r['after'] or 0:,}",
            )
        console.print(t)
    console.print(f"{count} rounds recounted, {len(changed)} changed")


@app.command("quality")
def rounds_quality(
    round_id: Annotated[int, typer.Argument(help="Round id (see `dtm-atlas rounds list`)")],
    csv_out: Annotated[Optional[Path], typer.Option("--csv", help="Write all flagged locations to this CSV")] = None,
    show: Annotated[int, typer.Option(help="Flagged locations to print")] = 20,
):
    """Show a round's quality report (CLI table, optional CSV)."""
    from service.core.rounds import get_round

    engine = open_engine()
    with engine.connect() as conn:
        if get_round(conn, round_id) is None:
            fail(f"no round with id {round_id}")
    print_quality(engine, round_id, show, csv_out)


def print_quality(engine, round_id: int, show: int, report_csv: Path | None) -> None:
    from service.figures.quality import quality_report
    from service.figures.quality import report_csv as to_csv

    with engine.connect() as conn:
        report = quality_report(conn, round_id)
    t = Table("flag", "locations", "meaning", title=f"quality report, round id {round_id}")
    for flag, info in report["flags"].items():
        t.add_row(flag, str(info["count"]), info["meaning"])
    console.print(t)
    console.print(
        f"unassigned: adm1 {report['unassigned_adm1']}, adm2 {report['unassigned_adm2']}, "
        f"adm3 {report['unassigned_adm3']} of {report['rows']} locations"
    )
    if show:
        rows = [r for r in report["locations"] if set(r["flags"]) - {"declared_differs_from_spatial"}][:show]
        if rows:
            d = Table(
                "row",
                "location",
                "name",
                "declared",
                "lat",
                "lon",
                "placed in",
                "flags",
                title="flagged locations (other than declared/spatial differences)",
            )
            for r in rows:
                d.add_row(
                    str(r["source_row"]),
                    r["location_id"] or "",
                    r["name_en"] or "",
                    f"{r['declared_adm1_name'] or ''} / {r['declared_adm2_name'] or ''}",
                    str(r["reported_lat"]),
                    str(r["reported_lon"]),
                    r["adm3"],
                    ", ".join(r["flags"]),
                )
            console.print(d)
    if report_csv:
        report_csv.write_text(to_csv(report), encoding="utf-8")
        console.print(f"quality report written to {report_csv}")


def _register_versions() -> None:
    from service.cli import versions

    versions.register(app)


_register_versions()
