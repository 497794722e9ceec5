"""Information package benchmark: the whole package of a round and one map, on the real data.

    .venv/bin/python bench/package_bench.py                      # throw-away embedded PostGIS in a temp folder
    .venv/bin/python bench/package_bench.py --database-url URL   # a scratch database on that server (dropped after)
    .venv/bin/python bench/package_bench.py --repeat 3 --map-repeat 5
    .venv/bin/python bench/package_bench.py --database-url URL --loaded   # a database the demo data is in already

Loads the demo data (Iraq COD-AB, the Dec 2017 and Feb 2021 IDP and the Feb 2021 returnee
master lists from ../shared/data) into its own database, then:

1. the package of round 120 as ``dtm-atlas package --round 120 --out DIR`` run as a new
   process (imports, database connection and worker start-up included): national + 18
   governorate maps x 2 populations, PNG (300 dpi) + PDF, folium HTML, charts, exports,
   tables, summary, manifest. Target: <= 20 s on the 2-CPU machine when quiet.
2. one map (the national district map of IDPs; then a governorate map, Baghdad's
   sub-districts), data read + PNG + PDF, in a warm process as the map workers are (imports
   done, one map drawn before, the heap settled: ``service.core.heap``). Target: <= 0.7 s
   wall (QGIS 3.22 headless with a print layout: 0.71 s national, 0.40 s a governorate page).

3. when Debian's python3-qgis is installed, the same national map printed by QGIS from the
   package's QGIS project (``bench/qgis_map.py``: A4 print layout, PNG 300 dpi + PDF), and the
   ratio of our time to QGIS's.

Wall and CPU seconds are printed side by side: on a machine other work is loading, the CPU
seconds of this process are the steadier measure.

It prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _db(database_url: str | None):
    from exports_bench import _embedded_db, _server_db

    return _server_db(database_url) if database_url else _embedded_db()


def _machine_busy() -> float | None:
    """CPU-seconds the machine's CPUs have been busy since boot (``/proc/stat``), None elsewhere."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--round", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=1, help="package builds")
    ap.add_argument("--map-repeat", type=int, default=5, help="warm single-map renders")
    ap.add_argument("--keep", type=Path, help="keep the last package in this folder")
    ap.add_argument("--loaded", action="store_true", help="--database-url holds the demo data already: use it as it is")
    args = ap.parse_args()

    from sqlalchemy import create_engine

    from service import db, kinds
    from service.core.settings import Settings
    from service.demo import load_demo

    kinds.install()
    if args.loaded:
        if not args.database_url:
            raise SystemExit("--loaded needs --database-url")
        url, drop = args.database_url, lambda: None
    else:
        url, drop = _db(args.database_url)
    try:
        engine = create_engine(db.normalise_url(url))
        if not args.loaded:
            db.migrate(engine)
            t0 = time.perf_counter()
            load_demo(engine, Settings(database_url=url))
            print(f"demo data loaded in {time.perf_counter() - t0:.1f} s")
        print(f"CPUs: {os.cpu_count()}, load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")

        env = {**os.environ, "DATABASE_URL": url, "DTM_ATLAS_LOG_LEVEL": "warning"}
        # this tree's code, with the interpreter running the bench (the CLI's entry point)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        cli = [sys.executable, "-m", "service.cli"]
        times = []
        for i in range(args.repeat):
            out = Path(tempfile.mkdtemp(prefix="dtm-package-bench-")) / "package"
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            busy0 = _machine_busy()
            t0 = time.perf_counter()
            done = subprocess.run(
                [*cli, "package", "--round", str(args.round), "--out", str(out)],
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - t0
            busy1 = _machine_busy()
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-4000:])
                raise SystemExit(f"dtm-atlas package failed ({done.returncode})")
            files = [p for p in out.rglob("*") if p.is_file()]
            kinds = {}
            for p in files:
                kinds[p.suffix] = kinds.get(p.suffix, 0) + 1
            size = sum(p.stat().st_size for p in files)
            times.append(seconds)
            print(
                f"package {i + 1}: {seconds:.1f} s wall (new process), {len(files)} files, {size / 1e6:.1f} MB; "
                + ", ".join(f"{k or 'no ext'}: {v}" for k, v in sorted(kinds.items()))
            )
            print("  " + " ".join(done.stdout.strip().splitlines()[-3:]))
            # the CLI and its map workers (not the database server): on N idle CPUs the wall time
            # cannot be under cpu / N; the gap to the wall time is waiting (for the database, or
            # for CPUs other processes hold)
            print(
                f"  CPU time of the command (its map workers, children of the fork server, are not "
                f"counted): {cpu:.1f} s; load average now {os.getloadavg()[0]:.2f}"
            )
            if busy0 is not None and busy1 is not None:
                # every process of the machine (workers and database included): how much of
                # the CPUs the build kept busy; on a quiet machine, the build's CPU time
                busy = busy1 - busy0
                print(
                    f"  the machine's CPUs busy during the build: {busy:.1f} CPU-s of "
                    f"{seconds * (os.cpu_count() or 1):.1f} ({100 * busy / (seconds * (os.cpu_count() or 1)):.0f} %)"
                )
            if i == args.repeat - 1:  # the QGIS side of the comparison opens its project (below)
                qgz = next(iter(sorted(out.glob("qgis/*.qgz"))), None)
                last = out
            else:
                shutil.rmtree(out.parent, ignore_errors=True)
        print(f"package: best {min(times):.1f} s, median {statistics.median(times):.1f} s (target <= 20 s quiet)")

        from service.core import heap
        from service.maps import render
        from service.maps.data import MapSpec, load_map

        tmp = Path(tempfile.mkdtemp(prefix="dtm-map-bench-"))

        def one(spec) -> tuple[float, ...]:
            c0 = time.process_time()
            t0 = time.perf_counter()
            with engine.connect() as conn:
                data = load_map(conn, spec)
            t1 = time.perf_counter()
            fig = render.figure(data)
            t2 = time.perf_counter()
            render.save(fig, tmp / "m.png", "png", title="bench", producer=data.texts.producer)
            t3 = time.perf_counter()
            render.save(fig, tmp / "m.pdf", "pdf", title="bench", producer=data.texts.producer)
            t4 = time.perf_counter()
            return t4 - t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3, time.process_time() - c0

        ours = {}
        for name, spec in (
            ("national district map", MapSpec(args.round, "idp", 2)),
            ("governorate map (Baghdad's sub-districts)", MapSpec(args.round, "idp", 3, extent="IQG07")),
        ):
            cold = one(spec)
            print(f"{name}, first in this process: {cold[0]:.2f} s wall, {cold[5]:.2f} s CPU")
            heap.settle()  # as a map worker's, warm
            runs = [one(spec) for _ in range(args.map_repeat)]
            tot = [r[0] for r in runs]
            med = [statistics.median(r[i] for r in runs) for i in range(6)]
            print(
                f"  PNG (300 dpi) + PDF, warm: best {min(tot):.2f} s, median {med[0]:.2f} s wall (target <= 0.7 s); "
                f"CPU {med[5]:.2f} s; median read {med[1]:.2f}, layout and labels {med[2]:.2f}, PNG {med[3]:.2f}, "
                f"PDF {med[4]:.2f} s"
            )
            ours[name] = (med[0], med[5])
        _qgis_side_by_side(qgz, tmp, ours["national district map"], args.map_repeat)
        shutil.rmtree(tmp, ignore_errors=True)
        if args.keep:
            shutil.rmtree(args.keep, ignore_errors=True)
            shutil.move(str(last), str(args.keep))
        shutil.rmtree(last.parent, ignore_errors=True)
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        engine.dispose()
    finally:
        drop()


def _qgis_side_by_side(qgz: Path | None, tmp: Path, ours: tuple[float, float], repeat: int) -> None:
    """The same map printed by QGIS (bench/qgis_map.py: Debian's PyQGIS, offscreen) from the
    package's QGIS project, when python3-qgis is installed; the ratio to ours."""
    system = "/usr/bin/python3"
    if qgz is None:
        print("QGIS side by side: the package has no QGIS project")
        return
    probe = subprocess.run([system, "-c", "import qgis.core"], capture_output=True)
    if probe.returncode != 0:
        print("QGIS side by side: skipped (Debian's python3-qgis is not installed)")
        return
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [system, str(ROOT / "bench" / "qgis_map.py"), str(qgz), str(tmp), str(repeat)],
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        print(f"QGIS side by side failed: {done.stderr[-1500:]}")
        return
    q = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"QGIS {q['version']}, the national district map from the package's project through an A4 print layout "
        f"(map with QGIS's labels, title, legend, scale bar), PNG 300 dpi + PDF, warm: median {q['warm_wall']:.2f} s "
        f"wall, {q['warm_cpu']:.2f} s CPU (first {q['first_wall']:.2f} s)"
    )
    print(
        f"  ratio DTM Atlas / QGIS, national map: {ours[0] / q['warm_wall']:.2f} wall, "
        f"{ours[1] / max(q['warm_cpu'], 1e-9):.2f} CPU (< 1: Atlas faster)"
    )


if __name__ == "__main__":
    main()
