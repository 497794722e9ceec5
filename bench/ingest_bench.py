"""Ingest benchmarks for the figures pipeline; prints numbers, asserts nothing.

  .venv/bin/python bench/ingest_bench.py [--rows 1000000]

1. the real Feb 2021 IDP master list: import + placement + aggregation (end to end);
2. N synthetic location rows (DTM wide format, points spread over Iraq's districts):
   staging (fast path: COPY of the file + casts in SQL; --python: the parser) + placement +
   aggregation, rows/s, with the time of each phase and the load average (other work on
   the machine skews the numbers: compare runs made at a similar load);
3. the national sub-district choropleth GeoJSON: bytes and warm latency.

``--profile 0.5`` prints the statements of the synthetic imports that take 0.5 s or more.

Runs on a scratch database (created and dropped) on DATABASE_URL's server or on a
throw-away embedded cluster, never on the project's data.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from service import db  # noqa: E402
from service.pgembed import EmbeddedPostgres  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
FEB21 = SHARED / "dtm_iraq_masterlists" / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"


def scratch_server():
    url = os.environ.get("DATABASE_URL")
    if url:
        return make_url(db.normalise_url(url)), None
    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-bench-"))
    tmp.chmod(0o755)
    pg = EmbeddedPostgres(tmp)
    pg.start()
    return make_url(pg.url()), (pg, tmp)


def make_db(server, name: str) -> str:
    with psycopg.connect(
        server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False), autocommit=True
    ) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    return server.set(database=name).render_as_string(hide_password=False)


def synthetic_csv(engine, path: Path, rows: int) -> None:
    """Rows shaped like the real master list: real header, points sampled inside districts."""
    with engine.connect() as c:
        pts = c.execute(
            text(
                """
            SELECT d.name_en AS district, g.name_en AS gov, ST_X(p) AS lon, ST_Y(p) AS lat
            FROM admin_unit d JOIN admin_unit g ON g.pcode = d.parent_pcode AND g.boundary_set_id = d.boundary_set_id,
                 LATERAL (SELECT (ST_Dump(ST_GeneratePoints(d.geom, 40, 7))).geom AS p) s
            WHERE d.level = 2
            """
            )
        ).all()
    with open(FEB21, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    idx = {h: i for i, h in enumerate(header)}
    rnd = random.Random(7)
    origin = [h for h in header[11:29]]
    with open(path, "w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(header)
        for i in range(rows):
            d, g, lon, lat = pts[rnd.randrange(len(pts))]
            fam = rnd.randint(1, 400)
            row = ["0.0"] * len(header)
            row[0] = str(i)
            row[idx["Location ID"]] = f"{9000000 + i}.0"
            row[idx["Place ID"]] = f"{i}.0"
            row[idx["Governorate"]] = g
            row[idx["District"]] = d
            row[idx["Location Name"]] = f"Synthetic {i}"
            row[idx["Arabic Name"]] = "موقع"
            row[idx["Latitude"]] = f"{lat:.6f}"
            row[idx["Longitude"]] = f"{lon:.6f}"
            row[idx["Families"]] = f"{fam}.0"
            row[idx["Individuals"]] = f"{fam * 6}.0"
            row[idx[rnd.choice(origin)]] = f"{fam}.0"
            row[idx["date"]] = "Feb 28, 2021"
            w.writerow(row)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _phases(timings: dict) -> str:
    """parse/stage/place/aggregate (+ the fast path's own steps), in seconds."""
    return ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in timings.items())


def profile_statements(engine, threshold: float) -> None:
    """Print each statement run through ``engine`` that takes ``threshold`` seconds or more."""
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        if took >= threshold:
            print(f"  {took:7.2f} s  {' '.join(statement.split())[:100]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="synthetic imports (the first inserts the locations, the next ones update them)",
    )
    ap.add_argument("--python", action="store_true", help="also import the synthetic file with the Python parser")
    ap.add_argument("--skip-real", action="store_true", help="skip the real master list and the choropleth")
    ap.add_argument(
        "--profile",
        type=float,
        metavar="S",
        help="print every SQL statement of the synthetic "
        "imports that takes S seconds or more (its time and first words)",
    )
    args = ap.parse_args()

    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.ingest.rounds import import_masterlist

    server, cleanup = scratch_server()
    try:
        engine = create_engine(make_db(server, "dtm_atlas_bench_ingest"))
        db.migrate(engine)
        for f in sorted((SHARED / "irq_cod_ab").glob("*.geojson")):
            import_boundaries(engine, read_boundaries(f))

        print(f"load average at start: {_load()}")
        runs = []
        for _ in range(0 if args.skip_real else 3):
            t = time.perf_counter()
            res = import_masterlist(engine, FEB21, population="idp")
            runs.append(time.perf_counter() - t)
        if runs:
            print(
                f"real Feb 2021 IDP master list ({res.rows} rows, staging {res.staging}): import+join+aggregate "
                f"median {statistics.median(runs):.2f} s (runs: {', '.join(f'{r:.2f}' for r in runs)}); "
                f"phases {_phases(res.timings)}"
            )

        from fastapi.testclient import TestClient

        from service.app import create_app
        from service.core.settings import Settings

        client = TestClient(create_app(Settings(database_url=engine.url.render_as_string(hide_password=False)), engine))
        body = client.get("/choropleth/3.geojson", headers={"accept-encoding": "identity"}).content
        lat = []
        for _ in range(0 if args.skip_real else 30):
            t = time.perf_counter()
            client.get("/choropleth/3.geojson", headers={"accept-encoding": "identity"})
            lat.append((time.perf_counter() - t) * 1000)
        if lat:
            print(
                f"national sub-district choropleth: {len(body):,} bytes ({len(gzip.compress(body)):,} gzipped); "
                f"warm median {statistics.median(lat):.1f} ms, p90 {sorted(lat)[int(len(lat) * 0.9)]:.1f} ms "
                f"(in-process client)"
            )

        work = Path(tempfile.mkdtemp(prefix="dtm-atlas-bench-csv-"))
        big = work / "synthetic.csv"
        t = time.perf_counter()
        synthetic_csv(engine, big, args.rows)
        print(
            f"generated {args.rows:,} synthetic rows ({big.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - t:.1f} s"
        )
        if args.profile is not None:
            profile_statements(engine, args.profile)
        modes = [None] * args.repeat + ([False] if args.python else [])
        for i, fast in enumerate(modes):
            load = _load()
            t = time.perf_counter()
            res = import_masterlist(engine, big, population="idp", round_number=999, fast=fast)
            took = time.perf_counter() - t
            print(
                f"synthetic {res.rows:,} rows end to end (staging {res.staging}{', locations updated' if i else ''}): "
                f"{took:.1f} s = {res.rows / took:,.0f} rows/s; load average {load} -> {_load()}\n"
                f"  phases {_phases(res.timings)}\n"
                f"  individuals {res.individuals:,}, unassigned adm3 {res.unassigned[3]}"
            )
        shutil.rmtree(work, ignore_errors=True)
        engine.dispose()
    finally:
        if cleanup:
            pg, tmp = cleanup
            pg.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
