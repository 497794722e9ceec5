"""Export benchmark: 1,000,000 synthetic locations to GeoPackage and CSV; time and peak memory.

    .venv/bin/python bench/exports_bench.py                       # throw-away embedded PostGIS in a temp folder
    .venv/bin/python bench/exports_bench.py --database-url URL    # a scratch database created (and dropped)
                                                                  # on that server
    .venv/bin/python bench/exports_bench.py --rows 1000000 --small 100000 --formats gpkg,csv,geojson,fgb,shp,kml

Never touches existing data: with ``--database-url`` (or ``DATABASE_URL``) it creates its own
database ``dtm_atlas_bench_<pid>`` on that server (the role needs CREATEDB) and drops it at the end;
without, it starts a throw-away embedded cluster in a temporary folder.

Rows are generated in the database with set-based SQL (``generate_series``): a synthetic boundary
set (18 governorates, 108 districts, 324 sub-districts), a round of ``--rows`` locations (Arabic
names, random points over Iraq, some flags) and, to show that memory does not grow with rows, a
round of ``--small`` locations. Each export runs in a fresh child process through the same code
as ``GET /exports/locations.{ext}`` and ``dtm-atlas export`` (``service.publish.exports``); the
child reports wall time, peak RSS (``resource.getrusage``) and its RSS before the export; with
``--tracemalloc`` a second child measures the Python-heap peak with ``tracemalloc`` (slow).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIG_ROUND, SMALL_ROUND = 901, 902


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --------------------------------------------------------------------------- child
def child(url: str, ext: str, round_number: int, out_dir: str, trace: bool) -> None:
    from sqlalchemy import create_engine

    from service.publish import exports

    engine = create_engine(url)
    with engine.connect() as c:  # connect and warm imports before measuring
        c.exec_driver_sql("SELECT 1")
    import numpy  # noqa: F401
    import openpyxl  # noqa: F401
    import pyogrio  # noqa: F401

    baseline = _rss_mb()
    if trace:
        import tracemalloc

        tracemalloc.start()
    t0 = time.perf_counter()
    path, job = exports.export_to(engine, "locations", ext, Path(out_dir), round_number=round_number, population="idp")
    seconds = time.perf_counter() - t0
    out = {
        "ext": ext,
        "round": round_number,
        "seconds": round(seconds, 2),
        "bytes": path.stat().st_size,
        "baseline_rss_mb": round(baseline, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "file": path.name,
    }
    if trace:
        out["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    else:
        out["rows_read_back"] = _count(path, ext, job.base)
    path.unlink()
    print(json.dumps(out))


def _count(path: Path, ext: str, base: str) -> int:
    import pyogrio

    if ext == "csv":
        with open(path, "rb") as fh:
            return sum(1 for _ in fh) - 2  # header and HXL rows
    if ext == "xlsx":
        return -1
    if ext == "kml":  # libkml reads a whole file into memory: count the placemarks instead
        n, tail = 0, b""
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 24):
                n += (tail + chunk).count(b"<Placemark ")
                tail = chunk[-10:]
        return n
    src = f"/vsizip/{path}/{base}.shp" if ext == "shp" else str(path)
    return pyogrio.read_info(src, force_feature_count=True)["features"]


# --------------------------------------------------------------------------- database
def _server_db(server_url: str):
    import psycopg
    from sqlalchemy.engine import make_url

    from service.db import normalise_url

    url = make_url(normalise_url(server_url))
    name = f"dtm_atlas_bench_{os.getpid()}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.set(database=name).render_as_string(hide_password=False), drop


def _embedded_db():
    from service.pgembed import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-bench-"))
    tmp.chmod(0o755)
    pg = EmbeddedPostgres(tmp)
    url = pg.start()

    def drop():
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    return url, drop


SEED = """
INSERT INTO boundary_set (id, country, source, valid_on, is_current) VALUES (1, 'IRQ', 'bench', '2019-06-03', true);
INSERT INTO admin_unit (boundary_set_id, country, level, pcode, parent_pcode, name_en, name_ar, source, valid_on, geom)
SELECT 1, 'IRQ', 0, 'IQ', NULL, 'Iraq', 'العراق', 'bench', '2019-06-03',
       ST_Multi(ST_MakeEnvelope(38.8, 29.0, 48.7, 37.4, 4326));
INSERT INTO admin_unit (boundary_set_id, country, level, pcode, parent_pcode, name_en, name_ar, source, valid_on, geom)
SELECT 1, 'IRQ', 1, 'IQG' || lpad(a::text, 2, '0'), 'IQ', 'Governorate ' || a, 'محافظة ' || a, 'bench', '2019-06-03',
       ST_Multi(ST_MakeEnvelope(38.8 + (a - 1) * 0.55, 29.0, 38.8 + a * 0.55, 37.4, 4326))
FROM generate_series(1, 18) a;
INSERT INTO admin_unit (boundary_set_id, country, level, pcode, parent_pcode, name_en, name_ar, source, valid_on, geom)
SELECT 1, 'IRQ', 2, 'IQG' || lpad(a::text, 2, '0') || 'Q' || lpad(b::text, 2, '0'), 'IQG' || lpad(a::text, 2, '0'),
       'District ' || a || '.' || b, 'قضاء ' || a || '.' || b, 'bench', '2019-06-03',
       ST_Multi(ST_MakeEnvelope(38.8 + (a - 1) * 0.55, 29.0 + (b - 1) * 1.4, 38.8 + a * 0.55, 29.0 + b * 1.4, 4326))
FROM generate_series(1, 18) a, generate_series(1, 6) b;
INSERT INTO admin_unit (boundary_set_id, country, level, pcode, parent_pcode, name_en, name_ar, source, valid_on, geom)
SELECT 1, 'IRQ', 3, p.pcode || 'N' || lpad(c::text, 2, '0'), p.pcode, 'Sub-district ' || p.pcode || '.' || c,
       'ناحية ' || c, 'bench', '2019-06-03', p.geom
FROM admin_unit p, generate_series(1, 3) c WHERE p.level = 2;
"""

ROUND = """
INSERT INTO round (country, population, round_number, reporting_date,
    boundary_set_id, placement, swap_corrected, source_file)
VALUES ('IRQ', 'idp', :n, :d, 1, 'declared', true, 'synthetic') RETURNING id
"""

LOCATIONS = """
INSERT INTO location_figure (round_id, country, location_id, source_row, name_en, name_ar, families, individuals,
                             reported_lat, reported_lon, geom, adm1, adm2, adm3, placement, flags)
SELECT :r, 'IRQ', (1000000 + g)::text, g, 'Location ' || g, 'موقع رقم ' || g || ' - حي السلام',
       1 + g % 97, (1 + g % 97) * 6, y, x, ST_SetSRID(ST_MakePoint(x, y), 4326),
       'IQG' || a1, 'IQG' || a1 || 'Q' || a2, 'IQG' || a1 || 'Q' || a2 || 'N' || a3, 'declared',
       CASE WHEN g % 50 = 0 THEN ARRAY['duplicate_id']
            WHEN g % 77 = 0 THEN ARRAY['outside_declared', 'swapped_coordinates'] ELSE '{}' END
FROM generate_series(1, :rows) g
CROSS JOIN LATERAL (SELECT lpad((1 + g % 18)::text, 2, '0') AS a1, lpad((1 + (g / 18) % 6)::text, 2, '0') AS a2,
                           lpad((1 + (g / 108) % 3)::text, 2, '0') AS a3,
                           38.9 + random() * 9.7 AS x, 29.1 + random() * 8.2 AS y) v
"""

TOTALS = """
INSERT INTO unit_figure (round_id, level, pcode, families, individuals, locations, published_individuals)
SELECT :r, 0, 'IQ', sum(families), sum(individuals), count(*), sum(individuals) FROM location_figure WHERE round_id = :r
"""


def seed(url: str, rows: int, small: int) -> None:
    from sqlalchemy import create_engine, text

    from service import db
    from service.figures.placement import add_round_partition

    engine = create_engine(url)
    db.migrate(engine)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for stmt in SEED.split(";\n"):
            if stmt.strip():
                conn.execute(text(stmt))
        for number, n, day in ((BIG_ROUND, rows, "2030-01-31"), (SMALL_ROUND, small, "2030-02-28")):
            if n <= 0:
                continue
            rid = conn.execute(text(ROUND), {"n": number, "d": day}).scalar_one()
            add_round_partition(conn, rid)
            conn.execute(text(LOCATIONS), {"r": rid, "rows": n})
            conn.execute(text(TOTALS), {"r": rid})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE location_figure"))
    engine.dispose()
    print(f"seeded {rows:,} + {small:,} synthetic locations in {time.perf_counter() - t0:.1f} s", flush=True)


def run_child(url: str, ext: str, round_number: int, out_dir: Path, trace: bool) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", ext, str(round_number), str(out_dir), "1" if trace else "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "DTM_ATLAS_BENCH_URL": url},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{ext} export failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000, help="a second, smaller round (0: none) to compare memory")
    ap.add_argument("--formats", default="gpkg,csv")
    ap.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a server to create the scratch database on (default: a throw-away embedded cluster)",
    )
    ap.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also measure the Python-heap peak in a second child per export (several times slower)",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    url, drop = _server_db(args.database_url) if args.database_url else _embedded_db()
    out_dir = Path(tempfile.mkdtemp(prefix="dtm-atlas-bench-out-"))
    results = []
    try:
        seed(url, args.rows, args.small)
        sizes = [(BIG_ROUND, args.rows)] + ([(SMALL_ROUND, args.small)] if args.small > 0 else [])
        print(
            f"{'format':<8}{'rows':>11}{'seconds':>9}{'rows/s':>10}{'MB out':>8}{'RSS before':>12}{'peak RSS':>10}"
            f"{'growth':>8}{'py heap peak':>14}{'read back':>11}"
        )
        for ext in [e.strip() for e in args.formats.split(",") if e.strip()]:
            for number, n in sizes:
                r = run_child(url, ext, number, out_dir, trace=False)
                if args.tracemalloc:
                    r["tracemalloc_peak_mb"] = run_child(url, ext, number, out_dir, trace=True)["tracemalloc_peak_mb"]
                r["rows"] = n
                results.append(r)
                print(
                    f"{ext:<8}{n:>11,}{r['seconds']:>9.1f}{n / max(r['seconds'], 1e-9):>10,.0f}"
                    f"{r['bytes'] / 2**20:>8.0f}"
                    f"{r['baseline_rss_mb']:>10.0f}MB{r['peak_rss_mb']:>8.0f}MB"
                    f"{r['peak_rss_mb'] - r['baseline_rss_mb']:>6.0f}MB"
                    f"{(str(r.get('tracemalloc_peak_mb', '-')) + 'MB'):>14}{r['rows_read_back']:>11,}",
                    flush=True,
                )
                assert r["rows_read_back"] in (n, -1), f"{ext}: wrote {r['rows_read_back']} rows, expected {n}"
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
        drop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(os.environ["DTM_ATLAS_BENCH_URL"], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1")
    else:
        main()
