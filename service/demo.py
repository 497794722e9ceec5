"""The demo data set: the real files in ../shared/data, loaded idempotently."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine

from service.settings import Settings


def cod_ab_files(settings: Settings) -> list[Path]:
    folder = Path(settings.shared_data_dir) / "irq_cod_ab"
    files = sorted(folder.glob("irq_admbnda_adm*.geojson"))
    if not files:
        raise FileNotFoundError(
            f"no COD-AB files in {folder}: put the Iraq COD-AB GeoJSON files there (HDX dataset cod-ab-irq) "
            "or set DTM_ATLAS_SHARED_DATA_DIR"
        )
    return files


def load_demo(engine: Engine, settings: Settings, console: Console | None = None) -> None:
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries

    console = console or Console()
    files = cod_ab_files(settings)
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("COD-AB boundaries", total=len(files))
        for f in files:
            res = import_boundaries(engine, read_boundaries(f))
            progress.console.print(f"  {f.name}: adm{res.level}, {res.units} units, {res.outcome}")
            progress.advance(task)
