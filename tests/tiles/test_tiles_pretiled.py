"""Admin tiles made from the polygons cut into tiles at import (tiles.pretile) are the tiles
the per-request clipping makes: same bytes, tile by tile, with a round's figures joined."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.tiles import BAGHDAD, IRAQ_BOUNDS, TMS, decode
from tiles.layers import LAYERS
from tiles.mvt import Resolver, TileQuery, data_version, render_tile, tiles_in

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
        compared = nonempty = 0
        for z, x, y in _tiles():
            for layer in ADMIN:
                cut = render_tile(conn, [layer], z, x, y, ctx, pretiled=True)
                clipped = render_tile(conn, [layer], z, x, y, ctx, pretiled=False)
                assert cut == clipped, f"{layer.id} {z}/{x}/{y}"
                compared += 1
                nonempty += bool(cut)
            composite = render_tile(conn, ADMIN, z, x, y, ctx, pretiled=True)
            assert composite == render_tile(conn, ADMIN, z, x, y, ctx, pretiled=False)
        assert compared == 3 * len(_tiles()) and nonempty > compared // 2
        # and the figures are in them
        z, x, y = (TMS.tile(*BAGHDAD, 7).z, TMS.tile(*BAGHDAD, 7).x, TMS.tile(*BAGHDAD, 7).y)
        props = [f["properties"] for f in decode(render_tile(conn, [ADMIN[1]], z, x, y, ctx))["districts"]]
        assert any(p.get("value") is not None and p.get("class") is not None for p in props)


def test_cut_at_import_for_every_band_and_level(iraq_engine):
    with iraq_engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT level * 100 + z, count(*) FROM admin_unit_tile t JOIN boundary_set b "
            "ON b.id = t.boundary_set_id AND b.is_current GROUP BY level, z")).all())
    for level, units in ((1, 18), (2, 101), (3, 294)):
        for z in range(0, 13):
            assert rows.get(level * 100 + z, 0) >= units * 0.9, (level, z)  # every unit in at least one tile
        assert rows[level * 100 + 12] > rows[level * 100 + 5]
    assert not any(k % 100 > 12 for k in rows)
