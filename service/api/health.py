"""/health: is the database reachable, which PostGIS, which migration."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

from service import db
from service.api.common import DbEngine, FormatParam, render
from service.core.importlog import data_version

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database reachable, PostGIS version, migration head")
def health(request: Request, engine: DbEngine, f: FormatParam = None):
    out = {"status": "ok", "database": "reachable"}
    try:
        with engine.connect() as conn:
            out["postgres_version"] = conn.execute(text("SHOW server_version")).scalar()
            out["postgis_version"] = conn.execute(text("SELECT postgis_lib_version()")).scalar()
            out["migration"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            out["data_version"] = data_version(conn)
        route = getattr(request.app.state, "read_route", None)
        if route is not None:  # the replicas reads go to: reachable, replayed version, lag, in reads
            from service.api.httpcache import get_service

            get_service(request.app).read_sync()  # probes the replicas that are due
            out["replicas"] = route.status(out["data_version"])
        out["migration_head"] = db.head_revision(engine)
        out["migrations_current"] = out["migration"] == out["migration_head"]
        if not out["migrations_current"]:
            out["status"] = "degraded"
    except Exception as exc:  # report, don't crash: health must answer
        out = {"status": "error", "database": "unreachable", "message": str(exc).splitlines()[0]}
        from service.api.errors import DB_UNAVAILABLE, RETRY_AFTER_S

        out["detail"] = DB_UNAVAILABLE
        resp = render(request, f, out, title="Health")
        resp.status_code = 503
        resp.headers["Retry-After"] = str(RETRY_AFTER_S)
        return resp
    return render(request, f, out, title="Health")
