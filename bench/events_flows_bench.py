"""Emergency Tracking and Flow Monitoring benchmark (SYNTHETIC files from
bench/synthetic_events_flows.py). Prints seconds and ratios; run once each, briefly.

    .venv/bin/python bench/events_flows_bench.py                      # throw-away embedded PostGIS
    .venv/bin/python bench/events_flows_bench.py --database-url URL   # a scratch database there
    .venv/bin/python bench/events_flows_bench.py --years 1            # a smaller FMP network

Set-up (not timed): the real Iraq COD-AB boundaries; a 60-day Mosul-like crisis (300 rows a day)
imported; the files generated. Timed:

* ``ett day``: one more day of 2,000 rows imported (checks, placement, daily sums, commit) and
  then served: the district choropleth of that day (``/events/{crisis}/choropleth/2?date=``),
  first request, through the app (target: both within 0.5 s);
* ``fmp import``: the West-Africa-like network, 66 points over 7 years (~870,000 daily rows),
  registry and counts in one transaction (target: 15 s), next to the floor measured in the same
  run: a plain ``COPY`` of the same file into a table of text columns (the ratio is printed);
* ``flow map``: the flow map of one month of the 66 points, PNG + SVG + PDF (target: 3 s);
* ``flow tile``: a flow-line tile of that month (the registry's layer ``/tiles/flows``), warm
  (served from the tile cache; target: 50 ms), and cold (made).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--years", type=float, default=7)
    args = ap.parse_args()

    from sqlalchemy import create_engine, text

    from bench.synthetic_events_flows import write_ett, write_fmp_daily
    from service import db
    from service.pgembed import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-ef-bench-"))
    tmp.chmod(0o755)
    pg = None
    try:
        if args.database_url:
            import psycopg
            from sqlalchemy.engine import make_url

            server = make_url(db.normalise_url(args.database_url))
            name = f"dtm_atlas_bench_{os.getpid()}"
            admin = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'CREATE DATABASE "{name}"')
            url = server.set(database=name).render_as_string(hide_password=False)
        else:
            pg = EmbeddedPostgres(tmp / "pg")
            pg.start()
            url = pg.url()
        engine = create_engine(url)
        db.migrate(engine)
        from boundaries.reader import read_boundaries
        from boundaries.store import import_boundaries
        from service.events.importer import import_events
        from service.flows.importer import import_flows

        t0 = time.perf_counter()
        for f in sorted((ROOT.parent / "shared" / "data" / "irq_cod_ab").glob("*.geojson")):
            import_boundaries(engine, read_boundaries(f))
        crisis = "SYN-MOSUL-2016"
        onset = dt.date(2016, 10, 17)
        import_events(
            engine,
            write_ett(tmp / "mosul.csv", days=60, rows_per_day=300, onset=onset),
            country="IRQ",
            crisis_id=crisis,
        )
        day_file = write_ett(tmp / "day61.csv", days=1, rows_per_day=2000, onset=onset + dt.timedelta(days=60), seed=9)
        registry, daily = write_fmp_daily(tmp / "wca", points=66, years=args.years)
        n_rows = sum(1 for _ in daily.open()) - 1
        print(f"set-up (boundaries, 60 days of ETT, files): {time.perf_counter() - t0:.1f} s")

        # -- a day of ETT, imported and served
        from fastapi.testclient import TestClient

        from service.app import create_app
        from service.core.settings import Settings

        print(f"load average before the timed runs: {os.getloadavg()[0]:.1f} (2 CPUs)")
        t0 = time.perf_counter()
        res = import_events(engine, day_file, country="IRQ", crisis_id=crisis)
        t_imp = time.perf_counter() - t0
        app = create_app(Settings(database_url=url), engine)
        with TestClient(app) as client:
            t1 = time.perf_counter()
            r = client.get(f"/events/{crisis}/choropleth/2", params={"date": res.days[0].isoformat(), "zoom": 6})
            t_serve = time.perf_counter() - t1
            assert r.status_code == 200, r.text
        print(
            f"ett day: {res.rows:,} rows imported in {t_imp:.3f} s {res.timings}, choropleth served in {t_serve:.3f} s "
            f"(cold): {t_imp + t_serve:.3f} s (target 0.5 s)"
        )

        # -- the FMP network, next to the COPY floor
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE copy_floor (" + ", ".join(f"c{i} text" for i in range(11)) + ")")
            t0 = time.perf_counter()
            with daily.open("rb") as fh, conn.connection.driver_connection.cursor() as cur:
                fh.readline()
                with cur.copy("COPY copy_floor FROM STDIN (FORMAT csv)") as cp:
                    while chunk := fh.read(1 << 20):
                        cp.write(chunk)
            floor = time.perf_counter() - t0
            conn.exec_driver_sql("DROP TABLE copy_floor")
        t0 = time.perf_counter()
        fres = import_flows(engine, daily, points=registry, synthetic=True)
        t_fmp = time.perf_counter() - t0
        print(
            f"fmp import: {n_rows:,} rows in {t_fmp:.1f} s {fres.timings} (target 15 s); "
            f"plain COPY floor {floor:.1f} s; "
            f"ratio {t_fmp / floor:.1f}x"
        )

        # -- a month's flow map of the 66 points
        from service.flows import maps as flow_maps

        with engine.connect() as conn:
            month = conn.execute(text("SELECT max(month) - interval '1 month' FROM flow_month")).scalar_one().date()
        t0, c0 = time.perf_counter(), time.process_time()
        fm = flow_maps.render_month(engine, month, tmp / "map", dpi=150)
        print(
            f"flow map {month:%Y-%m}: {len(fm.lines)} lines, PNG+SVG+PDF in {time.perf_counter() - t0:.2f} s "
            f"({time.process_time() - c0:.2f} CPU-s of this process: what a quiet machine takes) (target 3 s); "
            f"load average {os.getloadavg()[0]:.1f}"
        )

        # -- flow-line tiles, cold and warm
        with TestClient(create_app(Settings(database_url=url), engine)) as client:
            params = {"from": f"{month:%Y-%m}", "to": f"{month:%Y-%m}"}
            # the registry's tile layer flows (/tiles/flows: prepared statement, tile cache)
            t0 = time.perf_counter()
            r = client.get("/tiles/flows/4/8/7.mvt", params=params)
            cold = time.perf_counter() - t0
            assert r.status_code == 200 and r.content
            warm = []
            for _ in range(50):
                t0 = time.perf_counter()
                r = client.get("/tiles/flows/4/8/7.mvt", params=params)
                warm.append(time.perf_counter() - t0)
            print(
                f"registry tile /tiles/flows/4/8/7 ({len(r.content):,} bytes): cold {cold * 1000:.0f} ms, warm median "
                f"{statistics.median(warm) * 1000:.1f} ms, max {max(warm) * 1000:.1f} ms (target 50 ms); "
                f"{r.headers['x-tile-cache']}"
            )
        engine.dispose()
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
