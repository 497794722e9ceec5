"""What every command shares: the consoles, one way to fail, the engine, and the turning of
errors into one message a person can act on (tracebacks only with ``--debug`` and in the log)."""

from __future__ import annotations

import datetime as dt
import traceback
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from service.core.settings import get_settings

console = Console()
err = Console(stderr=True)


class State:
    """Options of the whole command line (``dtm-atlas --debug ...``)."""

    debug = False


class PopulationChoice(str, Enum):
    idp = "idp"
    returnee = "returnee"


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def first_line(exc: BaseException) -> str:
    """An exception's message without the driver's context lines (SQL, parameters, links)."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_connection_error(exc: BaseException) -> bool:
    """The database went away or cannot be reached (not a bad statement or bad data)."""
    import psycopg
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(
        exc,
        (
            sa_exc.OperationalError,
            sa_exc.PendingRollbackError,
            sa_exc.InterfaceError,
            psycopg.OperationalError,
            psycopg.InterfaceError,
        ),
    ):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_connection_error(cause)


def database_hint() -> str:
    if get_settings().embedded:
        return "is the embedded cluster running? `dtm-atlas db start` starts it (`dtm-atlas db status` says)"
    return "is the server of DATABASE_URL running and reachable?"


def open_engine(migrate: bool = True):
    """The engine of the configured database (the embedded cluster is started if needed),
    migrated to the head unless ``migrate`` is false."""
    from service import db

    settings = get_settings()
    try:
        engine = db.get_engine(settings)
        if migrate:
            db.migrate(engine)
    except Exception as exc:  # noqa: BLE001 - shown to the user, with the reason
        log_traceback(exc)
        fail(f"database: {first_line(exc)}; {database_hint()}")
    return engine


def check_file(path: Path) -> Path:
    """``path`` if it is a readable file; otherwise fail with exit status 2, saying why."""
    import os

    if not path.exists():
        fail(f"{path}: file not found", 2)
    if path.is_dir():
        fail(f"{path}: is a folder; give the file to read", 2)
    if not os.access(path, os.R_OK):
        fail(f"{path}: cannot be read (permission denied)", 2)
    return path


@contextmanager
def whole_or_nothing(path: Path | str):
    """Around one file's import (one transaction): a lost database connection fails with the
    message that nothing of the file was imported."""
    try:
        yield
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        log_traceback(exc)
        fail(
            f"lost the database connection while importing ({first_line(exc)}): nothing of {path} was imported; "
            f"{database_hint()}"
        )


def log_path() -> Path:
    return Path(get_settings().data_dir) / "logs" / "cli.log"


def log_traceback(exc: BaseException) -> Path | None:
    """Append ``exc``'s traceback to the CLI log; the path, or None when it cannot be written."""
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}\n")
            fh.write("".join(traceback.format_exception(exc)))
        return path
    except OSError:
        return None


def describe(exc: BaseException) -> str:
    """One message for an error no command expected."""
    if is_connection_error(exc):
        return f"lost the database connection ({first_line(exc)}); {database_hint()}"
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or exc}: not found"
    if isinstance(exc, IsADirectoryError):
        return f"{exc.filename or exc}: is a folder, a file was expected"
    if isinstance(exc, PermissionError):
        return f"{exc.filename or exc}: permission denied"
    if isinstance(exc, OSError):
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or first_line(exc)}"
    return f"{type(exc).__name__}: {first_line(exc)}"


class Cli(typer.Typer):
    """The ``dtm-atlas`` application: an error no command handled becomes one message and exit
    status 1; the traceback goes to the CLI log (and to the terminal with ``--debug``)."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence for people
            if State.debug:
                raise
            path = log_traceback(exc)
            err.print(f"[bold red]error:[/] {describe(exc)}", highlight=False)
            if path is not None:
                err.print(f"(details in {path}; run with --debug to see them here)", highlight=False)
            raise SystemExit(1) from None


#: The help of every ``--round`` option that names a round to read.
ROUND_HELP = "The round: DTM round number (120) or reporting date (2019-06-30); default: the latest"


def round_option(value: str | None, option: str = "--round") -> tuple[int | None, dt.date | None]:
    """``--round``'s value as (DTM round number, reporting date), one of them or neither;
    exit 2 with the accepted forms for anything else (the API's rule: service.api.params)."""
    from service.core.errors import ParamError
    from service.core.rounds import parse_round

    try:
        ref = parse_round(value, option)
    except ParamError as exc:
        fail(exc.detail, 2)
    return ref.number, ref.date
