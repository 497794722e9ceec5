"""DTM-API-compatible reads (/v2, /v3) over the real Iraq boundaries and master lists.

Figures are checked against the real CSV and against unit_figure; the last tests drive the
real ``dtmapi`` client against a uvicorn server on 127.0.0.1.
"""

from __future__ import annotations

import csv
import re
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text

from tests.conftest import MASTERLISTS, SHARED

FEB21 = 120  # DTM Iraq round of the Feb 2021 master lists (service/data/known_rounds.csv)
DEC17 = 86
# numPresentIdpInd is DTM's published count: from round 117 (31 Aug 2020) families in camps count
# 5 persons, not the 6 of the master list (service/data/household_sizes.csv)
FEB21_CSV = 1_243_278  # the sum of the file's Individuals
FEB21_CAMP_FAMILIES = 37_511
FEB21_PUBLISHED = FEB21_CSV - FEB21_CAMP_FAMILIES  # 1,205,767
V2 = {0: "/v2/IdpAdmin0Data", 1: "/v2/IdpAdmin1Data", 2: "/v2/IdpAdmin2Data"}
V3 = {0: "/v3/displacement/admin0", 1: "/v3/displacement/admin1", 2: "/v3/displacement/admin2"}
ADM1 = re.compile(r"^IRQ-G\d{2}$")
ADM2 = re.compile(r"^IRQ-G\d{2}Q\d{2}$")


def csv_individuals(name: str, column: str = "Individuals") -> int:
    with open(MASTERLISTS / name, encoding="utf-8", newline="") as fh:
        return int(sum(float(r[column]) for r in csv.DictReader(fh) if r.get(column)))


def ok(client, path, **params) -> list[dict]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["isSuccess"] is True
    assert body["statusCode"] == 200
    assert body["errorMessages"] == []
    assert body["totalRecordsCount"] == len(body["result"])
    return body["result"]


def failed(client, path, status=400, **params) -> str:
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["isSuccess"] is False
    assert body["statusCode"] == status
    assert body["result"] == [] and body["totalRecordsCount"] == 0
    assert body["errorMessages"] and all(isinstance(m, str) and m for m in body["errorMessages"])
    return " ".join(body["errorMessages"])


@pytest.fixture(scope="module")
def feb21(figures_engine) -> dict:
    """unit_figure of the Feb 2021 IDP round, read directly: {(level, pcode): published individuals}."""
    with figures_engine.connect() as conn:
        rows = conn.execute(
            text(
                """SELECT uf.level, uf.pcode, uf.published_individuals FROM unit_figure uf
               JOIN round r ON r.id = uf.round_id
               WHERE r.country = 'IRQ' AND r.population = 'idp' AND r.round_number = :n"""
            ),
            {"n": FEB21},
        ).all()
    assert rows, "the Feb 2021 IDP round is not imported"
    return {(lvl, p): int(ind) for lvl, p, ind in rows}


# ---------------------------------------------------------------------------- figures


def test_admin0_equals_the_csv(figures_client, feb21):
    recs = ok(figures_client, V2[0], CountryName="Iraq")
    assert [r["roundNumber"] for r in recs] == [DEC17, FEB21]  # IDP rounds only, oldest first
    dec, feb = recs
    csv_total = csv_individuals("IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv")
    assert csv_total == FEB21_CSV
    assert csv_individuals("IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "Camp") == FEB21_CAMP_FAMILIES
    assert feb["numPresentIdpInd"] == csv_total - FEB21_CAMP_FAMILIES == feb21[(0, "IQ")]
    assert dec["numPresentIdpInd"] == csv_individuals("IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv") == 2_615_988
    assert feb == {
        "id": feb["id"],
        "operation": "Iraq",
        "admin0Name": "Iraq",
        "admin0Pcode": "IRQ",
        "numPresentIdpInd": FEB21_PUBLISHED,
        "reportingDate": "2021-02-28T00:00:00",
        "yearReportingDate": 2021,
        "monthReportingDate": 2,
        "roundNumber": FEB21,
        "assessmentType": "BA",
    }
    assert isinstance(feb["id"], int) and feb["id"] != dec["id"] and feb["id"] < 2**53


def test_admin1_plus_unassigned_is_admin0(figures_client, feb21):
    admin0 = ok(figures_client, V2[0], Admin0Pcode="IRQ", FromRoundNumber=FEB21, ToRoundNumber=FEB21)
    assert len(admin0) == 1
    total = admin0[0]["numPresentIdpInd"]
    recs = ok(figures_client, V2[1], CountryName="Iraq", FromRoundNumber=FEB21, ToRoundNumber=FEB21)
    assert all(ADM1.match(r["admin1Pcode"]) for r in recs), [r["admin1Pcode"] for r in recs]
    assert all(r["admin1Name"] and r["admin0Pcode"] == "IRQ" and r["roundNumber"] == FEB21 for r in recs)
    assert not any("UNASSIGNED" in str(v) for r in recs for v in r.values())
    assert len({r["id"] for r in recs}) == len(recs) == len({r["admin1Pcode"] for r in recs})
    # every assigned governorate of unit_figure is served, with its figure
    expected = {p: n for (lvl, p), n in feb21.items() if lvl == 1 and p != "UNASSIGNED"}
    assert {r["admin1Pcode"]: r["numPresentIdpInd"] for r in recs} == {"IRQ-" + p[2:]: n for p, n in expected.items()}
    unassigned = feb21.get((1, "UNASSIGNED"), 0)
    served = sum(r["numPresentIdpInd"] for r in recs)
    assert served + unassigned == total == FEB21_PUBLISHED
    by_name = {r["admin1Name"]: r["numPresentIdpInd"] for r in recs}
    assert by_name["Ninewa"] > 0 and by_name["Duhok"] > 0  # COD-AB English names


def test_admin2_plus_unassigned_is_admin0(figures_client, feb21):
    recs = ok(figures_client, V2[2], Admin0Pcode="IRQ", FromReportingDate="2021-02-01")
    assert {r["roundNumber"] for r in recs} == {FEB21}
    assert all(ADM2.match(r["admin2Pcode"]) and ADM1.match(r["admin1Pcode"]) for r in recs)
    assert all(r["admin2Pcode"].startswith(r["admin1Pcode"] + "Q") for r in recs)
    assert all(r["admin2Name"] and r["admin1Name"] for r in recs)
    served = sum(r["numPresentIdpInd"] for r in recs)
    assert served + feb21.get((2, "UNASSIGNED"), 0) == feb21[(0, "IQ")] == FEB21_PUBLISHED
    hilla = [r for r in recs if r["admin2Pcode"] == "IRQ-G07Q02"]
    assert len(hilla) == 1 and hilla[0]["admin2Name"] == "Al-Hilla" and hilla[0]["admin1Name"] == "Babil"


def test_v3_serves_the_same_figures_with_v3_fields(figures_client):
    for level in (0, 1, 2):
        v2 = ok(figures_client, V2[level], CountryName="Iraq")
        v3 = ok(figures_client, V3[level], CountryName="Iraq")
        assert len(v2) == len(v3) > 0
        for a, b in zip(v2, v3):
            extra = {
                k: b.pop(k)
                for k in (
                    "displacementReason",
                    "numberMales",
                    "numberFemales",
                    "idpOriginAdmin1Name",
                    "idpOriginAdmin1Pcode",
                )
            }
            assert set(extra.values()) == {None}
            assert a == b


def test_returnee_rounds_are_not_served(figures_client, figures_engine, feb21):
    with figures_engine.connect() as conn:
        populations = (
            conn.execute(
                text("SELECT population FROM round WHERE country = 'IRQ' AND round_number = :n ORDER BY 1"),
                {"n": FEB21},
            )
            .scalars()
            .all()
        )
    assert populations == ["idp", "returnee"]  # the same round number exists for returnees
    returnees = csv_individuals("Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "Returnee Individuals")
    for level in (0, 1, 2):
        recs = ok(figures_client, V2[level], CountryName="Iraq", FromRoundNumber=FEB21, ToRoundNumber=FEB21)
        assert len({r.get("admin2Pcode") or r.get("admin1Pcode") or r["admin0Pcode"] for r in recs}) == len(recs)
        served = sum(r["numPresentIdpInd"] for r in recs)
        assert served == FEB21_PUBLISHED - (feb21.get((level, "UNASSIGNED"), 0) if level else 0) < returnees


@pytest.fixture(scope="module")
def spatial_client(pg_server, template_db):
    """Its own database: the Feb 2021 IDP list placed spatially (by coordinates), where three
    real locations fall outside every polygon and land in the UNASSIGNED bucket."""
    import os

    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from service.app import create_app
    from service.core.settings import Settings
    from service.ingest.rounds import import_masterlist
    from tests.conftest import COD_AB, create_database, drop_database

    name = f"dtm_atlas_test_dtm_spatial_{os.getpid()}"
    engine = create_engine(create_database(pg_server, name, template_db))
    for f in sorted(COD_AB.glob("*.geojson")):
        import_boundaries(engine, read_boundaries(f))
    import_masterlist(
        engine,
        MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv",
        population="idp",
        placement_mode="spatial",
    )
    with engine.connect() as conn:
        unassigned = dict(
            conn.execute(text("SELECT level, published_individuals FROM unit_figure WHERE pcode = 'UNASSIGNED'")).all()
        )
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False), shared_data_dir=SHARED)
    with TestClient(create_app(settings, engine)) as client:
        yield client, {lvl: int(n) for lvl, n in unassigned.items()}
    engine.dispose()
    drop_database(pg_server, name)


def test_unassigned_bucket_is_not_a_unit(spatial_client):
    client, unassigned = spatial_client
    assert set(unassigned) == {1, 2, 3} and unassigned[1] == unassigned[2] > 0  # 414 people, 3 locations
    total = ok(client, V2[0], CountryName="Iraq")
    assert [r["numPresentIdpInd"] for r in total] == [FEB21_PUBLISHED]  # admin0 includes the unassigned
    for level, pattern in ((1, ADM1), (2, ADM2)):
        recs = ok(client, V3[level], CountryName="Iraq")
        code = f"admin{level}Pcode"
        assert recs and all(pattern.match(r[code]) and r[f"admin{level}Name"] for r in recs)
        assert not any("UNASSIGNED" in str(v) for r in recs for v in r.values())
        served = sum(r["numPresentIdpInd"] for r in recs)
        assert served == FEB21_PUBLISHED - unassigned[level] < FEB21_PUBLISHED


# ---------------------------------------------------------------------------- filters


@pytest.mark.parametrize("code", ["IRQ-G15", "IQG15", "iqg15", "IQ-G15", " irq-g15 "])
def test_admin1_pcode_any_form(figures_client, feb21, code):
    recs = ok(figures_client, V2[1], CountryName="Iraq", Admin1Pcode=code, FromRoundNumber=FEB21)
    assert [(r["admin1Pcode"], r["admin1Name"], r["numPresentIdpInd"]) for r in recs] == [
        ("IRQ-G15", "Ninewa", feb21[(1, "IQG15")])
    ]


def test_admin2_within_a_governorate(figures_client, feb21):
    a = ok(figures_client, V3[2], Operation="Iraq", Admin1Pcode="IRQ-G15", FromRoundNumber=FEB21)
    b = ok(figures_client, V3[2], Operation="Iraq", Admin1Pcode="IQG15", FromRoundNumber=FEB21)
    assert a == b and a
    assert all(r["admin2Pcode"].startswith("IRQ-G15Q") and r["admin1Name"] == "Ninewa" for r in a)
    assert {r["admin2Pcode"]: r["numPresentIdpInd"] for r in a} == {
        "IRQ-" + p[2:]: n for (lvl, p), n in feb21.items() if lvl == 2 and p.startswith("IQG15")
    }
    one = ok(figures_client, V2[2], CountryName="Iraq", Admin2Pcode="IQG07Q02", FromRoundNumber=FEB21)
    assert [(r["admin2Pcode"], r["numPresentIdpInd"]) for r in one] == [("IRQ-G07Q02", feb21[(2, "IQG07Q02")])]


@pytest.mark.parametrize("name", ["Duhok", "duhok", "Dahuk", "DAHUK", "Dohuk", "دهوك"])
def test_admin1_name_cod_ab_dtm_and_arabic_spellings(figures_client, feb21, name):
    recs = ok(figures_client, V2[1], CountryName="Iraq", Admin1Name=name, FromRoundNumber=FEB21)
    assert [(r["admin1Pcode"], r["admin1Name"], r["numPresentIdpInd"]) for r in recs] == [
        ("IRQ-G09", "Duhok", feb21[(1, "IQG09")])
    ]


def test_admin2_name(figures_client, feb21):
    for name in ("Al-Hilla", "Hilla", "hilla"):
        recs = ok(figures_client, V2[2], CountryName="Iraq", Admin2Name=name, ToRoundNumber=FEB21)
        assert {r["admin2Pcode"] for r in recs} == {"IRQ-G07Q02"}
        assert [r["roundNumber"] for r in recs if r["roundNumber"] == FEB21] == [FEB21]
    salah = ok(figures_client, V2[2], CountryName="Iraq", Admin1Name="Salah al-Din", FromRoundNumber=FEB21)
    assert salah and {r["admin1Pcode"] for r in salah} == {"IRQ-G16"}
    assert ok(figures_client, V2[1], CountryName="Iraq", Admin1Name="Atlantis") == []


def test_country_and_operation_filters(figures_client):
    base = ok(figures_client, V2[0], CountryName="Iraq")
    assert len(base) == 2
    for params in (
        {"CountryName": "iraq"},
        {"CountryName": "Republic of Iraq"},
        {"CountryName": "IRQ"},
        {"CountryName": "العراق"},
        {"Operation": "Iraq"},
        {"Operation": "iraq"},
        {"Admin0Pcode": "IRQ"},
        {"Admin0Pcode": "IQ"},
        {"Admin0Pcode": "irq"},
    ):
        assert ok(figures_client, V2[0], **params) == base, params
    assert ok(figures_client, V2[0], CountryName="Syria") == []
    assert ok(figures_client, V2[0], Admin0Pcode="SYR") == []
    assert ok(figures_client, V2[0], Operation="Displacement due to conflict") == []


def test_dates_and_round_numbers(figures_client):
    def rounds(**params):
        return [r["roundNumber"] for r in ok(figures_client, V2[0], CountryName="Iraq", **params)]

    assert rounds() == [DEC17, FEB21]
    assert rounds(FromReportingDate="2021-01-01") == [FEB21]
    assert rounds(ToReportingDate="2018-01-01") == [DEC17]
    assert rounds(FromReportingDate="2017-12-31", ToReportingDate="2017-12-31") == [DEC17]
    assert rounds(FromReportingDate="2021-02-28T00:00:00") == [FEB21]
    assert rounds(FromReportingDate="2018-01-01", ToReportingDate="2021-01-31") == []
    assert rounds(FromRoundNumber=100) == [FEB21]
    assert rounds(ToRoundNumber=DEC17) == [DEC17]
    assert rounds(FromRoundNumber=DEC17, ToRoundNumber=FEB21) == [DEC17, FEB21]
    assert rounds(FromRoundNumber=0, ToRoundNumber=0) == [DEC17, FEB21]  # the R client's defaults
    assert rounds(FromRoundNumber="", ToReportingDate="") == [DEC17, FEB21]  # empty = not given


def test_parameter_names_are_case_insensitive(figures_client):
    a = ok(figures_client, V2[1], CountryName="Iraq", Admin1Pcode="IRQ-G15")
    b = ok(figures_client, V2[1], countryname="Iraq", admin1pcode="IRQ-G15")
    c = ok(figures_client, V2[1], COUNTRYNAME="Iraq", Admin1PCode="iqg15")
    assert a == b == c and len(a) == 2


def test_country_and_operation_lists(figures_client):
    for path in ("/v2/CountryList", "/v3/displacement/country-list"):
        assert ok(figures_client, path) == [{"admin0Name": "Iraq", "admin0Pcode": "IRQ"}]
    for path in ("/v2/OperationList", "/v3/displacement/operation-list"):
        assert ok(figures_client, path) == [
            {"operation": "Iraq", "operationStatus": "Active", "admin0Name": "Iraq", "admin0Pcode": "IRQ"}
        ]


def test_html_only_when_asked(figures_client):
    r = figures_client.get(V2[0], params={"CountryName": "Iraq"}, headers={"Accept": "text/html"})
    assert r.headers["content-type"].startswith("application/json")
    r = figures_client.get(V2[0], params={"CountryName": "Iraq", "f": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html") and str(FEB21_PUBLISHED) in r.text


# ---------------------------------------------------------------------------- errors


def test_errors_use_the_envelope(figures_client):
    msg = failed(figures_client, V2[1], Admin1Pcode="IRQ-G15")
    assert "Operation, CountryName, Admin0Pcode" in msg
    msg = failed(figures_client, V2[1], CountryName="Iraq", Admin1Pcode="IRQ-G15Q01")
    assert msg == (
        "Admin1Pcode 'IRQ-G15Q01' is a district (admin 2) P-code, not a governorate (admin 1) P-code; use Admin2Pcode"
    )
    msg = failed(figures_client, V3[2], CountryName="Iraq", Admin2Pcode="G1!Q")
    assert "Admin2Pcode" in msg and "not a P-code" in msg
    msg = failed(figures_client, V2[0], Admin0Pcode="IRQ-G01")
    assert "Admin0Pcode" in msg and "country code" in msg
    msg = failed(figures_client, V2[0], CountryName="Iraq", FromRoundNumber="abc")
    assert "FromRoundNumber" in msg and "'abc'" in msg
    msg = failed(figures_client, V2[0], CountryName="Iraq", FromReportingDate="28/02/2021")
    assert "FromReportingDate" in msg
    msg = failed(
        figures_client, V2[0], CountryName="Iraq", FromReportingDate="2021-03-01", ToReportingDate="2021-01-01"
    )
    assert "FromReportingDate" in msg and "ToReportingDate" in msg
    msg = failed(figures_client, V2[0], CountryName="Iraq", FromRoundNumber=121, ToRoundNumber=120)
    assert "FromRoundNumber (121)" in msg
    msg = failed(figures_client, V2[0], CountryName="Iraq", FromRoundNumber=-1)
    assert "FromRoundNumber" in msg


# ---------------------------------------------------------------------------- the real dtmapi client


@pytest.fixture(scope="module")
def live_server(figures_url):
    """The app served by uvicorn on a free 127.0.0.1 port, in a background thread."""
    return figures_url


def local_dtmapi(base_url: str, api_version: str = "v3"):
    """dtmapi's own client, pointed at ``base_url`` through its per-client endpoint hook
    (``_get_endpoint``): the paths stay dtmapi's, only scheme and host change. No dtmapi
    code or module constant is patched. The key is required by dtmapi and ignored here."""
    from dtmapi import DTMApi

    class LocalDTMApi(DTMApi):
        def _get_endpoint(self, endpoint_type: str) -> str:
            real = urlsplit(super()._get_endpoint(endpoint_type))
            base = urlsplit(base_url)
            return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + real.path, "", ""))

    return LocalDTMApi(subscription_key="not-checked-here", api_version=api_version, max_retries=0, timeout=30)


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_real_dtmapi_client(live_server, feb21, version):
    api = local_dtmapi(live_server, version)

    countries = api.get_all_countries()
    assert countries.to_dict("records") == [{"admin0Name": "Iraq", "admin0Pcode": "IRQ"}]
    assert api.get_all_operations()["operation"].tolist() == ["Iraq"]

    a0 = api.get_idp_admin0_data(CountryName="Iraq")
    assert a0["roundNumber"].tolist() == [DEC17, FEB21]
    assert a0["numPresentIdpInd"].tolist() == [2_615_988, FEB21_PUBLISHED]

    a1 = api.get_idp_admin1_data(CountryName="Iraq", FromRoundNumber=FEB21, ToRoundNumber=FEB21)
    assert len(a1) == len({p for (lvl, p) in feb21 if lvl == 1 and p != "UNASSIGNED"})
    assert a1["admin1Pcode"].str.fullmatch(r"IRQ-G\d{2}").all()
    assert int(a1["numPresentIdpInd"].sum()) + feb21.get((1, "UNASSIGNED"), 0) == FEB21_PUBLISHED
    ninewa = a1.loc[a1["admin1Pcode"] == "IRQ-G15"]
    assert ninewa["admin1Name"].tolist() == ["Ninewa"]
    assert ninewa["numPresentIdpInd"].tolist() == [feb21[(1, "IQG15")]]

    a2 = api.get_idp_admin2_data(
        Admin0Pcode="IRQ", Admin1Pcode="IRQ-G15", FromReportingDate="2021-01-01", ToReportingDate="2021-12-31"
    )
    assert len(a2) > 0 and a2["admin2Pcode"].str.fullmatch(r"IRQ-G15Q\d{2}").all()
    assert (a2["reportingDate"] == "2021-02-28T00:00:00").all()
    assert int(a2["numPresentIdpInd"].sum()) == sum(
        n for (lvl, p), n in feb21.items() if lvl == 2 and p.startswith("IQG15")
    )
    hilla = api.get_idp_admin2_data(CountryName="Iraq", Admin2Pcode="IQG07Q02", FromRoundNumber=FEB21)
    assert hilla[["admin2Name", "numPresentIdpInd"]].values.tolist() == [["Al-Hilla", feb21[(2, "IQG07Q02")]]]
    if version == "v3":
        assert {"displacementReason", "numberMales", "idpOriginAdmin1Pcode"} <= set(a2.columns)


def test_real_dtmapi_client_sees_errors(live_server):
    from dtmapi import DTMApiRequestError

    api = local_dtmapi(live_server)
    with pytest.raises(DTMApiRequestError) as err:
        api.get_idp_admin1_data(CountryName="Iraq", Admin1Pcode="IRQ-G15Q01")
    # dtmapi raises on the HTTP status before it reads the body: it reports the status only
    assert err.value.status_code == 400


def test_internal_errors_use_the_envelope():
    """A database that cannot be reached: 503 with Retry-After (issue 14), in the DTM envelope, not the
    service's usual error body."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    from service.api.errors import DB_UNAVAILABLE
    from service.app import create_app
    from service.core.settings import Settings

    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    with TestClient(create_app(Settings(database_url=url), create_engine(url))) as client:
        for path in ("/v2/CountryList", V3[1] + "?CountryName=Iraq"):
            r = client.get(path)
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            assert r.json() == {
                "isSuccess": False,
                "result": [],
                "statusCode": 503,
                "totalRecordsCount": 0,
                "errorMessages": [DB_UNAVAILABLE],
            }
