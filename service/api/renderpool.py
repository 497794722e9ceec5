"""Renders off the serving process: a small pool of worker processes for on-demand maps and packages.

The serving process answers tiles, GeoJSON and cached maps; a map or package that has to be
*made* (seconds of CPU in matplotlib, hundreds of MB) runs in one of ``DTM_ATLAS_RENDER_WORKERS``
worker processes instead of a thread of the server, so it competes neither for the server's GIL
nor, at ``DTM_ATLAS_RENDER_NICE``, for its CPU time: the kernel gives the server the CPU first.
How many may run and wait is the render gate's (``service.api.queue``: 429 + ``Retry-After``);
this pool only runs what the gate admitted.

* Workers start from a fresh interpreter (``forkserver``: never a copy of the server's threads,
  sockets or database pools), lowered with ``os.nice``, and are kept for the next render.
* A task is a module-level function and picklable arguments only (settings, the shared folder,
  the principal, the logo, the data version); a worker opens its own engine from the database
  URL it is given (the request's read engine: a replica's when replicas are configured).
* Each render has a time bound (``DTM_ATLAS_RENDER_TIMEOUT_S``): past it the worker is killed
  (and replaced on the next render) and the answer is a 503 saying so.
* A domain error raised in a worker (400/404 ...) is answered with its status and detail, as if
  raised in the server (:class:`RenderFailed`).

``DTM_ATLAS_RENDER_ISOLATION=thread`` runs the same tasks in the server's threads (what the service
did before; for debugging, or a platform without process pools).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import pickle
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from service.core.errors import AtlasError

logger = logging.getLogger("dtm_atlas.render")
START_TIMEOUT_S = 120  # a worker's start (imports, fonts) on a loaded machine


class RenderFailed(AtlasError):
    """An error raised in a render worker, answered with its status, detail and headers."""

    def __init__(self, detail: str, status: int, headers: dict | None = None):
        super().__init__(detail, status=status)
        self.detail = detail
        self.headers = dict(headers or {})


class RenderTimeout(AtlasError):
    """A render that passed its time bound (HTTP 503; its worker was killed)."""

    status = 503

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail
        self.headers = {"Retry-After": "30"}


# ---- the worker side ------------------------------------------------------------------------


def _worker_main(conn, nice: int, setup: Callable[[], None] | None = None) -> None:
    """A worker's loop: run ``setup`` once (the top's wiring, e.g. ``service.kinds.install``:
    this module never imports a kind), then receive ``(fn, args, kwargs)``, answer
    ``("ok", value)`` or ``("error", status, detail, headers)``; ends when the server closes its end."""
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    if setup is not None:
        setup()  # the kinds of data, as in the server (create_app): their map indicators
    try:
        from service.maps import fonts

        fonts.setup()  # once per worker: the fonts every map uses (Arabic shaping included)
    except Exception:  # noqa: BLE001 - a render will say what is missing
        pass
    conn.send(("ready", os.getpid()))  # the time bound counts renders, not this start
    settled = False
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            answer = ("ok", fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - every error goes back to the server
            answer = _error_answer(exc)
        try:
            conn.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("error", 500, f"a render's answer could not be sent back: {exc}", {}))
        except (BrokenPipeError, OSError):
            return
        if not settled:  # warm after its first render (drawing modules imported, fonts loaded)
            from service.core import heap

            heap.settle()
            settled = True


def _error_answer(exc: BaseException) -> tuple:
    from service.api.errors import status_for

    status, detail, headers = status_for(exc)
    if status >= 500:
        logger.error("render failed in worker %s:\n%s", os.getpid(), "".join(traceback.format_exception(exc)))
    return ("error", status, str(detail), dict(headers or {}))


# ---- the server side ------------------------------------------------------------------------


class _Worker:
    def __init__(self, ctx, nice: int, setup: Callable[[], None] | None = None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, nice, setup), name="dtm-atlas-render", daemon=False
        )
        self.process.start()
        child.close()

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(5)
        finally:
            self.conn.close()

    def close(self) -> None:
        try:
            self.conn.close()  # the worker sees EOF and ends
            self.process.join(2)
        finally:
            if self.process.is_alive():
                self.process.kill()
                self.process.join(2)


class RenderPool:
    """Up to ``workers`` worker processes; :meth:`call` runs one task in one of them (blocking:
    call it from a thread, or ``await`` :meth:`run`). Thread-safe, and not tied to an event loop."""

    def __init__(
        self,
        workers: int = 2,
        timeout_s: float = 300.0,
        nice: int = 10,
        isolation: str = "process",
        setup: Callable[[], None] | None = None,
    ):
        self.workers = max(1, workers)
        self.setup = setup  # run once in each worker process (a picklable module-level function)
        self.timeout_s = timeout_s
        self.nice = nice
        self.isolation = isolation
        self._idle: list[_Worker] = []
        self._made = 0
        self._cond = threading.Condition()
        self._ctx = None

    def _context(self):
        if self._ctx is None:
            ctx = multiprocessing.get_context(
                "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            )
            if ctx.get_start_method() == "forkserver":
                ctx.set_forkserver_preload(["service.api.renderpool"])
            self._ctx = ctx
        return self._ctx

    def _take(self) -> _Worker | None:
        """An idle worker (``None``: make a new one), waiting while ``workers`` are busy."""
        with self._cond:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._made -= 1
                    worker.close()
                if self._made < self.workers:
                    self._made += 1
                    return None
                self._cond.wait()

    def _give_back(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is None:
                self._made -= 1
            else:
                self._idle.append(worker)
            self._cond.notify()

    def call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a worker process; its value, or its error re-raised here
        (:class:`RenderFailed`), or :class:`RenderTimeout` after ``timeout_s``."""
        if self.isolation == "thread":
            return fn(*args, **kwargs)
        worker = self._take()
        try:
            if worker is None:
                worker = _Worker(self._context(), self.nice, self.setup)
                _live.add(worker)
                try:
                    started = worker.conn.poll(START_TIMEOUT_S) and worker.conn.recv()[0] == "ready"
                except (EOFError, OSError):  # it died starting (an import failed, out of memory)
                    started = False
                if not started:
                    _live.discard(worker)
                    worker.kill()
                    worker = None
                    raise RenderFailed(f"a render worker did not start in {START_TIMEOUT_S} s; try again", 503)
            t0 = time.monotonic()
            try:
                worker.conn.send((fn, args, kwargs))
                ready = worker.conn.poll(self.timeout_s)
                answer = worker.conn.recv() if ready else None
            except (EOFError, OSError) as exc:  # the worker died (killed, out of memory)
                _live.discard(worker)
                worker.kill()
                worker = None
                raise RenderFailed(
                    f"the render worker stopped before it answered ({exc.__class__.__name__}); try again", 503
                ) from exc
            if answer is None:
                _live.discard(worker)
                worker.kill()
                worker = None
                raise RenderTimeout(
                    f"the map or package took longer than {self.timeout_s:g} s and was stopped "
                    f"(DTM_ATLAS_RENDER_TIMEOUT_S); try a lower dpi or a smaller extent, or try again later"
                )
            logger.debug("render %s in %.2f s", getattr(fn, "__name__", fn), time.monotonic() - t0)
            if answer[0] == "ok":
                return answer[1]
            _, status, detail, headers = answer
            raise RenderFailed(detail, status, headers)
        finally:
            self._give_back(worker)

    async def run(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """:meth:`call` from async code (the wait happens in a thread, off the event loop)."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(self.call, fn, *args, **kwargs)

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._made -= len(idle)
        for worker in idle:
            _live.discard(worker)
            worker.close()

    def pids(self) -> list[int]:
        with self._cond:
            return [w.process.pid for w in self._idle]


_live: set[_Worker] = set()
_pools: dict[tuple, RenderPool] = {}
_pools_lock = threading.Lock()


def pool_for(settings, setup: Callable[[], None] | None = None) -> RenderPool:
    """The process's pool for these render settings and worker ``setup`` (shared by the apps of
    one process: the bound is per process, as the gate's)."""
    r = settings.render
    key = (r.workers, r.timeout_s, r.nice, r.isolation, setup)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = RenderPool(r.workers, r.timeout_s, r.nice, r.isolation, setup)
        return pool


def engine_arg(engine, pool: RenderPool):
    """What a task is given to reach the database: the engine itself in the server's threads,
    its URL (password included) for a worker process, which opens its own engine (engine_of)."""
    return engine if pool.isolation == "thread" else engine.url.render_as_string(hide_password=False)


def engine_of(engine_or_url):
    """The engine a task uses (in a worker: one per URL, kept for its next renders)."""
    if isinstance(engine_or_url, str):
        from service.db import _engine_for

        return _engine_for(engine_or_url)
    return engine_or_url


def render_pool(request) -> RenderPool:
    """The app's render pool (``create_app`` sets it; a router mounted alone gets the settings' own)."""
    pool = getattr(request.app.state, "render_pool", None)
    if pool is None:
        pool = request.app.state.render_pool = pool_for(request.app.state.settings)
    return pool


def _stop_workers() -> None:
    for worker in list(_live):
        worker.close()


# at exit, before multiprocessing joins its (non-daemon) children; non-daemon: a worker building
# a package may start that package's own map processes (service.maps.package)
multiprocessing.util.Finalize(None, _stop_workers, exitpriority=10)
