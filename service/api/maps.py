"""Static maps, charts and the information package over HTTP.

``?round=`` (and the package's ``{round}``) is a DTM round number or a reporting date
(``2015-06-04``: a round without a DTM number has only its date), through the shared input layer
(``service.api.params.parse_round``); anything else is a 400.

``GET /maps/{name}.{png|pdf|html}``: ``choropleth`` (``?round=&population=&level=&indicator=
&extent=&paper=&orientation=&dpi=&country=``; ``fragility`` too once that layer exists), ``trend``
and ``change`` (charts). Rendered on demand and kept in the tile cache (in-process LRU or
Redis) under the data version, so an import makes every older map unreachable; ETag/304.

``GET /packages/{round}.zip?population=both&country=``: the information package, built once per
data version into ``DATA_DIR/packages/v{version}/`` and then served from there (older versions'
packages are removed when a newer one is built).

``country=`` follows the shared rule (``service.core.countries``): omitted, the one country with
figures of the round asked; several: 400 naming ``country`` and listing them; a country without
data: 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import threading
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from service.api.access import answer_scope_of, authorize, current
from service.api.common import DbEngine
from service.api.params import ACCEPTED, ROUND_DESCRIPTION, Country, ParamError, Round, RoundRef, parse_round
from service.api.queue import render_slot
from service.api.renderpool import engine_arg, engine_of, render_pool
from service.core.access import cache_key as access_cache_key
from service.core.access import kind_resource
from service.core.errors import NotFound
from service.core.registry import registry
from service.core.versioncache import entry_key

router = APIRouter(tags=["maps"])

MEDIA = {"png": "image/png", "pdf": "application/pdf", "html": "text/html; charset=utf-8"}
MAPS_FORMAT = 1  # part of the cache key: bump when the drawing changes for the same data
# how /packages builds (the tests make small ones: low dpi, one governorate)
_locks: dict[str, asyncio.Lock] = {}
_package_locks: dict[str, threading.Lock] = {}
_package_guard = threading.Lock()


def _map_task(engine_or_url, name: str, ext: str, q: dict, shared_dir: Path, who=None, logo=None):
    """A render pool task (service.api.renderpool): a map's file name and bytes."""
    return _produce_map(engine_of(engine_or_url), name, ext, q, shared_dir, who, logo)


def _produce_map(engine, name: str, ext: str, q: dict, shared_dir: Path, who=None, logo=None) -> tuple[str, bytes]:
    import tempfile

    from service.maps import charts, interactive, render
    from service.maps.data import MapRequestError, MapSpec, load_map, resolve_round

    with tempfile.TemporaryDirectory(prefix="dtm-map-") as tmp:
        with engine.connect() as conn:
            if name in ("choropleth", "fragility"):
                indicator = "fragility" if name == "fragility" else q["indicator"]
                data = load_map(
                    conn,
                    MapSpec(
                        q["round"].number,
                        q["population"],
                        q["level"],
                        indicator,
                        q["extent"],
                        q["paper"],
                        q["orientation"],
                        q["country"],
                        q["round"].date,
                        q["bbox"],
                        q["classes"],
                    ),
                    shared_dir=shared_dir,
                    **({"who": who} if who is not None else {}),
                )
            else:
                ref = q["round"]
                spec = MapSpec(ref.number, q["population"], country=q["country"], reporting_date=ref.date)
                rnd = resolve_round(conn, spec.checked())
                chart = charts.load_trend(conn, rnd["country"]) if name == "trend" else charts.load_change(conn, rnd)
        if name in ("choropleth", "fragility"):
            path = (
                interactive.write(data, Path(tmp))
                if ext == "html"
                else render.render(data, Path(tmp), (ext,), dpi=q["dpi"], logo=logo)[ext]
            )
        else:
            if ext == "html":
                raise MapRequestError(400, f"{name} is a chart: ask for .png or .pdf")
            paths = (
                charts.render_trend(chart, rnd, Path(tmp), (ext,), dpi=q["dpi"])
                if name == "trend"
                else charts.render_change(chart, Path(tmp), (ext,), dpi=q["dpi"])
            )
            path = paths[ext]
        return path.name, path.read_bytes()


@router.get(
    "/maps/{name}.{ext}",
    summary="A static map or chart (PNG, PDF) or the map as offline HTML",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m in MEDIA.values()}},
        400: {"description": "bad parameter"},
        404: {"description": "unknown map, round, governorate or country"},
    },
)
async def map_file(
    request: Request,
    engine: DbEngine,
    name: str,
    ext: str,
    country: Country,
    round_ref: Round,
    population: Annotated[str, Query(description="idp or returnee")] = "idp",
    level: Annotated[int, Query(description="1 governorates, 2 districts, 3 sub-districts")] = 2,
    indicator: Annotated[str, Query(description="individuals, families, change, share")] = "individuals",
    extent: Annotated[str, Query(description="national or a governorate P-code")] = "national",
    paper: Annotated[str, Query(description="A4 or A3")] = "A4",
    orientation: Annotated[str, Query(description="landscape or portrait")] = "landscape",
    dpi: Annotated[int, Query(ge=30, le=300, description="PNG resolution")] = 300,
    bbox: Annotated[
        str | None,
        Query(
            description="A view to print (the web map's): west,south,east,north in degrees, e.g. "
            "42.6,35.9,43.8,36.8; the map's frame fits it and shows the units it touches",
            max_length=200,
        ),
    ] = None,
    classes: Annotated[
        str | None, Query(description="fixed (the same breaks in every round), quantile, jenks or equal")
    ] = None,
):
    from service.api.httpcache import etag_matches as _etag_matches
    from service.api.httpcache import get_service
    from service.maps.data import MapSpec, map_indicators

    who = current(request)
    names = ["choropleth", "trend", "change"] + (["fragility"] if "fragility" in map_indicators(who) else [])
    if name not in names:
        raise NotFound(f"unknown map {name!r}: use {', '.join(names)}")
    if ext not in MEDIA:
        raise NotFound(f"unknown format .{ext}: use .png, .pdf or .html")
    view = None
    if bbox is not None:
        parts = bbox.split(",")
        try:
            view = tuple(float(v) for v in parts) if len(parts) == 4 else None
        except ValueError:
            view = None
        if view is None:
            raise ParamError("bbox", "four numbers west,south,east,north in degrees (lon/lat)")
    q = {
        "round": round_ref,
        "population": population,
        "level": level,
        "indicator": indicator,
        "extent": extent,
        "paper": paper,
        "orientation": orientation,
        "dpi": dpi if ext == "png" else 300,
        "country": country,
    }
    spec = MapSpec(  # parameters checked before any cache or database work (MapRequestError: 400/404)
        round_ref.number,
        population,
        level,
        indicator if name != "fragility" else "fragility",
        extent,
        paper,
        orientation,
        country,
        round_ref.date,
        view,
        classes,
    ).checked()
    q["extent"], q["paper"], q["bbox"], q["classes"] = spec.extent, spec.paper, spec.bbox, spec.classes
    if name in ("trend", "change"):  # charts depend on the round and population only
        q = {"round": round_ref, "population": population, "dpi": q["dpi"], "country": country}
    # the policy: a kind's indicator is read at its kind's level (master-list figures are public)
    hook_kind = registry().kind(spec.indicator) if spec.indicator in registry().map_hooks() else None
    if hook_kind is not None:
        await authorize(request, kind_resource(hook_kind, country))
    who_key = access_cache_key(who, answer_scope_of(request))  # None: restricted, never cached
    service = get_service(request.app)
    version = await service.version(request)  # with replicas: what the request's replica has replayed
    key = entry_key(version, f"maps{MAPS_FORMAT}", f"{name}.{ext}", repr(sorted(q.items())), who_key or "")
    settings = request.app.state.settings

    async def render_entry() -> bytes:
        """Render in a place of the render queue (or 429, service.api.queue): digest, name, bytes."""
        async with render_slot(request):  # in a worker process, off the server's GIL and CPU share
            pool = render_pool(request)
            file_name, raw = await pool.run(
                _map_task, engine_arg(engine, pool), name, ext, q, settings.shared_data_dir, who, settings.maps.logo
            )
        digest = hashlib.blake2b(raw, digest_size=8).hexdigest()
        return f"{digest}\n{file_name}\n".encode() + raw

    status = "hit"
    entry = None if who_key is None else await service.cache.get(key)
    if who_key is None:
        status = "off"
        entry = await render_entry()
    if entry is None:
        lock = _locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:  # one rendering per map and version, however many ask at once
                entry = await service.cache.get(key)
                if entry is None:
                    status = "miss"
                    entry = await render_entry()
                    await service.cache.set(key, entry)
        finally:
            _locks.pop(key, None)
    digest, file_name, raw = entry.split(b"\n", 2)
    headers = {
        "ETag": f'W/"{digest.decode()}"',
        "Cache-Control": service.cache_control,
        "X-Data-Version": str(version),
        "X-Cache": status,
        "Content-Disposition": f'{"inline" if ext != "html" else "attachment"}; filename="{file_name.decode()}"',
    }
    if _etag_matches(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(raw, media_type=MEDIA[ext], headers=headers)


def _package_path(settings, version: int, plan, population: str) -> Path:
    """``v{version}/irq_r120_both.zip``; a round without a DTM number: ``irq_d20150604_both.zip``."""

    tag = plan.name.split("_package_", 1)[1].rsplit("_", 1)[0]  # r120, or d20150604 (package_base)
    return Path(settings.data_dir) / "packages" / f"v{version}" / f"{plan.country.lower()}_{tag}_{population}.zip"


def _build_package(engine, settings, version: int, population: str, plan, pool=None) -> Path:
    """The package's file, built once (one build per file however many ask: the lock is the
    server's) in a render worker (``pool``; none: here)."""
    target = _package_path(settings, version, plan, population)
    key = str(target)
    with _package_guard:
        lock = _package_locks.setdefault(key, threading.Lock())
    with lock:
        if target.exists():
            return target
        if pool is None:
            return _package_task(engine, settings, version, population, plan)
        return pool.call(_package_task, engine_arg(engine, pool), settings, version, population, plan)


def _package_task(engine_or_url, settings, version: int, population: str, plan) -> Path:
    """A render pool task: build the package into its file (through a ``.build.zip``)."""
    from service.maps import package

    engine = engine_of(engine_or_url)
    target = _package_path(settings, version, plan, population)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(".build.zip")
    part.unlink(missing_ok=True)
    package.build(
        engine,
        plan.round_number,
        part,
        population=population,
        the_plan=plan,
        dpi=settings.package_dpi,
        workers=settings.package_workers,
        shared_dir=settings.shared_data_dir,
        household_sizes=settings.imports.household_sizes,
        logo=settings.maps.logo,
    )
    part.replace(target)
    for old in target.parent.parent.glob("v*"):  # packages of older data versions
        if old != target.parent:
            shutil.rmtree(old, ignore_errors=True)
    return target


@router.get(
    "/packages/{round}.zip",
    summary="The information package of a round (zip)",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {}}},
        400: {"description": "bad parameter, or several countries have the round and none is named"},
        404: {"description": "no data for that round (in that country)"},
    },
)
async def package_zip(
    request: Request,
    engine: DbEngine,
    round: Annotated[str, PathParam(description=ROUND_DESCRIPTION.split(", within")[0])],
    country: Country,
    population: Annotated[Literal["both", "idp", "returnee"], Query(description="idp, returnee or both")] = "both",
):
    """Built on the first request after an import (about a minute), then served as a file.
    ``{round}``: a DTM round number (``/packages/120.zip``) or a reporting date
    (``/packages/2015-06-04.zip``, for a round without a DTM number too)."""
    from service.api.httpcache import get_service
    from service.maps import package

    ref: RoundRef = parse_round(round, "round")  # ParamError: 400
    if ref.number is None and ref.date is None:
        raise ParamError("round", "a package needs its round", ACCEPTED["round"])
    version = await get_service(request.app).version(request)
    settings = request.app.state.settings
    plan = await run_in_threadpool(  # the country and rounds first: 400/404 before any building
        package.plan,
        engine,
        ref.number,
        population,
        extents=settings.package_extents,
        country=country,
        reporting_date=ref.date,
    )
    target = _package_path(settings, version, plan, population)
    status = "hit"
    if not target.exists():
        status = "miss"
        async with render_slot(request):  # a place in the render queue, or 429 (service.api.queue)
            target = await run_in_threadpool(
                _build_package, engine, settings, version, population, plan, render_pool(request)
            )
    name = plan.name
    if population != "both":
        name = name.replace("_package_", f"_{population}_package_")
    return FileResponse(
        target,
        media_type="application/zip",
        filename=f"{name}.zip",
        headers={"X-Data-Version": str(version), "X-Cache": status},
    )
