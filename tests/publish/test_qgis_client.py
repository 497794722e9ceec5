"""A real client: QGIS's OAPIF provider (PyQGIS from Debian's python3-qgis, offscreen) against a
live server (issue 23): the time-enabled collection opens, its fields and features are the database's."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.publish import live_url  # noqa: F401  (fixture)

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_read_oapif.py")


def _have_qgis() -> bool:
    try:
        return (
            subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(not _have_qgis(), reason="PyQGIS (Debian package python3-qgis) not installed")


def test_qgis_reads_a_filtered_time_enabled_collection(live_url, figures_engine, tmp_path, caplog):  # noqa: F811
    caplog.set_level(logging.INFO, logger="dtm_atlas.http")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), f"{live_url}/ogc", "idp-adm2", '"individuals" > 10000'],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["valid"], out
    assert {"pcode", "name_ar", "individuals", "round_number", "reporting_date"} <= set(out["fields"])
    with figures_engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT r.round_number, f.pcode FROM unit_figure f JOIN round r ON r.id = f.round_id "
                "WHERE r.population = 'idp' AND f.level = 2 AND f.pcode <> 'UNASSIGNED' AND f.individuals > 10000"
            )
        ).all()
    assert out["ids"] == sorted(f"r{n}-{p}" for n, p in rows)
    assert out["geometries"] == len(rows)
    # QGIS 3.22 (Debian 12) filters on its side: it reads every page, unfiltered; newer QGIS sends the
    # filter as CQL2 (conformance classes of /ogc/conformance). Either way the server answered every page.
    logged = [getattr(r, "fields", {}) for r in caplog.records]
    pages = [f for f in logged if f.get("path") == "/ogc/collections/idp-adm2/items"]
    assert pages and all(f.get("status") == 200 for f in pages)
