"""One table from exceptions to HTTP answers, registered on the app by ``install``.

Routes raise domain errors (a bad parameter, a round that does not exist, a lost database)
and never catch them to choose a status. Every domain error is a ``service.core.errors.AtlasError``
and carries its status (the table of statuses is in that module's docstring); ``ERROR_STATUS``
adds what is not ours: the database drivers' errors (503) and the master-list reader's
``MasterlistError`` (422). Every answer is JSON
``{"status": N, "detail": "..."}``; a database that cannot be reached is a 503 with
``Retry-After``. The DTM-API-compatible routes answer in their own envelope with the same
statuses (``status_for``).
"""

from __future__ import annotations

import logging

import psycopg
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api.params import ACCEPTED
from service.core.errors import AtlasError, DatabaseUnavailable
from service.core.logs import log
from service.ingest.masterlist import MasterlistError

logger = logging.getLogger("dtm_atlas.http")

RETRY_AFTER_S = 5
DB_UNAVAILABLE = (
    "the database is unavailable (not running or not reachable); "
    f"the service reconnects by itself: try again in {RETRY_AFTER_S} s"
)


def _db_errors() -> tuple[type[BaseException], ...]:
    return (
        DatabaseUnavailable,
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.InterfaceError,
        sqlalchemy.exc.PendingRollbackError,
        psycopg.OperationalError,
        psycopg.InterfaceError,
        PoolTimeout,
    )


# exception class -> status (None: the exception's own ``status``, service.core.errors)
ERROR_STATUS: dict[type[BaseException], int | None] = {
    AtlasError: None,
    MasterlistError: 422,  # the reader's whole-file problems (service/ingest/masterlist.py)
    **{cls: 503 for cls in _db_errors()},
}


def table() -> dict[type[BaseException], int | None]:
    return ERROR_STATUS


def _is_db_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and not isinstance(
        exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)
    ):
        return bool(exc.connection_invalidated)
    return isinstance(exc, _db_errors())


def status_for(exc: BaseException) -> tuple[int, str, dict]:
    """(status, detail, headers) of an exception; 500 for anything the table does not know."""
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, str(exc.detail), dict(getattr(exc, "headers", None) or {})
    if _is_db_unavailable(exc):
        if isinstance(exc.__cause__ or exc, psycopg.errors.QueryCanceled) or isinstance(
            getattr(exc, "orig", None), psycopg.errors.QueryCanceled
        ):
            return (
                503,
                "the query was cancelled (it took too long); try again or ask for less",
                {"Retry-After": str(RETRY_AFTER_S)},
            )
        return 503, DB_UNAVAILABLE, {"Retry-After": str(RETRY_AFTER_S)}
    for cls in type(exc).__mro__:
        if cls in table():
            status = table()[cls]
            if status is None:
                status = int(getattr(exc, "status", 400))
            detail = getattr(exc, "detail", None) or getattr(exc, "message", None) or str(exc)
            return status, str(detail), dict(getattr(exc, "headers", None) or {})
    return 500, "internal error; the server log has the details", {}


def validation_messages(exc: RequestValidationError) -> list[str]:
    """One message per parameter: its name, pydantic's reason, the value and what is accepted."""
    by_param: dict[str, list[str]] = {}
    got: dict[str, object] = {}
    for e in exc.errors():
        loc = [str(p) for p in e["loc"] if p not in ("query", "path", "body", "header", "cookie")]
        name = loc[0] if loc else "request"
        msg = e["msg"]
        by_param.setdefault(name, [])
        if msg not in by_param[name]:
            by_param[name].append(msg)
        if "input" in e and e["input"] is not None and name not in got:
            got[name] = e["input"]
    out = []
    for name, msgs in by_param.items():
        text = f"{name}: {' or '.join(msgs)}"
        if name in got and not isinstance(got[name], (dict, list)):
            text += f" (got {got[name]!r:.80})"
        if name in ACCEPTED:
            text += f"; accepted: {ACCEPTED[name]}"
        out.append(text)
    return out


def _answer(status: int, detail: str, headers: dict | None = None) -> JSONResponse:
    from service.api.limits import clip  # a few hundred characters, never a whole echoed input

    return JSONResponse({"status": status, "detail": clip(detail)}, status_code=status, headers=headers or None)


def install(app: FastAPI) -> None:
    """Register the handlers: HTTP errors, validation errors, the domain table, the rest (500)."""

    async def http_error(request: Request, exc: StarletteHTTPException):
        return _answer(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    async def validation_error(request: Request, exc: RequestValidationError):
        return _answer(400, "; ".join(validation_messages(exc)))

    async def domain_error(request: Request, exc: Exception):
        status, detail, headers = status_for(exc)
        if status >= 500:
            log(
                logger,
                "database unavailable" if status == 503 else "unhandled error",
                logging.WARNING if status == 503 else logging.ERROR,
                path=request.url.path,
                error=repr(exc)[:500],
            )
        return _answer(status, detail, headers)

    async def unhandled(request: Request, exc: Exception):
        status, detail, headers = status_for(exc)  # a wrapped database error still says so
        if status == 500:
            log(logger, "unhandled error", logging.ERROR, path=request.url.path, error=repr(exc))
        return _answer(status, detail, headers)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for cls in table():
        app.add_exception_handler(cls, domain_error)
    app.add_exception_handler(sqlalchemy.exc.DBAPIError, domain_error)
    app.add_exception_handler(Exception, unhandled)
