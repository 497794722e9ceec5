"""DTM's calendar matched within a few days (DTM_ATLAS_ROUND_CALENDAR_DAYS): rounds 107, 112
and 115 are dated a day apart in the calendar and the master lists; the match is reported."""

from __future__ import annotations

import datetime as dt

from service.ingest.calendar import near_round, round_number_for
from service.ingest.rounds import import_masterlist
from tests.conftest import MASTERLISTS, client_for

DEC18 = MASTERLISTS / "series" / "idp" / "IDPs_MasterList_dataset_DTM_IOMDec_31_2018.csv.gz"


def test_near_dates_get_the_calendars_number():
    for date, number, calendar_date in (
        (dt.date(2018, 12, 31), 107, dt.date(2018, 12, 30)),
        (dt.date(2019, 10, 31), 112, dt.date(2019, 10, 30)),
        (dt.date(2020, 4, 29), 115, dt.date(2020, 4, 30)),
    ):
        assert round_number_for("IRQ", "idp", date) is None  # not exactly a calendar date
        near = near_round("IRQ", "idp", date)
        assert (near.round_number, near.calendar_date, near.days) == (number, calendar_date, 1)
        assert f"round {number}" in near.note(date) and calendar_date.isoformat() in near.note(date)
    assert near_round("IRQ", "idp", dt.date(2018, 12, 31), days=0) is None  # configurable: exact only
    assert near_round("IRQ", "idp", dt.date(2018, 12, 20)) is None  # too far
    # a calendar date on the first of a month names a month (rounds before May 2017): exact only
    assert near_round("IRQ", "idp", dt.date(2014, 7, 31)) is None
    assert near_round("IRQ", "idp", dt.date(2021, 2, 28)) is None  # exact: round_number_for's


def test_the_import_numbers_and_reports_it_and_the_api_finds_it(iraq_fresh_engine):
    res = import_masterlist(iraq_fresh_engine, DEC18, population="idp")
    assert res.reporting_date == dt.date(2018, 12, 31) and res.round_number == 107
    assert "2018-12-30" in res.calendar_note and "1 day" in res.calendar_note
    with client_for(iraq_fresh_engine) as client:
        one = client.get("/rounds/107")
        assert one.status_code == 200, one.text
        assert one.json()["reporting_date"] == "2018-12-31" and one.json()["round_number"] == 107
        assert client.get("/rounds/2018-12-31").json()["round_number"] == 107
        assert client.get("/rounds/106").status_code == 404
        listed = client.get("/rounds").json()
        assert listed[0]["url"] == "/rounds/107?population=idp&country=IRQ"
        assert client.get("/choropleth/2.geojson?round=107").status_code == 200
    with iraq_fresh_engine.connect() as conn:  # the import log keeps where the number came from
        details = conn.exec_driver_sql(
            "SELECT details FROM import_log WHERE outcome = 'committed' AND details ? 'round_number_from'"
        ).scalar_one()
    assert "2018-12-30" in details["round_number_from"]
