"""The ``dtm-atlas`` command line: one module per command group, sharing ``common``."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli import boundaries, datasets, db, export, fragility, imports, maps, rounds, serve, tiles, tokens
from service.cli.common import Cli, State

app = Cli(
    help="DTM Atlas: displacement figures, boundaries, maps and exports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an unexpected error")] = False,
):
    State.debug = debug


app.add_typer(db.app, name="db")
app.add_typer(boundaries.app, name="boundaries")
app.add_typer(tiles.app, name="tiles")
app.add_typer(export.app, name="export")
app.add_typer(imports.app, name="import")
app.add_typer(rounds.app, name="rounds")
app.add_typer(datasets.app, name="datasets")
app.add_typer(tokens.app, name="token")
app.add_typer(fragility.app, name="fragility")
app.add_typer(maps.app, name="maps")
app.add_typer(maps.package_app, name="package")
app.command("demo")(serve.demo)
app.command("serve")(serve.serve)


def main() -> None:
    app(prog_name="dtm-atlas")
