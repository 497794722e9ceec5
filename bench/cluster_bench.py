"""The scale-out topology measured in one run (docs/deploy.md): prints numbers, asserts nothing.

    .venv/bin/python bench/cluster_bench.py [--duration S] [--rounds N] [--connections N] [--history-files N]

About 3-4 minutes with the defaults (3 s per wrk run, 5 interleaved rounds). On a throw-away data
folder: the real Iraq boundaries and the Feb 2021 IDP list are imported into the embedded primary,
then ``deploy/cluster.py`` starts the topology (streaming replica, PgBouncer in transaction mode, two
workers reading the replica through it, nginx as the HTTP cache and a static-file peer). ``wrk``
(loopback, sharing the 2 CPUs with everything else) measures. Every comparison runs in interleaved
rounds (one run of each side per round, back to back) and prints each round's ratio; every run
also measures the CPU-seconds of each process involved (the servers, PostgreSQL, PgBouncer, wrk,
and the rest of the machine from /proc/stat).

1. **Cache against one worker**: the same versioned URLs (the districts tiles with content at
   z5-z7 with ``?v=`` the data version, and the choropleths of levels 1-3 with ``?v=``), warmed,
   through nginx and straight to one worker (its in-process cache warm). Target: >= 10x.
2. **Cache against static files of the same bytes**: the bodies nginx served (gzip, as
   delivered) written as plain files and served by the same nginx's static server with the
   cache's headers (``add_header`` lines written for it, then a reload): same bytes, headers of
   the same size, same client and concurrency. Target: >= 0.8x; also printed per nginx CPU-second.
3. **Two workers against one on uncached tiles**: ``uvicorn --workers 1`` and ``2`` (both up,
   alternated round by round) with the tile cache off, reading the replica through PgBouncer, over
   every sub-districts tile at z5-z8. Target on the issue: >= 1.8x; prints the CPU-ms per tile of
   each process and the ceiling they allow on 2 CPUs (and on 4). Then the same on the repeated
   URLs of part 1, answered from the workers' own caches: there the CPU is the workers' alone,
   which shows how two workers scale where a core is free for the second.
4. **Reads during a history import**: ``--history-files`` files of the master-list series
   imported through the primary (each its own round and data version) while wrk reads the
   cached URLs through nginx, alternating two loads: as fast as the cache answers (the CPUs
   saturated) and paced (each connection one request per ``--paced-ms``); prints p50/p99 of
   each before and during (target p99 < 50 ms). Then, once
   the replica has replayed the import: TileJSON through the cache names the new version, its
   tiles answer the new version's bytes, and the old versioned URLs still answer their old bytes
   (no answer is stale; nothing purged).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tiles_bench import Server, free_port, run_wrk, tile_list  # noqa: E402

from deploy.cluster import REPLICA_DB, Cluster  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
LIST_2021 = SHARED / "dtm_iraq_masterlists" / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
SERIES = SHARED / "dtm_iraq_masterlists" / "series" / "idp"


def cli(data_dir: Path, *args: str, database_url: str | None = None) -> None:
    env = dict(os.environ, DTM_ATLAS_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), DTM_ATLAS_LOG_LEVEL="warning")
    env.pop("DATABASE_URL", None)
    env.pop("DTM_ATLAS_DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    proc = subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dtm-atlas {' '.join(args[:2])} failed: {proc.stderr[-2000:]}")


def get(url: str) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def body(headers: dict, raw: bytes) -> bytes:
    return gzip.decompress(raw) if headers.get("content-encoding") == "gzip" and raw else raw


def warm(base: str, paths: list[str], rounds: int = 2) -> dict:
    statuses: dict = {}
    for _ in range(rounds):
        for p in paths:
            status, headers, _ = get(base + p)
            key = (status, headers.get("x-cache-status", "-"))
            statuses[key] = statuses.get(key, 0) + 1
    return statuses


def line(name: str, r: dict) -> str:
    return (
        f"{name:<44} {r['requests_per_s']:>9,.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"
        f"  errors {r['errors']}{'  socket ' + r['socket_errors'] if r['socket_errors'] else ''}"
    )


def cpu_times(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, idle) CPU-seconds of the whole machine since boot (/proc/stat)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = f[3] + f[4]
    return (sum(f[:8]) - idle) / tick, idle / tick


def children_cpu() -> float:
    """CPU-seconds of this process's reaped children (wrk, run to its end by run_wrk)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def measured(run, pids, duration: int) -> dict:
    """``run()`` (one wrk run) with the CPU-seconds each group of processes used meanwhile: ``pids`` is
    a list (the server: ``server_cpu_s``) or a dict of named lists (``<name>_cpu_s``); a group may be a
    function giving its PIDs, asked before and after the run (PostgreSQL starts backends as PgBouncer
    opens connections; one that ends is counted in its parent's reaped children's time). Also
    ``wrk_cpu_s``, ``other_cpu_s`` (the rest of the machine: other work) and ``idle_cpu_s``."""
    groups = pids if isinstance(pids, dict) else {"server": pids}

    def now(group) -> dict[int, float]:
        return {p: cpu_times([p]) for p in (group() if callable(group) else group)}

    before = {k: now(v) for k, v in groups.items()}
    w0, (b0, i0) = children_cpu(), machine_cpu()
    r = run()
    r["duration_s"] = duration
    for k, v in groups.items():
        after = now(v)
        after.update({p: cpu_times([p]) for p in before[k] if p not in after})
        r[f"{k}_cpu_s"] = sum(after.values()) - sum(before[k].values())
    r["wrk_cpu_s"] = children_cpu() - w0
    b1, i1 = machine_cpu()
    r["other_cpu_s"] = max(0.0, (b1 - b0) - r["wrk_cpu_s"] - sum(r[f"{k}_cpu_s"] for k in groups))
    r["idle_cpu_s"] = i1 - i0
    return r


def per_cpu(r: dict, who: str) -> float:
    """Requests per CPU-second of ``who`` in the run ``r``."""
    return r["requests_per_s"] * r["duration_s"] / max(r[f"{who}_cpu_s"], 0.001)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def median_of(runs: list[dict]) -> dict:
    """The run with the median rate (its latencies and CPU split with it)."""
    return sorted(runs, key=lambda r: r["requests_per_s"])[len(runs) // 2]


def fmt(xs: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in xs)


def group_pids(pgid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def header_bytes(url: str) -> int:
    """Bytes of the response's header block (status line to the blank line), read off the socket."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept-Encoding: gzip\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.index(b"\r\n\r\n") + 4


# headers of an answer that nginx's static server makes itself (or that say nothing about the bytes)
OWN_HEADERS = {"server", "date", "content-length", "connection", "content-type", "etag", "last-modified",
               "accept-ranges", "cache-control", "transfer-encoding", "keep-alive"}  # fmt: skip


def write_static_peer(cluster: Cluster, st: dict, cache: str, paths: list[str]) -> list[str]:
    """The cache's answers (bodies as delivered, gzip) as plain files, and its headers as the static
    server's ``add_header`` lines (deploy/nginx.conf includes them): the same bytes and headers of the same
    size on both sides. Returns the static paths, in the order of ``paths``."""
    static_dir = Path(st["nginx"]["static"])
    static_paths, headers = [], {}
    for i, p in enumerate(paths):
        _, headers, raw = get(cache + p)
        name = f"f{i}.{'mvt' if p.startswith('/tiles') else 'geojson'}"
        (static_dir / name).write_bytes(raw)
        static_paths.append("/" + name)
    lines = [
        f"add_header {k} {json.dumps(v)};"
        for k, v in headers.items()
        if k not in OWN_HEADERS and not k.startswith("x-cache") and '"' not in v
    ]
    cluster.nginx_static_headers(st, "\n".join(lines) + "\n", static_paths[0])
    warm(static_base_of(st), static_paths, 1)
    return static_paths


def static_base_of(st: dict) -> str:
    return st["urls"]["static"]


def nginx_pids(st: dict) -> list[int]:
    """nginx's master and worker processes."""
    pid = int(Path(st["nginx"]["pidfile"]).read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *map(int, children)]


def replica_pids(st: dict) -> list[int]:
    """The replica's postmaster and its backends (their CPU time is what uncached tiles cost there)."""
    pid = int(Path(st["replica"]["pgdata"], "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *map(int, children)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of each side-by-side comparison")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections")
    ap.add_argument("--history-files", type=int, default=4, help="series files imported during reads (part 4)")
    ap.add_argument("--paced-ms", type=int, default=10, help="part 4's paced load: each connection's wait, ms")
    ap.add_argument("--keep", action="store_true", help="leave the cluster up (./dev cluster down to stop it)")
    args = ap.parse_args()
    d, c = args.duration, args.connections
    t_start = time.perf_counter()
    data_dir = Path(tempfile.mkdtemp(prefix="dtm-atlas-cluster-bench-"))
    data_dir.chmod(0o755)
    print(f"load average {os.getloadavg()[0]:.2f}; data folder {data_dir}")
    cluster = Cluster(data_dir)
    try:
        t0 = time.perf_counter()
        cli(data_dir, "boundaries", "import", *map(str, sorted((SHARED / "irq_cod_ab").glob("*.geojson"))))
        cli(data_dir, "import", "masterlist", "--population", "idp", str(LIST_2021))
        print(f"primary loaded (Iraq boundaries, Feb 2021 IDP list) in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        st = cluster.up(workers=2)
        print(f"cluster up in {time.perf_counter() - t0:.0f} s: {json.dumps(st['urls'])}")
        cache, static_base, worker = st["urls"]["cache"], st["urls"]["static"], st["urls"]["workers"][0]
        password = json.loads((data_dir / "pg.json").read_text())["password"]
        primary_url = f"postgresql://atlas:{password}@127.0.0.1:{st['primary']['port']}/dtm_atlas"
        read_url = f"postgresql://atlas:{password}@127.0.0.1:{st['pgbouncer']['port']}/{REPLICA_DB}"

        tj = json.loads(body(*get(cache + "/tiles/districts.json")[1:]))
        version = tj["dtm_atlas"]["data_version"]
        tiles = [f"/tiles/districts/{z}/{x}/{y}.mvt?v={version}" for z, x, y in tile_list(primary_url, range(5, 8))]
        choros = [f"/choropleth/{lvl}.geojson?v={version}" for lvl in (1, 2, 3)]
        # the tiles with content (an empty tile is a 204 without a body: not the bytes this compares)
        tiles = [p for p in tiles if get(cache + p)[0] == 200]
        paths = tiles + choros
        print(f"data version {version}: {len(tiles)} tiles with content + {len(choros)} choropleths, versioned (?v=)")

        # 1. the cache against one worker's cache; 2. against static files of the same bytes
        print("warm:", warm(cache, paths), warm(worker, paths, 1))
        static_paths = write_static_peer(cluster, st, cache, paths)
        h_cache, h_static = header_bytes(cache + paths[0]), header_bytes(static_base + static_paths[0])
        print(f"  response header bytes of one tile: cache {h_cache}, static {h_static} (same body bytes)")
        nginx, worker_pid = nginx_pids(st), [st["workers"][0]["pid"]]
        sides = (
            ("one", worker, paths, worker_pid),
            ("cache", cache, paths, nginx),
            ("static", static_base, static_paths, nginx),
        )
        runs: dict = {name: [] for name, *_ in sides}
        for _ in range(args.rounds):  # interleaved: one round is one run of each, back to back
            for name, base, ps, pids in sides:
                runs[name].append(measured(lambda b=base, p=ps: run_wrk(b, p, c, d), pids, d))
        for name, label in (
            ("one", "one worker, its cache warm"),
            ("cache", "nginx cache (HIT)"),
            ("static", "nginx static files, same bytes"),
        ):
            r = median_of(runs[name])
            print(line(label, r) + f"  {per_cpu(r, 'server'):,.0f} per server CPU-s, wrk {per_cpu(r, 'wrk'):,.0f}")
        sizes = [(Path(st["nginx"]["static"]) / p.lstrip("/")).stat().st_size for p in static_paths]
        print(f"  answers: {len(sizes)} bodies, mean {sum(sizes) / len(sizes) / 1024:.1f} KiB as delivered (gzip)")
        vs_one = [a["requests_per_s"] / b["requests_per_s"] for a, b in zip(runs["cache"], runs["one"])]
        vs_static = [a["requests_per_s"] / b["requests_per_s"] for a, b in zip(runs["cache"], runs["static"])]
        cpu_static = [per_cpu(a, "server") / per_cpu(b, "server") for a, b in zip(runs["cache"], runs["static"])]
        print(f"  cache / one worker, per round: {fmt(vs_one)}; median {median(vs_one):.1f}x (target >= 10x)")
        print(f"  cache / static, per round: {fmt(vs_static)}; median {median(vs_static):.2f}x (target >= 0.8x)")
        print(f"  cache / static, requests per nginx CPU-s: {fmt(cpu_static)}; median {median(cpu_static):.2f}x")

        # 3. two workers against one, uncached tiles, reading the replica through PgBouncer
        uncached = [f"/tiles/subdistricts/{z}/{x}/{y}.mvt" for z, x, y in tile_list(primary_url, range(5, 9))]
        env = {
            "DATABASE_URL": primary_url,
            "DTM_ATLAS_READ_DATABASE_URLS": read_url,
            "DTM_ATLAS_TILE_CACHE_MB": "0",
            "DTM_ATLAS_DATA_DIR": str(data_dir),
        }
        servers = {n: Server(primary_url, free_port(), env=env, workers=n) for n in (1, 2)}
        results: dict = {1: [], 2: []}
        try:
            for n, server in servers.items():
                status, headers, _ = get(server.base + uncached[0])
                assert headers.get("x-read-from", "").startswith("replica"), headers
                warm(server.base, uncached[:20], 1)  # connections open, plans warm; no tile cache
            for _ in range(args.rounds):  # 1, 2, 1, 2, ...: the machine's other load hits both alike
                for n, server in servers.items():
                    pids = {
                        "workers": lambda pgid=server.proc.pid: group_pids(pgid),
                        "postgres": lambda: replica_pids(st),
                        "pgbouncer": [int(Path(st["pgbouncer"]["pidfile"]).read_text().split()[0])],
                    }
                    results[n].append(measured(lambda b=server.base: run_wrk(b, uncached, c, d), pids, d))
        finally:
            for server in servers.values():
                server.stop()
        for n in (1, 2):
            r = median_of(results[n])
            print(line(f"{n} worker{'s' if n > 1 else ''}, uncached sub-district tiles", r))
            print(
                f"  CPU-s in {d} s (the machine has {2 * d}): workers {r['workers_cpu_s']:.1f}, replica PostgreSQL "
                f"{r['postgres_cpu_s']:.1f}, PgBouncer {r['pgbouncer_cpu_s']:.1f}, wrk {r['wrk_cpu_s']:.1f}, "
                f"everything else on the machine {r['other_cpu_s']:.1f} (idle {r['idle_cpu_s']:.1f})"
            )
        two_one = [b["requests_per_s"] / a["requests_per_s"] for a, b in zip(results[1], results[2])]
        r1 = median_of(results[1])
        cost = {k: r1[f"{k}_cpu_s"] / (r1["requests_per_s"] * d) for k in ("workers", "postgres", "pgbouncer", "wrk")}
        per_tile = sum(cost.values())
        ceiling = min(2 / cost["workers"], 2 / per_tile) / min(1 / cost["workers"], 2 / per_tile)
        r2 = median_of(results[2])
        print(
            f"  two / one, per round: {fmt(two_one)}; median {median(two_one):.2f}x (target >= 1.8x); tiles per worker "
            f"CPU-second: one worker {per_cpu(r1, 'workers'):,.0f}, two {per_cpu(r2, 'workers'):,.0f} (the workers "
            "share nothing: equal means two make twice as many where there are cores to run them)"
        )
        print(
            "  CPU-ms per uncached tile: "
            + ", ".join(f"{k} {v * 1000:.2f}" for k, v in cost.items())
            + f"; all {per_tile * 1000:.2f}. tiles per CPU-second: worker {1 / cost['workers']:,.0f}, "
            f"PostgreSQL {1 / cost['postgres']:,.0f}, everything {1 / per_tile:,.0f}"
        )
        print(
            f"  what 2 CPUs allow: one worker is bound by its own core at {1 / cost['workers']:,.0f} tiles/s, the "
            f"machine by {2 / per_tile:,.0f} tiles/s (all processes of a tile on 2 cores): two / one <= "
            f"{ceiling:.2f}x; with 4 cores (load generator and PostgreSQL beside two busy workers) "
            f"{min(2 / cost['workers'], 4 / per_tile) / min(1 / cost['workers'], 4 / per_tile):.2f}x"
        )
        # 3b. the same on answers the workers hold in their own cache (the repeated URLs of part 1): the
        # CPU is the workers' alone, so this shows how far two workers go where a core is free for the second
        warm_env = {k: v for k, v in env.items() if k != "DTM_ATLAS_TILE_CACHE_MB"}
        servers = {n: Server(primary_url, free_port(), env=warm_env, workers=n) for n in (1, 2)}
        cached: dict = {1: [], 2: []}
        try:
            for server in servers.values():
                warm(server.base, paths, 3)  # uvicorn's processes each fill their own cache
            for _ in range(args.rounds):
                for n, server in servers.items():
                    pids = {"workers": group_pids(server.proc.pid)}
                    cached[n].append(measured(lambda b=server.base: run_wrk(b, paths, c, d), pids, d))
        finally:
            for server in servers.values():
                server.stop()
        w1, w2 = median_of(cached[1]), median_of(cached[2])
        ratio = [b["requests_per_s"] / a["requests_per_s"] for a, b in zip(cached[1], cached[2])]
        cw, ck = (w1[f"{k}_cpu_s"] / (w1["requests_per_s"] * d) for k in ("workers", "wrk"))
        print(line("1 worker, answers in its own cache", w1) + "\n" + line("2 workers, answers in their own cache", w2))
        print(
            f"  two / one, per round: {fmt(ratio)}; median {median(ratio):.2f}x. CPU-ms per answer: worker "
            f"{cw * 1000:.2f}, wrk {ck * 1000:.2f}: 2 CPUs allow "
            f"{min(2 / cw, 2 / (cw + ck)) / min(1 / cw, 2 / (cw + ck)):.2f}x; everything else on the machine took "
            f"{w1['other_cpu_s']:.1f} of {2 * d} CPU-s"
        )

        # 4. reads through the cache during a history import on the primary
        old = {p: get(cache + p)[2] for p in paths[:20]}
        # two read loads, alternated: wrk as fast as the cache answers (the CPU saturated: p99 is queueing),
        # and a paced one (each connection one request per --paced-ms: a busy site, not an overload)
        loads = (("full rate", {}), (f"paced, {c} x 1 per {args.paced_ms} ms", {"delay_ms": args.paced_ms}))
        before = {name: run_wrk(cache, paths, c, min(d, 3), **kw) for name, kw in loads}
        files = sorted(SERIES.glob("*.csv.gz"))[: args.history_files]
        imp = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "import", "masterlist", "--population", "idp", *map(str, files)],
            env=dict(os.environ, DATABASE_URL=primary_url, DTM_ATLAS_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        t0 = time.perf_counter()
        during: dict = {name: [] for name, _ in loads}
        while imp.poll() is None and time.perf_counter() - t0 < 120:
            for name, kw in loads:
                if imp.poll() is None:
                    during[name].append(run_wrk(cache, paths, c, min(d, 3), **kw))
        imp.wait(300)
        took = time.perf_counter() - t0
        print(f"reads through the cache before and during a history import ({len(files)} files, {took:.0f} s):")
        for name, _ in loads:
            print(line(f"  {name}, before", before[name]))
            if during[name]:
                worst = max(during[name], key=lambda r: r["p99_ms"])
                each_p99 = ", ".join(f"{r['p99_ms']:.0f}" for r in during[name])
                print(line(f"  {name}, during (worst)", worst) + f"  p99 of each run: {each_p99} ms (target < 50)")
        # the replica replays; then the new version, through the cache
        with urllib.request.urlopen(worker + "/health") as r:
            newest = json.loads(r.read())["data_version"]
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < 30:
            _, headers, raw = get(cache + "/tiles/districts.json")
            tj = json.loads(body(headers, raw))
            if tj["dtm_atlas"]["data_version"] >= newest:
                break
            time.sleep(0.05)
        new_version = tj["dtm_atlas"]["data_version"]
        tile0 = tiles[0].split("?")[0]
        status, headers, _ = get(f"{cache}{tile0}?v={new_version}")
        stale_old = sum(get(cache + p)[2] != b for p, b in old.items())
        print(
            f"  after the import: primary at version {newest}; TileJSON through the cache names {new_version} "
            f"{time.perf_counter() - t1:.2f} s after the import ended; a new tile URL answers version "
            f"{headers.get('x-data-version')} from {headers.get('x-read-from')} ({headers.get('x-cache-status')}); "
            f"old versioned URLs changed: {stale_old} of {len(old)}"
        )
    finally:
        if not args.keep:
            left = cluster.down()
            cli(data_dir, "db", "stop")
            print(f"cluster down{'; left: ' + str(left) if left else ''}")
            shutil.rmtree(data_dir, ignore_errors=True)
    print(f"total {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
