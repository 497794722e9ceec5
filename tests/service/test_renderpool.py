"""Renders off the serving process (service/api/renderpool.py): tasks run in lowered worker
processes that are kept for the next render, errors come back with their status, a render past
its time bound is stopped (its worker killed and replaced) with a 503 saying so."""

from __future__ import annotations

import os
import time

import pytest

from service.api.renderpool import RenderFailed, RenderPool, RenderTimeout
from service.core.errors import NotFound


def _fail(status: int):
    if status == 404:
        raise NotFound("no idp data for round 121")
    raise RuntimeError("a bug")


def test_tasks_run_in_lowered_worker_processes_and_time_out():
    pool = RenderPool(workers=1, timeout_s=60, nice=7)  # generous: a lowered process on a loaded machine
    try:
        pid = pool.call(os.getpid)
        assert pid != os.getpid()
        assert pool.call(os.nice, 0) == os.nice(0) + 7  # lower priority than the server
        assert pool.call(os.getpid) == pid  # the worker is kept for the next render
        with pytest.raises(RenderFailed) as missing:
            pool.call(_fail, 404)
        assert missing.value.status == 404 and "round 121" in missing.value.detail
        with pytest.raises(RenderFailed) as bug:
            pool.call(_fail, 500)
        assert bug.value.status == 500
        pool.timeout_s = 1
        t0 = time.monotonic()
        with pytest.raises(RenderTimeout) as late:
            pool.call(time.sleep, 120)
        assert time.monotonic() - t0 < 10 and late.value.status == 503
        assert "DTM_ATLAS_RENDER_TIMEOUT_S" in late.value.detail
        pool.timeout_s = 60
        fresh = pool.call(os.getpid)
        assert fresh != pid  # the late worker was killed and replaced
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        pool.close()
