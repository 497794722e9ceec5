"""Importing Flow Monitoring counts: sums, replacement of a day, bad input."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

from service.flows import read
from service.flows.importer import import_flows
from service.ingest.tagged import InputError
from tests.flows.conftest import PLACES


def test_every_row_imported_and_sums_match_the_file(fl_engine, fmp_files):
    registry, daily = fmp_files
    df = pd.read_csv(daily)
    with fl_engine.connect() as conn:
        n, total = conn.execute(text("SELECT count(*), sum(n) FROM flow_count")).one()
        month_total = conn.execute(text("SELECT sum(n) FROM flow_month")).scalar_one()
        pts = conn.execute(text("SELECT count(*), bool_and(synthetic) FROM flow_point")).one()
        per_point = dict(conn.execute(text("SELECT fmp_id, sum(n) FROM flow_count GROUP BY 1")).all())
        unplaced = conn.execute(text("SELECT count(*) FROM flow_place WHERE geom IS NULL")).scalar_one()
    assert n == len(df) and total == df["n"].sum() == month_total
    assert pts == (12, True)
    assert per_point == df.groupby("fmp")["n"].sum().to_dict()
    assert unplaced == 0  # every country of the network has a capital in Natural Earth
    assert fl_engine.first_import.period == "D" and fl_engine.first_import.rows == len(df)
    with fl_engine.connect() as conn:
        by_corridor = read.summary(conn, by="corridor", period="month", day_from=None, day_to=None)
    want = df.assign(k=df["from"] + " -> " + df["to"]).groupby("k")["n"].sum()
    got = pd.DataFrame(by_corridor).groupby("key")["n"].sum()
    assert got.sort_index().tolist() == want.sort_index().tolist()


def test_a_day_imported_again_replaces_it(fl_engine, fmp_files, tmp_path):
    registry, daily = fmp_files
    df = pd.read_csv(daily)
    day = df[(df["t"] == "2023-01-05") & (df["fmp"] == "SYN-FMP-003")].copy()
    day["n"] = day["n"] + 1000
    f = tmp_path / "again.csv"
    day.to_csv(f, index=False)
    with fl_engine.connect() as conn:
        before = conn.execute(text("SELECT sum(n), count(*) FROM flow_count")).one()
    res = import_flows(fl_engine, f, places=PLACES)
    assert res.replaced_rows == len(day)
    with fl_engine.connect() as conn:
        after = conn.execute(text("SELECT sum(n), count(*) FROM flow_count")).one()
        month = conn.execute(
            text("SELECT sum(n) FROM flow_month WHERE fmp_id = 'SYN-FMP-003' AND month = '2023-01-01'")
        ).scalar_one()
        want_month = conn.execute(
            text("SELECT sum(n) FROM flow_count WHERE fmp_id = 'SYN-FMP-003' AND t < '2023-02-01'")
        ).scalar_one()
    assert after[1] == before[1] and after[0] == before[0] + 1000 * len(day)
    assert month == want_month
    # put it back as it was, for the other tests
    df[(df["t"] == "2023-01-05") & (df["fmp"] == "SYN-FMP-003")].to_csv(f, index=False)
    import_flows(fl_engine, f, places=PLACES)


HEAD = "t,route,fmp,fmp_country,from,to,n,reason_seasonal,reason_disaster,reason_conflict,reason_economic\n"
OK = "2023-01-02,NER-LBY,SYN-FMP-001,NER,NER,LBY,10,1,1,1,7\n"


@pytest.mark.parametrize(
    "body, row, column, words",
    [
        (OK + "2999-01-02,NER-LBY,SYN-FMP-001,NER,NER,LBY,10,1,1,1,7\n", 3, "t", "future"),
        (OK + "2023-01-03,NER-LBY,SYN-FMP-001,NER,NER,LBY,-3,1,1,1,7\n", 3, "n", "negative"),
        (OK + "2023-01-03,NER-LBY,SYN-FMP-001,NER,NER,LBY,3,1,-1,1,7\n", 3, "reason_disaster", "negative"),
        (OK + "2023-01-03,NER-LBY,FMP-NOWHERE,NER,NER,LBY,3,1,1,1,0\n", 3, "fmp", "not in the point registry"),
        (OK + "2023-01-03,NER-LBY,SYN-FMP-001,NER,Agadez,LBY,3,1,1,1,0\n", 3, "from", "neither a country code"),
        (OK + "2023-01-03,NER-LBY,SYN-FMP-001,NER,NER,XXX,3,1,1,1,0\n", 3, "to", "neither a country code"),
        (OK + OK, 3, "t", "twice"),
        (OK + "2023-01-03,NER-LBY,SYN-FMP-001,NER,NER,LBY,3,1,1,1,0,9\n", 3, None, "extra data"),
    ],
)
def test_bad_input_names_file_row_and_column_and_imports_nothing(fl_engine, tmp_path, body, row, column, words):
    f = tmp_path / "bad.csv"
    f.write_text(HEAD + body, encoding="utf-8")
    with fl_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*), sum(n), (SELECT version FROM data_version) FROM flow_count")).one()
    with pytest.raises(InputError) as exc:
        import_flows(fl_engine, f, places=PLACES, today=dt.date(2026, 1, 1))
    assert (exc.value.row, exc.value.column) == (row, column)
    assert words in str(exc.value)
    with fl_engine.connect() as conn:
        after = conn.execute(text("SELECT count(*), sum(n), (SELECT version FROM data_version) FROM flow_count")).one()
        last = conn.execute(text("SELECT outcome, message FROM import_log ORDER BY id DESC LIMIT 1")).one()
    assert after == before and last.outcome == "rejected"


def test_monthly_shape_and_pcode_origins(fl_engine, tmp_path):
    from bench.synthetic_events_flows import write_fmp_monthly

    registry, monthly = write_fmp_monthly(tmp_path / "ehoa", points=3, months=3)
    res = import_flows(fl_engine, monthly, points=registry, places=PLACES)
    df = pd.read_csv(monthly)
    assert res.period == "M" and res.rows == len(df)
    with fl_engine.connect() as conn:
        rows = read.summary(conn, by="point", period="month", day_from=None, day_to=None, direction="outgoing")
    got = sum(r["n"] for r in rows if r["key"].startswith("SYN-EHOA"))
    assert got == df[df["movement"] == "outgoing"]["n"].sum()
