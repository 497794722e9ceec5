"""The tile service of one application: the tile cache, the data-version watcher, the
metadata resolver and the async connection pools that make tiles (docs/tiles.md).

The HTTP side (routes, ETag, gzip) is ``service/api/tiles.py`` and ``service/api/httpcache.py``.
"""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from service.core.errors import DatabaseUnavailable
from service.core.importlog import data_version
from service.core.replicas import Read, ReadRoute
from service.core.versioncache import entry_key
from tiles.cache import CacheConfig, NoCache, VersionWatcher, conninfo, make_cache
from tiles.layers import Layer
from tiles.mvt import Context, Resolver, TileQuery, tile_statement

TILES_FORMAT = 1  # part of every cache key: bump when the tile content changes for the same data
POOL_WAIT_S = 10.0  # longest wait for a tile connection; then 503 (service.api.errors) and a new pool


class TileService:
    """Per application: the tile cache, the data-version watcher and the metadata resolver."""

    def __init__(self, engine: Engine, config: CacheConfig, route: ReadRoute | None = None, settings=None):
        self.engine = engine  # the primary: DATABASE_URL (writes, the LISTEN of the watcher)
        self.config = config  # from the app's settings (service.api.httpcache.get_service)
        self.route = route if route is not None and route.split else None  # replicas for reads
        self.cache: NoCache = make_cache(self.config)
        self.watcher = VersionWatcher(engine)
        self.resolver = Resolver(settings)  # the app's settings, for layers binding with them
        self._pools: dict = {}  # (event loop, generic plans, id(engine)) -> (pool, opening task)
        max_age = self.config.max_age_s
        self.cache_control = f"public, max-age={max_age}" if max_age > 0 else "public, no-cache"

    # the data version: from memory while the watcher listens, else one query
    def read_version(self) -> int:
        with self.engine.connect() as conn:
            return data_version(conn)

    def _primary_version(self) -> int | None:
        self.watcher.ensure_running()
        return self.watcher.version

    def _chosen(self, request, read: Read) -> Read:
        if read.version is not None:
            self.cache.new_version(read.version)
        if request is not None:
            request.state.read = read
        return read

    async def read(self, request=None) -> Read:
        """Where this request reads and the data version it names (once per request: kept on
        ``request.state.read``). With replicas (service/core/replicas.py) that is the version
        the chosen replica has replayed, never the primary's newer one it cannot show yet."""
        known = getattr(request.state, "read", None) if request is not None else None
        if known is not None:
            return known
        v = self._primary_version()
        if v is None:
            v = await run_in_threadpool(self.read_version)
        if self.route is None:
            return self._chosen(request, Read(self.engine, v))
        self.route.heard(v)
        due = self.route.due(v)
        if due:  # ask the replicas that are behind (or were unreachable) again, off the event loop
            await run_in_threadpool(lambda: [self.route.probe(r) for r in due])
        return self._chosen(request, self.route.choose(v))

    def read_sync(self, request=None) -> Read:
        """:meth:`read` for code running in a thread (``service.api.common.get_conn``)."""
        known = getattr(request.state, "read", None) if request is not None else None
        if known is not None:
            return known
        v = self._primary_version()
        if v is None:
            v = self.read_version()
        if self.route is None:
            return self._chosen(request, Read(self.engine, v))
        self.route.heard(v)
        return self._chosen(request, self.route.choose(v))

    async def version(self, request=None) -> int:
        """The data version this request's answer is made at and cached under (:meth:`read`)."""
        return (await self.read(request)).version

    def snapshot(self, engine: Engine | None = None):
        """A connection whose statements all see one snapshot (the version read first holds)."""
        return (engine or self.engine).connect().execution_options(isolation_level="REPEATABLE READ")

    def context(self, version: int, query: TileQuery, layers: list[Layer], engine: Engine | None = None) -> Context:
        """The context of ``query``, read in a snapshot (whose version may be newer than
        ``version``: the returned context says which); ``make_raw_tile`` asks the resolver's
        cache first."""
        with self.snapshot(engine) as conn:
            ctx = self.resolver.context(conn, data_version(conn), query, layers)
            conn.rollback()
        return ctx

    async def make_raw_tile(
        self, layers: list[Layer], z: int, x: int, y: int, query: TileQuery, version: int, read: Read | None = None
    ) -> tuple[int, bytes]:
        """(data version, MVT) of a tile, read where ``read`` says (default: the primary). One
        statement (autocommit: no BEGIN, no ROLLBACK) reads the tile and the version of its
        snapshot; the context (round, classes) comes from the resolver's cache for that
        version, so tile and context always agree."""
        read = read or Read(self.engine, version)
        for _ in range(5):
            ctx = self.resolver.peek(version, query, layers)
            if ctx is None:  # once per data version and query: read in a thread
                ctx = await run_in_threadpool(self.context, version, query, layers, read.engine)
            seen, raw = await self.render(layers, z, x, y, ctx, read)
            if seen == ctx.version:
                return seen, raw
            version = seen  # an import committed in between: again, at the newer version
        raise RuntimeError("the data version kept changing while making a tile")

    async def render(
        self, layers: list[Layer], z: int, x: int, y: int, ctx: Context, read: Read | None = None
    ) -> tuple[int, bytes]:
        """(version, MVT) through the tile connection pool of where ``read`` says: async
        psycopg connections in autocommit on the event loop (no thread hop per tile), no
        SQLAlchemy, no pre-ping per request. On the primary, statements are prepared once per
        connection; on a replica never (PgBouncer in transaction mode cannot keep them). A
        connection found broken (database restarted) makes the pool check its idle
        connections, and the tile is tried once more; a database that is down is
        DatabaseUnavailable (HTTP 503)."""
        import psycopg
        from psycopg_pool import PoolTimeout

        read = read or Read(self.engine, ctx.version)
        stmt, params = tile_statement(layers, z, ctx, with_version=True)
        if stmt is None:  # no layer has features at this zoom: empty whatever the data
            return ctx.version, b""
        params.update(x=x, y=y)
        generic = stmt.generic_plan and not read.replica  # (plans of prepared statements only)
        pool = await self.pool(generic=generic, engine=read.engine)
        prepare = not read.replica

        async def run():
            async with pool.connection(timeout=POOL_WAIT_S) as conn:
                return await (await conn.execute(stmt.sql, params, prepare=prepare, binary=True)).fetchone()

        try:
            version, data = await run()
        except psycopg.OperationalError:
            # broken connections (the database restarted) or a database that is down: which one,
            # a direct connection says at once (a pool waiting to reconnect would not)
            if not await self.reachable(read.engine):
                self.drop_pool(generic, read.engine)
                raise DatabaseUnavailable("the tile connection pool lost the database") from None
            await pool.check()
            version, data = await run()
        except PoolTimeout:
            # no connection within POOL_WAIT_S: a pool backing off after an outage starts afresh
            self.drop_pool(generic, read.engine)
            raise
        return int(version), bytes(data) if data else b""

    async def reachable(self, engine: Engine | None = None) -> bool:
        """Whether a new connection to the database opens now (refused at once while it is down)."""
        import psycopg

        try:
            conn = await psycopg.AsyncConnection.connect(
                conninfo(engine or self.engine), connect_timeout=3, autocommit=True
            )
        except psycopg.OperationalError:
            return False
        await conn.close()
        return True

    def drop_pool(self, generic: bool, engine: Engine | None = None) -> None:
        """Forget this loop's pool: the next request opens a new one (closed in the background)."""
        import asyncio

        loop = asyncio.get_running_loop()
        entry = self._pools.pop((loop, generic, id(engine or self.engine)), None)
        if entry is not None:
            loop.create_task(entry[0].close(timeout=1.0))

    async def pool(self, generic: bool = True, engine: Engine | None = None):
        """The async connection pool of the running event loop (one per loop: a test
        client runs its own loop) and database (``engine``: the primary by default, or a
        replica); ``generic``: its sessions run prepared statements with generic plans
        (``plan_cache_mode=force_generic_plan``)."""
        import asyncio

        engine = engine or self.engine
        loop = asyncio.get_running_loop()
        key = (loop, generic, id(engine))
        entry = self._pools.get(key)
        if entry is None:
            # pools of loops that have ended (a test client's, run without its lifespan): let
            # them go, their connections are closed when collected
            for ended in [k for k in self._pools if k[0].is_closed()]:
                del self._pools[ended]
            from psycopg_pool import AsyncConnectionPool

            kwargs = {"autocommit": True, "application_name": "dtm-atlas-tiles"}
            if generic:
                kwargs["options"] = "-c plan_cache_mode=force_generic_plan"
            if engine is not self.engine:  # a replica, maybe through PgBouncer: nothing prepared
                kwargs = {"autocommit": True, "prepare_threshold": None, "application_name": "dtm-atlas-tiles"}
            pool = AsyncConnectionPool(
                conninfo(engine),
                min_size=0,
                max_size=self.config.db_connections,
                kwargs=kwargs,
                open=False,
                num_workers=1,
                name="dtm-atlas-tiles",
                max_idle=60.0,
            )
            # stored before it is open: requests arriving meanwhile wait for the same opening
            entry = self._pools[key] = (pool, loop.create_task(pool.open()))
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
        return entry_key(version, f"f{TILES_FORMAT}", spec, f"{z}/{x}/{y}", query.key())
