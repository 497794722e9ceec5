"""Fragility benchmark: the default method over all 294 sub-districts with 1,000 draws, and
zonal statistics of an Iraq-sized 1 km raster (1,000 x 900 cells, built here). Prints seconds.

    .venv/bin/python bench/fragility_bench.py                      # throw-away embedded PostGIS in a temp folder
    .venv/bin/python bench/fragility_bench.py --database-url URL   # a scratch database created (and dropped) there
    .venv/bin/python bench/fragility_bench.py --repeat 5

Set-up (not timed): the real COD-AB boundaries and the real Feb 2021 IDP and returnee master
lists (round 120) are imported into the scratch database; a synthetic population-density
raster over Iraq's extent (EPSG:4326, 1,000 x 900 cells of ~1 km, lognormal values) is
written to a temporary GeoTIFF. Timed, each ``--repeat`` times (best and median printed):

* ``compute``: ``service.fragility.compute.compute`` alone (index, classes, 1,000 draws, ranks);
* ``run default``: ``ensure_run(force=True)`` of the default method: inputs read from the
  database and the population table, compute, store (results, overlay, log) in one transaction;
* ``zonal 1000x900``: ``inputs.raster_zonal_sums`` of the raster for the 294 sub-districts
  (polygons reprojected, density -> counts by cell area, coverage-weighted sums);
* ``run raster``: ``ensure_run(force=True)`` of the default method with that raster as population.

The target of issue 12 is the default method plus the zonal statistics within 5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def synthetic_raster(path: Path) -> None:
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    w, h = 1000, 900
    # Iraq's extent, 38.79-48.64 E, 29.06-37.38 N: ~0.00985 x 0.00925 degrees, about 1 km
    transform = from_origin(38.79, 37.38, (48.64 - 38.79) / w, (37.38 - 29.06) / h)
    rng = np.random.default_rng(12)
    data = rng.lognormal(mean=3.0, sigma=1.5, size=(h, w)).astype("float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=transform,
        nodata=-1,
        compress="deflate",
    ) as ds:
        ds.write(data, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import yaml
    from sqlalchemy import create_engine, text

    from service import db
    from service.pgembed import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-fragility-bench-"))
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
        shared = ROOT.parent / "shared" / "data"
        t0 = time.perf_counter()
        from boundaries.reader import read_boundaries
        from boundaries.store import import_boundaries
        from service.ingest.rounds import import_masterlist

        for f in sorted((shared / "irq_cod_ab").glob("*.geojson")):
            import_boundaries(engine, read_boundaries(f))
        for f, pop in (
            ("IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "idp"),
            ("Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "returnee"),
        ):
            import_masterlist(engine, shared / "dtm_iraq_masterlists" / f, population=pop)
        raster = tmp / "synthetic_irq_1km.tif"
        synthetic_raster(raster)
        print(f"set-up (boundaries, round 120, raster): {time.perf_counter() - t0:.1f} s")

        from service.fragility import compute as comp
        from service.fragility import inputs as inp
        from service.fragility.method import load_method
        from service.fragility.run import _geoms, build_values, ensure_run, resolve

        method, mfile = load_method(None)
        with engine.connect() as conn:
            res = resolve(conn, method, mfile, shared, 120)
            raw, ctx, _ = build_values(conn, method, res)
            geoms = _geoms(conn, res.idp_round["boundary_set_id"])
        data = method.model_dump(mode="json")
        data.update(id="bench-raster", population={"source": "raster", "path": str(raster), "kind": "density_per_km2"})
        raster_method = tmp / "raster_method.yaml"
        raster_method.write_text(yaml.safe_dump(data), encoding="utf-8")

        rows = [
            ("compute (294 units, 1,000 draws)", lambda: comp.compute(method, raw, ctx)),
            (
                "run default (inputs + compute + store)",
                lambda: ensure_run(engine, shared_dir=shared, round_number=120, force=True),
            ),
            ("zonal 1000x900 raster, 294 units", lambda: inp.raster_zonal_sums(raster, geoms, "density_per_km2")),
            (
                "run raster population (zonal + compute + store)",
                lambda: ensure_run(engine, shared_dir=shared, round_number=120, method_path=raster_method, force=True),
            ),
        ]
        results = {}
        for label, fn in rows:
            best, med = timed(fn, args.repeat)
            results[label] = best
            print(f"{label:<50} best {best:6.3f} s   median {med:6.3f} s   ({args.repeat} runs)")
        total = results["run default (inputs + compute + store)"] + results["zonal 1000x900 raster, 294 units"]
        print(f"{'default run + zonal statistics (target <= 5 s)':<50} {total:6.3f} s")
        with engine.connect() as conn:
            n = conn.execute(
                text(
                    "SELECT count(*) FROM fragility_result r JOIN fragility_run f ON f.id = r.run_id "
                    "WHERE f.method_id = 'bench-raster' AND r.level = 3 AND r.residents > 0"
                )
            ).scalar_one()
        print(f"sub-districts with residents from the raster: {n} of 294")
        engine.dispose()
        if args.database_url:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
