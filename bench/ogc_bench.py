"""OGC API - Features benchmark: the collection list and CQL2-filtered items (issue 23 targets).

    .venv/bin/python bench/ogc_bench.py                     # throw-away PostGIS with the real data
    .venv/bin/python bench/ogc_bench.py --database-url URL  # an existing database (read only)

Over loopback HTTP against one uvicorn worker (the real app, bench/tiles_bench.py's server):

1. ``GET /ogc/collections`` (target <= 100 ms), beside ``GET /ogc`` (the landing page: the
   floor of a JSON answer on this stack), and GDAL's ``ogrinfo -so OAPIF:`` listing every
   collection (was ~20 s with 884 collections for Iraq).
2. A CQL2 filter over all locations of a round (target <= 100 ms):
   ``/ogc/collections/idp-r{N}-locations/items?filter=individuals > 100`` at ``limit=10000``
   (every match in one page), beside the same page unfiltered (the floor: the filter's cost is
   the difference), the same filter as CQL2-JSON, and on the time-enabled ``idp-locations``
   with ``round_number = N``; plus a spatial one (``S_INTERSECTS`` a box over Mosul).

Each request is timed ``--repeat`` times after one warm-up (answers of the same data version
are cached: counts and extents); the median and the slowest are printed. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tiles_bench import Server, free_port, prepare_database  # noqa: E402


def timed(base: str, path: str, params: dict | None, repeat: int) -> dict:
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    urllib.request.urlopen(url, timeout=120).read()  # warm-up
    times, size, matched = [], 0, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as r:
            body = r.read()
        times.append((time.perf_counter() - t0) * 1000)
        size = len(body)
    try:
        doc = json.loads(body)
        matched = doc.get("numberMatched", len(doc.get("collections", [])) or None)
    except ValueError:
        pass
    return {"median_ms": statistics.median(times), "max_ms": max(times), "bytes": size, "matched": matched}


def ogrinfo_listing(base: str) -> dict:
    if shutil.which("ogrinfo") is None:
        return {"skipped": "ogrinfo not installed"}
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    t0 = time.perf_counter()
    out = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{base}/ogc"], capture_output=True, text=True, env=env)
    return {"seconds": time.perf_counter() - t0, "layers": out.stdout.count("\n") - 1, "rc": out.returncode}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--round", type=int, default=120, help="the IDP round of the items requests")
    ap.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = ap.parse_args(argv)

    url, own = prepare_database(args)
    results: dict = {}
    try:
        server = Server(url, free_port())
        try:
            b, n = server.base, args.round
            flt = "individuals > 100"
            tree = json.dumps({"op": ">", "args": [{"property": "individuals"}, 100]})
            cases = {
                "landing (floor)": ("/ogc", None),
                "collections": ("/ogc/collections", None),
                f"r{n} locations, unfiltered (floor)": (f"/ogc/collections/idp-r{n}-locations/items", {"limit": 10000}),
                f"r{n} locations, cql2-text": (
                    f"/ogc/collections/idp-r{n}-locations/items",
                    {"filter": flt, "limit": 10000},
                ),
                f"r{n} locations, cql2-json": (
                    f"/ogc/collections/idp-r{n}-locations/items",
                    {"filter": tree, "filter-lang": "cql2-json", "limit": 10000},
                ),
                f"r{n} locations, S_INTERSECTS": (
                    f"/ogc/collections/idp-r{n}-locations/items",
                    {"filter": "S_INTERSECTS(geometry, BBOX(42.9, 36.1, 43.4, 36.5))", "limit": 10000},
                ),
                "idp-locations (every round), cql2 + round_number": (
                    "/ogc/collections/idp-locations/items",
                    {"filter": f"{flt} AND round_number = {n}", "limit": 10000},
                ),
                "idp-adm2 (every round), cql2, sortby": (
                    "/ogc/collections/idp-adm2/items",
                    {"filter": "individuals > 10000", "sortby": "-individuals", "limit": 1000},
                ),
            }
            for name, (path, params) in cases.items():
                results[name] = timed(b, path, params, args.repeat)
            results["ogrinfo -so (list every collection)"] = ogrinfo_listing(b)
        finally:
            server.stop()
    finally:
        if own is not None:
            pg, tmp = own
            pg.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\nOGC API over loopback, 1 uvicorn worker, median of {args.repeat} (load average {os.getloadavg()[0]:.1f}):"
    )
    for name, r in results.items():
        if "median_ms" in r:
            print(
                f"  {name:<52} {r['median_ms']:7.1f} ms  (max {r['max_ms']:7.1f})  {r['bytes']:>10,} B"
                + (f"  matched {r['matched']}" if r["matched"] is not None else "")
            )
        elif "seconds" in r:
            print(f"  {name:<52} {r['seconds'] * 1000:7.0f} ms  {r['layers']} lines, rc {r['rc']}")
        else:
            print(f"  {name:<52} skipped: {r['skipped']}")
    floor = results[f"r{args.round} locations, unfiltered (floor)"]["median_ms"]
    cql = results[f"r{args.round} locations, cql2-text"]["median_ms"]
    print(
        f"  collections: {results['collections']['median_ms']:.1f} ms (target <= 100 ms); "
        f"CQL2 over round {args.round}: {cql:.1f} ms (target <= 100 ms), {cql / floor:.2f}x the unfiltered page"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
