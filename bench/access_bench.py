"""What the access policy costs on cached answers: tiles and choropleths, with and without it, in one run.

    .venv/bin/python bench/access_bench.py                     # throw-away PostGIS, Iraq + one round
    .venv/bin/python bench/access_bench.py --database-url URL  # an existing database with round 120

The same app serves the same URLs (every cache warmed first) in paired, interleaved blocks:

* ``policy``     as shipped: the policy's decisions per layer and dataset
                 (``service.api.access.authorize``; a dataset choropleth's levels kept per data
                 version), the answer's scope in the cache key and the ``AccessHeaders``
                 middleware (``Vary: Authorization, Cookie``, Cache-Control, the disclosure rule);
* ``no policy``  the same app with those steps replaced by no-ops for the block (the dataset's
                 levels given from memory, no middleware work). The principal dependency runs in
                 both (no Authorization header, no session cookie: anonymous without a query).

Short blocks (60 requests), many pairs (30, after 2 not counted), alternating which goes
first: the median of the paired ratios holds against a machine whose load changes; their
spread (p25..p75) and the count of pairs the policy block lost say how much the load moved
them. Requests are made in-process (``TestClient``, one client, sequential), so the numbers are
the server's own cost per request without a network. Target (issue 22): the policy costs <= 5 %
of cached tile and choropleth throughput. A SYNTHETIC Safety Audit on Iraqi sites (published, with
restricted columns) gives the dataset choropleth (``tests/fixtures/safety_audit.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "data"
ROUND = "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"


def prepare(args):
    from sqlalchemy import create_engine

    from service import db

    if args.database_url:
        return create_engine(db.normalise_url(args.database_url)), None
    import tempfile

    from service.pgembed import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-access-bench-"))
    tmp.chmod(0o755)
    pg = EmbeddedPostgres(tmp)
    engine = create_engine(pg.start())
    db.migrate(engine)
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.ingest.rounds import import_masterlist

    t0 = time.perf_counter()
    for f in sorted((SHARED / "irq_cod_ab").glob("*.geojson")):
        import_boundaries(engine, read_boundaries(f))
    import_masterlist(engine, SHARED / "dtm_iraq_masterlists" / ROUND, population="idp")
    print(f"throw-away database loaded in {time.perf_counter() - t0:.1f} s", flush=True)
    return engine, (pg, tmp)


def audit_dataset(engine) -> int:
    """The SYNTHETIC audit, published with restricted columns (the leak test's fixture)."""
    import tempfile

    from tests.service.test_leak import import_audits

    with engine.connect() as c:
        from sqlalchemy import text

        found = c.execute(text("SELECT id FROM indicator_dataset WHERE title LIKE 'Safety audit (SYNTHETIC, public)'"))
        row = found.first()
    if row is not None:
        return row[0]
    return import_audits(engine, Path(tempfile.mkdtemp()))["public"]


@contextlib.contextmanager
def no_policy(resources: dict):
    """The policy's steps as no-ops for the block (restored after)."""
    from service.api import access, tiles
    from service.core.access import ANONYMOUS, Resource
    from service.indicators import api as ind_api
    from service.indicators import publish

    async def allow(request, resource, filter=None):
        return ANONYMOUS

    async def passthrough(self, scope, receive, send):
        return await self.app(scope, receive, send)

    public = Resource("x")
    saved = [
        (tiles, "authorize", tiles.authorize),
        (tiles, "layer_resource", tiles.layer_resource),
        (tiles, "answer_scope_of", tiles.answer_scope_of),
        (ind_api, "authorize", ind_api.authorize),
        (publish, "resource", publish.resource),
        (access.AccessHeaders, "__call__", access.AccessHeaders.__call__),
    ]
    tiles.authorize, ind_api.authorize = allow, allow
    tiles.layer_resource = lambda layer: public
    tiles.answer_scope_of = lambda request: 0
    publish.resource = lambda conn, ds_id: resources[ds_id]
    access.AccessHeaders.__call__ = passthrough
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url")
    ap.add_argument("--pairs", type=int, default=30, help="policy / no-policy block pairs (default 30)")
    ap.add_argument("--requests", type=int, default=60, help="requests per URL set and block (default 60)")
    ap.add_argument("--warmup", type=int, default=2, help="pairs run first and not counted (default 2)")
    args = ap.parse_args(argv)

    import warnings

    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.core.settings import Settings

    engine, owned = prepare(args)
    try:
        ds = audit_dataset(engine)
        settings = Settings(
            database_url=engine.url.render_as_string(hide_password=False),
            shared_data_dir=SHARED,
            log_level="error",
            anon_renders_per_minute=0,
        )
        sets = {
            "tiles": [
                f"/tiles/governorates,districts/{z}/{x}/{y}.mvt?round=120"
                for z, x, y in ((5, 19, 12), (5, 20, 12), (6, 39, 25), (6, 40, 25), (7, 79, 50), (7, 80, 51))
            ],
            "choropleth (master list)": [f"/choropleth/{lvl}.geojson?round=120&population=idp" for lvl in (1, 2)],
            "choropleth (dataset)": [
                f"/choropleth/1.geojson?dataset={ds}&indicator={i}" for i in ("observations", "households")
            ],
        }
        from service.indicators.publish import resources as read_resources

        with engine.connect() as conn:
            known = read_resources(conn)
        with TestClient(create_app(settings, engine)) as client:
            for urls in sets.values():  # warm every cache
                for u in urls:
                    r = client.get(u)
                    assert r.status_code in (200, 204), (u, r.status_code, r.text[:200])
            results: dict[str, dict[str, list[float]]] = {k: {"policy": [], "no policy": []} for k in sets}
            for i in range(args.warmup + args.pairs):
                keep = i >= args.warmup  # the first pairs warm the interpreter and the caches: not counted
                order = ("policy", "no policy") if i % 2 == 0 else ("no policy", "policy")
                for name, urls in sets.items():
                    for mode in order:
                        with no_policy(known) if mode == "no policy" else contextlib.nullcontext():
                            t0 = time.perf_counter()
                            for k in range(args.requests):
                                r = client.get(urls[k % len(urls)], headers={"accept-encoding": "gzip"})
                            dt = time.perf_counter() - t0
                        assert r.status_code in (200, 204)
                        if keep:
                            results[name][mode].append(args.requests / dt)
        print(
            f"\n{'answers (cached)':<26}{'policy req/s':>13}{'no policy':>11}{'cost':>8}{'p25..p75':>16}"
            f"{'policy slower':>15}   (median of {args.pairs} paired ratios)"
        )
        worst = 0.0
        for name, r in results.items():
            on, off = statistics.median(r["policy"]), statistics.median(r["no policy"])
            ratios = sorted(b / a - 1 for a, b in zip(r["policy"], r["no policy"], strict=True))
            cost = statistics.median(ratios) * 100
            q1, q3 = (x * 100 for x in statistics.quantiles(ratios, n=4)[::2])
            slower = sum(x > 0 for x in ratios)
            worst = max(worst, cost)
            print(
                f"{name:<26}{on:>13.0f}{off:>11.0f}{cost:>7.1f}%{f'{q1:+.1f}..{q3:+.1f}%':>16}"
                f"{f'{slower}/{len(ratios)}':>15}"
            )
        print(f"\ntarget: policy cost <= 5 % -> {'met' if worst <= 5 else 'NOT met'} (worst median {worst:.1f} %)")
        print(
            "cost = median over pairs of (no-policy req/s / policy req/s - 1); p25..p75 = the spread of those "
            "paired ratios; 'policy slower' = pairs where the policy block was the slower one (about half: noise)"
        )
        return 0
    finally:
        engine.dispose()
        if owned:
            pg, tmp = owned
            pg.stop()
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
