"""The demo data set: the real files in ../shared/data, loaded idempotently.

Iraq's COD-AB boundaries, DTM Iraq's whole master-list history (``dtm_iraq_masterlists/
series/``: every IDP and returnee round it holds, 2014-2021; the three lists at the top of
that folder are the same bytes as three of them) and the 2014 official camps as sites. A
second run imports nothing again: unchanged boundaries and lists are recognised by their
checksums.
Beside Iraq: Nigeria's and Malawi's boundaries and their assessments (DTM Nigeria's round 39
site assessment, DTM Malawi's location assessment B2_01) as public indicator datasets.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from service.core.settings import Settings


def cod_ab_files(settings: Settings) -> list[Path]:
    folder = Path(settings.shared_data_dir) / "irq_cod_ab"
    files = sorted(folder.glob("irq_admbnda_adm*.geojson"))
    if not files:
        raise FileNotFoundError(
            f"no COD-AB files in {folder}: put the Iraq COD-AB GeoJSON files there (HDX dataset cod-ab-irq) "
            "or set DTM_ATLAS_SHARED_DATA_DIR"
        )
    return files


def masterlist_files(settings: Settings) -> dict[str, list[Path]]:
    """population -> the master lists of the demo: the history in series/, else the three lists."""
    folder = Path(settings.shared_data_dir) / "dtm_iraq_masterlists"
    from service.ingest.sources import kind_of

    out = {}
    for population, sub, prefix in (("idp", "idp", "IDPs_"), ("returnee", "returnee", "Returnee_")):
        series = sorted(f for f in (folder / "series" / sub).glob("*") if kind_of(f))
        out[population] = series or sorted(folder.glob(f"{prefix}MasterList_*.csv"))
    return out


CAMPS = Path("sites") / "irq_official_camps_2014.csv"


def _imported(engine: Engine, kind: str, path: Path) -> bool:
    """Whether a committed import of ``kind`` read these very bytes."""
    from sqlalchemy import text

    from service.ingest.sources import sha256_of

    with engine.connect() as conn:
        return conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM import_log WHERE kind = :k AND sha256 = :h AND outcome = 'committed')"),
            {"k": kind, "h": sha256_of(path)},
        ).scalar_one()


def load_demo(engine: Engine, settings: Settings, console: Console | None = None) -> None:
    """Boundaries (skipped when unchanged), master lists (skipped when the same list is already
    the source of a round) and the 2014 camps (upserted by site ID)."""
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.ingest.batch import import_many
    from service.ingest.sites import import_sites

    console = console or Console()
    files = cod_ab_files(settings)
    lists = masterlist_files(settings)
    camps = Path(settings.shared_data_dir) / CAMPS
    total = len(files) + sum(map(len, lists.values())) + camps.exists()
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("demo data", total=total)
        for f in files:
            res = import_boundaries(engine, read_boundaries(f))
            progress.console.print(f"  {f.name}: adm{res.level}, {res.units} units, {res.outcome}")
            progress.advance(task)
        for population, paths in lists.items():
            progress.update(task, description=f"demo data: {population} master lists")
            outcomes = import_many(
                engine,
                paths,
                population=population,
                on_file=lambda _path, _out: progress.advance(task),
                rules=settings.imports,
            )
            counts = {k: sum(o.outcome == k for o in outcomes) for k in ("imported", "unchanged", "rejected")}
            progress.console.print(
                f"  {population} master lists: {len(outcomes)} files, {counts['imported']} imported, "
                f"{counts['unchanged']} unchanged, {counts['rejected']} rejected"
            )
            for o in outcomes:
                if not o.ok:
                    progress.console.print(f"    [red]rejected[/] {o.file}: {o.message}", highlight=False)
        if camps.exists():
            if _imported(engine, "sites", camps):
                progress.console.print(f"  {camps.name}: unchanged")
            else:
                res = import_sites(engine, camps, keep_duplicate_ids=True)
                progress.console.print(f"  {camps.name}: {res.inserted_or_updated} sites ({len(res.issues)} reported)")
            progress.advance(task)
        progress.update(task, description="demo data")
    from service.fragility.run import demo_fragility

    demo_fragility(engine, settings, console)
    load_other_operations(engine, settings, console)
    demo_events_flows(engine, settings, console)


DEMO_CRISIS = "SYN-MOSUL-2016"


def demo_events_flows(engine: Engine, settings: Settings, console: Console, *, fmp_years: float = 2) -> None:
    """One SYNTHETIC Emergency Tracking crisis (a Mosul-like onset of 60 days) and one SYNTHETIC
    Flow Monitoring network (66 points in West Africa, two years of daily counts), generated by
    ``bench/synthetic_events_flows.py`` and labelled synthetic; skipped when already loaded."""
    import importlib.util
    import tempfile

    from sqlalchemy import text

    gen_path = Path(__file__).resolve().parents[1] / "bench" / "synthetic_events_flows.py"
    with engine.connect() as conn:
        has_crisis = conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM event_crisis WHERE crisis_id = :c)"), {"c": DEMO_CRISIS}
        ).scalar()
        has_flows = conn.execute(text("SELECT EXISTS (SELECT 1 FROM flow_point WHERE synthetic)")).scalar()
    if has_crisis and has_flows:
        console.print("  synthetic ETT crisis and FMP network: loaded already")
        return
    if not gen_path.exists():
        console.print(f"  [yellow]no {gen_path.name}: the synthetic ETT crisis and FMP network are not loaded[/]")
        return
    spec = importlib.util.spec_from_file_location("synthetic_events_flows", gen_path)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    from service.events.importer import import_events
    from service.flows.importer import import_flows, places_file

    with tempfile.TemporaryDirectory(prefix="dtm-atlas-demo-") as tmp:
        if not has_crisis:
            f = gen.write_ett(Path(tmp) / "mosul.csv", days=60, rows_per_day=300, crisis=DEMO_CRISIS)
            res = import_events(
                engine, f, country="IRQ", crisis_id=DEMO_CRISIS, name="Mosul-like onset (synthetic)", synthetic=True
            )
            console.print(f"  SYNTHETIC ETT crisis {DEMO_CRISIS}: {res.rows:,} rows, {len(res.days)} days")
        if not has_flows:
            registry, daily = gen.write_fmp_daily(Path(tmp) / "wca", points=66, years=fmp_years)
            res = import_flows(
                engine, daily, points=registry, synthetic=True, places=places_file(settings.shared_data_dir)
            )
            console.print(
                f"  SYNTHETIC FMP network: 66 points, {res.rows:,} daily rows ({res.days[0]} .. {res.days[1]})"
            )


# other operations beside Iraq: their boundaries and one assessment each (service.indicators)
OTHER_BOUNDARIES = {
    "NGA": ("nga_cod_ab", "nga_admbnda_adm[0123]_*.shp"),
    "MWI": ("mwi_cod_ab", "MWI_adm[123].json"),
}
OTHER_ASSESSMENTS = [
    ("NGA", Path("dtm_nigeria_sites") / "dtm_nigeria_r39_site_assessment.xlsx", "site"),
    ("MWI", Path("dtm_malawi_location_assessment") / "dtm_malawi_location_assessment_b2_01.csv", "location"),
]


def load_other_operations(engine: Engine, settings: Settings, console: Console) -> None:
    """Nigeria's and Malawi's boundaries (skipped when unchanged) and their assessments (skipped
    when the same file is already a dataset), published: these files are public on HDX."""
    import warnings

    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.indicators.store import import_dataset

    root = Path(settings.shared_data_dir)
    for iso3, (folder, pattern) in OTHER_BOUNDARIES.items():
        for f in sorted((root / folder).glob(pattern)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = import_boundaries(engine, read_boundaries(f))
            console.print(f"  {f.name}: adm{res.level}, {res.units} units, {res.outcome}", highlight=False)
    for iso3, rel, unit in OTHER_ASSESSMENTS:
        path = root / rel
        if not path.exists():
            continue
        if _imported(engine, f"dataset:{'site' if unit == 'site' else 'location'}_assessment", path):
            console.print(f"  {path.name}: unchanged")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = import_dataset(engine, path, unit=unit, country=iso3, access="public")
        console.print(
            f"  {path.name}: dataset {res.dataset_id}, {res.rows} {unit}s, {res.placement.get('point', 0)} placed by "
            f"their point, {len(res.issues)} reported",
            highlight=False,
        )
