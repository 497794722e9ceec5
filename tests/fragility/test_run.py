"""The default method over the real round 120: stored results, staleness, the overlay."""

from __future__ import annotations

from sqlalchemy import text

from service.fragility import store
from service.fragility.run import ensure_run
from tests.conftest import SHARED


def test_default_run_has_every_subdistrict(frag_engine, default_run):
    with frag_engine.connect() as conn:
        rows = store.results(conn, default_run["id"], 3)
        n_units = conn.execute(text("SELECT count(*) FROM admin_unit WHERE level = 3")).scalar_one()
    assert len(rows) == n_units == 294
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(1 <= r["class"] <= 5 and 0 <= r["index"] <= 100 for r in ok)
    assert all(r["class"] is None and r["index"] is None for r in rows if r["status"] != "ok")
    assert len(ok) > 150, len(ok)
    print(default_run["summary"])

