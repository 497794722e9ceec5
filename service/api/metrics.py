"""``GET /metrics``: the service's numbers in Prometheus' text format (prometheus-client).

* ``dtm_atlas_http_requests_total{method,route,status}`` and
  ``dtm_atlas_http_request_duration_seconds{method,route}`` (a histogram), per route template
  (``/tiles/{layers}/{z}/{x}/{y}.mvt``, not per URL, so the label set stays small);
* ``dtm_atlas_cache_requests_total{route,result}``: answers of the data-version caches
  (``X-Cache: hit|miss`` of tiles, choropleths, the DTM API, the web map's figures);
* ``dtm_atlas_db_pool_connections{state}``: the SQLAlchemy pool's connections in use and idle;
* ``dtm_atlas_imports_total{outcome}`` and ``dtm_atlas_data_version``: read from
  ``import_log`` and ``data_version`` at scrape time (every process sees every import).

Each app has its own registry (tests build many apps in one process).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import text

router = APIRouter(tags=["health"])

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class DatabaseCollector:
    """Pool use, imports and the data version, read when Prometheus scrapes."""

    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        pool = GaugeMetricFamily("dtm_atlas_db_pool_connections", "Database pool connections", labels=["state"])
        p = self.engine.pool
        in_use = p.checkedout() if hasattr(p, "checkedout") else 0
        idle = p.checkedin() if hasattr(p, "checkedin") else 0
        pool.add_metric(["in_use"], in_use)
        pool.add_metric(["idle"], idle)
        yield pool
        imports = CounterMetricFamily("dtm_atlas_imports", "Imports logged, by outcome", labels=["outcome"])
        version = GaugeMetricFamily("dtm_atlas_data_version", "The data version (bumped by every import)")
        try:
            with self.engine.connect() as conn:
                for outcome, n in conn.execute(text("SELECT outcome, count(*) FROM import_log GROUP BY outcome")):
                    imports.add_metric([outcome], n)
                version.add_metric([], conn.execute(text("SELECT version FROM data_version")).scalar() or 0)
        except Exception:  # the database is down: the HTTP numbers are still worth scraping
            return
        yield imports
        yield version


class Metrics:
    def __init__(self, engine):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "dtm_atlas_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "dtm_atlas_http_request_duration_seconds",
            "HTTP request latency (to the end of the body)",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "dtm_atlas_cache_requests", "Cached answers by result", ["route", "result"], registry=self.registry
        )
        self.registry.register(DatabaseCollector(engine))


class MetricsMiddleware:
    """Pure ASGI: counts and times every request under its route template."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        seen = {"status": 500, "cache": None}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for k, v in message.get("headers", ()):
                    if k.lower() == b"x-cache":
                        seen["cache"] = v.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            m = self.metrics
            m.requests.labels(scope["method"], name, str(seen["status"])).inc()
            m.latency.labels(scope["method"], name).observe(time.perf_counter() - t0)
            if seen["cache"] in ("hit", "miss"):
                m.cache.labels(name, seen["cache"]).inc()


def install(app, engine) -> None:
    app.state.metrics = Metrics(engine)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)


@router.get("/metrics", summary="The service's numbers in Prometheus' text format", include_in_schema=True)
def metrics(request: Request):
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
