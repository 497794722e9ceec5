"""Vector tiles and TileJSON: /tiles/{layers}/{z}/{x}/{y}.mvt, /tiles/{layers}.json, /tiles.

``layers`` is one layer or several, comma-separated (a composite tile): governorates,
districts, subdistricts (admin levels 1-3 with the figures of a round), locations (the
round's master-list points) and sites. See docs/tiles.md.

Tiles are served from a cache keyed by the data version (tiles.cache): a cached tile costs no
database query. A tile is gzip-compressed once, when made, and stored compressed; clients
that accept gzip get those bytes as they are. Empty tiles are ``204 No Content``.
"""

from __future__ import annotations

import dataclasses
import enum
import gzip
import hashlib
import threading
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from service.api.common import FormatParam, bad_request, render
from service.api.errors import DatabaseUnavailable
from service.api.params import (INDICATORS, Indicator as IndicatorName, Layers, Round, RoundRef, parse_indicator,
                                parse_population, parse_round, round_number_of)
from tiles.cache import CacheConfig, NoCache, VersionWatcher, conninfo, make_cache
from tiles.layers import LAYERS, MAX_REQUEST_ZOOM, Layer, parse_layers
from tiles.mvt import (POPULATIONS, Context, Resolver, TileError, TileQuery, check_tile, data_version, set_bounds,
                       tile_statement)

router = APIRouter(tags=["tiles"])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
TILES_FORMAT = 1  # part of every cache key: bump when the tile content changes for the same data
ETAG_LEN = 16  # a stored entry is the ETag's hex digest followed by the gzip body
POOL_WAIT_S = 10.0  # longest wait for a tile connection; then 503 (service.api.errors) and a new pool


Population = enum.Enum("Population", {p: p for p in POPULATIONS}, type=str)


PopulationParam = Annotated[Population, Query(description="idp or returnee")]
IndicatorParam = Annotated[IndicatorName, Query(description="The admin layers' value and class: individuals, families, change, share")]


# ------------------------------------------------------------------------------- the service
class TileService:
    """Per application: the tile cache, the data-version watcher and the metadata resolver."""

    def __init__(self, engine: Engine, config: CacheConfig | None = None):
        self.engine = engine
        self.config = config or CacheConfig.from_env()
        self.cache: NoCache = make_cache(self.config)
        self.watcher = VersionWatcher(engine)
        self.resolver = Resolver()
        self._pools: dict = {}  # (event loop, generic plans) -> (pool, opening task)
        max_age = self.config.max_age_s
        self.cache_control = f"public, max-age={max_age}" if max_age > 0 else "public, no-cache"

    # the data version: from memory while the watcher listens, else one query
    def read_version(self) -> int:
        with self.engine.connect() as conn:
            return data_version(conn)

    async def version(self) -> int:
        self.watcher.ensure_running()
        v = self.watcher.version
        if v is None:
            v = await run_in_threadpool(self.read_version)
        self.cache.new_version(v)
        return v

    def dated(self, query: TileQuery, ref: RoundRef) -> TileQuery:
        """``query`` with the number of the round ``ref`` names by its reporting date."""
        with self.engine.connect() as conn:
            return dataclasses.replace(query, round_number=round_number_of(conn, ref, query.population))

    def snapshot(self):
        """A connection whose statements all see one snapshot (the version read first holds)."""
        return self.engine.connect().execution_options(isolation_level="REPEATABLE READ")

    def context(self, version: int, query: TileQuery, layers: list[Layer]) -> Context:
        """The context of ``query``, read in a snapshot (whose version may be newer than
        ``version``: the returned context says which); ``make_raw_tile`` asks the resolver's
        cache first."""
        with self.snapshot() as conn:
            ctx = self.resolver.context(conn, data_version(conn), query, layers)
            conn.rollback()
        return ctx

    async def make_tile(self, layers: list[Layer], z: int, x: int, y: int, query: TileQuery,
                        version: int) -> tuple[int, bytes]:
        """(data version, cache entry) of a tile: see ``make_raw_tile``."""
        seen, raw = await self.make_raw_tile(layers, z, x, y, query, version)
        return seen, make_entry(raw)

    async def make_raw_tile(self, layers: list[Layer], z: int, x: int, y: int, query: TileQuery,
                            version: int) -> tuple[int, bytes]:
        """(data version, MVT) of a tile. One statement (autocommit: no BEGIN, no ROLLBACK)
        reads the tile and the version of its snapshot; the context (round, classes) comes
        from the resolver's cache for that version, so tile and context always agree."""
        for _ in range(5):
            ctx = self.resolver.peek(version, query, layers)
            if ctx is None:  # once per data version and query: read in a thread
                ctx = await run_in_threadpool(self.context, version, query, layers)
            seen, raw = await self.render(layers, z, x, y, ctx)
            if seen == ctx.version:
                return seen, raw
            version = seen  # an import committed in between: again, at the newer version
        raise RuntimeError("the data version kept changing while making a tile")

    async def render(self, layers: list[Layer], z: int, x: int, y: int, ctx: Context) -> tuple[int, bytes]:
        """(version, MVT) through the tile connection pool: async psycopg connections in
        autocommit on the event loop (no thread hop per tile), statements prepared once per
        connection (no SQLAlchemy, no pre-ping per request). A connection found broken
        (database restarted) makes the pool check its idle connections, and the tile is
        tried once more."""
        import psycopg
        from psycopg_pool import PoolTimeout

        stmt, params = tile_statement(layers, z, ctx, with_version=True)
        if stmt is None:  # no layer has features at this zoom: empty whatever the data
            return ctx.version, b""
        params.update(x=x, y=y)
        pool = await self.pool(generic=stmt.generic_plan)

        async def run():
            async with pool.connection(timeout=POOL_WAIT_S) as conn:
                return await (await conn.execute(stmt.sql, params, prepare=True, binary=True)).fetchone()

        try:
            version, data = await run()
        except psycopg.OperationalError:
            # broken connections (the database restarted) or a database that is down: which one,
            # a direct connection says at once (a pool waiting to reconnect would not)
            if not await self.reachable():
                self.drop_pool(stmt.generic_plan)
                raise DatabaseUnavailable("the tile connection pool lost the database") from None
            await pool.check()
            version, data = await run()
        except PoolTimeout:
            # no connection within POOL_WAIT_S: a pool backing off after an outage starts afresh
            self.drop_pool(stmt.generic_plan)
            raise
        return int(version), bytes(data) if data else b""

    async def reachable(self) -> bool:
        """Whether a new connection to the database opens now (refused at once while it is down)."""
        import psycopg

        try:
            conn = await psycopg.AsyncConnection.connect(conninfo(self.engine), connect_timeout=3, autocommit=True)
        except psycopg.OperationalError:
            return False
        await conn.close()
        return True

    def drop_pool(self, generic: bool) -> None:
        """Forget this loop's pool: the next request opens a new one (closed in the background)."""
        import asyncio

        loop = asyncio.get_running_loop()
        entry = self._pools.pop((loop, generic), None)
        if entry is not None:
            loop.create_task(entry[0].close(timeout=1.0))

    async def pool(self, generic: bool = True):
        """The async connection pool of the running event loop (one per loop: a test
        client runs its own loop); ``generic``: its sessions run prepared statements with
        generic plans (``plan_cache_mode=force_generic_plan``)."""
        import asyncio

        loop = asyncio.get_running_loop()
        entry = self._pools.get((loop, generic))
        if entry is None:
            # pools of loops that have ended (a test client's, run without its lifespan): let
            # them go, their connections are closed when collected
            for ended in [key for key in self._pools if key[0].is_closed()]:
                del self._pools[ended]
            from psycopg_pool import AsyncConnectionPool

            kwargs = {"autocommit": True, "application_name": "dtm-atlas-tiles"}
            if generic:
                kwargs["options"] = "-c plan_cache_mode=force_generic_plan"
            pool = AsyncConnectionPool(
                conninfo(self.engine), min_size=0, max_size=self.config.db_connections, kwargs=kwargs,
                open=False, num_workers=1, name="dtm-atlas-tiles", max_idle=60.0,
            )
            # stored before it is open: requests arriving meanwhile wait for the same opening
            entry = self._pools[(loop, generic)] = (pool, loop.create_task(pool.open()))
        pool, opening = entry
        await opening  # (done: at once, or its error again)
        return pool

    async def aclose(self) -> None:
        """Close the pools of the running loop (application shutdown)."""
        import asyncio

        loop = asyncio.get_running_loop()
        for key in [key for key in self._pools if key[0] is loop]:
            await self._pools.pop(key)[0].close()

    def close(self) -> None:
        self.watcher.stop()

    def key(self, version: int, spec: str, z: int, x: int, y: int, query: TileQuery) -> str:
        return f"v{version}:f{TILES_FORMAT}:{spec}:{z}/{x}/{y}:{query.key()}"


def make_entry(raw: bytes) -> bytes:
    """ETag digest (of the uncompressed tile) + gzip body; an empty tile has an empty body."""
    digest = hashlib.blake2b(raw, digest_size=ETAG_LEN // 2).hexdigest().encode()
    return digest + (gzip.compress(raw, compresslevel=6, mtime=0) if raw else b"")


_service_lock = threading.Lock()


def get_service(app) -> TileService:
    service = getattr(app.state, "tiles", None)
    if service is None:
        with _service_lock:
            service = getattr(app.state, "tiles", None)
            if service is None:
                settings = getattr(app.state, "settings", None)
                config = CacheConfig.from_settings(settings) if settings is not None else None
                service = app.state.tiles = TileService(app.state.engine, config)
    return service


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        token, _, params = part.strip().partition(";")
        if token.strip() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


def _etag_matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag[2:] if etag.startswith("W/") else etag
    return any((t.strip()[2:] if t.strip().startswith("W/") else t.strip()) == opaque for t in header.split(","))


def _layers(spec: str) -> list[Layer]:
    return parse_layers(spec)  # LayerError: 404 unknown layer, 400 malformed list (service.api.errors)


# ------------------------------------------------------------------------------------ tiles
# The tile endpoint reads its parameters itself (no FastAPI validation): a cached tile then
# costs about what a no-op endpoint does. They are documented through OPENAPI_PARAMETERS.
def _int_param(name: str, value: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name}: Input should be a valid integer, got {value!r}") from None
    if number < minimum:
        raise bad_request(f"{name}: Input should be greater than or equal to {minimum}")
    return number


def tile_query(params) -> tuple[TileQuery, RoundRef]:
    """``?round=&population=&indicator=`` -> (TileQuery, what ``round`` names); 400 on a bad
    value (service.api.params). A round named by its date has no number in the query yet:
    ``TileService.dated`` looks it up."""
    population = parse_population(params.get("population"))
    indicator = parse_indicator(params.get("indicator"))
    ref = parse_round(params.get("round"))
    return TileQuery(population=population, round_number=ref.number, indicator=indicator), ref


def _tile_coordinates(path_params: dict) -> tuple[int, int, int]:
    z, x, y = (_int_param(k, path_params[k], minimum=-(1 << 62)) for k in ("z", "x", "y"))
    try:
        check_tile(z, x, y)
    except TileError as exc:
        raise bad_request(str(exc)) from None
    return z, x, y


async def _tile(request: Request) -> Response:
    chosen = _layers(request.path_params["layers"])
    z, x, y = _tile_coordinates(request.path_params)
    query, ref = tile_query(request.query_params)
    spec = ",".join(layer.id for layer in chosen)
    service = get_service(request.app)
    if ref.date is not None:
        query = await run_in_threadpool(service.dated, query, ref)
    version = await service.version()
    key = service.key(version, spec, z, x, y, query)
    if type(service.cache) is NoCache:
        # no cache: compress only for a client that takes gzip (an entry would gzip, then unzip);
        # RoundNotFound is a 404 (service.api.errors)
        version, raw = await service.make_raw_tile(chosen, z, x, y, query, version)
        return raw_response(request, raw, MVT_MEDIA_TYPE, service.cache_control,
                            {"X-Data-Version": str(version), "X-Tile-Cache": "off"})
    entry = await service.cache.get(key)
    status = "hit"
    if entry is None:
        status = "miss"
        seen, entry = await service.make_tile(chosen, z, x, y, query, version)
        if seen != version:  # an import committed in between: file it under what was read
            version, key = seen, service.key(seen, spec, z, x, y, query)
        await service.cache.set(key, entry)
    return entry_response(request, entry, MVT_MEDIA_TYPE, service.cache_control,
                          {"X-Data-Version": str(version), "X-Tile-Cache": status})


def entry_response(request: Request, entry: bytes, media_type: str, cache_control: str, extra: dict) -> Response:
    """A cache entry (ETag digest + gzip body) as a response: 304 on a matching
    If-None-Match, 204 when empty, the gzip body as is when the client accepts gzip."""
    etag = f'W/"{entry[:ETAG_LEN].decode()}"'
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding", **extra}
    if _etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    body = entry[ETAG_LEN:]
    if not body:
        return Response(status_code=204, headers=headers)
    if _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    return Response(body, media_type=media_type, headers=headers)


def raw_response(request: Request, raw: bytes, media_type: str, cache_control: str, extra: dict) -> Response:
    """An uncached body: same ETag, 304, 204 and gzip rules as ``entry_response``."""
    etag = f'W/"{hashlib.blake2b(raw, digest_size=ETAG_LEN // 2).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding", **extra}
    if _etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    if not raw:
        return Response(status_code=204, headers=headers)
    if _accepts_gzip(request):
        # made for this one response: the fastest level (2% bigger than level 6, a third
        # less CPU); cache entries, compressed once for many responses, use level 6
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw, compresslevel=1, mtime=0)
    return Response(raw, media_type=media_type, headers=headers)


async def cached(request: Request, name: str, params: tuple, media_type: str, produce) -> Response:
    """Serve what ``produce()`` (a blocking function returning bytes) makes, from the tile
    cache when it holds it for the current data version (so an import makes it stale)."""
    service = get_service(request.app)
    version = await service.version()
    key = f"v{version}:{name}:{params!r}"
    entry = await service.cache.get(key)
    status = "hit"
    if entry is None:
        status = "miss"
        entry = make_entry(await run_in_threadpool(produce))
        await service.cache.set(key, entry)
    return entry_response(request, entry, media_type, service.cache_control,
                          {"X-Data-Version": str(version), "X-Cache": status})


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


OPENAPI_PARAMETERS = [
    _param("layers", "path", {"type": "string"}, "A layer, or several comma-separated (a composite tile): "
           + ", ".join(LAYERS), True),
    _param("z", "path", {"type": "integer", "minimum": 0, "maximum": MAX_REQUEST_ZOOM}, "zoom", True),
    _param("x", "path", {"type": "integer", "minimum": 0}, "column, 0 .. 2^z - 1", True),
    _param("y", "path", {"type": "integer", "minimum": 0}, "row from the top (XYZ), 0 .. 2^z - 1", True),
    _param("round", "query", {"type": "string"},
           "DTM round number (e.g. 120) or a reporting date (2021-02-28), within the population "
           "(default: its latest round by reporting date)"),
    _param("population", "query", {"type": "string", "enum": list(POPULATIONS), "default": "idp"}, "idp or returnee"),
    _param("indicator", "query", {"type": "string", "enum": list(INDICATORS), "default": "individuals"},
           "The admin layers' value and class"),
]


@router.get(
    "/tiles/{layers}/{z}/{x}/{y}.mvt",
    summary="A vector tile (Mapbox Vector Tile) of one or several comma-separated layers",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "the tile (gzip when accepted)"},
               204: {"description": "no feature in this tile"},
               304: {"description": "unchanged (If-None-Match)"},
               400: {"description": "bad tile coordinates or parameter"},
               404: {"description": "unknown layer or round"}},
    openapi_extra={"parameters": OPENAPI_PARAMETERS},
)
async def tile(request: Request):
    return await _tile(request)


@router.get("/tiles/{layers}/{z}/{x}/{y}.pbf", include_in_schema=False)
async def tile_pbf(request: Request):
    return await _tile(request)


# --------------------------------------------------------------------------------- TileJSON
def tilejson(service: TileService, chosen: list[Layer], query: TileQuery, tiles_url: str) -> dict:
    with service.snapshot() as conn:
        version = data_version(conn)
        ctx = service.resolver.context(conn, version, query, chosen)
        bounds = service.resolver.cached(version, ("bounds",), lambda: set_bounds(conn, ctx.set_ids))
        conn.rollback()
    legends = {layer.id: ctx.legends[layer.level].to_dict() for layer in chosen
               if layer.kind == "admin" and layer.level in ctx.legends}
    minzoom = min(layer.minzoom for layer in chosen)
    maxzoom = max(layer.maxzoom for layer in chosen)
    bounds = bounds or [-180.0, -85.051129, 180.0, 85.051129]
    rnd = ctx.round
    return {
        "tilejson": "3.0.0",
        "name": "DTM Atlas: " + ", ".join(layer.id for layer in chosen),
        "description": "; ".join(layer.description for layer in chosen),
        "attribution": "Boundaries: OCHA COD-AB (CSO Iraq); figures: IOM DTM",
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [round((bounds[0] + bounds[2]) / 2, 4), round((bounds[1] + bounds[3]) / 2, 4),
                   max(minzoom, min(maxzoom, 5))],
        "vector_layers": [layer.tilejson() for layer in chosen],
        "legend": next(iter(legends.values()), None),
        "legends": legends,
        "dtm_atlas": {
            "data_version": version,
            "population": query.population,
            "indicator": query.indicator,
            "round": None if rnd is None else {
                "id": rnd["id"], "round_number": rnd["round_number"], "population": rnd["population"],
                "country": rnd["country"], "reporting_date": rnd["reporting_date"].isoformat()},
            "empty_tile": "204 No Content",
        },
    }


@router.get("/tiles/{layers}.json", summary="TileJSON 3.0.0 of one or several comma-separated layers, with the legend")
def tiles_json(
    request: Request,
    chosen: Layers,
    rnd_ref: Round,
    population: PopulationParam = Population.idp,
    indicator: IndicatorParam = IndicatorName.individuals,
    f: FormatParam = None,
):
    service = get_service(request.app)
    query = TileQuery(population=population.value, round_number=rnd_ref.number, indicator=indicator.value)
    if rnd_ref.date is not None:  # the tile URLs name the round by its number
        query = service.dated(query, rnd_ref)
    base = str(request.base_url).rstrip("/")
    qs = "&".join(f"{k}={query.round_number if k == 'round' else v}"
                  for k, v in request.query_params.multi_items() if k != "f")
    url = f"{base}/tiles/{','.join(layer.id for layer in chosen)}/{{z}}/{{x}}/{{y}}.mvt" + (f"?{qs}" if qs else "")
    data = tilejson(service, chosen, query, url)  # RoundNotFound: 404 (service.api.errors)
    return render(request, f, data, title=data["name"])


@router.get("/tiles", summary="The vector-tile layers and their TileJSON")
def tiles_index(request: Request, f: FormatParam = None):
    base = str(request.base_url).rstrip("/")
    service = get_service(request.app)
    data = {
        "layers": [dict(layer.tilejson(), geometry=layer.geometry, feature_limit=layer.feature_limit,
                        tilejson=f"{base}/tiles/{layer.id}.json") for layer in LAYERS.values()],
        "composite": f"{base}/tiles/{{layer1,layer2,...}}/{{z}}/{{x}}/{{y}}.mvt",
        "cache": service.cache.stats(),
        "data_version_source": "memory (LISTEN/NOTIFY)" if service.watcher.version is not None
        else f"database per request ({service.watcher.reason})",
    }
    return render(request, f, data, title="Vector tiles",
                  rows=[{k: v for k, v in layer.items() if k != "fields"} for layer in data["layers"]])
