"""``dtm-atlas import events`` and ``dtm-atlas import flows``: Emergency Tracking and Flow
Monitoring files, one transaction each (registered under ``import`` in ``service.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from service.cli.common import check_file, console, fail, open_engine, whole_or_nothing
from service.core.settings import get_settings

flows_app = typer.Typer(
    help="Flow maps: the monthly Flow Monitoring map; the master lists' origin map.", no_args_is_help=True
)

MAPPING_HELP = "YAML mapping file: 'column name or HXL tag: field' lines (docs/events-flows.md lists the fields)"


def import_events_cmd(
    path: Annotated[
        Path, typer.Argument(help="An ETT file: CSV, HXL-tagged (#date, #loc+code, #affected+hh+idps ...)")
    ],
    country: Annotated[str, typer.Option(help="ISO3 code of the crisis's country (its boundaries must be loaded)")],
    crisis: Annotated[str, typer.Option(help="Crisis id (created on its first import), e.g. IRQ-MOSUL-2016")],
    mapping: Annotated[Optional[Path], typer.Option(help=MAPPING_HELP)] = None,
    name: Annotated[Optional[str], typer.Option(help="The crisis's name, for maps and lists")] = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Label the crisis as synthetic data")] = False,
):
    """Import one Emergency Tracking file into a crisis, in one transaction: the file's days
    replace the same days already imported (never counted twice); every row is placed (declared
    P-code, else point, else UNASSIGNED) and kept. Bad input: exit 2 naming file, row and column."""
    from service.events.importer import import_events
    from service.ingest.tagged import InputError

    check_file(path)
    if mapping is not None:
        check_file(mapping)
    engine = open_engine()
    try:
        with whole_or_nothing(path):
            res = import_events(
                engine,
                path,
                country=country,
                crisis_id=crisis,
                mapping=mapping,
                name=name,
                synthetic=synthetic,
                username=get_settings().user,
            )
    except InputError as exc:
        fail(f"{exc} (nothing of {path.name} was imported)", 2)
    places = ", ".join(f"{k} {v:,}" for k, v in sorted(res.placement.items()))
    console.print(
        f"{res.file}: crisis {res.crisis_id}, {res.rows:,} rows, {len(res.days)} days "
        f"({res.days[0]} .. {res.days[-1]}{', replaced' if res.replaced_days else ''}); placed: {places}; "
        f"flagged {res.flagged:,}; data version {res.data_version}",
        highlight=False,
    )


def import_flows_cmd(
    path: Annotated[
        Path, typer.Argument(help="FMP counts: the daily (t, route, fmp, from, to, n ...) or monthly shape")
    ],
    points: Annotated[
        Optional[Path],
        typer.Option(help="Point registry CSV (id, name, type, country, adm1, adm2, lat, lon) to import first"),
    ] = None,
    mapping: Annotated[Optional[Path], typer.Option(help=MAPPING_HELP)] = None,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Label the registry's points as synthetic data")
    ] = False,
):
    """Import one file of Flow Monitoring counts (and its point registry) in one transaction: the
    file's (point, day) pairs replace the same pairs already imported. Bad input (a point not in
    the registry, a negative count, an origin neither a country code nor a P-code, a day in the
    future, the same row twice): exit 2 naming file, row and column."""
    from service.flows.importer import import_flows, places_file
    from service.ingest.tagged import InputError

    check_file(path)
    for p in (points, mapping):
        if p is not None:
            check_file(p)
    engine = open_engine()
    try:
        with whole_or_nothing(path):
            res = import_flows(
                engine,
                path,
                points=points,
                mapping=mapping,
                synthetic=synthetic,
                places=places_file(get_settings().shared_data_dir),
                username=get_settings().user,
            )
    except InputError as exc:
        fail(f"{exc} (nothing of {path.name} was imported)", 2)
    console.print(
        f"{res.file}: {res.rows:,} rows by {'day' if res.period == 'D' else 'month'} ({res.days[0]} .. {res.days[1]}), "
        f"{res.points_imported} points in the registry file, {res.replaced_rows:,} rows replaced; "
        f"data version {res.data_version} ({max(res.timings.values(), default=0):.1f} s)",
        highlight=False,
    )


def snapshot_cmd(crisis: str, day: str | None, out: Path | None, dpi: int) -> None:
    """``dtm-atlas package --crisis ID --date D``: the ETT daily snapshot into a folder."""
    import datetime as dt

    from service.events import read, snapshot

    engine = open_engine()
    if day is None:
        with engine.connect() as conn:
            try:
                d = read.crisis(conn, crisis).last_day
            except read.EventsNotFound as exc:
                fail(str(exc), 2)
        if d is None:
            fail(f"crisis {crisis} has no days imported", 2)
    else:
        try:
            d = dt.date.fromisoformat(day)
        except ValueError:
            fail(f"--date {day!r} is not a date (YYYY-MM-DD)", 2)
    out = out or Path.cwd() / f"{crisis.lower()}_{d:%Y%m%d}_snapshot"
    try:
        res = snapshot.build(engine, crisis, d, out, dpi=min(dpi, 300))
    except snapshot.SnapshotError as exc:
        fail(str(exc), 2)
    for f in res.files:
        console.print(f"{f} ({f.stat().st_size:,} bytes)", highlight=False)
    console.print(
        f"snapshot of {crisis} on {d}: {len(res.rows)} districts with figures, in {res.seconds:.1f} s", highlight=False
    )


@flows_app.command("map")
def flow_map_cmd(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM")],
    out: Annotated[
        Optional[Path], typer.Option(help="Folder to write the map into (default: the current folder)")
    ] = None,
    dpi: Annotated[int, typer.Option(min=30, max=600, help="PNG resolution")] = 200,
):
    """The flow map of a month of Flow Monitoring: lines origin -> point -> destination whose
    widths follow the counts (PNG, SVG and PDF)."""
    import datetime as dt

    from service.flows import maps as flow_maps

    try:
        m = dt.date.fromisoformat(month + "-01")
    except ValueError:
        fail(f"--month {month!r} is not a month (YYYY-MM)", 2)
    engine = open_engine()
    try:
        res = flow_maps.render_month(engine, m, out or Path.cwd(), dpi=dpi)
    except flow_maps.FlowMapError as exc:
        fail(str(exc), 2)
    for f in res.paths.values():
        console.print(f"{f} ({f.stat().st_size:,} bytes)", highlight=False)
    console.print(f"{len(res.lines)} lines, in {res.seconds:.1f} s", highlight=False)


@flows_app.command("origin-map")
def origin_map_cmd(
    round_: Annotated[
        Optional[str], typer.Option("--round", help="DTM round number or reporting date (default: the latest)")
    ] = None,
    level: Annotated[int, typer.Option(min=1, max=2, help="1: to governorates; 2: to districts")] = 2,
    population: Annotated[str, typer.Option(help="idp or returnee")] = "idp",
    country: Annotated[Optional[str], typer.Option(help="ISO3, when several countries have rounds")] = None,
    out: Annotated[
        Optional[Path], typer.Option(help="Folder to write the map into (default: the current folder)")
    ] = None,
    dpi: Annotated[int, typer.Option(min=30, max=600, help="PNG resolution")] = 200,
):
    """The master lists' flow map of a round: governorate of origin -> district (or governorate)
    of displacement, line widths linear in families (PNG, SVG and PDF)."""
    from service.core.errors import AtlasError
    from service.core.rounds import parse_round, resolve_round
    from service.flows import origin_map

    engine = open_engine()
    try:
        with engine.connect() as conn:
            rnd = resolve_round(conn, parse_round(round_), population, country)
        res = origin_map.render_origins(engine, rnd, level, out or Path.cwd(), dpi=dpi)
    except (AtlasError, origin_map.OriginMapError) as exc:
        fail(str(exc), 2)
    for f in res.paths.values():
        console.print(f"{f} ({f.stat().st_size:,} bytes)", highlight=False)
    console.print(f"{len(res.lines)} lines, in {res.seconds:.1f} s", highlight=False)
