"""HTTP caching, once for every route: ETags, If-None-Match, gzip and data-version keys.

* A cache entry is the ETag's hex digest (of the uncompressed body) followed by the
  gzip-compressed body (:func:`make_entry`), made once and served many times: clients that
  accept gzip get those bytes as they are (:func:`entry_response`).
* Bodies made per request get the same ETag, 304, 204 and gzip rules (:func:`raw_response`).
* :func:`cached` keeps what a route produces in the app's tile cache (LRU or Redis) under the
  data version, so an import makes every older entry unreachable, and under the answer's access
  scope (``service/core/access.py``): public answers share one entry, partner data is kept per
  role and countries, restricted answers are never cached (and say ``private, no-store``).
* Static files (the web map) have their own strong ETags and precompressed bodies, but go
  through the same :func:`accepts_gzip` and :func:`etag_matches`.
"""

from __future__ import annotations

import gzip
import hashlib
import threading

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from service.api.access import answer_scope_of, current, mark
from service.core.access import Scope
from service.core.access import cache_key as access_cache_key
from service.core.versioncache import entry_key
from tiles.cache import CacheConfig
from tiles.service import TileService

ETAG_LEN = 16
IMMUTABLE = "public, max-age=31536000, immutable"  # a stored entry is the ETag's hex digest followed by the gzip body


def accepts_gzip(request: Request) -> bool:
    """Whether the client takes gzip (``Accept-Encoding``: gzip or ``*``, not at q=0)."""
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        token, _, params = part.strip().partition(";")
        if token.strip() in ("gzip", "*"):
            q = params.replace(" ", "")
            return not (q.startswith("q=") and q[2:] in ("0", "0.0", "0.00", "0.000"))
    return False


def etag_matches(request: Request, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison) or is ``*``."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    opaque = etag.removeprefix("W/")
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or opaque in tags


def _digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=ETAG_LEN // 2).hexdigest()


def make_entry(raw: bytes) -> bytes:
    """ETag digest (of the uncompressed body) + gzip body; an empty body stays empty."""
    return _digest(raw).encode() + (gzip.compress(raw, compresslevel=6, mtime=0) if raw else b"")


def _headers(etag: str, cache_control: str, extra: dict) -> dict:
    return {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding", **extra}


def entry_response(request: Request, entry: bytes, media_type: str, cache_control: str, extra: dict) -> Response:
    """A cache entry as a response: 304 on a matching If-None-Match, 204 when empty, the gzip
    body as it is when the client accepts gzip."""
    headers = _headers(f'W/"{entry[:ETAG_LEN].decode()}"', cache_control, extra)
    if etag_matches(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    body = entry[ETAG_LEN:]
    if not body:
        return Response(status_code=204, headers=headers)
    if accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    return Response(body, media_type=media_type, headers=headers)


def raw_response(request: Request, raw: bytes, media_type: str, cache_control: str, extra: dict) -> Response:
    """An uncached body: the same ETag, 304, 204 and gzip rules as ``entry_response``."""
    headers = _headers(f'W/"{_digest(raw)}"', cache_control, extra)
    if etag_matches(request, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if not raw:
        return Response(status_code=204, headers=headers)
    if accepts_gzip(request):
        # made for this one response: the fastest level (2% bigger than level 6, a third
        # less CPU); cache entries, compressed once for many responses, use level 6
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw, compresslevel=1, mtime=0)
    return Response(raw, media_type=media_type, headers=headers)


_service_lock = threading.Lock()


def get_service(app) -> TileService:
    """The application's tile service: its cache and data version serve every cached route."""
    service = getattr(app.state, "tiles", None)
    if service is None:
        with _service_lock:
            service = getattr(app.state, "tiles", None)
            if service is None:
                config = CacheConfig.from_settings(app.state.settings)  # settings flow down from create_app
                route = getattr(app.state, "read_route", None)  # replicas for reads (service/api/reads.py)
                service = app.state.tiles = TileService(app.state.engine, config, route, app.state.settings)
    return service


async def cached(
    request: Request, name: str, params: tuple, media_type: str, produce, scope: Scope = Scope.PUBLIC
) -> Response:
    """Serve what ``produce()`` (a blocking function returning bytes) makes, from the cache
    when it holds it for the current data version (so an import makes it stale). ``scope``: what
    the answer holds (the layer registry's :func:`service.api.access.authorize` tells); the
    principal's role and countries are part of the key of partner data, restricted answers skip
    the cache."""
    service = get_service(request.app)
    version = await service.version(request)  # with replicas: what the request's replica has replayed
    mark(request, scope)
    scope = answer_scope_of(request)  # what authorize() recorded for this request counts too
    who = access_cache_key(current(request), scope)
    if who is None:
        raw = await run_in_threadpool(produce)
        return raw_response(
            request, raw, media_type, "private, no-store", {"X-Data-Version": str(version), "X-Cache": "off"}
        )
    key = entry_key(version, name, repr(params), *((who,) if who else ()))
    entry = await service.cache.get(key)
    status = "hit"
    if entry is None:
        status = "miss"
        entry = make_entry(await run_in_threadpool(produce))
        await service.cache.set(key, entry)
    # a URL naming the data version it answers (``?v=``, as tile URLs do) never changes: an HTTP
    # cache in front keeps it for ever, an import gives new URLs
    cache_control = IMMUTABLE if request.query_params.get("v") == str(version) else service.cache_control
    return entry_response(
        request, entry, media_type, cache_control, {"X-Data-Version": str(version), "X-Cache": status}
    )
