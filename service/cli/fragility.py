"""`dtm-atlas fragility ...` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from service.cli.common import console, fail, open_engine

app = typer.Typer(help="Fragility overlays per sub-district: compute, list runs, method card.", no_args_is_help=True)


@app.command("compute")
def compute(
    round_number: Annotated[
        Optional[int], typer.Option("--round", help="DTM round number (default: the latest IDP round)")
    ] = None,
    method: Annotated[
        Optional[Path], typer.Option(help="Method file, YAML or JSON (default: the shipped default method)")
    ] = None,
    force: Annotated[bool, typer.Option(help="Recompute even when the stored run is up to date")] = False,
):
    """Compute (or confirm up to date) the fragility of a round; results stored per unit, round and method version."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from service.core.settings import get_settings
    from service.fragility.inputs import InputError
    from service.fragility.method import MethodError
    from service.fragility.run import FragilityError, ensure_run

    engine = open_engine()
    tasks: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        try:
            run, computed = ensure_run(
                engine,
                shared_dir=get_settings().shared_data_dir,
                round_number=round_number,
                method_path=method,
                force=force,
                progress=progress,
                username=get_settings().user,
            )
        except (FragilityError, MethodError, InputError) as exc:
            fail(str(exc))
    s = run["summary"]
    verb = "computed" if computed else "up to date (stored)"
    console.print(
        f"fragility {run['method_id']} {run['method_version']}, round {run['round_number']}: {verb}; "
        f"{s['units_ok']} of {s['units']} sub-districts with an index, {s['hotspots']} hotspots"
    )
    console.print("classes: " + ", ".join(f"{k} {v}" for k, v in s["class_counts"].items()))
    issues = run["inputs"]["sources"].get("issues", [])
    if issues:
        console.print(f"{len(issues)} input rows reported (first 10; all in the import log, id {run['import_id']}):")
        for i in issues[:10]:
            console.print(f"  {Path(i['file']).name} row {i['row']} {i['field']}: {i['message']}", highlight=False)


@app.command("runs")
def runs(
    check: Annotated[
        bool, typer.Option(help="Compare each run's inputs with the current ones and mark changed runs stale")
    ] = True,
    method: Annotated[Optional[Path], typer.Option(help="Method file of non-default runs to check")] = None,
):
    """List the stored fragility runs (and mark those whose inputs changed as stale)."""
    from rich.table import Table

    from service.core.settings import get_settings
    from service.fragility import store
    from service.fragility.method import load_method
    from service.fragility.run import refresh_stale

    engine = open_engine()
    if check:
        paths = {load_method(None)[0].id: None}
        if method is not None:
            paths[load_method(method)[0].id] = method
        changed = refresh_stale(engine, get_settings().shared_data_dir, paths)
        if changed:
            console.print(f"{len(changed)} run(s) marked stale (recomputed on the next request or compute)")
    with engine.connect() as conn:
        rows = store.list_runs(conn)
    table = Table("round", "method", "version", "computed", "stale", "classes")
    for r in rows:
        table.add_row(
            str(r["round_number"]),
            r["method_id"],
            r["method_version"],
            str(r["computed_at"])[:19],
            "yes" if r["stale"] else "no",
            ", ".join(f"{k} {v}" for k, v in (r["class_counts"] or {}).items()),
        )
    console.print(table)


@app.command("card")
def card(
    round_number: Annotated[
        Optional[int], typer.Option("--round", help="DTM round number (default: the latest IDP round)")
    ] = None,
    method: Annotated[Optional[Path], typer.Option(help="Method file (default: the shipped default)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write the Markdown card here (default: print it)")] = None,
):
    """The method card of a run, as Markdown (computing the run first when it is missing or stale)."""
    from service.core.settings import get_settings
    from service.fragility.card import markdown
    from service.fragility.inputs import InputError
    from service.fragility.method import MethodError
    from service.fragility.run import FragilityError, ensure_run

    try:
        run, _ = ensure_run(
            open_engine(), shared_dir=get_settings().shared_data_dir, round_number=round_number, method_path=method
        )
    except (FragilityError, MethodError, InputError) as exc:
        fail(str(exc))
    text = markdown(run)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")
    else:
        console.print(text, markup=False, highlight=False)
