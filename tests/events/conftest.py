"""A database of this package's own: the Iraq boundaries and a generated (synthetic) Mosul-like
crisis of 60 days, imported once."""

from __future__ import annotations

import pytest

from bench.synthetic_events_flows import write_ett
from tests.conftest import client_for, cloned_engine

CRISIS = "SYN-MOSUL-2016"


@pytest.fixture(scope="package")
def ett_file(tmp_path_factory):
    return write_ett(tmp_path_factory.mktemp("ett") / "mosul.csv", days=60, rows_per_day=150, crisis=CRISIS)


@pytest.fixture(scope="package")
def ev_engine(pg_server, iraq_template, ett_file):
    from service.events.importer import import_events

    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_events") as engine:
        engine.first_import = import_events(engine, ett_file, country="IRQ", crisis_id=CRISIS, synthetic=True)
        yield engine


@pytest.fixture(scope="package")
def ev_client(ev_engine):
    with client_for(ev_engine) as c:
        yield c
