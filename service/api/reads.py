"""Where a request reads: the primary (``DATABASE_URL``) or a streaming replica
(``DTM_ATLAS_READ_DATABASE_URLS``), chosen once per request by the tile service's read route
(service/core/replicas.py, tiles/service.py) and kept on ``request.state.read``.

* GET and HEAD read where the route says; every other method (imports, uploads, editors'
  actions) reads and writes on the primary.
* With replicas, an answer says where it was read (``X-Read-From: replica-1`` or ``primary``)
  beside the data version it names (``X-Data-Version``, set where the answer is made).
* With only ``DATABASE_URL`` nothing changes: the engine is the primary, no header is added.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

from fastapi import Request
from sqlalchemy import Connection, Engine

from service.core.importlog import data_version
from service.core.replicas import Read

READ_METHODS = frozenset({"GET", "HEAD"})


def read_of(request: Request) -> Read:
    """This request's read (chosen on the first call: in a thread, it may ask a replica)."""
    app = request.app
    if request.method not in READ_METHODS or getattr(app.state, "read_route", None) is None:
        return Read(app.state.engine, None)
    from service.api.httpcache import get_service

    return get_service(app).read_sync(request)


def read_engine(request: Request) -> Engine:
    """The engine a read path of this request uses (the primary unless replicas are set); for
    code running in a thread (a sync endpoint or dependency)."""
    return read_of(request).engine


async def aread_engine(request: Request) -> Engine:
    """:func:`read_engine` for async endpoints (a replica is asked off the event loop)."""
    if not split(request):
        return request.app.state.engine
    from service.api.httpcache import get_service

    return (await get_service(request.app).read(request)).engine


def split(request: Request) -> bool:
    """Whether this request reads from a replica route (replicas set, and a GET or HEAD)."""
    return request.method in READ_METHODS and getattr(request.app.state, "read_route", None) is not None


@contextlib.contextmanager
def read_snapshot(request: Request) -> Iterator[Connection]:
    """A connection to this request's read whose statements all see one snapshot; the data
    version of that snapshot becomes the request's version (what its answer and cache key name)."""
    read = read_of(request)
    with read.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        seen = data_version(conn)  # the first statement: it fixes the snapshot
        if seen != read.version:
            request.state.read = dataclasses.replace(read, version=seen)
        yield conn


class ReadFromHeader:
    """Pure ASGI (installed only with replicas): names the server an answer was read from."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                read = scope.get("state", {}).get("read")
                if read is not None:
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-read-from", read.source.encode())]
            await send(message)

        await self.app(scope, receive, send_wrapper)
