"""`dtm-atlas tiles ...` commands."""

import typer

app = typer.Typer(help="Vector tiles: offline packages (PMTiles/MBTiles).", no_args_is_help=True)
