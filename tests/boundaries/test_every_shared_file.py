"""Every unit of every real boundary file in ../shared/data keeps a non-empty, valid geometry at
every generalised band (property over the real files: Iraq, Nigeria's shapefiles, Malawi).

A narrow unit wider than a pixel one way but thinner than the GeoJSON grid the other (Nigeria's
wards, Malawi's traditional authorities) used to collapse to nothing in lon/lat once snapped to
the band's grid, and the import failed on ``admin_unit_generalised.geom``. The low bands (where
the grid is coarse) are all checked; above them a sample, to keep the test fast.
"""

from __future__ import annotations

import warnings

import pytest

from boundaries.generalise import generalise_level
from boundaries.reader import read_boundaries
from tests.conftest import SHARED

FILES = sorted(
    [
        *(SHARED / "irq_cod_ab").glob("*.geojson"),
        *(SHARED / "nga_cod_ab").glob("*.shp"),
        *(SHARED / "mwi_cod_ab").glob("*.json"),
    ]
)
BANDS = (0, 1, 2, 3, 5, 12)


def test_the_shared_boundary_files_are_all_there():
    assert {f.parent.name for f in FILES} == {"irq_cod_ab", "nga_cod_ab", "mwi_cod_ab"}
    assert len(FILES) == 11


@pytest.mark.parametrize("path", [f for f in FILES if "adm0" not in f.name], ids=lambda p: p.name)
def test_every_unit_has_a_geometry_at_every_band(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read = read_boundaries(path)
        bands = generalise_level(read.units, bands=BANDS)
    assert [b.zband for b in bands] == list(BANDS)
    for band in bands:
        assert len(band.pcodes) == len(read.units)
        for name, geoms in (("lon/lat", band.geoms_4326), ("web mercator", band.geoms_3857)):
            bad = [
                p
                for p, g in zip(band.pcodes, geoms)
                if g is None or g.is_empty or not g.is_valid or g.geom_type != "MultiPolygon"
            ]
            assert not bad, f"{path.name} band {band.zband} ({name}): {len(bad)} units without a geometry, {bad[:5]}"
