"""The ``dtm-atlas`` command line: one module per command group, sharing ``common``."""

from __future__ import annotations

from typing import Annotated

import typer

from service import kinds
from service.cli import boundaries, db, export, maps, serve, tiles, tokens
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


registry = kinds.install()  # the kinds of data (service/kinds.py): their importers and command groups
importers = [(name, command) for kind in registry.kinds for name, command in kind.import_commands()]
import_app = typer.Typer(
    help="Import data files (each kind of data brings its importers): " + ", ".join(n for n, _ in importers) + ".",
    no_args_is_help=True,
)
for name, command in importers:
    import_app.command(name)(command)

app.add_typer(db.app, name="db")
app.add_typer(boundaries.app, name="boundaries")
app.add_typer(tiles.app, name="tiles")
app.add_typer(export.app, name="export")
app.add_typer(import_app, name="import")
for kind in registry.kinds:
    for name, group in kind.cli():
        app.add_typer(group, name=name)
app.add_typer(tokens.app, name="token")
app.add_typer(maps.app, name="maps")
app.add_typer(maps.package_app, name="package")
app.command("demo")(serve.demo)
app.command("serve")(serve.serve)


def main() -> None:
    app(prog_name="dtm-atlas")
