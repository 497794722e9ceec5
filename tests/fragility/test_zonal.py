"""Zonal sums: exact on a raster of ones, small polygons, the real WorldPop subset against
an independent computation (shapely cell by cell), and bad rasters."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box, shape

from service.fragility.inputs import InputError, raster_zonal_sums
from tests.conftest import COD_AB, SHARED

REAL = SHARED / "rasters" / "worldpop_irq_pd_2020_1km_sulaymaniyah_subset.tif"
UTM = "EPSG:32638"


def write_tif(path, arr, transform, crs):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype=arr.dtype,
        transform=transform,
        crs=crs,
    ) as ds:
        ds.write(arr, 1)
    return path


def to_4326(geom, crs=UTM):
    t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def test_raster_of_ones_gives_polygon_area(tmp_path):
    tif = write_tif(
        tmp_path / "ones.tif", np.ones((200, 200), "float32"), from_origin(300_000, 4_000_000, 1000, 1000), UTM
    )
    # an irregular polygon with a hole, in metres, away from cell edges
    outer = [
        (320_321, 3_830_117),
        (371_913, 3_842_500),
        (389_004, 3_901_377),
        (351_222, 3_957_301),
        (333_700, 3_910_050),
        (305_555, 3_899_999),
    ]
    hole = [(340_100, 3_880_300), (352_700, 3_881_900), (349_900, 3_893_300)]
    poly = Polygon(outer, [hole])
    tiny = box(350_120, 3_850_210, 350_420, 3_850_410)  # 300 m x 200 m inside one cell
    got = raster_zonal_sums(tif, {"P": to_4326(poly), "T": to_4326(tiny)}, kind="density_per_km2").values["residents"]
    assert got["P"] == pytest.approx(poly.area / 1e6, rel=1e-4)
    assert got["T"] > 0
    assert got["T"] == pytest.approx(0.06, rel=1e-3)
    counts = raster_zonal_sums(tif, {"T": to_4326(tiny)}, kind="count").values["residents"]
    assert counts["T"] == pytest.approx(0.06, rel=1e-3)  # a count raster: the share of the cell inside


def _cell_area_km2(x0, y0, x1, y1, laea) -> float:
    cell = shapely.segmentize(box(x0, y0, x1, y1), 0.001)
    return shapely.transform(cell, lambda xy: np.column_stack(laea.transform(xy[:, 0], xy[:, 1]))).area / 1e6


def test_real_raster_matches_independent_computation():
    with rasterio.open(REAL) as ds:
        dens = ds.read(1, masked=True).filled(0).astype(float)
        t, (h, w) = ds.transform, ds.shape
        bounds = box(*ds.bounds)
    units = {
        f["properties"]["ADM3_PCODE"]: shape(f["geometry"])
        for f in json.loads((COD_AB / "irq_admbnda_adm3_cso_20190603.geojson").read_text())["features"]
    }
    near = {k: g for k, g in units.items() if g.intersects(bounds)}
    assert 3 <= len(near) <= 12
    got = raster_zonal_sums(REAL, units, kind="density_per_km2", min_coverage=0.0).values["residents"].dropna()
    assert set(got.index) == set(near)
    # independent: each cell's exact overlap with the polygon (shapely, in the raster's CRS) times its
    # density times its area in an equal-area projection
    cy = (bounds.bounds[1] + bounds.bounds[3]) / 2
    laea = Transformer.from_crs("EPSG:4326", f"+proj=laea +lat_0={cy} +lon_0=45.5 +datum=WGS84", always_xy=True)
    areas = [_cell_area_km2(t.c, t.f + (r + 1) * t.e, t.c + t.a, t.f + r * t.e, laea) for r in range(h)]
    for pcode, g in near.items():
        total = 0.0
        for r in range(h):
            for c in range(w):
                cell = box(t.c + c * t.a, t.f + (r + 1) * t.e, t.c + (c + 1) * t.a, t.f + r * t.e)
                if dens[r, c] and g.intersects(cell):
                    total += g.intersection(cell).area / cell.area * dens[r, c] * areas[r]
        assert got[pcode] == pytest.approx(total, rel=1e-4), pcode
    assert got.sum() > 1000


def test_partly_covered_units_are_reported_not_summed():
    units = {
        f["properties"]["ADM3_PCODE"]: shape(f["geometry"])
        for f in json.loads((COD_AB / "irq_admbnda_adm3_cso_20190603.geojson").read_text())["features"]
    }
    with pytest.raises(InputError, match="covers none of the 294 units whole"):
        raster_zonal_sums(REAL, units, kind="density_per_km2")


def test_raster_without_crs(tmp_path):
    tif = write_tif(tmp_path / "nocrs.tif", np.ones((10, 10), "float32"), from_origin(44, 36, 0.01, 0.01), None)
    with pytest.raises(InputError, match=r"nocrs.tif: the raster has no CRS"):
        raster_zonal_sums(tif, {"P": box(44.01, 35.95, 44.05, 35.99)})


def test_raster_not_overlapping(tmp_path):
    tif = write_tif(tmp_path / "far.tif", np.ones((10, 10), "float32"), from_origin(10, 50, 0.01, 0.01), "EPSG:4326")
    with pytest.raises(InputError, match=r"far.tif: the raster .* overlaps none of the 1 units"):
        raster_zonal_sums(tif, {"P": box(44.01, 35.95, 44.05, 35.99)})
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    with pytest.raises(InputError, match="not a readable raster"):
        raster_zonal_sums(tmp_path / "junk.tif", {"P": box(44.01, 35.95, 44.05, 35.99)})
