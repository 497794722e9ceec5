"""Admin tiles made from the polygons cut into tiles at import (tiles.pretile) are the tiles
the per-request clipping makes: same bytes, tile by tile, with a round's figures joined."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.core.importlog import data_version
from tests.tiles import BAGHDAD, IRAQ_BOUNDS, TMS, decode, tile_at
from tiles.layers import LAYERS
from tiles.mvt import Resolver, TileQuery, render_tile, tiles_in

ADMIN = [LAYERS["governorates"], LAYERS["districts"], LAYERS["subdistricts"]]


def _tiles() -> list[tuple[int, int, int]]:
    """Every tile over Iraq at z0-z6, and the 3 x 3 tiles around Baghdad at z7-z12."""
    out = [(t.z, t.x, t.y) for z in range(0, 7) for t in tiles_in(IRAQ_BOUNDS, z)]
    for z in range(7, 13):
        c = TMS.tile(*BAGHDAD, z)
        out += [(z, c.x + dx, c.y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    return out


@pytest.mark.parametrize("indicator", ["individuals", "change"])
def test_pretiled_equals_clipped_per_request(figures_engine, indicator):
    with figures_engine.connect() as conn:
        ctx = Resolver().context(conn, data_version(conn), TileQuery(indicator=indicator), ADMIN)
        assert ctx.round is not None
        tiles = _tiles()
        compared = nonempty = 0
        for z, x, y in tiles:
            for layer in ADMIN:
                cut = render_tile(conn, [layer], z, x, y, ctx, pretiled=True)
                clipped = render_tile(conn, [layer], z, x, y, ctx, pretiled=False)
                assert cut == clipped, f"{layer.id} {z}/{x}/{y}"
                compared += 1
                nonempty += bool(cut)
            composite = render_tile(conn, ADMIN, z, x, y, ctx, pretiled=True)
            assert composite == render_tile(conn, ADMIN, z, x, y, ctx, pretiled=False)
        assert compared == 3 * len(tiles) and nonempty > compared // 2
        # and the figures are in them
        z, x, y = tile_at(*BAGHDAD, 7)
        props = [f["properties"] for f in decode(render_tile(conn, [ADMIN[1]], z, x, y, ctx))["districts"]]
        assert any(p.get("value") is not None and p.get("class") is not None for p in props)


def test_cut_at_import_for_every_band_and_level(iraq_engine):
    with iraq_engine.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT level * 100 + z, count(*) FROM admin_unit_tile t JOIN boundary_set b "
                    "ON b.id = t.boundary_set_id AND b.is_current GROUP BY level, z"
                )
            ).all()
        )
    for level, units in ((1, 18), (2, 101), (3, 294)):
        for z in range(0, 13):
            assert rows.get(level * 100 + z, 0) >= units * 0.9, (level, z)  # every unit in at least one tile
        assert rows[level * 100 + 12] > rows[level * 100 + 5]
    assert not any(k % 100 > 12 for k in rows)


def test_pretiled_equals_clipped_at_the_edge_of_the_world(fresh_engine, tmp_path):
    """Units reaching past Web Mercator's +-85.05 degrees and the antimeridian: both paths
    choose the same candidates (the buffered envelope, clamped at the world's edge)."""
    import geopandas as gpd
    from shapely.geometry import box

    from boundaries.reader import read_boundaries
    from boundaries.store import import_boundaries
    from tests.conftest import COD_AB

    units = gpd.read_file(next(COD_AB.glob("*adm1*.geojson")))
    edge = {
        "IQG01": box(10.0, 84.6, 20.0, 85.4),  # across the northern edge
        "IQG04": box(30.0, 85.06, 40.0, 85.2),  # wholly past it, within a tile buffer at low zooms
        "IQG02": box(175.0, 84.0, 179.9999, 85.2),  # at the antimeridian
        "IQG03": box(-179.9999, -85.3, -170.0, -84.5),
    }
    for pcode, geom in edge.items():
        units.loc[units.ADM1_PCODE == pcode, "geometry"] = geom
    path = tmp_path / "irq_adm1_edge.geojson"
    units.to_file(path, driver="GeoJSON")
    import_boundaries(fresh_engine, read_boundaries(path))
    layer = LAYERS["governorates"]
    with fresh_engine.connect() as conn:
        ctx = Resolver().context(conn, data_version(conn), TileQuery(), [layer])
        nonempty = 0
        for z in range(0, 5):
            n = 1 << z
            for x, y in {(0, 0), (n - 1, 0), (n // 2, 0), (0, n - 1), (n - 1, n - 1), (n // 2 + n // 36, 0)}:
                cut = render_tile(conn, [layer], z, x, y, ctx, pretiled=True)
                assert cut == render_tile(conn, [layer], z, x, y, ctx, pretiled=False), f"{z}/{x}/{y}"
                nonempty += bool(cut)
        assert nonempty >= 5
