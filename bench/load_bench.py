"""Load benchmark: a mixed read load, and 1 vs 2 uvicorn workers on the tile list.

    .venv/bin/python bench/load_bench.py                     # throw-away PostGIS with the real data
    .venv/bin/python bench/load_bench.py --database-url URL  # an existing database (read only)

1. ``wrk`` with 50 connections for 60 s (``--connections``, ``--duration``) over a mix, in
   shuffled order, of vector tiles (districts and sub-districts, z5-z7, every tile covering
   Iraq), choropleth GeoJSON (levels 1-3, both populations, four indicators), DTM-API reads
   (``/v2`` and ``/v3`` admin 0-2, with and without round filters) and OGC API items (figures
   per district and locations, pages of 50); prints requests/s, p50, p99 and errors (non-2xx
   answers and socket errors; the goal is 0). One uvicorn worker, default settings (in-process
   tile cache), the cache warmed by one pass over the list first.
2. The tile list alone, ``--tile-duration`` s each with 1 and then 2 uvicorn workers (each
   worker warms its own cache: a warm pass first); prints both and their ratio.

Loopback only; wrk and the server share the machine's CPUs, so the numbers are of the pair.
Nothing is asserted: it prints numbers (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tiles_bench import Server, free_port, prepare_database, run_wrk, tile_list  # noqa: E402


def mixed_paths(url: str) -> tuple[list[str], list[str]]:
    """(the mix, the tile list) of the loaded database."""
    tiles = [
        f"/tiles/{layer}/{z}/{x}/{y}.mvt"
        for z, x, y in tile_list(url, range(5, 8))
        for layer in ("districts", "subdistricts")
    ]
    choro = [
        f"/choropleth/{lvl}.geojson?population={pop}&indicator={ind}"
        for lvl in (1, 2, 3)
        for pop in ("idp", "returnee")
        for ind in ("individuals", "families", "change", "share")
        if not (pop == "returnee" and ind == "change")
    ]
    dtm = []
    for version, paths in (
        ("v2", ("/v2/IdpAdmin0Data", "/v2/IdpAdmin1Data", "/v2/IdpAdmin2Data")),
        ("v3", ("/v3/displacement/admin0", "/v3/displacement/admin1", "/v3/displacement/admin2")),
    ):
        for p in paths:
            dtm += [
                f"{p}?Admin0Pcode=IRQ",
                f"{p}?CountryName=Iraq&FromRoundNumber=100",
                f"{p}?Operation=Iraq&FromReportingDate=2021-01-01",
            ]
    dtm.append("/v2/IdpAdmin2Data?Admin0Pcode=IRQ&Admin1Pcode=IRQ-G07")
    ogc = [f"/ogc/collections/idp-r120-adm2/items?limit=50&offset={o}" for o in range(0, 100, 50)]
    ogc += [f"/ogc/collections/idp-r120-locations/items?limit=50&offset={o}" for o in range(0, 2000, 250)]
    ogc += ["/ogc/collections/admin1/items?limit=20", "/ogc/collections/idp-r120-adm1/items?limit=20"]
    # weights: a map client asks mostly for tiles, then for GeoJSON, API reads and features
    mix = tiles + choro * 4 + dtm * 3 + ogc * 4
    random.Random(14).shuffle(mix)
    return mix, tiles


def warm(server: Server, paths: list[str]) -> dict[int, int]:
    statuses: dict[int, int] = {}
    for p in dict.fromkeys(paths):
        status = server.get(p)[0]
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def show(name: str, r: dict) -> None:
    errors = r["errors"]
    sock = f", socket errors: {r['socket_errors']}" if r["socket_errors"] else ""
    print(
        f"{name:<28} {r['requests_per_s']:9.1f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:8.2f} ms   "
        f"errors {errors}{sock}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", help="an existing database with boundaries and rounds (read only)")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--duration", type=int, default=60, help="seconds of the mixed run")
    ap.add_argument("--tile-duration", type=int, default=20, help="seconds of each tile-list run (1 and 2 workers)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk; ./dev setup installs it)", file=sys.stderr)
        return 2
    url, cleanup = prepare_database(args)
    try:
        mix, tiles = mixed_paths(url)
        kinds = {k: sum(p.startswith(k) for p in mix) for k in ("/tiles", "/choropleth", "/v2", "/v3", "/ogc")}
        print(
            f"mix: {len(mix)} requests in the list ({', '.join(f'{k} {n}' for k, n in kinds.items())}); "
            f"tile list: {len(tiles)} tiles; load average before: {os.getloadavg()[0]:.2f}"
        )
        server = Server(url, free_port())
        try:
            print("warm pass statuses:", warm(server, mix))
            mixed = run_wrk(server.base, mix, args.connections, args.duration, args.threads)
        finally:
            server.stop()
        show(f"mixed, 1 worker, -c{args.connections}", mixed)

        per_workers = {}
        for workers in (1, 2):
            server = Server(url, free_port(), workers=workers)
            try:
                for _ in range(workers * 2):  # each worker its own cache: enough passes to reach both
                    warm(server, tiles)
                per_workers[workers] = run_wrk(server.base, tiles, args.connections, args.tile_duration, args.threads)
            finally:
                server.stop()
            show(f"tile list, {workers} worker{'s' if workers > 1 else ''}", per_workers[workers])
        ratio = per_workers[2]["requests_per_s"] / per_workers[1]["requests_per_s"]
        print(f"2 workers / 1 worker on the tile list: {ratio:.2f}x  (CPUs: {os.cpu_count()}; wrk shares them)")
    finally:
        if cleanup is not None:
            pg, tmp = cleanup
            pg.stop()
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
