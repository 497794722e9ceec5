"""A database holding Nigeria's and Malawi's boundaries and their two real assessments.

To keep the suite fast the fixture imports the parts of the boundary files the assessments lie
in: Nigeria's 37 states and the LGAs of the five north-eastern states (where all 309 sites
are), Malawi's three regions and the districts and traditional authorities of the Southern
Region (MW3..., where all 776 locations are). The files are read whole; only the import is cut.
"""

from __future__ import annotations

import os
import warnings

import pytest
from sqlalchemy import create_engine

from tests.conftest import SHARED, cloned_engine, create_database, drop_database

NGA_SITES = SHARED / "dtm_nigeria_sites" / "dtm_nigeria_r39_site_assessment.xlsx"
MWI_LOCATIONS = SHARED / "dtm_malawi_location_assessment" / "dtm_malawi_location_assessment_b2_01.csv"
NORTH_EAST = ("NG002", "NG005", "NG008", "NG035", "NG036")  # Adamawa, Bauchi, Borno, Taraba, Yobe


def import_boundaries_part(engine, path, keep=None):
    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read = read_boundaries(path)
    if keep is not None:
        read.units = read.units[read.units["pcode"].str.startswith(keep)].reset_index(drop=True)
    return import_boundaries(engine, read)


@pytest.fixture(scope="session")
def assessments_template(pg_server, template_db):
    """Template: boundaries of both countries, and the two assessments imported as public datasets."""
    from service.indicators.store import import_dataset

    name = f"dtm_atlas_test_assess_tpl_{os.getpid()}"
    engine = create_engine(create_database(pg_server, name, template_db))
    nga, mwi = SHARED / "nga_cod_ab", SHARED / "mwi_cod_ab"
    import_boundaries_part(engine, nga / "nga_admbnda_adm1_osgof_20190417.shp")
    import_boundaries_part(engine, nga / "nga_admbnda_adm2_osgof_20190417.shp", NORTH_EAST)
    import_boundaries_part(engine, mwi / "MWI_adm1.json")
    import_boundaries_part(engine, mwi / "MWI_adm2.json", "MW3")
    import_boundaries_part(engine, mwi / "MWI_adm3.json", "MW3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {
            "NGA": import_dataset(engine, NGA_SITES, unit="site", access="public"),
            "MWI": import_dataset(engine, MWI_LOCATIONS, unit="location", access="public"),
        }
    engine.dispose()
    yield name, results
    drop_database(pg_server, name)


@pytest.fixture(scope="session")
def assessments(pg_server, assessments_template):
    """(engine, {ISO3: DatasetImport}) shared by the tests that only read."""
    name, results = assessments_template
    with cloned_engine(pg_server, name, "dtm_atlas_test_assess") as engine:
        yield engine, results


@pytest.fixture(scope="session")
def assessments_client(assessments):
    from tests.conftest import client_for

    with client_for(assessments[0]) as c:
        yield c


@pytest.fixture
def assessments_fresh(pg_server, assessments_template):
    """A database of one's own with the same content, for tests that write."""
    name, results = assessments_template
    with cloned_engine(pg_server, name) as engine:
        yield engine, results
