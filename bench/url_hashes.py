"""SHA-256 of a fixed list of URLs over Iraq: a refactoring must leave every answer byte-identical.

  .venv/bin/python bench/url_hashes.py [--base-url http://127.0.0.1:8000] > before.txt
  ... change the code ...
  .venv/bin/python bench/url_hashes.py > after.txt && diff before.txt after.txt

Without ``--base-url`` the script builds a scratch database (on DATABASE_URL's server or a
throw-away embedded cluster, created and dropped) with the Iraq COD-AB boundaries and the
three real master lists (``../shared/data/dtm_iraq_masterlists/*.csv``), computes the
default fragility run of round 120, and fetches every URL through a TestClient of
``create_app(settings, engine)``. Prints one line per URL: status, SHA-256 of the body,
URL. Answers that carry the time they were made (``timeStamp``, ``exported_at``, a
run's ``computed_at``, a ZIP's file dates, a GeoPackage's ``last_change``, a PDF's creation
date) are hashed with every date-and-time blanked, so a second run over a new database
prints the same lines.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import shutil
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "data"
MASTERLISTS = SHARED / "dtm_iraq_masterlists"
REAL_ROUNDS = [
    ("IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv", "idp"),
    ("IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "idp"),
    ("Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "returnee"),
]

URLS = [
    "/health",
    "/rounds",
    "/rounds?population=returnee",
    "/indicators",
    "/admin-units?level=1",
    "/admin-units/IQG07",
    "/boundaries/1.geojson?zoom=5",
    "/choropleth/1.geojson",
    "/choropleth/2.geojson?round=120&indicator=individuals",
    "/choropleth/2.geojson?round=2017-12-31",
    "/choropleth/3.geojson?round=120&population=returnee&indicator=families",
    "/choropleth/2.geojson?round=120&indicator=change",
    "/choropleth/2.geojson?round=999",
    "/choropleth/2.geojson?round=2019-06-30",
    "/choropleth/2.geojson?round=abc",
    "/admin-units/IQG07/timeseries",
    "/admin-units/IQG07/breakdown?round=120",
    "/flows?round=120",
    "/locations?round=120&limit=50",
    "/locations?round=120&bbox=43,36,44,37&limit=20",
    "/sites",
    "/tiles",
    "/tiles/districts.json",
    "/tiles/governorates,districts.json?round=120",
    "/tiles/fragility.json?round=120",
    "/tiles/governorates/4/9/6.pbf",
    "/tiles/districts/6/39/25.pbf?round=120",
    "/tiles/districts/6/39/25.pbf?round=2017-12-31&indicator=families",
    "/tiles/subdistricts/8/158/102.pbf?round=120&population=returnee",
    "/tiles/districts,locations/8/158/102.pbf?round=120",
    "/tiles/locations/9/316/204.pbf?round=120",
    "/tiles/fragility/6/39/25.pbf?round=120",
    "/tiles/districts/6/39/25.pbf?round=999",
    "/styles",
    "/styles/idp-by-district.json",
    "/styles/returnees-by-subdistrict.json?round=120",
    "/styles/idp-change-by-district.json?round=2017-12-31",
    "/webmap/countries",
    "/webmap/figures/2.json?round=120",
    "/exports",
    "/exports/figures-adm2.csv?round=120",
    "/exports/figures-adm1.geojson?round=120",
    "/exports/locations.csv?round=120",
    "/exports/figures-adm2.xlsx?round=120",
    "/exports/figures-adm2.gpkg?round=120",
    "/exports/figures-adm1.kml?round=2017-12-31",
    "/exports/fragility-adm3.csv?round=120",
    "/exports/admin2.geojson",
    "/ogc",
    "/ogc/conformance",
    "/ogc/collections",
    "/ogc/collections/admin1",
    "/ogc/collections/admin1/items?limit=3",
    "/ogc/collections/sites/items",
    "/ogc/collections/idp-r120-adm2",
    "/ogc/collections/idp-r120-adm2/items?limit=5",
    "/ogc/collections/idp-r120-fragility-adm3/items?limit=5",
    "/ogc/collections/returnee-r120-adm1/items?limit=5&bbox=43,35,45,37",
    "/ogc/collections/idp-r120-adm2/items?limit=5&offset=5&f=json",
    "/ogc/collections/idp-r120-locations/items?limit=5",
    "/ogc/collections/idp-r120-adm2/items/IQG07Q01",
    "/ogc/collections/nope/items",
    "/v2/IdpAdmin1Data?Operation=Iraq",
    "/v2/IdpAdmin2Data?Operation=Iraq&RoundNumber=120",
    "/v3/displacement/admin1?CountryName=Iraq",
    "/v3/displacement/admin2?Admin0Pcode=IRQ&RoundNumber=120",
    "/v2/IdpAdmin1Data?Operation=Iraq&RoundNumber=99999",
    "/v2/IdpAdmin2Data?Admin0Pcode=IQ&Admin1Name=Ninewa&FromRoundNumber=100&ToRoundNumber=120",
    "/v2/IdpAdmin2Data?CountryName=Iraq&Admin1Pcode=IRQ-G07&FromReportingDate=2018-01-01",
    "/v2/IdpAdmin1Data?Operation=Iraq&FromRoundNumber=120&ToRoundNumber=100",
    "/v2/IdpAdmin1Data?Admin1Pcode=IQG07",
    "/v3/displacement/admin2?Admin0Pcode=IRQ&Admin2Pcode=IQG07",
    "/fragility/2.geojson?round=120",
    "/fragility/overlay?round=120",
    "/fragility/units/IQG07Q01?round=120",
    "/fragility/method?round=120&f=json",
    "/maps/choropleth.png?round=120&level=1&dpi=30",
    "/maps/trend.png?dpi=30",
    "/maps/choropleth.png?round=999&dpi=30",
]

# a date and time (not a plain date): when an answer, a file or a run was made
_STAMP = re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?")


def _stable(body: bytes) -> bytes:
    """The body with the times it was made blanked (see the module's docstring)."""
    if body[:2] == b"PK":  # ZIP (shapefile bundle, XLSX): its members, without their dates
        out = hashlib.sha256()
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            for info in z.infolist():
                out.update(info.filename.encode() + b"\0" + _stable(z.read(info)) + b"\0")
        return out.hexdigest().encode()
    if body[:16] == b"SQLite format 3\0":  # GeoPackage: its rows, without the dates
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.gpkg"
            path.write_bytes(body)
            con = sqlite3.connect(path)
            try:
                dump = "\n".join(con.iterdump()).encode()
            finally:
                con.close()
        return _STAMP.sub(b"", dump)
    if body[:4] == b"%PDF":
        body = re.sub(rb"/(CreationDate|ModDate) \([^)]*\)", b"", body)
    return _STAMP.sub(b"", body)


def _save_members(body: bytes, folder: Path) -> None:
    """A ZIP's (XLSX's) members, each blanked as it is hashed, into ``folder``: a difference
    between two runs is then a diff of files, not of two digests."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        for info in z.infolist():
            out = folder / info.filename
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(_stable(z.read(info)))


def fetch_all(get, save: Path | None = None) -> list[str]:
    lines = []
    for i, url in enumerate(URLS):
        r = get(url)
        body = _stable(r.content)
        if save is not None:
            (save / f"{i:03d}").write_bytes(body)
            if r.content[:2] == b"PK":
                _save_members(r.content, save / f"{i:03d}.members")
        lines.append(f"{r.status_code} {hashlib.sha256(body).hexdigest()} {url}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", help="a running service over Iraq instead of a scratch database")
    ap.add_argument("--save", type=Path, help="a folder to write each (blanked) body to, for a diff")
    args = ap.parse_args()
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    if args.base_url:
        import httpx

        with httpx.Client(base_url=args.base_url, timeout=120) as c:
            print("\n".join(fetch_all(c.get, args.save)))
        return

    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    from bench.ingest_bench import make_db, scratch_server
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service import db
    from service.app import create_app
    from service.core.settings import Settings
    from service.fragility.run import ensure_run
    from service.ingest.rounds import import_masterlist

    server, embedded = scratch_server()
    url = make_db(server, "dtm_atlas_url_hashes")
    engine = create_engine(url)
    try:
        db.migrate(engine)
        for f in sorted((SHARED / "irq_cod_ab").glob("*.geojson")):
            import_boundaries(engine, read_boundaries(f))
        for fname, population in REAL_ROUNDS:
            import_masterlist(engine, MASTERLISTS / fname, population=population)
        ensure_run(engine, shared_dir=SHARED, round_number=120)
        settings = Settings(database_url=url, shared_data_dir=SHARED, log_level="warning")
        with TestClient(create_app(settings, engine)) as c:
            print("\n".join(fetch_all(c.get, args.save)))
    finally:
        engine.dispose()
        if embedded:
            pg, tmp = embedded
            pg.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
