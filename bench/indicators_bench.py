"""Indicator datasets benchmark: the real 309 x 106 site assessment (import + aggregation),
10,000 synthetic locations x 150 indicators (clearly synthetic: random values over Nigeria's
north-east, one P-code column per level), and a dataset choropleth warm.

    .venv/bin/python bench/indicators_bench.py        # throw-away embedded PostGIS in a temp folder

Targets (issue 21): 309 x 106 import + aggregation <= 1 s; 10,000 x 150 <= 5 s; choropleth of a
dataset indicator <= 50 ms warm. Prints the phases (parse, stage, place, aggregate) of each and
its ratio to a floor measured side by side (reading the same file into memory).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"


def _synthetic(path: Path, rows: int, indicators: int) -> None:
    rnd = random.Random(21)
    states = ["NG002", "NG005", "NG008", "NG035", "NG036"]
    head = ["location_id", "country_code", "state_pcode", "latitude", "longitude"]
    head += [f"m{1000 + i}_loc_num_ind_{i}" if i % 3 == 0 else f"indicator_{i}" for i in range(indicators)]
    lines = [",".join(head)]
    for r in range(rows):
        vals = [f"L{r:06d}", "NGA", rnd.choice(states), f"{rnd.uniform(7, 13):.5f}", f"{rnd.uniform(9, 14):.5f}"]
        for i in range(indicators):
            k = i % 3
            vals.append(
                str(rnd.randint(0, 500))
                if k == 0
                else (rnd.choice(("yes", "no")) if k == 1 else f"{rnd.uniform(0, 100):.2f}")
            )
        lines.append(",".join(vals))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service import db
    from service.app import create_app
    from service.core.settings import Settings
    from service.indicators.read import read_table
    from service.indicators.store import import_dataset
    from service.pgembed import EmbeddedPostgres

    warnings.simplefilter("ignore")
    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-bench-"))
    tmp.chmod(0o755)
    pg = EmbeddedPostgres(tmp / "pg")
    pg.start()
    try:
        engine = create_engine(pg.url())
        db.migrate(engine)
        for f in sorted((SHARED / "nga_cod_ab").glob("nga_admbnda_adm[12]_*.shp")):
            import_boundaries(engine, read_boundaries(f))
        site_file = SHARED / "dtm_nigeria_sites" / "dtm_nigeria_r39_site_assessment.xlsx"
        synth = tmp / "synthetic_10000x150.csv"
        _synthetic(synth, 10_000, 150)
        results = {}
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for label, path, unit, target in (
            ("nga 309x106", site_file, "site", 1.0),
            ("synthetic 10000x150", synth, "location", 5.0),
        ):
            # the floor, side by side: reading the file into memory, nothing parsed or stored
            t = time.perf_counter()
            read_table(path)
            floor = time.perf_counter() - t
            t = time.perf_counter()
            res = import_dataset(engine, path, unit=unit, access="public")
            total = time.perf_counter() - t
            results[label] = res
            phases = ", ".join(f"{k} {v:.2f}" for k, v in res.timings.items())
            verdict = "ok" if total <= target else "OVER"
            print(
                f"{label}: {res.rows} rows x {res.columns} columns: {total:.2f} s "
                f"(target <= {target:.0f} s: {verdict}; {total / floor:.1f}x the read floor {floor:.2f} s; {phases})"
            )
        settings = Settings(database_url=pg.url(), shared_data_dir=SHARED, log_level="warning")
        with TestClient(create_app(settings, engine)) as c:
            ds = results["nga 309x106"].dataset_id
            url = f"/choropleth/1.geojson?dataset={ds}&indicator=individuals"
            assert c.get(url).status_code == 200
            warm = []
            for _ in range(50):
                t = time.perf_counter()
                c.get(url)
                warm.append((time.perf_counter() - t) * 1000)
            url2 = f"/choropleth/2.geojson?dataset={ds}&indicator=individuals&zoom=7"
            t = time.perf_counter()
            c.get(url2)
            cold = (time.perf_counter() - t) * 1000
            print(
                f"choropleth adm1 warm: median {statistics.median(warm):.1f} ms, max {max(warm):.1f} ms; "
                f"adm2 cold {cold:.1f} ms"
            )
            # the aggregates on admin polygons as tiles (dataset-adm2, suppressed like the choropleth): z6 over Borno
            tile = f"/tiles/dataset-adm2/6/34/29.mvt?dataset={ds}&column=individuals"
            t = time.perf_counter()
            first = c.get(tile)
            tile_cold = (time.perf_counter() - t) * 1000
            assert first.status_code == 200, first.text
            tile_warm = []
            for _ in range(50):
                t = time.perf_counter()
                c.get(tile)
                tile_warm.append((time.perf_counter() - t) * 1000)
            print(
                f"dataset-adm2 tile z6 ({len(first.content):,} bytes): cold {tile_cold:.1f} ms, "
                f"warm median {statistics.median(tile_warm):.1f} ms"
            )
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
