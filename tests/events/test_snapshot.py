"""The ETT daily snapshot: its PDF holds the map and the table, whose figures are the API's."""

from __future__ import annotations

import datetime as dt
import subprocess

from sqlalchemy import text

from service.events import read, snapshot
from tests.events.conftest import CRISIS


def test_snapshot_writes_map_and_table(ev_engine, tmp_path):
    with ev_engine.connect() as conn:
        day = conn.execute(text("SELECT max(day) - 20 FROM event_row")).scalar_one()
        fig = {r["pcode"]: r for r in read.unit_figures(conn, CRISIS, level=2, day_from=day, day_to=day)}
    res = snapshot.build(ev_engine, CRISIS, day, tmp_path / "snap", dpi=60)
    names = sorted(p.name for p in res.files)
    base = f"{CRISIS.lower()}_{day:%Y%m%d}"
    assert names == sorted(["README.txt", f"{base}_map.png", f"{base}_snapshot.pdf", f"{base}_table.csv"])
    txt = subprocess.run(
        ["pdftotext", "-layout", str(res.path / f"{base}_snapshot.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "SYNTHETIC" in txt and f"{day:%d %B %Y}" in txt
    mosul = fig["IQG15Q05"]
    line = next(x for x in txt.splitlines() if "Al-Mosul" in x)
    assert f"{mosul['day_idp_ind']:,}" in line and f"{mosul['cumulative_idp_ind']:,}" in line
    total = next(x for x in txt.splitlines() if x.strip().startswith("Total"))
    assert f"{sum(r['cumulative_idp_ind'] for r in fig.values()):,}" in total
    assert (res.path / f"{base}_map.png").stat().st_size > 10_000


def test_snapshot_of_a_day_outside_the_crisis_is_refused(ev_engine, tmp_path):
    import pytest

    with pytest.raises(snapshot.SnapshotError, match="has days"):
        snapshot.build(ev_engine, CRISIS, dt.date(2030, 1, 1), tmp_path)
