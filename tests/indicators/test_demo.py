"""The demo (``./dev run``, ``dtm-atlas demo``) loads Nigeria's and Malawi's boundaries and their
real assessments, public, beside Iraq: the web map lists the three countries and /datasets both
assessments; a second run changes nothing. To stay fast the shared folder is a copy of links to
the files the demo reads with the admin-1 boundaries only (the demo's own globs pick them up)."""

from __future__ import annotations

from rich.console import Console

from tests.conftest import SHARED, client_for, settings_for


def _shared_subset(tmp_path):
    root = tmp_path / "shared"
    nga, mwi = root / "nga_cod_ab", root / "mwi_cod_ab"
    nga.mkdir(parents=True)
    mwi.mkdir()
    for f in (SHARED / "nga_cod_ab").glob("nga_admbnda_adm1_*"):
        (nga / f.name).symlink_to(f)
    (mwi / "MWI_adm1.json").symlink_to(SHARED / "mwi_cod_ab" / "MWI_adm1.json")
    for folder in ("dtm_nigeria_sites", "dtm_malawi_location_assessment"):
        (root / folder).symlink_to(SHARED / folder)
    return root


def test_demo_loads_nigeria_and_malawi_beside_iraq(iraq_fresh_engine, tmp_path):
    from service.demo import load_other_operations

    engine = iraq_fresh_engine
    settings = settings_for(engine).model_copy(update={"shared_data_dir": _shared_subset(tmp_path)})
    console = Console(record=True, width=200)
    load_other_operations(engine, settings, console)
    load_other_operations(engine, settings, console)  # again: nothing new
    out = console.export_text()
    assert "dtm_nigeria_r39_site_assessment.xlsx: dataset" in out and "309 sites" in out
    assert "dtm_malawi_location_assessment_b2_01.csv: dataset" in out and "776 locations" in out
    assert out.count(": unchanged") == 2
    with client_for(engine) as c:
        countries = {k["country"] for k in c.get("/webmap/countries").json()["countries"]}
        datasets = {(d["country"], d["observations"]) for d in c.get("/datasets").json()["datasets"]}
    assert {"IRQ", "NGA", "MWI"} <= countries
    assert datasets == {("NGA", 309), ("MWI", 776)}  # public: an anonymous reader sees both
