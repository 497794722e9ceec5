"""The dataset registry: field definitions, SQL against the real rounds, naming."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from boundaries.pcode import to_dtm_pcode
from service.core.rounds import find_round
from service.publish import naming
from service.publish.datasets import DATASETS, Selection


def test_registry_fields():
    assert list(DATASETS) == [
        "admin0",
        "admin1",
        "admin2",
        "admin3",
        "locations",
        "sites",
        "figures-adm1",
        "figures-adm2",
        "figures-adm3",
        "fragility-adm1",
        "fragility-adm2",
        "fragility-adm3",
        "events-locations",
        "events-adm1",
        "events-adm2",
        "events-adm3",
        "flow-points",
        "flow-months",
    ]
    for ds in DATASETS.values():
        shorts = [f.short for f in ds.fields]
        assert all(1 <= len(s) <= 10 for s in shorts), ds.key
        assert len({s.lower() for s in shorts}) == len(shorts), ds.key
        assert all(f.hxl.startswith("#") and f.description for f in ds.fields), ds.key
        assert {"name_en", "name_ar"} <= {f.name for f in ds.fields}
    loc = DATASETS["locations"]
    assert loc.field("individuals").hxl_for("idp") == "#affected+idps+ind"
    assert loc.field("families").hxl_for("returnee") == "#affected+returnees+hh"


@pytest.mark.parametrize("population,number", [("idp", 86), ("idp", 120), ("returnee", 120)])
def test_figures_reconcile_with_national_total(figures_engine, population, number):
    with figures_engine.connect() as c:
        rnd = find_round(c, round_number=number, population=population)
        national = c.execute(
            text("SELECT individuals, locations FROM unit_figure WHERE round_id = :r AND level = 0"), {"r": rnd["id"]}
        ).one()
        for level in (1, 2, 3):
            sel = Selection(DATASETS[f"figures-adm{level}"], round=rnd, spatial=False)
            rows = [r for b in sel.batches(c, "table") for r in b]
            ind = [f.name for f in sel.dataset.fields].index("individuals") + 1
            assert sum(r[ind] for r in rows) == national.individuals
            assert sel.count(c) == len(rows)
        loc = Selection(DATASETS["locations"], round=rnd)
        assert loc.count(c) == national.locations


def test_dtm_pcode_sql_matches_python(figures_engine):
    with figures_engine.connect() as c:
        for level in range(4):
            sel = Selection(DATASETS[f"admin{level}"])
            rows = [r for b in sel.batches(c, "table") for r in b]
            assert rows
            for r in rows:
                assert r[2] == to_dtm_pcode(r[1])  # fid, pcode, dtm_pcode, ...


def test_names():
    assert (
        naming.base_name("figures-adm2", country="IRQ", round_number=120, population="idp", date=dt.date(2021, 2, 28))
        == "irq_dtm_idp_adm2_r120_20210228"
    )
    assert (
        naming.base_name("locations", country="IRQ", round_number=86, population="returnee", date=dt.date(2017, 12, 31))
        == "irq_dtm_returnee_locations_r86_20171231"
    )
    assert naming.base_name("admin3", country="IRQ", date=dt.date(2019, 6, 3)) == "irq_dtm_admbnda_adm3_20190603"
    assert naming.base_name("sites", country="IRQ", date=dt.date(2024, 1, 2)) == "irq_dtm_sites_20240102"
    assert naming.file_name("x", "shp") == "x.shp.zip"
    assert naming.file_name("x", "gpkg") == "x.gpkg" and naming.file_name("x", "csv", zipped=True) == "x.csv.zip"
