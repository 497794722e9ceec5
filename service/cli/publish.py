"""``dtm-atlas publish``: a published round as static files for object storage and a CDN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from service.cli.common import ROUND_HELP, console, fail, open_engine
from service.core.constants import POPULATIONS


def publish(
    to: Annotated[Path, typer.Option("--to", help="Output folder (an S3-style layout; manifest.json at its root)")],
    round_ref: Annotated[Optional[str], typer.Option("--round", help=ROUND_HELP)] = None,
    population: Annotated[str, typer.Option(help="idp or returnee")] = "idp",
    country: Annotated[
        Optional[str], typer.Option(help="ISO3 (IRQ); needed only when several countries are loaded")
    ] = None,
    package: Annotated[bool, typer.Option(help="Include the round's information package")] = True,
    max_zoom: Annotated[int, typer.Option(min=0, max=14, help="Last zoom of the PMTiles")] = 8,
):
    """Write a round's PMTiles, choropleth GeoJSON, exports and package as static files
    under versioned, immutable keys, with a manifest of content types and cache headers."""
    from service.core.settings import get_settings
    from service.static_publish import PublishError, publish_round

    if population not in POPULATIONS:
        fail(f"population must be one of {', '.join(POPULATIONS)}, not {population!r}", 2)
    with console.status("publishing") as status:
        try:
            result = publish_round(
                get_settings(),
                open_engine(),
                to,
                round_ref=round_ref,
                population=population,
                country=country,
                package=package,
                max_zoom=max_zoom,
                progress=lambda msg: status.update(f"publishing: {msg}"),
            )
        except PublishError as exc:
            fail(str(exc))
    console.print(
        f"published {result.prefix}: {len(result.files)} files, {result.bytes / 1e6:,.1f} MB "
        f"(data version {result.data_version}); manifest: {to / 'manifest.json'}"
    )
