"""The FastAPI application factory."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.logs import log, setup_logging
from service.settings import Settings, get_settings

logger = logging.getLogger("dtm_atlas.http")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    setup_logging(settings.log_level)
    if engine is None:
        from service import db

        engine = db.get_engine(settings)
    app = FastAPI(
        title="DTM Atlas",
        version="0.1.0",
        description="Displacement figures per admin unit and round, boundaries, maps and exports (IOM DTM).",
    )
    app.state.settings = settings
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.state.engine = engine

    @app.middleware("http")
    async def access_log(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        log(logger, "request", method=request.method, path=request.url.path, query=request.url.query or None,
            status=response.status_code, ms=round((time.perf_counter() - t0) * 1000, 1))
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse({"status": exc.status_code, "detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'path', 'body'))}: {e['msg']}" for e in exc.errors()
        ]
        return JSONResponse({"status": 400, "detail": "; ".join(problems)}, status_code=400)

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception):
        log(logger, "unhandled error", logging.ERROR, path=request.url.path, error=repr(exc))
        return JSONResponse({"status": 500, "detail": "internal error; the server log has the details"}, status_code=500)

    from service.api import admin_units, dtm, exports, figures, health, ogc, styles, tiles, web

    for module in (health, admin_units, figures, dtm, tiles, styles, web, ogc, exports):
        app.include_router(module.router)
    return app
