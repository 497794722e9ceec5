"""``dtm-atlas tiles ...``: offline packages of the vector tiles (PMTiles/MBTiles)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from service.cli.common import ROUND_HELP, console, fail, open_engine, round_option
from service.core.constants import POPULATIONS
from styles.classify import INDICATORS

app = typer.Typer(help="Vector tiles: offline packages (PMTiles/MBTiles).", no_args_is_help=True)


@app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="Output file: .pmtiles or .mbtiles")],
    round_ref: Annotated[Optional[str], typer.Option("--round", help=ROUND_HELP)] = None,
    population: Annotated[str, typer.Option(help="idp or returnee")] = "idp",
    indicator: Annotated[
        str, typer.Option(help="Value and class of the admin layers: " + ", ".join(INDICATORS))
    ] = "individuals",
    country: Annotated[
        Optional[str],
        typer.Option(help="ISO3 (IRQ) or P-code prefix (IQ); needed only when several countries are loaded"),
    ] = None,
    layers: Annotated[
        Optional[str],
        typer.Option(help="Comma-separated layers (default: all): governorates,districts,subdistricts,locations,sites"),
    ] = None,
    min_zoom: Annotated[int, typer.Option(min=0, max=16, help="First zoom")] = 0,
    max_zoom: Annotated[
        int, typer.Option(min=0, max=16, help="Last zoom (each zoom has ~4x the tiles of the one before)")
    ] = 8,
):
    """Export the vector tiles of a round as one offline package (same tiles as the API)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from boundaries.pcode import normalize_country
    from service.core.countries import NoCountryData, SeveralCountries
    from service.core.rounds import RoundNotFound
    from tiles.layers import LayerError, parse_layers
    from tiles.pmtiles_export import ExportError, export_tiles, format_of

    try:
        format_of(out)
        chosen = [layer.id for layer in parse_layers(layers)] if layers else None
    except (ExportError, LayerError) as exc:
        fail(str(exc), 2)
    round_number, reporting_date = round_option(round_ref)
    if population not in POPULATIONS:
        fail(f"population must be one of {', '.join(POPULATIONS)}, not {population!r}", 2)
    if indicator not in INDICATORS:
        fail(f"indicator must be one of {', '.join(INDICATORS)}, not {indicator!r}", 2)
    if min_zoom > max_zoom:
        fail(f"--min-zoom {min_zoom} is above --max-zoom {max_zoom}", 2)
    if country is not None:
        try:
            country = normalize_country(country)
        except ValueError:
            fail(f"--country {country!r} is not a country code (IRQ, or its P-code prefix IQ)", 2)
    engine = open_engine()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tiles"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"{out.name} z{min_zoom}-{max_zoom}", total=None)
        try:
            result = export_tiles(
                engine,
                out,
                round_number=round_number,
                reporting_date=reporting_date,
                population=population,
                indicator=indicator,
                country=country,
                layers=chosen,
                min_zoom=min_zoom,
                max_zoom=max_zoom,
                on_plan=lambda total: progress.update(task, total=total),
                progress=lambda done, total: progress.update(task, completed=done),
            )
        except (ExportError, RoundNotFound, NoCountryData) as exc:
            fail(str(exc))
        except SeveralCountries as exc:
            fail(exc.detail.replace("country: ", "--country: ", 1), 2)
    rnd = result.round
    what = (
        f"{rnd['population']} round {rnd['round_number'] if rnd['round_number'] is not None else 'of'} "
        f"({rnd['reporting_date']})"
        if rnd
        else "boundaries only"
    )
    console.print(
        f"wrote {result.path} ({result.format}): {result.tiles_written} tiles with features of {result.tiles_visited}, "
        f"{result.bytes_written / 1024:,.0f} KiB; {what}, data version {result.data_version}"
    )
    for z, n in sorted(result.per_zoom.items()):
        console.print(f"  z{z}: {n} tiles")
