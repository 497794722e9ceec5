"""Vector-tile benchmark: requests/s with the tile cache off and on, p99 latency, tile bytes.

    .venv/bin/python bench/tiles_bench.py                     # throw-away PostGIS with the real data
    .venv/bin/python bench/tiles_bench.py --database-url URL  # an existing database (read only)

Runs ``wrk`` (loopback only; 10 connections by default) against our own server started with
uvicorn, three times over the same tile list (every sub-district tile at z5-z7 covering the
boundary set plus fixed samples at z8 and z10 -- the tiles holding a point of each
governorate --, the latest IDP round joined):

* ``noop``       a no-op endpoint in the same app (same middleware): the ceiling
* ``cache off``  ``DTM_ATLAS_TILE_CACHE_MB=0``: every request builds its tile in PostGIS
* ``cache on``   in-process LRU, warmed by one pass over the list first

and prints the sub-district tile bytes at z5-z7 (raw MVT and gzip). Acceptance targets
(docs/tiles.md): cache off >= 5x tipg's req/s on the same list, cache on >= 70% of noop,
p99 < 20 ms, sub-district bytes at z5-z7 <= 0.6x tippecanoe's.

Comparisons run only when their tools are installed (``pip install tipg uvicorn`` or
``--tipg-python``; the ``tippecanoe`` binary or ``--tippecanoe``): ``start_tipg`` (its runs
interleaved with ours) and ``compare_tippecanoe`` below; otherwise they are reported as
skipped. ``--json`` writes all numbers to a file too.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "data"
REAL_ROUNDS = [
    ("IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv", "idp"),
    ("IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "idp"),
    ("Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "returnee"),
]
NOOP_PATH = "/_bench/noop"


# --------------------------------------------------------------------------- app factory
def bench_app():
    """The real app plus a no-op endpoint (same middleware stack): ``uvicorn --factory``."""
    from fastapi.responses import Response

    from service.app import create_app

    app = create_app()

    @app.get(NOOP_PATH, include_in_schema=False)
    async def noop():
        return Response(b"\x1a\x00", media_type="application/vnd.mapbox-vector-tile")

    return app


# ------------------------------------------------------------------------------ database
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(args) -> tuple[str, object | None]:
    """A database URL with boundaries and rounds; starts a throw-away cluster if none given."""
    from sqlalchemy import create_engine

    from service import db

    if args.database_url:
        return db.normalise_url(args.database_url), None
    from service.pgembed import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-bench-"))
    tmp.chmod(0o755)
    pg = EmbeddedPostgres(tmp)
    url = pg.start()
    engine = create_engine(url)
    db.migrate(engine)
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.ingest.rounds import import_masterlist

    t0 = time.perf_counter()
    for f in sorted((SHARED / "irq_cod_ab").glob("*.geojson")):
        import_boundaries(engine, read_boundaries(f))
    for name, population in REAL_ROUNDS:
        import_masterlist(engine, SHARED / "dtm_iraq_masterlists" / name, population=population)
    engine.dispose()
    print(f"throw-away database loaded in {time.perf_counter() - t0:.1f} s ({tmp})")
    return url, (pg, tmp)


def tile_list(url: str, zooms: range) -> list[tuple[int, int, int]]:
    """Every tile at ``zooms`` covering the current boundary set."""
    from sqlalchemy import create_engine

    from tiles.mvt import set_bounds, tiles_in

    engine = create_engine(url)
    with engine.connect() as conn:
        sets = [r[0] for r in conn.exec_driver_sql("SELECT id FROM boundary_set WHERE is_current")]
        bounds = set_bounds(conn, sets)
    engine.dispose()
    return [(t.z, t.x, t.y) for z in zooms for t in tiles_in(bounds, z)]


SAMPLE_ZOOMS = (8, 10)


def sample_tiles(url: str, zooms=SAMPLE_ZOOMS) -> list[tuple[int, int, int]]:
    """Fixed samples at ``zooms``: the tile holding a point inside each governorate
    (``ST_PointOnSurface``, so the same tiles on every run with the same boundaries)."""
    from sqlalchemy import create_engine

    from tiles.mvt import TMS

    engine = create_engine(url)
    with engine.connect() as conn:
        pts = conn.exec_driver_sql(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(u.geom) AS p FROM admin_unit u "
            "JOIN boundary_set b ON b.id = u.boundary_set_id WHERE b.is_current AND u.level = 1 ORDER BY u.pcode) q"
        ).all()
    engine.dispose()
    return list(dict.fromkeys((t.z, t.x, t.y) for z in zooms for t in (TMS.tile(lon, lat, z) for lon, lat in pts)))


def request_list(url: str, zooms: str) -> list[tuple[int, int, int]]:
    """The bench's tile list: ``"issue"`` = every tile at z5-z7 plus the fixed samples at
    z8 and z10 (docs/tiles.md); ``"A-B"`` = every tile at zooms A to B."""
    if zooms == "issue":
        return tile_list(url, range(5, 8)) + sample_tiles(url)
    z0, _, z1 = zooms.partition("-")
    return tile_list(url, range(int(z0), int(z1 or z0) + 1))


# -------------------------------------------------------------------------------- server
class Server:
    def __init__(self, url: str, port: int, env: dict | None = None, workers: int = 1):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        e = dict(os.environ)
        e.update({"DATABASE_URL": url, "DTM_ATLAS_LOG_LEVEL": "warning", "PYTHONPATH": str(ROOT)})
        e.pop("DTM_ATLAS_REDIS_URL", None)
        e.pop("REDIS_URL", None)
        e.update(env or {})
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tiles_bench:bench_app",
            "--app-dir",
            str(ROOT / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + NOOP_PATH, timeout=1).read()
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited: " + self.proc.stderr.read().decode()[-2000:])
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start within 30 s")

    def get(self, path: str, gzip_ok: bool = True) -> tuple[int, bytes, dict]:
        req = urllib.request.Request(self.base + path, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read(), {k.lower(): v for k, v in r.headers.items()}
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}

    def stop(self) -> None:
        stop_process(self.proc)


# ----------------------------------------------------------------------------------- wrk
LUA = """
local paths = {%s}
local i = 0
function setup(thread) end
function init(args) i = math.random(#paths) - 1 end
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip"})
end
"""


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v * 60000 if unit == "m" else v


def run_wrk(
    base: str, paths: list[str], connections: int, duration: int, threads: int = 2, delay_ms: int | None = None
) -> dict:
    """wrk over ``paths`` in turn; with ``delay_ms`` each connection waits that long before each request
    (a paced load rather than as fast as the server answers)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % ", ".join(json.dumps(p) for p in paths))
        if delay_ms:
            fh.write(f"function delay() return {int(delay_ms)} end\n")
        script = fh.name
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{duration}s",
                "--latency",
                "-s",
                script,
                base + paths[0],
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script)
    res = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = _ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["errors"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = m.group(1).strip() if m else ""
    return res


def median_run(runs: list[dict]) -> dict:
    """The run with the median requests/s (its latencies with it)."""
    ordered = sorted(runs, key=lambda r: r["requests_per_s"])
    return dict(ordered[len(ordered) // 2])


# ------------------------------------------------------------------------- comparisons
def start_tipg(url: str, tiles: list[tuple[int, int, int]], args, created_db: bool):
    """tipg (OGC API Tiles from PostGIS) serving the same tile list, or a reason to skip.

    tipg serves tables/views as collections: the bench creates a view of the current
    sub-districts (only in its own throw-away database). Returns (process, base URL, paths).
    """
    python = args.tipg_python or sys.executable
    probe = subprocess.run([python, "-c", "import tipg, uvicorn"], capture_output=True)
    if probe.returncode != 0:
        return "tipg not installed (pip install tipg uvicorn, or --tipg-python PATH of a venv that has them)"
    if not created_db:
        return "tipg comparison creates a view: only with the bench's own database (no --database-url)"
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE OR REPLACE VIEW bench_subdistricts AS SELECT u.id, u.pcode, u.name_en, u.name_ar, "
            "u.level, u.geom FROM admin_unit u JOIN boundary_set b ON b.id = u.boundary_set_id "
            "WHERE b.is_current AND u.level = 3"
        )
    engine.dispose()
    port = free_port()
    env = dict(
        os.environ, DATABASE_URL=url.replace("postgresql+psycopg://", "postgresql://"), TIPG_DB_SCHEMAS='["public"]'
    )
    proc = subprocess.Popen(
        [
            python,
            "-m",
            "uvicorn",
            "tipg.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    paths = [f"/collections/public.bench_subdistricts/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in tiles]
    deadline = time.time() + 30
    while True:
        try:
            for p in paths:  # warm up like ours
                urllib.request.urlopen(base + p, timeout=30).read()
            return proc, base, paths
        except Exception:
            if time.time() > deadline or proc.poll() is not None:
                stop_process(proc)
                return "tipg did not start"
            time.sleep(0.5)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def compare_tippecanoe(
    server: Server, url: str, tiles: list[tuple[int, int, int]], query: str, exe: str | None = None
) -> dict | None:
    """tippecanoe on the same sub-districts (full resolution, same properties), same tiles.

    Not run when the ``tippecanoe`` binary is missing.
    """
    exe = exe or shutil.which("tippecanoe")
    if not exe:
        return {"skipped": "tippecanoe binary not installed"}
    from sqlalchemy import create_engine

    from service.core.rounds import find_round
    from tiles.mvt import classification_for

    engine = create_engine(url)
    with engine.connect() as conn:
        # the same properties as our tiles: names, level and the latest IDP round's figures
        rnd = find_round(conn, population="idp")
        legend = classification_for(conn, rnd["id"], 3, "individuals", "idp") if rnd else None
        rows = conn.exec_driver_sql(
            """
            SELECT u.pcode, u.name_en, u.name_ar, u.level, f.families, f.individuals, ST_AsGeoJSON(u.geom, 6)
            FROM admin_unit u JOIN boundary_set b ON b.id = u.boundary_set_id
            LEFT JOIN unit_figure f ON f.round_id = %(r)s AND f.level = 3 AND f.pcode = u.pcode
            WHERE b.is_current AND u.level = 3
            """,
            {"r": rnd["id"] if rnd else None},
        ).all()
    engine.dispose()
    features = []
    for pcode, name_en, name_ar, level, families, individuals, geom in rows:
        props = {
            "pcode": pcode,
            "name_en": name_en,
            "name_ar": name_ar,
            "level": level,
            "value": individuals,
            "class": legend.class_of(individuals) if legend else None,
            "families": families,
            "individuals": individuals,
        }
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(geom),
                "properties": {k: v for k, v in props.items() if v is not None},
            }
        )
    fc = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "subdistricts.geojson"
        src.write_text(fc, encoding="utf-8")
        out = Path(tmp) / "subdistricts.mbtiles"
        zs = sorted({z for z, _, _ in tiles})
        subprocess.run(
            [exe, "-q", "-o", str(out), "-Z", str(zs[0]), "-z", str(zs[-1]), "-l", "subdistricts", "--force", str(src)],
            check=True,
        )
        db = sqlite3.connect(out)
        theirs_raw = theirs_gz = 0
        for z, x, y in tiles:
            row = db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, (1 << z) - 1 - y),
            ).fetchone()
            if row:
                data = row[0]
                raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
                theirs_raw += len(raw)
                theirs_gz += len(gzip.compress(raw, 6, mtime=0))
        db.close()
    ours_raw = ours_gz = 0
    for z, x, y in tiles:
        status, body, headers = server.get(f"/tiles/subdistricts/{z}/{x}/{y}.mvt?{query}", gzip_ok=True)
        if status == 200:
            raw = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
            ours_raw += len(raw)
            ours_gz += len(gzip.compress(raw, 6, mtime=0))
    return {
        "tippecanoe_raw": theirs_raw,
        "tippecanoe_gzip": theirs_gz,
        "ours_raw": ours_raw,
        "ours_gzip": ours_gz,
        "ratio_raw": ours_raw / theirs_raw if theirs_raw else None,
        "ratio_gzip": ours_gz / theirs_gz if theirs_gz else None,
    }


# ---------------------------------------------------------------------------------- main
def tile_bytes(server: Server, tiles: list[tuple[int, int, int]], layer: str, query: str) -> dict:
    per_zoom: dict[int, dict] = {}
    for z, x, y in tiles:
        status, body, headers = server.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt?{query}")
        d = per_zoom.setdefault(z, {"tiles": 0, "raw": 0, "gzip": 0, "max_gzip": 0})
        d["tiles"] += 1
        if status == 200:
            raw = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
            d["raw"] += len(raw)
            d["gzip"] += len(body)
            d["max_gzip"] = max(d["max_gzip"], len(body))
    total = {k: sum(d[k] for d in per_zoom.values()) for k in ("tiles", "raw", "gzip")}
    return {"per_zoom": per_zoom, "total": total}


def _per_zoom(tiles) -> str:
    counts = Counter(z for z, _, _ in tiles)
    return ", ".join(f"z{z} {n}" for z, n in sorted(counts.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs per scenario (the median is kept)")
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--layer", default="subdistricts", help="layer(s) of the request list")
    ap.add_argument(
        "--zooms",
        default="issue",
        help="the request list: 'issue' (every tile at z5-z7 plus "
        "fixed samples at z8 and z10) or every tile at a zoom range such as 5-8",
    )
    ap.add_argument("--query", default="population=idp&indicator=individuals")
    ap.add_argument("--json", type=Path, help="also write the numbers to this file")
    ap.add_argument("--tipg-python", help="python of a venv with tipg installed (default: this one)")
    ap.add_argument("--tippecanoe", help="the tippecanoe binary (default: on PATH)")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    url, own = prepare_database(args)
    results: dict = {
        "layer": args.layer,
        "zooms": args.zooms,
        "connections": args.connections,
        "duration_s": args.duration,
    }
    try:
        tiles = request_list(url, args.zooms)
        paths = [f"/tiles/{args.layer}/{z}/{x}/{y}.mvt?{args.query}" for z, x, y in tiles]
        results["tiles_in_list"] = len(paths)
        print(
            f"{len(paths)} tiles of {args.layer} ({args.zooms}: {_per_zoom(tiles)}); "
            f"wrk -c{args.connections} -d{args.duration}s"
        )

        # both servers up at once (an idle one costs nothing); runs interleaved, medians kept,
        # so a load change on the machine hits every scenario alike
        off = Server(url, free_port(), {"DTM_ATLAS_TILE_CACHE_MB": "0"})
        on = Server(url, free_port(), {"DTM_ATLAS_TILE_CACHE_MB": "256"})
        try:
            for p in paths:  # classifications loaded, cache filled: we measure tiles, not start-up
                off.get(p)
                on.get(p)
            tipg = start_tipg(url, tiles, args, own is not None)
            runs: dict[str, list[dict]] = {"noop": [], "cache_off": [], "cache_on": []}
            if not isinstance(tipg, str):
                runs["tipg"] = []
            try:
                for _ in range(args.repeat):
                    runs["noop"].append(run_wrk(on.base, [NOOP_PATH], args.connections, args.duration))
                    runs["cache_on"].append(run_wrk(on.base, paths, args.connections, args.duration))
                    runs["cache_off"].append(run_wrk(off.base, paths, args.connections, args.duration))
                    if "tipg" in runs:
                        runs["tipg"].append(run_wrk(tipg[1], tipg[2], args.connections, args.duration))
            finally:
                if not isinstance(tipg, str):
                    stop_process(tipg[0])
            for name, rs in runs.items():
                results[name] = median_run(rs)
                results[name]["runs"] = [r["requests_per_s"] for r in rs]
            if isinstance(tipg, str):
                results["tipg"] = {"skipped": tipg}
            sub = [(z, x, y) for z, x, y in tile_list(url, range(5, 8))]
            results["subdistrict_bytes_z5_7"] = tile_bytes(on, sub, "subdistricts", args.query)
            results["tippecanoe"] = compare_tippecanoe(on, url, sub, args.query, args.tippecanoe)
        finally:
            off.stop()
            on.stop()
    finally:
        if own is not None:
            pg, tmp = own
            pg.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    def row(name, r):
        runs = " ".join(f"{v:.0f}" for v in r.get("runs", []))
        return (
            f"  {name:<10} {r['requests_per_s']:>7.0f} req/s   p50 {r['p50_ms']:6.2f} ms   p90 {r['p90_ms']:6.2f} ms"
            f"   p99 {r['p99_ms']:7.2f} ms   non-2xx {r['errors']}" + (f"   (runs: {runs})" if runs else "")
        )

    print(
        f"\nthroughput (loopback, 1 uvicorn worker, wrk -c{args.connections}, median of {args.repeat} x "
        f"{args.duration} s; machine load average {os.getloadavg()[0]:.1f}):"
    )
    for name in ("noop", "cache_off", "cache_on"):
        print(row(name, results[name]))
    ratio = results["cache_on"]["requests_per_s"] / results["noop"]["requests_per_s"]
    results["cache_on_vs_noop"] = ratio
    print(
        f"  cache on / noop = {ratio:.0%}  (target >= 70%);  p99 cache on {results['cache_on']['p99_ms']:.2f} ms"
        f"  (target < 20 ms)"
    )
    tipg = results.get("tipg") or {}
    if "requests_per_s" in tipg:
        print(row("tipg", tipg))
        results["cache_off_vs_tipg"] = results["cache_off"]["requests_per_s"] / tipg["requests_per_s"]
        print(f"  cache off / tipg = {results['cache_off_vs_tipg']:.1f}x  (target >= 5x)")
    else:
        print(f"  tipg: skipped ({tipg.get('skipped')})")
    b = results["subdistrict_bytes_z5_7"]
    print("\nsub-district tile bytes (latest IDP round joined):")
    for z, d in sorted(b["per_zoom"].items()):
        print(
            f"  z{z}: {d['tiles']:3d} tiles   raw {d['raw']:>8,} B   gzip {d['gzip']:>8,} B   "
            f"largest gzip {d['max_gzip']:>7,} B"
        )
    t = b["total"]
    print(f"  z5-z7: {t['tiles']} tiles, raw {t['raw']:,} B, gzip {t['gzip']:,} B")
    tip = results.get("tippecanoe") or {}
    if "tippecanoe_raw" in tip:
        print(
            f"  tippecanoe z5-z7: raw {tip['tippecanoe_raw']:,} B, gzip {tip['tippecanoe_gzip']:,} B;"
            f" ours/tippecanoe raw = {tip['ratio_raw']:.2f} (target <= 0.6)"
        )
    else:
        print(f"  tippecanoe: skipped ({tip.get('skipped')})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
