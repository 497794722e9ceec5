"""Shared pieces of the publishing tests: a database with an UNASSIGNED bucket and sites, a live server.

Fixtures defined here are imported by the test modules (``from tests.publish import ...``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from service.figures.placement import add_round_partition
from tests.conftest import client_for, cloned_engine

SYNTHETIC_ROUND = 7
SYNTHETIC_DATE = "2019-01-31"

SYNTHETIC_ROUND_SQL = """
INSERT INTO round (country, population, round_number, reporting_date,
    boundary_set_id, placement, swap_corrected, source_file)
SELECT 'IRQ', 'idp', 7, DATE '2019-01-31', id, 'declared', true, 'synthetic.csv' FROM boundary_set WHERE is_current
RETURNING id
"""

# the round's rows, written directly into its partition (add_round_partition), and sites
SYNTHETIC_SQL = """
-- three locations inside real sub-districts, one placed in a district but no sub-district, one placed nowhere
INSERT INTO location_figure (round_id, country, location_id, source_row, name_en, name_ar, families, individuals,
                             geom, adm1, adm2, adm3, placement, flags)
SELECT r.id, 'IRQ', 'S' || n, n, 'Synthetic ' || n, 'موقع تجريبي ' || n, 10 * n, 60 * n,
       ST_PointOnSurface(u.geom), p1.pcode, p2.pcode, u.pcode, 'spatial', '{}'
FROM round r,
     (SELECT row_number() OVER (ORDER BY pcode) AS n, * FROM admin_unit WHERE level = 3 ORDER BY pcode LIMIT 3) u
     JOIN admin_unit p2 ON p2.boundary_set_id = u.boundary_set_id AND p2.pcode = u.parent_pcode
     JOIN admin_unit p1 ON p1.boundary_set_id = u.boundary_set_id AND p1.pcode = p2.parent_pcode
WHERE r.round_number = 7;

INSERT INTO location_figure (round_id, country, location_id, source_row, name_en, name_ar, families, individuals,
                             geom, adm1, adm2, adm3, placement, flags)
SELECT r.id, 'IRQ', 'S4', 4, 'Synthetic 4', 'موقع تجريبي ٤', 5, 30, NULL, p1.pcode, p2.pcode, 'UNASSIGNED', 'declared',
       ARRAY['no_point']
FROM round r, admin_unit p2 JOIN admin_unit p1 ON p1.boundary_set_id = p2.boundary_set_id AND p1.pcode = p2.parent_pcode
WHERE r.round_number = 7 AND p2.pcode = (SELECT min(pcode) FROM admin_unit WHERE level = 2);

INSERT INTO location_figure (round_id, country, location_id, source_row, name_en, name_ar, families, individuals,
                             geom, adm1, adm2, adm3, placement, flags)
SELECT r.id, 'IRQ', 'S5', 5, 'Synthetic 5', 'موقع تجريبي ٥', 7, 42, ST_SetSRID(ST_MakePoint(51.0, 27.0), 4326),
       'UNASSIGNED', 'UNASSIGNED', 'UNASSIGNED', 'spatial', ARRAY['outside_country']
FROM round r WHERE r.round_number = 7;

INSERT INTO unit_figure (round_id, level, pcode, families, individuals, locations, published_individuals)
SELECT round_id, 0, 'IQ', sum(families), sum(individuals), count(*), sum(individuals) FROM location_figure f
  JOIN round r ON r.id = f.round_id WHERE r.round_number = 7 GROUP BY round_id
UNION ALL
SELECT round_id, 1, adm1, sum(families), sum(individuals), count(*), sum(individuals) FROM location_figure f
  JOIN round r ON r.id = f.round_id WHERE r.round_number = 7 GROUP BY round_id, adm1
UNION ALL
SELECT round_id, 2, adm2, sum(families), sum(individuals), count(*), sum(individuals) FROM location_figure f
  JOIN round r ON r.id = f.round_id WHERE r.round_number = 7 GROUP BY round_id, adm2
UNION ALL
SELECT round_id, 3, adm3, sum(families), sum(individuals), count(*), sum(individuals) FROM location_figure f
  JOIN round r ON r.id = f.round_id WHERE r.round_number = 7 GROUP BY round_id, adm3;

INSERT INTO site (country, site_id, name_en, name_ar, site_type, status, households, individuals,
    geom, adm1, adm2, adm3)
SELECT 'IRQ', 'IQ-CMP-00' || n, 'Camp ' || n, 'مخيم ' || n, 'camp', 'open', 100 * n, 600 * n,
       ST_PointOnSurface(u.geom), p1.pcode, p2.pcode, u.pcode
FROM (SELECT row_number() OVER (ORDER BY pcode DESC) AS n, *
      FROM admin_unit WHERE level = 3 ORDER BY pcode DESC LIMIT 3) u
     JOIN admin_unit p2 ON p2.boundary_set_id = u.boundary_set_id AND p2.pcode = u.parent_pcode
     JOIN admin_unit p1 ON p1.boundary_set_id = u.boundary_set_id AND p1.pcode = p2.parent_pcode;
INSERT INTO site (country, site_id, name_en, name_ar, site_type, status, households, individuals, geom)
VALUES ('IRQ', 'IQ-CMP-999', 'Camp without point', 'مخيم بلا موقع', 'informal settlement', 'closed', NULL, 12, NULL);
UPDATE data_version SET version = version + 1;
"""


@pytest.fixture(scope="module")
def synthetic_engine(pg_server, iraq_template):
    """Iraq boundaries, a small synthetic round (round 7, 2019-01-31) with UNASSIGNED buckets at
    levels 1-3, and four sites (one without a point). Module-scoped; tests must not modify it."""
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_publish") as engine:
        with engine.begin() as conn:
            add_round_partition(conn, conn.execute(text(SYNTHETIC_ROUND_SQL)).scalar_one())
            for stmt in SYNTHETIC_SQL.split(";\n"):
                if stmt.strip():
                    conn.execute(text(stmt))
        yield engine


@pytest.fixture(scope="module")
def synthetic_client(synthetic_engine):
    with client_for(synthetic_engine) as c:
        yield c


@pytest.fixture(scope="module")
def live_url(figures_url):
    """The app served by uvicorn on a free 127.0.0.1 port (in a thread), over the real master lists."""
    return figures_url


def unzip(path: Path, dest: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        z.extractall(dest)
        return z.namelist()
