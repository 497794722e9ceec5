"""A database of this package's own: the Iraq boundaries and the Feb 2021 IDP and returnee
master lists (round 120), on which the fragility runs write."""

from __future__ import annotations

import pytest

from tests.conftest import MASTERLISTS, SHARED, client_for, cloned_engine


@pytest.fixture(scope="package")
def frag_engine(pg_server, iraq_template):
    from service.ingest.rounds import import_masterlist

    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_frag") as engine:
        for fname, population in (
            ("IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "idp"),
            ("Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv", "returnee"),
        ):
            import_masterlist(engine, MASTERLISTS / fname, population=population)
        yield engine


@pytest.fixture(scope="package")
def frag_client(frag_engine):
    with client_for(frag_engine) as c:
        yield c


@pytest.fixture(scope="package")
def default_run(frag_engine):
    from service.fragility.run import ensure_run

    run, _ = ensure_run(frag_engine, shared_dir=SHARED, round_number=120)
    return run
