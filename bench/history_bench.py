"""The whole DTM Iraq history from an empty database; prints numbers, asserts nothing.

  .venv/bin/python bench/history_bench.py [--population idp|returnee|both] [--limit N] [--jobs N]

Imports ``../shared/data/dtm_iraq_masterlists/series/`` (every IDP and returnee round it
holds: 219 gzip-compressed CSV files, ~480,000 location rows) the way ``dtm-atlas import
masterlist`` does (``service.ingest.batch.import_many``: each file its own round and
transaction, placement and aggregates included), on the real COD-AB boundaries, and prints
the total, the time per file and the floor measured in the same run: a plain ``COPY`` of the
same rows (decompressed) into one table of text columns, timed alone; beside it the floor of the
bench's first version, which also counted the growing table after each file (the issue's 3.9x and
stop 19's 3.5x were measured against it). The load average is printed too: other work on the
machine skews the numbers.

Runs on a scratch database (created and dropped) on DATABASE_URL's server or on a
throw-away embedded cluster, never on the project's data.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from bench.ingest_bench import make_db, scratch_server  # noqa: E402
from service import db  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
SERIES = SHARED / "dtm_iraq_masterlists" / "series"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def copy_floor(url: str, files: list[Path]) -> tuple[float, int, float]:
    """Seconds to COPY every file's rows into one table of text columns (wide enough for
    the widest header), and the rows copied: what writing the bytes alone costs. Third: the
    seconds the bench's first version also counted in its floor (a ``count(*)`` of the growing
    table after each file: quadratic over a history, 70-75 % of that floor), timed apart so
    that the earlier ratios (3.9x, 3.5x) can be compared."""
    width = 0
    for f in files:
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            width = max(width, fh.readline().count(",") + 1)
    cols = ", ".join(f"c{j} text" for j in range(width))
    rows = 0
    counting = 0.0
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS floor_copy; CREATE TABLE floor_copy ({cols})")
        t = time.perf_counter()
        for f in files:
            with gzip.open(f, "rb") as fh:
                header = fh.readline()
                n = header.count(b",") + 1
                cur = conn.cursor()
                names = ", ".join(f"c{j}" for j in range(n))
                with cur.copy(f"COPY floor_copy ({names}) FROM STDIN (FORMAT csv)") as cp:
                    while chunk := fh.read(1 << 20):
                        cp.write(chunk)
            rows += cur.rowcount  # COPY's own count
            tc = time.perf_counter()
            conn.execute("SELECT count(*) FROM floor_copy").fetchone()
            counting += time.perf_counter() - tc
        elapsed = time.perf_counter() - t - counting
        conn.execute("DROP TABLE floor_copy")
    return elapsed, rows, counting


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", choices=("idp", "returnee", "both"), default="both")
    ap.add_argument("--limit", type=int, help="first N files of each population only")
    ap.add_argument("--jobs", type=int, default=3, help="files imported at once (import masterlist --jobs)")
    args = ap.parse_args()

    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.ingest.batch import import_many

    pops = ("idp", "returnee") if args.population == "both" else (args.population,)
    files = {p: sorted((SERIES / p).glob("*.csv.gz"))[: args.limit] for p in pops}
    server, embedded = scratch_server()
    url = make_db(server, "dtm_atlas_history_bench")
    engine = create_engine(url)
    try:
        db.migrate(engine)
        for f in sorted((SHARED / "irq_cod_ab").glob("irq_admbnda_adm*.geojson")):
            import_boundaries(engine, read_boundaries(f))
        print(f"load average before: {_load()}; {args.jobs} file(s) at a time")
        per_file: list[float] = []
        rows = 0
        all_outcomes = []
        t0 = time.perf_counter()
        for population, paths in files.items():
            t = time.perf_counter()
            last = [time.perf_counter()]

            def took(_path, out, last=last):
                now = time.perf_counter()
                per_file.append(now - last[0])
                last[0] = now

            outcomes = import_many(engine, paths, population=population, on_file=took, workers=args.jobs)
            all_outcomes += outcomes
            rows += sum(o.result.rows for o in outcomes if o.result)
            bad = [o for o in outcomes if not o.ok]
            print(
                f"{population}: {len(paths)} files in {time.perf_counter() - t:.1f} s "
                f"({sum(o.outcome == 'imported' for o in outcomes)} imported, {len(bad)} rejected)"
            )
            for o in bad:
                print(f"  rejected {o.file}: {o.message}")
        total = time.perf_counter() - t0
        n = len(per_file)
        phases: dict[str, list[float]] = {}
        for o in all_outcomes:
            for k, v in (o.result.timings if o.result else {}).items():
                phases.setdefault(k, []).append(v)
        print("mean per file: " + ", ".join(f"{k} {statistics.mean(v):.3f}" for k, v in sorted(phases.items())))
        print(
            f"whole history: {n} files, {rows:,} location rows in {total:.1f} s = {total / max(n, 1):.3f} s per file "
            f"(median {statistics.median(per_file):.3f} s, max {max(per_file):.3f} s); load average {_load()}"
        )
        floor, floor_rows, counting = copy_floor(url, [f for paths in files.values() for f in paths])
        print(
            f"floor: plain COPY of the same {floor_rows:,} rows into one text table: {floor:.1f} s "
            f"(the import takes {total / floor:.1f}x the floor)"
        )
        print(
            f"  the first version's floor (a count(*) of the growing table after each file counted in): "
            f"{floor + counting:.1f} s ({total / (floor + counting):.1f}x; the issue's 3.9x and the last stop's 3.5x "
            "were measured so)"
        )
    finally:
        engine.dispose()
        if embedded is not None:
            pg, tmp = embedded
            pg.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
