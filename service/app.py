"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from sqlalchemy import Engine

from service.core.logs import log, setup_logging
from service.core.settings import Settings, get_settings

logger = logging.getLogger("dtm_atlas.http")


class AccessLog:
    """One structured log line per request. Pure ASGI (no BaseHTTPMiddleware): it adds no
    task or body copying on the hot path of tiles."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if logger.isEnabledFor(logging.INFO):
                log(
                    logger,
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode("latin-1") or None,
                    status=status["code"],
                    ms=round((time.perf_counter() - t0) * 1000, 1),
                )


@asynccontextmanager
async def lifespan(app: FastAPI):
    # what start-up made (modules, routes, settings) lives as long as the process: out of the
    # collector's reach, full collections stay short (docs/tiles.md: the GC freeze and the
    # cache-off p99)
    gc.freeze()
    yield
    tiles = getattr(app.state, "tiles", None)
    if tiles is not None:  # the tile connection pool of this loop and the version watcher
        await tiles.aclose()
        tiles.close()
    if getattr(app.state, "read_route", None) is not None:
        app.state.read_route.dispose()


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    setup_logging(settings.log_level)
    if engine is None:
        from service import db

        engine = db.get_engine(settings)
    from fastapi import Depends

    from service.auth import principal

    app = FastAPI(
        dependencies=[Depends(principal)],  # who asks, on every route (service/auth/principal.py)
        title="DTM Atlas",
        version="0.1.0",
        description="Displacement figures per admin unit and round, boundaries, maps and exports (IOM DTM).",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: service.api.apidocs, offline
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.state.engine = engine  # the primary (DATABASE_URL): writes, and reads without replicas
    app.state.read_route = None
    if settings.read_database_urls:  # GET and HEAD read from replicas (service/api/reads.py)
        from service import db
        from service.api.reads import ReadFromHeader

        app.state.read_route = db.read_route(
            engine, settings.read_database_urls, settings.replica_max_lag_s, settings.tiles.db_connections
        )
        app.add_middleware(ReadFromHeader)  # X-Read-From: replica-N or primary

    from service.api.access import AccessHeaders

    app.add_middleware(AccessHeaders)  # Vary: Authorization; the answer's access scope's Cache-Control
    app.add_middleware(AccessLog)
    from service.api import metrics

    metrics.install(app, engine)  # /metrics: requests, latency, cache hits, pool, imports
    from service.api.params import RejectNulBytes

    app.add_middleware(RejectNulBytes)  # PostgreSQL text has no NUL: a 400 before any endpoint
    from service import kinds
    from service.api.queue import RenderGate
    from service.api.renderpool import pool_for

    # renders run in worker processes (service/api/renderpool.py), each wired with the kinds as here
    app.state.render_pool = pool_for(settings, setup=kinds.install)

    app.add_middleware(  # maps and packages: a bounded pool with a queue, anonymous rate limit
        RenderGate,
        workers=settings.render.workers,
        queue=settings.render.queue,
        anon_per_minute=settings.anon_renders_per_minute,
        engine=engine,
    )
    from service.api.limits import Guard

    app.add_middleware(Guard)  # path/query length limits, security headers (service/api/limits.py)
    from service.api.cors import ReadOnlyCORS

    app.add_middleware(ReadOnlyCORS, origins=settings.cors_origins)  # cross-origin reads (service/api/cors.py)

    from service.api import errors

    errors.install(app)  # exception -> status, one table (service/api/errors.py)

    from service import kinds

    registry = kinds.install()  # the kinds of data (service/kinds.py): their routers, datasets, tile layers
    app.state.registry = registry
    from service.api import admin_units, exports, health, maps, ogc, styles, tiles, web, webmap

    for module in (health, admin_units):
        app.include_router(module.router)
    for kind in registry.kinds:
        for router in kind.routers():
            app.include_router(router)
    # the publishers: they read every kind through the registry
    tiles.document_layer_parameters()  # the kinds' layers' own parameters (crisis, date, from, fmp, ...)
    for module in (tiles, styles, web, webmap, ogc, exports, maps):
        app.include_router(module.router)
    from service.api import uploads, versions  # POST /rounds (token before body); a round's versions

    uploads.sweep(settings)  # uploads left behind by a killed process
    app.include_router(uploads.router)
    app.include_router(versions.router)
    from service.api import access as access_api

    app.include_router(access_api.router)  # GET /auth/whoami (the web map's sign-in)
    from service.api import apidocs

    app.include_router(apidocs.router)  # /docs, /redoc from packaged assets
    from service.api import basemap

    app.include_router(basemap.router)  # the context basemap (Natural Earth), our own tiles
    app.include_router(metrics.router)
    from service.api import openapi_variants

    openapi_variants.install(app)  # routes sharing a path (the choropleth ?dataset=) as one operation

    from service.api import openapi_truth

    openapi_truth.install(app)  # the statuses and media types each route really answers
    return app
