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


MASTERLISTS = [  # file, population (round numbers come from service/data/known_rounds.csv)
    ("IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv", "idp"),
    ("IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "idp"),
    ("Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "returnee"),
]


def load_demo(engine: Engine, settings: Settings, console: Console | None = None) -> None:
    """Boundaries (skipped when unchanged) and master lists (skipped when the same file is
    already the source of a round)."""
    from sqlalchemy import text

    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.ingest.rounds import _sha256, import_masterlist

    console = console or Console()
    files = cod_ab_files(settings)
    folder = Path(settings.shared_data_dir) / "dtm_iraq_masterlists"
    lists = [(folder / f, p) for f, p in MASTERLISTS if (folder / f).exists()]
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("demo data", total=len(files) + len(lists))
        for f in files:
            res = import_boundaries(engine, read_boundaries(f))
            progress.console.print(f"  {f.name}: adm{res.level}, {res.units} units, {res.outcome}")
            progress.advance(task)
        for f, population in lists:
            with engine.connect() as conn:
                done = conn.execute(
                    text("SELECT r.round_number FROM round r JOIN import_log l ON l.id = r.import_id WHERE l.sha256 = :h"),
                    {"h": _sha256(f)},
                ).scalar()
            if done is not None:
                progress.console.print(f"  {f.name}: round {done}, unchanged")
            else:
                r = import_masterlist(engine, f, population=population)
                progress.console.print(
                    f"  {f.name}: round {r.round_number} {r.population}, {r.rows} locations, "
                    f"{r.individuals:,} individuals, {r.flagged_rows} flagged"
                )
            progress.advance(task)
    from service.fragility.run import demo_fragility

    demo_fragility(engine, settings, console)
