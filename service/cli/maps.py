"""``dtm-atlas maps render ...`` and ``dtm-atlas package ...``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from service.cli.common import open_engine
from service.core.errors import AtlasError
from service.core.settings import get_settings
from styles.classify import INDICATORS

console = Console()
err = Console(stderr=True)

app = typer.Typer(
    help="Static maps (PNG 300 dpi, PDF) and their interactive HTML, and charts of a round.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
package_app = typer.Typer(
    help="The monthly information package of a round (maps, charts, exports, tables, summary).",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2):
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _message(exc) -> str:
    """A map error's message, naming the CLI's option where it names the API's parameter."""
    message = getattr(exc, "message", None) or getattr(exc, "detail", None) or str(exc)
    return message.replace("country: ", "--country: ", 1) if message.startswith("country: ") else message


ROUND_HELP = "DTM round number (120) or reporting date (2015-06-04: a round without a DTM number has only its date)"


def _round(value: str | None):
    """``--round``: a number or a date (``service.core.rounds.parse_round``); anything else: exit 2."""
    from service.core.errors import ParamError
    from service.core.rounds import parse_round

    try:
        return parse_round(value, "--round")
    except ParamError as exc:
        _fail(exc.detail)


COUNTRY_HELP = "ISO3 (IRQ) or P-code prefix (IQ) of the round's country; needed when several countries have the round"


@app.command("render")
def render_cmd(
    round_value: Annotated[Optional[str], typer.Option("--round", help=ROUND_HELP + " (default: the latest)")] = None,
    population: Annotated[str, typer.Option(help="idp or returnee")] = "idp",
    level: Annotated[int, typer.Option(help="1 governorates, 2 districts, 3 sub-districts")] = 2,
    indicator: Annotated[
        str, typer.Option(help=", ".join(INDICATORS) + ", or fragility (once that layer exists)")
    ] = "individuals",
    extent: Annotated[str, typer.Option(help="national, or a governorate P-code (e.g. IQG01)")] = "national",
    paper: Annotated[str, typer.Option(help="A4 or A3")] = "A4",
    orientation: Annotated[str, typer.Option(help="landscape or portrait")] = "landscape",
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated: png, pdf, html")] = "png,pdf",
    dpi: Annotated[int, typer.Option(help="PNG resolution", min=30, max=600)] = 300,
    out: Annotated[Path, typer.Option(help="Output folder")] = Path("."),
    country: Annotated[Optional[str], typer.Option(help=COUNTRY_HELP)] = None,
):
    """Render one map, named by the OCHA convention (e.g. irq_dtm_idp_adm2_r120_A4L_20210228.pdf)."""
    from service.maps import interactive, render
    from service.maps.data import MapSpec, load_map
    from service.maps.fonts import MissingGlyph

    ref = _round(round_value)
    formats = [f.strip().lower() for f in fmt.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("png", "pdf", "html")]
    if bad or not formats:
        _fail(f"--format: unsupported {', '.join(bad) or '(none)'}; use png, pdf, html (comma-separated)")
    engine = open_engine()
    t0 = time.perf_counter()
    try:
        with engine.connect() as conn:
            data = load_map(
                conn,
                MapSpec(ref.number, population, level, indicator, extent, paper, orientation, country, ref.date),
                shared_dir=get_settings().shared_data_dir,
            )
        static = [f for f in formats if f != "html"]
        logo = get_settings().maps.logo
        paths = list(render.render(data, out, static, dpi=dpi, logo=logo).values()) if static else []
        if "html" in formats:
            paths.append(interactive.write(data, out))
    except AtlasError as exc:  # MapRequestError, RoundNotFound, ...
        _fail(_message(exc))
    except MissingGlyph as exc:
        _fail(str(exc), 1)
    for p in paths:
        console.print(f"{p} ({p.stat().st_size:,} bytes)", highlight=False)
    console.print(f"in {time.perf_counter() - t0:.1f} s", highlight=False)


@app.command("chart")
def chart_cmd(
    round_value: Annotated[Optional[str], typer.Option("--round", help=ROUND_HELP + " (default: the latest)")] = None,
    population: Annotated[str, typer.Option(help="idp or returnee (for the change chart)")] = "idp",
    kind: Annotated[str, typer.Option(help="trend (national, every round) or change (governorates)")] = "trend",
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated: png, pdf")] = "png,pdf",
    out: Annotated[Path, typer.Option(help="Output folder")] = Path("."),
    country: Annotated[Optional[str], typer.Option(help=COUNTRY_HELP)] = None,
):
    """The national trend of IDPs and returnees, or the governorates' change since the previous round."""
    from service.maps import charts
    from service.maps.data import MapSpec, resolve_round

    ref = _round(round_value)
    formats = [f.strip().lower() for f in fmt.split(",") if f.strip()]
    if kind not in ("trend", "change") or any(f not in ("png", "pdf") for f in formats):
        _fail("--kind is trend or change; --format png and/or pdf")
    engine = open_engine()
    try:
        with engine.connect() as conn:
            spec = MapSpec(ref.number, population, country=country, reporting_date=ref.date)
            rnd = resolve_round(conn, spec.checked())
            if kind == "trend":
                paths = charts.render_trend(charts.load_trend(conn, rnd["country"]), rnd, out, formats)
            else:
                paths = charts.render_change(charts.load_change(conn, rnd), out, formats)
    except AtlasError as exc:  # MapRequestError, RoundNotFound, ...
        _fail(_message(exc))
    for p in paths.values():
        console.print(f"{p} ({p.stat().st_size:,} bytes)", highlight=False)


@package_app.callback()
def package_cmd(
    ctx: typer.Context,
    round_value: Annotated[Optional[str], typer.Option("--round", help=ROUND_HELP)] = None,
    population: Annotated[str, typer.Option(help="idp, returnee or both")] = "both",
    out: Annotated[
        Optional[Path], typer.Option(help="A new folder, or a file name ending in .zip (default: ./<package name>.zip)")
    ] = None,
    governorates: Annotated[
        Optional[str], typer.Option(help="Only these governorates' maps (comma-separated P-codes; default: all)")
    ] = None,
    dpi: Annotated[int, typer.Option(help="PNG resolution of the maps", min=30, max=600)] = 300,
    workers: Annotated[Optional[int], typer.Option(help="Processes drawing maps (default: one per CPU)", min=1)] = None,
    country: Annotated[Optional[str], typer.Option(help=COUNTRY_HELP)] = None,
    crisis: Annotated[Optional[str], typer.Option(help="Emergency Tracking: the daily snapshot of this crisis")] = None,
    day: Annotated[
        Optional[str], typer.Option("--date", help="With --crisis: the day (YYYY-MM-DD; default the last)")
    ] = None,
    event: Annotated[
        Optional[str], typer.Option(help="GLIDE number or event id recorded for every map in catalogue.json")
    ] = None,
):
    """Write the information package of a round (or, with --crisis and --date, the daily
    snapshot of an Emergency Tracking crisis: a map and a half-page table, PDF + PNG + CSV):
    national and governorate maps (PNG + PDF) for
    IDPs and returnees, folium HTML, charts, exports (GeoPackage, shapefile, CSV with HXL, XLSX),
    summary tables, a one-page summary PDF, README and a SHA-256 manifest; the kinds' own maps
    (maps/<kind>/: a page per public indicator dataset of the round). A round the country has
    only indicator datasets of (--round 39 --country NGA) is a package of their pages."""
    if ctx.invoked_subcommand is not None:
        return
    if crisis is not None:  # the ETT daily snapshot (service/events/snapshot.py)
        from service.cli.events_flows import snapshot_cmd

        return snapshot_cmd(crisis, day, out, dpi)
    if round_value is None:
        _fail("--round: a package needs its round (or --crisis ID --date D for an ETT daily snapshot)")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from boundaries.pcode import normalize_country
    from service.maps import package

    ref = _round(round_value)
    if ref.number is None and ref.date is None:
        _fail("--round: a package needs its round: a DTM round number (120) or a reporting date (2015-06-04)")
    if country is not None:
        try:
            country = normalize_country(country)
        except ValueError:
            _fail(f"--country {country!r} is not a country code (IRQ, or its P-code prefix IQ)")
    package.warm_up()  # the map workers' server and the classifier load while the plan is made
    engine = open_engine()
    extents = [g.strip().upper() for g in governorates.split(",") if g.strip()] if governorates else None
    try:
        plan = package.plan(engine, ref.number, population, extents=extents, country=country, reporting_date=ref.date)
    except AtlasError as exc:  # MapRequestError, RoundNotFound, ...
        _fail(_message(exc))
    if out is None:
        out = Path.cwd() / f"{plan.name}.zip"
    columns = (
        TextColumn("[bold]package[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    try:
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("starting", total=plan.steps)
            result = package.build(
                engine,
                plan.round_number,
                out,
                dpi=dpi,
                workers=workers,
                logo=get_settings().maps.logo,
                the_plan=plan,
                progress=lambda what: bar.update(task, advance=1, description=what),
                event=event,
                shared_dir=get_settings().shared_data_dir,
                household_sizes=get_settings().imports.household_sizes,
            )
            bar.update(task, completed=plan.steps, description="done")
    except AtlasError as exc:  # MapRequestError, RoundNotFound, ...
        _fail(_message(exc))
    except package.PackageError as exc:
        _fail(str(exc))
    size = (
        result.path.stat().st_size
        if result.path.is_file()
        else sum(f.stat().st_size for f in result.path.rglob("*") if f.is_file())
    )
    console.print(
        f"{result.path}: {len(result.files)} files, {size / 1e6:.1f} MB, data version {result.data_version}, "
        f"in {result.seconds:.1f} s",
        highlight=False,
    )
