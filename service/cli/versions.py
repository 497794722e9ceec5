"""``dtm-atlas rounds history|restore|confirm|prune``: the versions of a round
(``service.ingest.versions``): nothing an import replaces is lost."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from service.cli.common import PopulationChoice, console, fail, open_engine
from service.core.settings import get_settings

REF_HELP = "The round: DTM's round number (120) or its reporting date (2021-02-28)"


def _key(conn, ref: str, population: PopulationChoice, country: Optional[str]):
    from service.ingest.versions import VersionError, resolve_key

    try:
        return resolve_key(conn, ref, population.value, country)
    except VersionError as exc:
        fail(str(exc), 2)


def register(app: typer.Typer) -> None:
    """Add the version commands to the ``rounds`` group."""

    @app.command("history")
    def rounds_history(
        ref: Annotated[str, typer.Argument(help=REF_HELP, metavar="REF")],
        population: Annotated[PopulationChoice, typer.Option(help="idp or returnee")] = PopulationChoice.idp,
        country: Annotated[Optional[str], typer.Option(help="ISO3 code (needed only with several countries)")] = None,
    ):
        """The versions of a round: every import of its date, which one is published (current),
        which were replaced (superseded, kept) and which are held for confirmation, and why."""
        from service.ingest.versions import history

        with open_engine().connect() as conn:
            key = _key(conn, ref, population, country)
            rows = history(conn, key)
        t = Table(
            "version",
            "state",
            "round",
            "locations",
            "individuals",
            "file",
            "by",
            "imported",
            "why held",
            title=key.label(),
        )
        for r in rows:
            state = {"current": "[green]current[/]", "held": "[yellow]held[/]"}.get(r["state"], r["state"])
            t.add_row(
                str(r["version"]),
                state,
                "" if r["round_number"] is None else str(r["round_number"]),
                f"{r['rows'] or 0:,}",
                f"{r['individuals'] or 0:,}",
                r["file_name"] or "",
                r["username"] or "",
                r["created_at"].strftime("%Y-%m-%d %H:%M"),
                r["reason"] or "" if r["state"] == "held" else "",
            )
        console.print(t)
        if any(r["state"] == "held" for r in rows):
            console.print(f"confirm the held import: dtm-atlas rounds confirm {ref} --population {population.value}")

    @app.command("restore")
    def rounds_restore(
        ref: Annotated[str, typer.Argument(help=REF_HELP, metavar="REF")],
        version: Annotated[int, typer.Option("--version", min=1, help="The version to publish (see `rounds history`)")],
        population: Annotated[PopulationChoice, typer.Option(help="idp or returnee")] = PopulationChoice.idp,
        country: Annotated[Optional[str], typer.Option(help="ISO3 code (needed only with several countries)")] = None,
    ):
        """Publish an earlier (or held) version of a round exactly as it was: its rows,
        aggregates and round id. The version it displaces is kept (superseded)."""
        _restore(ref, version, population, country)

    @app.command("confirm")
    def rounds_confirm(
        ref: Annotated[str, typer.Argument(help=REF_HELP, metavar="REF")],
        population: Annotated[PopulationChoice, typer.Option(help="idp or returnee")] = PopulationChoice.idp,
        country: Annotated[Optional[str], typer.Option(help="ISO3 code (needed only with several countries)")] = None,
    ):
        """Publish the round's newest held import (held: its rows fell too much, or the file
        looked cut short). The version it displaces is kept (superseded)."""
        _restore(ref, None, population, country)

    @app.command("prune")
    def rounds_prune(
        keep: Annotated[int, typer.Option(min=0, help="Superseded versions to keep per round")] = 0,
        ref: Annotated[Optional[str], typer.Option("--round", help="Only this round (" + REF_HELP + ")")] = None,
        population: Annotated[PopulationChoice, typer.Option(help="idp or returnee")] = PopulationChoice.idp,
        country: Annotated[Optional[str], typer.Option(help="ISO3 code")] = None,
    ):
        """Delete superseded versions (their rows and aggregates) beyond the newest KEEP of each
        round. Held versions are never pruned: confirm them or leave them."""
        from service.ingest.versions import prune

        engine = open_engine()
        key = None
        if ref is not None:
            with engine.connect() as conn:
                key = _key(conn, ref, population, country)
        n = prune(engine, keep=keep, key=key)
        console.print(f"{n} superseded version{'s' if n != 1 else ''} deleted")


def _restore(ref: str, version: int | None, population: PopulationChoice, country: Optional[str]) -> None:
    from service.ingest.versions import VersionError, restore

    engine = open_engine()
    with engine.connect() as conn:
        key = _key(conn, ref, population, country)
    try:
        done = restore(engine, key, version, username=get_settings().user)
    except VersionError as exc:
        fail(f"{exc}\nnothing was changed", 2)
    console.print(
        f"{key.label()}: version {done.version} published (round id {done.round_id})"
        + (f"; version {done.superseded} superseded, kept" if done.superseded else "")
    )
