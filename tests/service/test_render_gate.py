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


def test_only_renders_take_a_place_site_maps_always_do():
    """The routes that look in a cache first (SELF_GATED) take their place themselves; a dataset's
    site map (rendered on every request) holds one for its whole run; other paths never wait."""
    running.update(now=0, most=0)
    inner = Starlette(
        routes=[
            Route("/maps/choropleth.png", fast),  # a cache hit: takes no place
            Route("/datasets/{d}/map.png", slow),
            Route("/datasets/{d}", fast),
        ]
    )

    async def run():
        gate = RenderGate(inner, workers=1, queue=0, anon_per_minute=0)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gate), base_url="http://t") as c:
            held = gate.slot({})
            await held.__aenter__()  # a render holds the only place
            try:
                hits = await asyncio.gather(*(c.get("/maps/choropleth.png") for _ in range(5)))
                sites = await c.get("/datasets/3/map.png")
                other = await c.get("/datasets/3")
                running_then = gate.running
            finally:
                await held.__aexit__(None, None, None)
            return hits, sites, other, running_then, gate.running

    hits, sites, other, running_then, left = asyncio.run(run())
    assert [r.status_code for r in hits] == [200] * 5
    assert sites.status_code == 429 and "DTM_ATLAS_RENDER_WORKERS" in sites.json()["detail"]
    assert other.status_code == 200 and running_then == 1 and left == 0


def test_cached_maps_are_served_while_renders_queue(iraq_engine, monkeypatch):
    """Over the real app (uvicorn): with one render place, a map being made holds it; the same
    map asked again is served from the cache before that render ends, and another uncached map
    is refused with 429 + Retry-After instead of piling up."""
    import threading
    import time

    import service.api.maps as maps_api
    from tests.conftest import serve_app

    made = []

    def render(engine, name, ext, q, *args, **kwargs):  # the drawing itself is tested in tests/maps; here: its place
        made.append(q["dpi"])
        time.sleep(1.5 if q["dpi"] == 31 else 0)
        return f"{name}.{ext}", b"\x89PNG made at %d dpi" % q["dpi"]

    monkeypatch.setattr(maps_api, "_produce_map", render)
    monkeypatch.setenv("DTM_ATLAS_RENDER_WORKERS", "1")
    monkeypatch.setenv("DTM_ATLAS_RENDER_QUEUE", "0")
    monkeypatch.setenv("DTM_ATLAS_RENDER_ISOLATION", "thread")  # the fake render above runs in the server
    done: dict[str, tuple[float, httpx.Response]] = {}
    with serve_app(iraq_engine) as url, httpx.Client(base_url=url, timeout=30) as c:

        def get(tag, dpi):
            r = c.get(f"/maps/choropleth.png?round=120&dpi={dpi}")
            done[tag] = (time.monotonic(), r)

        get("first", 30)  # rendered and cached
        assert done["first"][1].headers["x-cache"] == "miss"
        slow_render = threading.Thread(target=get, args=("busy", 31))
        slow_render.start()
        deadline = time.monotonic() + 10
        while 31 not in made and time.monotonic() < deadline:
            time.sleep(0.02)
        get("hit", 30)
        get("refused", 32)
        slow_render.join(30)
    assert made == [30, 31]  # the hit and the refused map drew nothing
    hit_at, hit = done["hit"]
    assert hit.status_code == 200 and hit.headers["x-cache"] == "hit" and hit.content.endswith(b"30 dpi")
    assert hit_at < done["busy"][0], "the cached map waited for the render"
    refused = done["refused"][1]
    assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
    assert "DTM_ATLAS_RENDER_QUEUE" in refused.json()["detail"]
    assert done["busy"][1].status_code == 200 and done["busy"][1].headers["x-cache"] == "miss"
