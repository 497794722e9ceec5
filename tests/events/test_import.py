"""Importing Emergency Tracking files: placement, sums, replacement of a day, bad input."""

from __future__ import annotations

import csv
import json

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text

from service.events.importer import import_events
from service.ingest.tagged import InputError
from tests.conftest import COD_AB
from tests.events.conftest import CRISIS


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        r = csv.reader(fh)
        next(r)
        tags = next(r)
        return [dict(zip(tags, row)) for row in r]


def test_ninewa_cumulative_on_day_60_equals_the_files_rows(ev_engine, ett_file):
    """The cumulative IDPs of Ninewa on day 60 equal the sum of the file's rows in Ninewa: the
    rows declaring it, and the rows with only a point, placed here by shapely (not the service)."""
    rows = _rows(ett_file)
    gov = {
        f["properties"]["ADM1_PCODE"]: shape(f["geometry"])
        for f in json.loads((COD_AB / "irq_admbnda_adm1_cso_20190603.geojson").read_text())["features"]
    }
    ninewa = gov["IQG15"]
    want_ind = want_hh = 0
    point_only = 0
    for r in rows:
        inside = r["#adm1+code"] == "IQG15"
        if not r["#adm1+code"] and r["#geo+lat"]:
            point_only += 1
            inside = shapely.contains_xy(ninewa, float(r["#geo+lon"]), float(r["#geo+lat"]))
        if inside:
            want_ind += int(r["#affected+ind+idps"])
            want_hh += int(r["#affected+hh+idps"])
    assert point_only > 0
    days = sorted({r["#date"] for r in rows})
    assert len(days) == 60
    with ev_engine.connect() as conn:
        got = conn.execute(
            text(
                "SELECT sum(idp_ind), sum(idp_hh) FROM event_unit_day "
                "WHERE crisis_id = :c AND level = 1 AND pcode = 'IQG15' AND day <= :d"
            ),
            {"c": CRISIS, "d": days[-1]},
        ).one()
    assert (got[0], got[1]) == (want_ind, want_hh)
    from service.events import read

    with ev_engine.connect() as conn:
        fig = {f["pcode"]: f for f in read.unit_figures(conn, CRISIS, level=1, day_to=days[-1])}
    assert fig["IQG15"]["cumulative_idp_ind"] == want_ind


def test_every_row_kept_and_levels_sum_to_the_national_figure(ev_engine, ett_file):
    rows = _rows(ett_file)
    total = sum(int(r["#affected+ind+idps"]) for r in rows)
    with ev_engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM event_row WHERE crisis_id = :c"), {"c": CRISIS}).scalar_one()
        by_level = dict(
            conn.execute(
                text("SELECT level, sum(idp_ind) FROM event_unit_day WHERE crisis_id = :c GROUP BY level"),
                {"c": CRISIS},
            ).all()
        )
        places = dict(
            conn.execute(
                text("SELECT placement, count(*) FROM event_row WHERE crisis_id = :c GROUP BY 1"), {"c": CRISIS}
            ).all()
        )
    assert n == len(rows)
    assert by_level == {0: total, 1: total, 2: total, 3: total}
    assert places["declared"] > places["point"] > 0 and places["unassigned"] > 0
    assert ev_engine.first_import.placement == places


def test_a_day_imported_again_replaces_it(iraq_fresh_engine, tmp_path):
    from bench.synthetic_events_flows import write_ett

    f1 = write_ett(tmp_path / "a.csv", days=3, rows_per_day=20, crisis="C1", seed=5)
    f2 = write_ett(tmp_path / "b.csv", days=2, rows_per_day=20, crisis="C1", seed=6)  # the first two days again
    import_events(iraq_fresh_engine, f1, country="IRQ", crisis_id="C1")
    res = import_events(iraq_fresh_engine, f2, country="IRQ", crisis_id="C1")
    assert res.replaced_days == 2
    want = sum(int(r["#affected+ind+idps"]) for r in _rows(f2))
    want += sum(int(r["#affected+ind+idps"]) for r in _rows(f1) if r["#date"] == "2016-10-19")
    with iraq_fresh_engine.connect() as conn:
        got = conn.execute(
            text("SELECT sum(idp_ind) FROM event_unit_day WHERE crisis_id = 'C1' AND level = 0")
        ).scalar_one()
        rows = conn.execute(text("SELECT count(*) FROM event_row WHERE crisis_id = 'C1'")).scalar_one()
        logged = conn.execute(
            text("SELECT count(*) FROM import_log WHERE kind = 'events' AND outcome = 'committed'")
        ).scalar_one()
    assert got == want and rows == 60 and logged == 2


HEAD = (
    "Date,Location ID,Sub-district,IDP families,IDP individuals,Origin district\n"
    "#date,#loc+code,#adm3+code,#affected+hh+idps,#affected+ind+idps,#adm2+code+origin\n"
)


@pytest.mark.parametrize(
    "body, row, column, words",
    [
        ("2016-10-17,L1,IQG15Q05N01,3,18,IQG15Q05\n2999-01-01,L2,IQG15Q05N01,1,6,IQG15Q05\n", 4, "Date", "future"),
        (
            "2016-10-17,L1,IQG15Q05N01,3,18,IQG15Q05\n2016-10-17,L2,IQG15Q05N01,-4,6,IQG15Q05\n",
            4,
            "IDP families",
            "negative",
        ),
        ("2016-10-17,L1,IQG15Q05N01,3,18,Mosul city\n", 3, "Origin district", "neither a country code"),
        ("2016-10-17,L1,IQG15Q05N01,3,18,IQG15Q05\n2016-10-17,L1,IQG15Q05N01,3,18,IQG15Q05\n", 4, "Date", "twice"),
        ("2016-10-32,L1,IQG15Q05N01,3,18,IQG15Q05\n", 3, "Date", "not a date"),
        ("2016-10-17,L1,IQG15Q05N01,3,x,IQG15Q05\n", 3, "IDP individuals", "not a whole number"),
    ],
)
def test_bad_input_names_file_row_and_column_and_imports_nothing(ev_engine, tmp_path, body, row, column, words):
    f = tmp_path / "bad.csv"
    f.write_text(HEAD + body, encoding="utf-8")
    with ev_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), (SELECT version FROM data_version) FROM event_row")).one()
    with pytest.raises(InputError) as exc:
        import_events(ev_engine, f, country="IRQ", crisis_id=CRISIS)
    assert (exc.value.row, exc.value.column) == (row, column)
    assert words in str(exc.value) and str(exc.value).startswith(f"bad.csv, row {row}, column {column!r}")
    with ev_engine.connect() as conn:
        after = conn.execute(text("SELECT count(*), (SELECT version FROM data_version) FROM event_row")).one()
        last = conn.execute(text("SELECT outcome, message FROM import_log ORDER BY id DESC LIMIT 1")).one()
    assert after == before
    assert last.outcome == "rejected" and words in last.message
