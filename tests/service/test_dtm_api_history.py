"""The DTM-API-compatible reads over a history of rounds: rounds without a DTM number (dates
before 2017 that DTM's calendar does not list) are served with ``roundNumber: null`` and ids of
their own; round-number and date filters work across the history; ``numPresentIdpInd`` is
DTM's published count (5 persons per camp family from round 117, 31 Aug 2020).

Five real rounds of the series: two without a number, round 116 (Jun 2020, before the camp
rule), 117 (Aug 2020, the first under it) and 120 (Feb 2021).
"""

from __future__ import annotations

import csv
import gzip
import hashlib

import pytest
from sqlalchemy import text

from service.ingest.rounds import import_masterlist
from tests.conftest import MASTERLISTS, client_for, cloned_engine, serve_app
from tests.service.test_dtm_api import V2, V3, local_dtmapi, ok

SERIES = MASTERLISTS / "series" / "idp"
FILES = {
    "2014-12-09": None,
    "2016-06-22": None,
    "2020-06-30": 116,
    "2020-08-31": 117,
    "2021-02-28": 120,
}
NAMES = {
    "2014-12-09": "IDPs_MasterList_dataset_DTM_IOMDec_09_2014.csv.gz",
    "2016-06-22": "IDPs_MasterList_dataset_DTM_IOMJun_22_2016.csv.gz",
    "2020-06-30": "IDPs_MasterList_dataset_DTM_IOMJun_30_2020.csv.gz",
    "2020-08-31": "IDPs_MasterList_dataset_DTM_IOMAug_31_2020.csv.gz",
    "2021-02-28": "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv.gz",
}


def file_sums(date: str) -> tuple[int, int]:
    """(sum of Individuals, sum of Camp families) of the round's file, read with csv."""
    with gzip.open(SERIES / NAMES[date], "rt", encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if (r.get("Individuals") or "").strip()]
    return (
        int(sum(float(r["Individuals"]) for r in rows)),
        int(sum(float(r["Camp"]) for r in rows if (r.get("Camp") or "").strip())),
    )


@pytest.fixture(scope="module")
def history_engine(pg_server, iraq_template):
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_dtm_history") as engine:
        for name in NAMES.values():
            import_masterlist(engine, SERIES / name, population="idp")
        yield engine


@pytest.fixture(scope="module")
def history_client(history_engine):
    with client_for(history_engine) as c:
        yield c


def test_every_round_served_with_its_number_or_null(history_client):
    recs = ok(history_client, V2[0], CountryName="Iraq")
    assert [(r["reportingDate"][:10], r["roundNumber"]) for r in recs] == list(FILES.items())
    assert len({r["id"] for r in recs}) == len(recs)
    for r in recs:
        individuals, camp = file_sums(r["reportingDate"][:10])
        published = individuals - camp if r["reportingDate"] >= "2020-08-31" else individuals
        assert r["numPresentIdpInd"] == published, r
    by_date = {r["reportingDate"][:10]: r["numPresentIdpInd"] for r in recs}
    jun20, camp_jun20 = file_sums("2020-06-30")
    aug20, camp_aug20 = file_sums("2020-08-31")
    assert camp_jun20 > 0 and by_date["2020-06-30"] == jun20  # before round 117: the file's count
    assert camp_aug20 > 0 and by_date["2020-08-31"] == aug20 - camp_aug20


def test_ids_unique_across_numberless_rounds_and_unchanged_for_numbered(history_client):
    for level in (0, 1, 2):
        recs = ok(history_client, V3[level], CountryName="Iraq")
        nameless = [r for r in recs if r["roundNumber"] is None]
        assert {r["reportingDate"][:10] for r in nameless} == {"2014-12-09", "2016-06-22"}
        assert len({r["id"] for r in recs}) == len(recs), f"ids collide at admin {level}"
    # a numbered round keeps the id it had before rounds were keyed by date: md5 of
    # country:idp:number:level:pcode
    (feb,) = ok(history_client, V2[0], CountryName="Iraq", FromRoundNumber=120, ToRoundNumber=120)
    digest = hashlib.md5(b"IRQ:idp:120:0:IQ", usedforsecurity=False).hexdigest()
    assert feb["id"] == int(digest[:13], 16)


def test_filters_across_the_history(history_client):
    def rounds(**params):
        return [
            (r["reportingDate"][:10], r["roundNumber"]) for r in ok(history_client, V2[0], CountryName="Iraq", **params)
        ]

    # a round-number filter leaves out the rounds DTM's calendar does not number
    assert rounds(FromRoundNumber=1) == [("2020-06-30", 116), ("2020-08-31", 117), ("2021-02-28", 120)]
    assert rounds(FromRoundNumber=117) == [("2020-08-31", 117), ("2021-02-28", 120)]
    assert rounds(ToRoundNumber=116) == [("2020-06-30", 116)]
    assert rounds(FromRoundNumber=116, ToRoundNumber=117) == [("2020-06-30", 116), ("2020-08-31", 117)]
    # dates reach every round, numbered or not
    assert rounds(ToReportingDate="2016-12-31") == [("2014-12-09", None), ("2016-06-22", None)]
    assert rounds(FromReportingDate="2016-01-01", ToReportingDate="2020-07-01") == [
        ("2016-06-22", None),
        ("2020-06-30", 116),
    ]
    assert rounds(FromReportingDate="2015-01-01", FromRoundNumber=117) == [("2020-08-31", 117), ("2021-02-28", 120)]
    admin1 = ok(history_client, V2[1], CountryName="Iraq", ToReportingDate="2014-12-31")
    assert admin1 and {r["roundNumber"] for r in admin1} == {None}
    assert {r["reportingDate"] for r in admin1} == {"2014-12-09T00:00:00"}


def test_admin_levels_sum_to_the_published_national_count(history_engine, history_client):
    with history_engine.connect() as conn:
        unassigned = dict(
            conn.execute(
                text(
                    "SELECT r.reporting_date::text || ':' || uf.level, uf.published_individuals FROM unit_figure uf "
                    "JOIN round r ON r.id = uf.round_id WHERE uf.pcode = 'UNASSIGNED'"
                )
            ).all()
        )
    national = {r["reportingDate"][:10]: r["numPresentIdpInd"] for r in ok(history_client, V2[0], CountryName="Iraq")}
    for level in (1, 2):
        served: dict[str, int] = {}
        for r in ok(history_client, V2[level], CountryName="Iraq"):
            served[r["reportingDate"][:10]] = served.get(r["reportingDate"][:10], 0) + r["numPresentIdpInd"]
        for date, total in national.items():
            assert served[date] + unassigned.get(f"{date}:{level}", 0) == total, (level, date)


def test_real_dtmapi_client_over_the_history(history_engine):
    with serve_app(history_engine) as url:
        api = local_dtmapi(url, "v3")
        a0 = api.get_idp_admin0_data(CountryName="Iraq")
        assert a0["reportingDate"].str[:10].tolist() == list(FILES)
        numbers = a0["roundNumber"].tolist()
        assert [n for n in numbers if n == n] == [116, 117, 120]  # the two numberless rounds are NaN
        assert sum(1 for n in numbers if n != n) == 2
        numbered = api.get_idp_admin1_data(CountryName="Iraq", FromRoundNumber=117)
        assert sorted(set(numbered["roundNumber"].tolist())) == [117, 120]
        early = api.get_idp_admin2_data(
            CountryName="Iraq", FromReportingDate="2014-01-01", ToReportingDate="2016-12-31"
        )
        assert set(early["reportingDate"].str[:10]) == {"2014-12-09", "2016-06-22"}
        assert early["id"].is_unique
