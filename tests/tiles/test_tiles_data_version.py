"""No stale tile after an import: cache keys carry the data version, kept current by LISTEN/NOTIFY."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.app import create_app
from service.core.settings import Settings
from tests.conftest import COD_AB, MASTERLISTS
from tests.tiles import BAGHDAD, by_pcode, decode, tile_at

ROUND_FILE = "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"


def _doubled_baghdad(src: Path, dst: Path) -> None:
    """A copy of a master list with the families and individuals of Baghdad's rows doubled."""
    with src.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    gov, fam, ind = header.index("Governorate"), header.index("Families"), header.index("Individuals")
    changed = 0
    for row in rows[1:]:
        if len(row) == len(header) and row[gov] == "Baghdad":
            row[fam] = str(float(row[fam]) * 2)
            row[ind] = str(float(row[ind]) * 2)
            changed += 1
    assert changed > 50
    with dst.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)


@pytest.fixture
def loaded(fresh_engine):
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.ingest.rounds import import_masterlist

    for f in sorted(COD_AB.glob("*.geojson")):
        import_boundaries(fresh_engine, read_boundaries(f))
    first = import_masterlist(fresh_engine, MASTERLISTS / ROUND_FILE, population="idp")
    return fresh_engine, first


def _app(engine):
    url = engine.url.render_as_string(hide_password=False)
    return create_app(Settings(database_url=url, log_level="warning"), engine)


def _karkh(client, z, x, y) -> tuple[dict, str]:
    r = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt")
    assert r.status_code == 200
    return by_pcode(decode(r.content)["districts"])["IQG08Q03"], r.headers["etag"]


def test_reimport_shows_new_value_in_next_tile(loaded, tmp_path):
    from service.ingest.rounds import import_masterlist

    engine, first = loaded
    z, x, y = tile_at(*BAGHDAD, 7)
    with TestClient(_app(engine)) as client:
        service_version = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt").headers["x-data-version"]
        assert int(service_version) == first.data_version
        before, etag = _karkh(client, z, x, y)
        again, _ = _karkh(client, z, x, y)
        assert again == before  # cached
        watcher = client.app.state.tiles.watcher
        assert watcher.wait_for(first.data_version, 5), watcher.reason
        assert watcher.reason == "listening"

        modified = tmp_path / ROUND_FILE  # same name and reporting date: the same round, replaced
        _doubled_baghdad(MASTERLISTS / ROUND_FILE, modified)
        second = import_masterlist(engine, modified, population="idp")
        assert second.round_number == first.round_number and second.data_version > first.data_version
        t0 = time.monotonic()
        assert watcher.wait_for(second.data_version, 5)  # the NOTIFY of the import's commit
        lag = time.monotonic() - t0
        assert lag < 1.0

        r = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt", headers={"If-None-Match": etag})
        assert r.status_code == 200  # the old ETag no longer matches
        assert r.headers["x-tile-cache"] == "miss"
        assert int(r.headers["x-data-version"]) == second.data_version
        after = by_pcode(decode(r.content)["districts"])["IQG08Q03"]
        assert after["individuals"] == 2 * before["individuals"]
        assert after["families"] == 2 * before["families"]
        assert after["value"] == after["individuals"]
        with engine.connect() as conn:
            db_value = conn.execute(
                text("SELECT individuals FROM unit_figure WHERE round_id = :r AND level = 2 AND pcode = 'IQG08Q03'"),
                {"r": second.round_id},
            ).scalar_one()
        assert after["individuals"] == db_value


def test_without_listener_each_request_reads_the_version(loaded, tmp_path):
    """With the watcher down (e.g. the database restarting) requests read the version themselves:
    the very next tile after an import is the new one, no waiting."""
    from service.ingest.rounds import import_masterlist

    engine, first = loaded
    z, x, y = tile_at(*BAGHDAD, 7)
    with TestClient(_app(engine)) as client:
        before, _ = _karkh(client, z, x, y)
        service = client.app.state.tiles
        service.watcher.stop()
        service.watcher.ensure_running = lambda: None  # keep it down for this test
        assert service.watcher.version is None
        modified = tmp_path / ROUND_FILE
        _doubled_baghdad(MASTERLISTS / ROUND_FILE, modified)
        import_masterlist(engine, modified, population="idp")
        after, _ = _karkh(client, z, x, y)
        assert after["individuals"] == 2 * before["individuals"]
