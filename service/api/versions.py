"""The versions of a round over HTTP, for editors (``service.ingest.versions``):
``GET /rounds/{ref}/history``, ``POST /rounds/{ref}/restore?version=N``,
``POST /rounds/{ref}/confirm`` (publish the newest held import)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from service.api.common import Conn, get_engine
from service.api.params import INT4_MAX
from service.auth import Editor

router = APIRouter(tags=["figures"])

RefParam = Annotated[
    str,
    Path(
        max_length=12,
        description="The round: DTM's round number (120) or its reporting date (2021-02-28)",
        examples=["120"],
    ),
]
PopulationParam = Annotated[Literal["idp", "returnee"], Query(description="idp (default) or returnee")]
CountryParam = Annotated[
    str | None, Query(min_length=3, max_length=3, description="ISO3 code (needed only with several countries)")
]
ERRORS = {
    401: {"description": "No or unknown token"},
    403: {"description": "The token's role is not editor"},
    404: {"description": "No such round or version"},
    409: {"description": "The version cannot be published (already current, pruned, ...)"},
}


def _key(conn, ref: str, population: str, country: str | None):
    from service.ingest.versions import VersionError, VersionNotFound, resolve_key

    try:
        return resolve_key(conn, ref, population, country)
    except VersionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except VersionError as exc:
        raise HTTPException(400, str(exc)) from None


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


@router.get("/rounds/{ref}/history", summary="The versions of a round (editor token)", responses=ERRORS)
def round_history(
    request: Request,
    conn: Conn,
    user: Editor,
    ref: RefParam,
    population: PopulationParam = "idp",
    country: CountryParam = None,
):
    """Every import of the round's date: the current version, the superseded ones (kept until
    pruned) and the held ones (stored, not published), with why they were held."""
    from service.ingest.versions import history

    key = _key(conn, ref, population, country)
    rows = history(conn, key)
    return {
        "country": key.country,
        "population": key.population,
        "reporting_date": key.reporting_date.isoformat(),
        "versions": [_jsonable(r) for r in rows],
    }


async def _restore(request: Request, user: dict, ref: str, population: str, country: str | None, version):
    from service.ingest.versions import VersionError, VersionNotFound, restore

    engine = get_engine(request)
    with engine.connect() as conn:
        key = _key(conn, ref, population, country)
    try:
        done = await run_in_threadpool(restore, engine, key, version, username=user.subject, held_only=version is None)
    except VersionNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except VersionError as exc:
        raise HTTPException(409, str(exc)) from None
    return {
        "country": key.country,
        "population": key.population,
        "reporting_date": key.reporting_date.isoformat(),
        "round_number": done.round_number,
        "version": done.version,
        "round_id": done.round_id,
        "superseded_version": done.superseded,
        "import_id": done.import_id,
        "data_version": done.data_version,
    }


@router.post("/rounds/{ref}/restore", summary="Publish an earlier version of a round (editor token)", responses=ERRORS)
async def round_restore(
    request: Request,
    user: Editor,
    ref: RefParam,
    version: Annotated[int, Query(ge=1, le=INT4_MAX, description="The version (see /rounds/{ref}/history)")],
    population: PopulationParam = "idp",
    country: CountryParam = None,
):
    """Publish version ``version`` exactly as it was (rows, aggregates, round id); the version
    it displaces is kept (superseded)."""
    return await _restore(request, user, ref, population, country, version)


@router.post("/rounds/{ref}/confirm", summary="Publish a round's held import (editor token)", responses=ERRORS)
async def round_confirm(
    request: Request, user: Editor, ref: RefParam, population: PopulationParam = "idp", country: CountryParam = None
):
    """Publish the newest held version of the round (held: its locations fell by more than
    DTM_ATLAS_MAX_SHRINK, or the file looked cut short); the version it displaces is kept."""
    return await _restore(request, user, ref, population, country, None)
