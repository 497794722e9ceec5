"""The typed input layer (service/api/params.py): the same 400 for a bad value on every path,
rounds by number or date, range checks before the database, several countries."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import MASTERLISTS, client_for

ROUND_PATHS = [
    "/flows",
    "/locations",
    "/choropleth/2.geojson",
    "/admin-units/IQG07/breakdown",
    "/exports/figures-adm1.csv",
    "/styles/idp-by-district.json",
    "/tiles/districts.json",
    "/tiles/districts/5/19/12.mvt",
]


def detail(r, status=400) -> str:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert body["status"] == status
    return body["detail"]


def test_the_issue_examples_are_400_naming_the_parameter(figures_client):
    d = detail(figures_client.get("/locations", params={"round": "22742582223", "pcode": "IQ"}))
    assert d.startswith("round:") and "out of range" in d and "reporting date" in d
    d = detail(figures_client.get("/rounds/120/quality", params={"offset": "1" * 28}))
    assert d.startswith("offset:") and "2147483647" in d
    d = detail(figures_client.get("/flows", params={"round": "52806691132"}))
    assert d.startswith("round:")
    d = detail(figures_client.get("/admin-units/IQ%3B%3B/breakdown"))
    assert d.startswith("pcode:") and "not a P-code" in d
    d = detail(figures_client.get(f"/rounds/{2**40}"))  # a DTM round number, as ?round= everywhere
    assert d.startswith("ref:") and "out of range" in d
    r = figures_client.get("/v2/IdpAdmin1Data", params={"Admin0Pcode": "IRQ", "FromRoundNumber": 10**12})
    assert r.status_code == 400 and not r.json()["isSuccess"] and "FromRoundNumber" in r.json()["errorMessages"][0]


@pytest.mark.parametrize("path", ROUND_PATHS)
@pytest.mark.parametrize("value", ["abc", "99999999999", "-1", "2021-02-30"])
def test_a_bad_round_is_the_same_400_everywhere(figures_client, path, value):
    d = detail(figures_client.get(path, params={"round": value}))
    assert d.startswith("round:") and "accepted: a DTM round number" in d, d


@pytest.mark.parametrize(
    "path",
    [
        "/flows",
        "/locations",
        "/choropleth/2.geojson",
        "/exports/figures-adm1.csv",
        "/tiles/districts.json",
        "/tiles/districts/5/19/12.mvt",
    ],
)
def test_bad_population_and_country(figures_client, path):
    d = detail(figures_client.get(path, params={"population": "refugee"}))
    assert d.startswith("population:") and "idp" in d and "returnee" in d
    if not path.startswith("/tiles"):
        d = detail(figures_client.get(path, params={"country": "Narnia"}))
        assert d.startswith("country:") and "alpha-3" in d


def test_round_by_reporting_date(figures_client):
    by_number = figures_client.get("/flows", params={"round": 120}).json()
    by_date = figures_client.get("/flows", params={"round": "2021-02-28"}).json()
    assert by_date["round_number"] == 120 and by_date == by_number
    assert figures_client.get("/flows", params={"round": "2017-12-31"}).json()["round_number"] == 86
    r = figures_client.get("/flows", params={"round": "2019-06-30"})
    d = detail(r, 404)
    assert "2019-06-30" in d and "120 (2021-02-28)" in d and "86 (2017-12-31)" in d
    ret = figures_client.get("/choropleth/1.geojson", params={"round": "2021-02-28", "population": "returnee"})
    assert ret.status_code == 200 and ret.json()["round"]["population"] == "returnee"
    tj = figures_client.get("/tiles/governorates.json", params={"round": "2021-02-28"}).json()
    assert tj["dtm_atlas"]["round"]["round_number"] == 120 and "round=120" in tj["tiles"][0]
    tile = figures_client.get("/tiles/governorates/5/19/12.mvt", params={"round": "2017-12-31"})
    assert tile.status_code == 200
    style = figures_client.get("/styles/idp-by-district.json", params={"round": "2017-12-31"})
    assert style.status_code == 200 and "round=86" in style.text


def test_limits_and_offsets_in_range(figures_client):
    assert detail(figures_client.get("/locations", params={"limit": 0})).startswith("limit:")
    assert detail(figures_client.get("/locations", params={"offset": 2**31})).startswith("offset:")
    assert figures_client.get("/locations", params={"offset": 2**31 - 1, "limit": 1}).json()["features"] == []
    assert detail(figures_client.get("/admin-units", params={"boundary_set": 2**33})).startswith("boundary_set:")
    assert detail(figures_client.get("/ogc/collections/admin1/items", params={"offset": 10**20})).startswith("offset:")
    assert figures_client.get("/ogc/collections/idp-r99999999999-adm1").status_code == 404
    assert figures_client.get(f"/ogc/collections/idp-r120-locations/items/{10**30}").status_code == 404
    assert detail(figures_client.get("/locations", params={"bbox": "1,2,3"})).startswith("bbox:")
    assert detail(figures_client.get("/locations", params={"bbox": "nan,1,2,3"})).startswith("bbox:")


def test_several_countries_need_a_country(iraq_fresh_engine):
    """A second (synthetic) country with boundaries and a round: queries that do not say
    which country answer 400 listing both; naming one works."""
    from service.ingest.rounds import import_masterlist

    import_masterlist(
        iraq_fresh_engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="idp"
    )
    with iraq_fresh_engine.begin() as c:
        set_id = c.execute(
            text(
                "INSERT INTO boundary_set (country, source, valid_on, is_current) "
                "VALUES ('SYR', 'synthetic', '2020-01-01', true) RETURNING id"
            )
        ).scalar_one()
        c.execute(
            text(
                "INSERT INTO round (country, population, round_number, reporting_date, boundary_set_id, "
                "placement, swap_corrected) VALUES ('SYR', 'idp', 120, '2021-03-31', :s, 'declared', false)"
            ),
            {"s": set_id},
        )
    with client_for(iraq_fresh_engine) as client:
        for path in ("/flows", "/locations", "/choropleth/1.geojson", "/boundaries/1.geojson"):
            d = detail(client.get(path, params={"round": 120} if "bound" not in path else {}))
            assert d.startswith("country:") and "IRQ, SYR" in d, (path, d)
        assert client.get("/flows", params={"round": 120, "country": "IRQ"}).json()["round_number"] == 120
        assert client.get("/flows", params={"round": 120, "country": "iq"}).status_code == 200
        assert client.get("/choropleth/1.geojson", params={"round": 120, "country": "IRQ"}).status_code == 200
        assert client.get("/boundaries/1.geojson", params={"country": "IRQ"}).status_code == 200
        # a date only one country has is not ambiguous; a breakdown's P-code names its country
        assert client.get("/flows", params={"round": "2021-02-28"}).json()["round_number"] == 120
        assert client.get("/admin-units/IQG07/breakdown", params={"round": 120}).status_code == 200
        # the rounds list: one country's, or every country's (country=all); omitted, a 400 listing them
        d = detail(client.get("/rounds"))
        assert d.startswith("country:") and "IRQ, SYR" in d and "country=all" in d, d
        assert {r["country"] for r in client.get("/rounds", params={"country": "all"}).json()} == {"IRQ", "SYR"}
        assert {r["country"] for r in client.get("/rounds", params={"country": "SYR"}).json()} == {"SYR"}
        assert client.get("/rounds", params={"country": "COM"}).status_code == 404
