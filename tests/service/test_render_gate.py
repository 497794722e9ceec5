"""Maps and packages are queued, not piled: a bounded number run, a bounded number wait, the
rest get 429 + Retry-After; anonymous clients are rate-limited (service/api/queue.py)."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from service.api.queue import RenderGate

running = {"now": 0, "most": 0}


async def slow(request):
    running["now"] += 1
    running["most"] = max(running["most"], running["now"])
    await asyncio.sleep(0.2)
    running["now"] -= 1
    return PlainTextResponse("png")


async def fast(request):
    return PlainTextResponse("tile")


def _app(**kw):
    inner = Starlette(routes=[Route("/maps/{name}", slow), Route("/tiles/{z}", fast)])
    return RenderGate(inner, **kw)


async def _burst(app, n: int, path: str = "/maps/x.png"):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await asyncio.gather(*(c.get(path) for _ in range(n)))


def test_a_bounded_pool_and_queue_then_429():
    running.update(now=0, most=0)
    answers = asyncio.run(_burst(_app(workers=2, queue=3, anon_per_minute=0), 8))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 5 + [429] * 3 and running["most"] == 2
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["retry-after"] == "5" and "DTM_ATLAS_RENDER_QUEUE" in refused.json()["detail"]
    # other paths never wait
    assert all(r.status_code == 200 for r in asyncio.run(_burst(_app(workers=1, queue=0), 20, "/tiles/1")))


def test_anonymous_clients_are_rate_limited():
    async def run():
        app = _app(workers=4, queue=4, anon_per_minute=3)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return [await c.get("/maps/x.png") for _ in range(5)]

    answers = asyncio.run(run())
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert int(answers[3].headers["retry-after"]) > 0 and "without a token" in answers[3].json()["detail"]
