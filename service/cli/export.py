"""``dtm-atlas export DATASET --format EXT [--round N --population idp --country IRQ] [-o OUT]``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from service.cli.common import ROUND_HELP, console, fail, open_engine, round_option
from service.core.constants import POPULATIONS
from service.core.rounds import RoundNotFound

app = typer.Typer(
    help="Export a dataset to a file (Shapefile, GeoPackage, KML, GeoJSON, FlatGeobuf, CSV, XLSX).",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    context_settings={"allow_interspersed_args": True},
)


def _list() -> None:
    from service.publish.datasets import DATASETS
    from service.publish.exports import FORMATS

    t = Table("dataset", "title", "per round", "geometry", title="datasets")
    for ds in DATASETS.values():
        t.add_row(ds.key, ds.title, "yes" if ds.per_round else "", ds.geometry_type)
    console.print(t)
    f = Table("--format", "what", title="formats")
    for fm in FORMATS.values():
        f.add_row(fm.ext, fm.label)
    console.print(f)


@app.callback()
def export(
    ctx: typer.Context,
    dataset: Annotated[
        Optional[str],
        typer.Argument(
            help="admin0..admin3, locations, sites, figures-adm1..figures-adm3 (omit to list datasets and formats)"
        ),
    ] = None,
    fmt: Annotated[
        Optional[str], typer.Option("--format", "-f", help="shp, gpkg, kml, geojson, fgb, csv, xlsx")
    ] = None,
    round_ref: Annotated[Optional[str], typer.Option("--round", help=ROUND_HELP)] = None,
    population: Annotated[Optional[str], typer.Option(help="idp or returnee (default idp)")] = None,
    country: Annotated[
        Optional[str],
        typer.Option(
            help="ISO3 (IRQ) or P-code prefix (IQ): the round's country, or the admin units' / sites'; "
            "needed only when several countries have figures (or boundaries)"
        ),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", help="Output file, or a folder for the conventional name (default: the current folder)"
        ),
    ] = None,
    zipped: Annotated[bool, typer.Option("--zip", help="Zip the file with a README (shapefiles always are)")] = False,
):
    """Write one dataset to a file named by the DTM convention, e.g. irq_dtm_idp_adm2_r120_20210228.gpkg."""
    if ctx.invoked_subcommand is not None:
        return
    if dataset is None:
        _list()
        return
    if fmt is None:
        fail("--format is required (shp, gpkg, kml, geojson, fgb, csv, xlsx)", 2)
    round_number, reporting_date = round_option(round_ref)
    if population is not None and population not in POPULATIONS:
        fail(f"--population must be idp or returnee, not {population!r}", 2)
    if country is not None:
        from boundaries.pcode import normalize_country

        try:
            country = normalize_country(country)
        except ValueError:
            fail(f"--country {country!r} is not a country code (IRQ, or its P-code prefix IQ)", 2)
    from service.core.countries import NoCountryData, SeveralCountries
    from service.publish.exports import ExportError, export_to

    engine = open_engine()
    t0 = time.perf_counter()
    try:
        with console.status(f"exporting {dataset} as {fmt} ..."):
            path, job = export_to(
                engine,
                dataset,
                fmt.lower().lstrip("."),
                output,
                round_number=round_number,
                reporting_date=reporting_date,
                population=population,
                zipped=zipped,
                country=country,
            )
    except ExportError as exc:
        fail(exc.message, 2 if exc.status == 404 else 1)
    except (NoCountryData, RoundNotFound) as exc:
        fail(str(exc), 2)
    except SeveralCountries as exc:
        fail(exc.detail.replace("country: ", "--country: ", 1), 2)
    console.print(f"{path} ({path.stat().st_size:,} bytes) in {time.perf_counter() - t0:.1f} s", highlight=False)
