"""A database of this package's own (no boundaries needed: the points stand in West Africa)
with a generated (synthetic) network: 12 points over 90 days, imported once."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.synthetic_events_flows import write_fmp_daily
from tests.conftest import SHARED, client_for, cloned_engine

PLACES = SHARED / "natural_earth" / "ne_10m_populated_places.json.gz"


@pytest.fixture(scope="package")
def fmp_files(tmp_path_factory):
    return write_fmp_daily(tmp_path_factory.mktemp("fmp"), points=12, years=90 / 365, start=dt.date(2023, 1, 1), seed=4)


@pytest.fixture(scope="package")
def fl_engine(pg_server, template_db, fmp_files):
    from service.flows.importer import import_flows

    registry, daily = fmp_files
    with cloned_engine(pg_server, template_db, "dtm_atlas_test_flows") as engine:
        engine.first_import = import_flows(engine, daily, points=registry, synthetic=True, places=PLACES)
        yield engine


@pytest.fixture(scope="package")
def fl_client(fl_engine):
    with client_for(fl_engine) as c:
        yield c
