"""Costly paths are queued, not piled (pure ASGI, registered by ``create_app``).

On-demand static maps and information packages (``/maps/...``, ``/packages/...``, a dataset's
site map) take seconds of CPU and hundreds of MB each. At most ``render_workers`` of them are
made at once; up to ``render_queue`` more wait their turn; beyond that the answer is a 429 with
``Retry-After`` (a client retries, the machine keeps serving tiles). Anonymous clients (no valid
bearer token) may also start at most ``anon_renders_per_minute`` of them per minute, per client
address (0: no limit); a token with a role is not rate-limited.

Only a *render* takes a place: an answer already in the cache is served at once, however many
renders wait. The routes that look in a cache first (``/maps/{name}.{ext}``,
``/packages/{round}.zip``: ``SELF_GATED``) take their place themselves, around the render only,
with ``async with render_slot(request):``; every other request under ``PREFIXES`` (and the
site maps of ``ALWAYS``) holds a place for its whole run, as it renders every time.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from contextlib import asynccontextmanager

from service.core.errors import TooManyRequests

PREFIXES = ("/maps/", "/packages/")
ALWAYS = re.compile(r"^/datasets/[^/]+/map\.png$")  # rendered on every request (service.indicators)
# cache first, then render_slot (service.api.maps)
SELF_GATED = re.compile(r"^/(maps/(choropleth|trend|change|fragility)\.(png|pdf|html)|packages/[^/]+\.zip)$")
RETRY_AFTER_S = 5


class RenderGate:
    """The gate (one per app): an ASGI middleware that gates whole requests of the paths that
    render every time, and hands itself to the routes that render only on a cache miss."""

    def __init__(self, app, workers: int = 2, queue: int = 8, anon_per_minute: int = 30, engine=None):
        self.app = app
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self.anon_per_minute = anon_per_minute
        self.engine = engine
        self._sem: asyncio.Semaphore | None = None
        self._admitted = 0  # running + waiting
        self._seen: dict[str, deque] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        scope.setdefault("state", {})["render_gate"] = self
        if SELF_GATED.match(path) or not (path.startswith(PREFIXES) or ALWAYS.match(path)):
            return await self.app(scope, receive, send)
        try:
            async with self.slot(scope):
                return await self.app(scope, receive, send)
        except TooManyRequests as exc:
            return await _too_many(send, exc.retry_after, exc.detail)

    @property
    def running(self) -> int:
        """Renders running or waiting now."""
        return self._admitted

    @asynccontextmanager
    async def slot(self, scope):
        """Hold one of ``workers`` places (waiting in the queue of ``queue`` for it) around a
        render; TooManyRequests (429 + Retry-After) when the queue is full or an anonymous client
        has spent its renders of the minute."""
        if self.anon_per_minute and not await self._has_token(scope):
            wait = self._rate_wait(scope)
            if wait:
                raise TooManyRequests(
                    f"at most {self.anon_per_minute} maps or packages a minute without a token; try again in "
                    f"{wait} s (DTM_ATLAS_ANON_RENDERS_PER_MINUTE)",
                    wait,
                )
        if self._admitted >= self.workers + self.queue:
            raise TooManyRequests(
                f"{self.workers} maps or packages are being made and {self.queue} wait: try again in "
                f"{RETRY_AFTER_S} s (DTM_ATLAS_RENDER_WORKERS, DTM_ATLAS_RENDER_QUEUE)",
                RETRY_AFTER_S,
            )
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.workers)
        self._admitted += 1
        try:
            async with self._sem:
                yield
        finally:
            self._admitted -= 1

    async def _has_token(self, scope) -> bool:
        auth = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, token = auth.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or self.engine is None:
            return False
        from starlette.concurrency import run_in_threadpool

        from service.auth import check_token

        try:
            return await run_in_threadpool(check_token, self.engine, token.strip()) is not None
        except Exception:
            return False

    def _rate_wait(self, scope) -> int:
        client = (scope.get("client") or ("?", 0))[0]
        now = time.monotonic()
        seen = self._seen.setdefault(client, deque())
        while seen and now - seen[0] > 60:
            seen.popleft()
        if len(seen) >= self.anon_per_minute:
            return max(1, int(60 - (now - seen[0])) + 1)
        seen.append(now)
        if len(self._seen) > 10_000:  # forget idle clients
            for k in [k for k, v in self._seen.items() if not v or now - v[-1] > 60]:
                del self._seen[k]
        return 0


@asynccontextmanager
async def render_slot(request):
    """A place in the app's render gate around a render (a cache miss); nothing when the app
    has no gate (a router mounted alone)."""
    gate: RenderGate | None = request.scope.get("state", {}).get("render_gate")
    if gate is None:
        yield
        return
    async with gate.slot(request.scope):
        yield


async def _too_many(send, retry_after: int, detail: str) -> None:
    body = json.dumps({"status": 429, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(retry_after).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
