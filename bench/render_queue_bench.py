"""Cached answers stay fast while renders queue: tile p99 idle vs. under 16 concurrent map renders.

    .venv/bin/python bench/render_queue_bench.py                     # throw-away PostGIS, real data
    .venv/bin/python bench/render_queue_bench.py --database-url URL  # an existing database (read only)

One server (uvicorn, one worker, our app as ``tiles_bench`` starts it), the sub-district tiles of
the latest IDP round (every tile at z5-z7, warmed once: what a map client asks again and again).
``wrk`` measures them side by side, interleaved ``--repeat`` times (the median run is kept):

* ``idle``          tiles alone
* ``16 renders``    tiles while 16 clients each ask for a different, uncached national map
                    (``/maps/choropleth.png?dpi=200..215``, the reliability issue's attack):
                    the render gate runs ``DTM_ATLAS_RENDER_WORKERS`` of them at once and queues
                    the rest (429 beyond ``DTM_ATLAS_RENDER_QUEUE``)

Renders run in worker processes at lower CPU priority (``DTM_ATLAS_RENDER_ISOLATION=process``,
service/api/renderpool.py); ``--isolation process,thread`` measures the server's own threads (what
the service did before) in the same run, on the same database, for comparison.

Prints p50/p99, the ratio of p99 under renders to idle (target <= 1.5), and what the renders
got (200 / 429, seconds). ``--json`` writes the numbers to a file too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tiles_bench import Server, free_port, prepare_database, run_wrk, tile_list  # noqa: E402

TARGET = 1.5


def render_storm(base: str, n: int, stop: threading.Event, out: list, round_ref: str) -> list[threading.Thread]:
    """``n`` clients, each asking for its own uncached map again and again until ``stop``."""

    def client(i: int) -> None:
        k = 0
        while not stop.is_set():
            dpi = 200 + i + 16 * k  # a new map each time: never a cache hit
            k += 1
            url = f"{base}/maps/choropleth.png?round={round_ref}&level=3&dpi={min(dpi, 300)}"
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=300) as r:
                    r.read()
                    code = r.status
            except urllib.error.HTTPError as exc:
                code = exc.code
                if code == 429:
                    stop.wait(float(exc.headers.get("Retry-After", "1")))
            except OSError:
                code = 0
            out.append((code, time.perf_counter() - t0))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def measure(url: str, paths: list[str], args, isolation: str) -> dict:
    """Idle and under-renders runs, interleaved ``--repeat`` times, on one server."""
    env = {"DTM_ATLAS_ANON_RENDERS_PER_MINUTE": "0", "DTM_ATLAS_RENDER_ISOLATION": isolation}
    server = Server(url, free_port(), env=env)
    results: dict = {"tiles": len(paths), "renders": args.renders, "runs": {"idle": [], "renders": []}}
    rendered: list = []
    try:
        for p in paths:  # warm: the tiles a map client asks again and again
            server.get(p)
        for k in range(args.repeat):
            results["runs"]["idle"].append(run_wrk(server.base, paths, args.connections, args.duration))
            stop = threading.Event()
            threads = render_storm(server.base, args.renders, stop, rendered, args.round)
            time.sleep(2)  # the renders are running and queued
            results["runs"]["renders"].append(run_wrk(server.base, paths, args.connections, args.duration))
            stop.set()
            if k + 1 < args.repeat:  # the next idle run starts when the admitted renders are done
                for t in threads:
                    t.join(600)
            # after the last run the server is stopped with its render workers: nothing to wait for
    finally:
        server.stop()
    for name, runs in results["runs"].items():
        ordered = sorted(runs, key=lambda r: r["p99_ms"])
        results[name] = ordered[len(ordered) // 2]
    codes: dict = {}
    for code, _ in rendered:
        codes[code] = codes.get(code, 0) + 1
    made = [s for c, s in rendered if c == 200]
    results.update(
        ratio_p99=results["renders"]["p99_ms"] / results["idle"]["p99_ms"],
        render_answers=codes,
        render_s_median=statistics.median(made) if made else None,
    )
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    ap.add_argument(
        "--repeat", type=int, default=1, help="interleaved runs per scenario (median kept; each waits for the renders)"
    )
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--renders", type=int, default=16, help="concurrent clients asking for uncached maps")
    ap.add_argument("--round", default="120")
    ap.add_argument("--isolation", default="process", help="process, thread, or both: process,thread")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    url, own = prepare_database(args)
    tiles = tile_list(url, range(5, 8))
    paths = [f"/tiles/subdistricts/{z}/{x}/{y}.mvt?population=idp&indicator=individuals" for z, x, y in tiles]
    all_results: dict = {}
    try:
        for isolation in [i.strip() for i in args.isolation.split(",") if i.strip()]:
            all_results[isolation] = measure(url, paths, args, isolation)
    finally:
        if own:
            pg, tmp = own
            pg.stop()
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"tiles: {len(paths)} sub-district tiles z5-z7 (warm), {args.connections} connections, {args.duration} s")
    for isolation, results in all_results.items():
        print(f"renders in {isolation}es:" if isolation == "process" else f"renders in the server's {isolation}s:")
        for name in ("idle", "renders"):
            r = results[name]
            print(
                f"{name:>10}: {r['requests_per_s']:8.0f} req/s  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms"
                f"  non-2xx {r['errors']}"
            )
        ratio = results["ratio_p99"]
        print(
            f"  p99 under {args.renders} renders / idle: {ratio:.2f}x (target <= {TARGET}x): "
            f"{'met' if ratio <= TARGET else 'NOT met'}"
        )
        made = results["render_s_median"]
        print(f"  render answers: {results['render_answers']}; a made map took {made or float('nan'):.1f} s (median)")
    if args.json:
        args.json.write_text(json.dumps(all_results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
