"""``dtm-atlas datasets ...`` and ``dtm-atlas import sites|assessment``: indicator datasets
(site assessments, location assessments, indices) of any operation (service.indicators)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from service.cli.common import check_file, console, err, fail, open_engine, whole_or_nothing
from service.core.settings import get_settings

app = typer.Typer(help="Indicator datasets: site and location assessments, indices.", no_args_is_help=True)


class Access(str, Enum):
    public = "public"
    partner = "partner"
    restricted = "restricted"


class Component(str, Enum):
    location_assessment = "location_assessment"
    index = "index"
    baseline = "baseline"


@app.command("catalogue")
def catalogue_cmd(
    file: Annotated[Path, typer.Argument(help="CSV, CSV.GZ or XLSX of a site or location assessment")],
    mapping: Annotated[Optional[Path], typer.Option(help="Mapping file (YAML): roles and column entries")] = None,
    sheet: Annotated[Optional[str], typer.Option(help="XLSX sheet (default: the one that holds the data)")] = None,
):
    """Print the catalogue read from a file (what was recognised, and how; what was not) before
    anything is imported. Nothing is written."""
    from rich.table import Table

    from service.indicators import hotspots
    from service.indicators.catalogue import build_catalogue, read_mapping
    from service.indicators.errors import IndicatorFileError
    from service.indicators.read import read_table

    check_file(file)
    try:
        table = read_table(file, sheet)
        doc = read_mapping(mapping)
        cat = build_catalogue(table, doc)
        if doc.get("hotspot") is not None:
            hotspots.check(doc["hotspot"], cat)
    except IndicatorFileError as exc:
        fail(str(exc), 2)
    console.print(
        f"[bold]{file.name}[/]" + (f" (sheet {table.sheet!r})" if table.sheet else "") + f": {len(table.frame)} rows, "
        f"{len(cat.entries)} columns"
        + (", HXL row" if table.hxl else "")
        + (f", dictionary of {len(table.dictionary)} entries" if table.dictionary else "")
    )
    console.print("roles: " + ", ".join(f"{r}={h!r}" for r, h in cat.roles.items()) if cat.roles else "roles: none")
    if "key" not in cat.roles:
        err.print("[red]no site or location key recognised: name it in a mapping file (roles: {key: COLUMN})[/]")
    if doc.get("hotspot") is not None:  # an index's hotspot rule: the derived column it will publish
        console.print(f"hotspot: {doc['hotspot'].describe()}", highlight=False)
    for recognised in (True, False):
        rows = [e for e in cat.entries if e.recognised == recognised]
        t = Table(
            "column",
            "id",
            "label (en / ar)",
            "type",
            "rule",
            "sensitivity",
            "source",
            title=f"{'recognised' if recognised else 'not recognised (inferred from the values)'}: {len(rows)}",
        )
        for e in rows:
            t.add_row(
                e.header,
                e.column_id,
                e.label_en + (f" / {e.label_ar}" if e.label_ar else ""),
                e.type,
                e.aggregation + (f" ({e.share_of})" if e.share_of else ""),
                e.sensitivity,
                e.source,
            )
        console.print(t)


@app.command("list")
def list_cmd():
    """Datasets imported, with their access."""
    from rich.table import Table
    from sqlalchemy import text

    engine = open_engine()
    t = Table("id", "country", "component", "round", "date", "unit", "access", "rows", "file")
    with engine.connect() as conn:
        for r in conn.execute(
            text(
                "SELECT d.id, d.country, d.component, d.round_label, d.reporting_date, d.unit, d.access, "
                "(SELECT count(*) FROM indicator_observation o WHERE o.dataset_id = d.id), d.file_name "
                "FROM indicator_dataset d ORDER BY d.id"
            )
        ):
            t.add_row(*("" if v is None else str(v) for v in r))
    console.print(t)


@app.command("publish")
def publish_cmd(
    dataset_id: Annotated[int, typer.Argument(help="Dataset id (dtm-atlas datasets list)")],
    access: Annotated[Access, typer.Option(help="Who may see it")] = Access.public,
):
    """Set who may see a dataset (new datasets are restricted until an editor publishes them)."""
    from service.indicators.store import set_access

    if not set_access(open_engine(), dataset_id, access.value):
        fail(f"no dataset {dataset_id}", 2)
    console.print(f"dataset {dataset_id}: {access.value}")


def run_import(
    file: Path,
    *,
    unit: str,
    country: str | None,
    component: str | None,
    round_label: str | None,
    reporting_date: datetime | None,
    mapping: Path | None,
    access: Access,
    sheet: str | None,
    show: int,
) -> None:
    from service.indicators.errors import IndicatorFileError
    from service.indicators.store import import_dataset

    check_file(file)
    engine = open_engine()
    with whole_or_nothing(file):
        try:
            res = import_dataset(
                engine,
                file,
                unit=unit,
                country=country,
                component=component,
                round_label=round_label,
                reporting_date=reporting_date.date() if reporting_date else None,
                mapping=mapping,
                username=get_settings().user,
                access=access.value,
                sheet=sheet,
            )
        except IndicatorFileError as exc:
            fail(f"{exc}\nnothing was imported; the database is unchanged", 2)
    seconds = sum(res.timings.values())
    console.print(
        f"[bold]dataset {res.dataset_id}[/] {res.country} {res.component.replace('_', ' ')}"
        f"{' round ' + res.round_label if res.round_label else ''} ({res.reporting_date or 'no date'}): "
        f"{res.rows} {unit}s, {res.columns} columns, access {res.access}; {seconds:.2f} s"
    )
    console.print("placement: " + ", ".join(f"{k} {v}" for k, v in res.placement.items()))
    for header, how in res.conversions.items():
        console.print(f"  {header}: {how}", highlight=False)
    for issue in res.issues[:show]:
        err.print(f"[yellow]{issue}[/]", highlight=False)
    if len(res.issues) > show:
        err.print(f"... and {len(res.issues) - show} more (all in the import log)")
    if res.access != "public":
        console.print(f"not public yet: `dtm-atlas datasets publish {res.dataset_id}` when it may be")


CountryOpt = Annotated[Optional[str], typer.Option(help="ISO3 country code (default: the file's country column)")]
RoundOpt = Annotated[Optional[str], typer.Option("--round", help="Round or period (default: the file's round column)")]
DateOpt = Annotated[
    Optional[datetime], typer.Option("--date", formats=["%Y-%m-%d"], help="Reporting date (default: from the file)")
]
MappingOpt = Annotated[Optional[Path], typer.Option(help="Mapping file (YAML): roles and catalogue entries")]
AccessOpt = Annotated[Access, typer.Option(help="Who may see the dataset (columns marked stricter stay stricter)")]
SheetOpt = Annotated[Optional[str], typer.Option(help="XLSX sheet (default: the one that holds the data)")]
ShowOpt = Annotated[int, typer.Option(help="Issues to print")]


def assessment_cmd(
    file: Annotated[Path, typer.Argument(help="Location assessment or index: CSV, CSV.GZ or XLSX (HXL rows read)")],
    country: CountryOpt = None,
    component: Annotated[Component, typer.Option(help="location_assessment, index or baseline")] = (
        Component.location_assessment
    ),
    round_label: RoundOpt = None,
    reporting_date: DateOpt = None,
    mapping: MappingOpt = None,
    access: AccessOpt = Access.restricted,
    sheet: SheetOpt = None,
    show: ShowOpt = 20,
):
    """Import a location assessment (or an index) as an indicator dataset: one transaction, reported."""
    run_import(
        file,
        unit="location",
        country=country,
        component=component.value,
        round_label=round_label,
        reporting_date=reporting_date,
        mapping=mapping,
        access=access,
        sheet=sheet,
        show=show,
    )


def import_sites_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="A site assessment (CSV, CSV.GZ, XLSX: one row per site, any columns) imported as an indicator "
            "dataset; or, with --registry (or a GeoJSON/GPKG file, or --keep-duplicate-ids), the site list "
            "(site_id, name, type, lat, lon, status, households, individuals) upserted by site ID"
        ),
    ],
    country: Annotated[Optional[str], typer.Option(help="ISO3 country code (default: the file's, else IRQ)")] = None,
    round_label: RoundOpt = None,
    reporting_date: DateOpt = None,
    mapping: MappingOpt = None,
    access: AccessOpt = Access.restricted,
    sheet: SheetOpt = None,
    registry: Annotated[
        bool, typer.Option("--registry", help="Upsert the site list (the site table) instead of a dataset")
    ] = False,
    keep_duplicate_ids: Annotated[
        bool,
        typer.Option(
            "--keep-duplicate-ids",
            help="(site list) Keep a repeated site ID's later rows as ID#ROW (reported) instead of rejecting the file",
        ),
    ] = False,
    show: ShowOpt = 20,
):
    """Import sites: a site assessment as an indicator dataset (default), or the site list
    (camps, informal settlements, collective centres) upserted by site ID."""
    if registry or keep_duplicate_ids or file.suffix.lower() in (".geojson", ".json", ".gpkg"):
        from service.ingest.sites import SiteFileError, import_sites

        check_file(file)
        engine = open_engine()
        with whole_or_nothing(file):
            try:
                res = import_sites(
                    engine,
                    file,
                    country=(country or "IRQ").upper(),
                    keep_duplicate_ids=keep_duplicate_ids,
                    username=get_settings().user,
                )
            except SiteFileError as exc:
                fail(f"{exc}\nnothing was imported; the database is unchanged", 2)
        console.print(f"{res.file}: {res.inserted_or_updated} sites imported or updated")
        for issue in res.issues:
            err.print(f"[yellow]{issue}[/]", highlight=False)
        if res.without_point:
            err.print(f"[yellow]rows without a valid point (imported without geometry): {res.without_point}[/]")
        return
    run_import(
        file,
        unit="site",
        country=country,
        component="site_assessment",
        round_label=round_label,
        reporting_date=reporting_date,
        mapping=mapping,
        access=access,
        sheet=sheet,
        show=show,
    )
