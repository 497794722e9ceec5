"""A boundary file of the same validOn with other geometry is refused unless --replace
(the units under every round must not be redrawn silently)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from boundaries.reader import read_boundaries
from boundaries.store import BoundaryConflict, import_boundaries
from tests.conftest import COD_AB


def test_same_valid_on_other_geometry_is_refused(iraq_fresh_engine, tmp_path):
    src = COD_AB / "irq_admbnda_adm1_cso_20190603.geojson"
    doc = json.loads(src.read_text(encoding="utf-8"))
    geom = doc["features"][0]["geometry"]
    ring = geom["coordinates"][0][0] if geom["type"] == "MultiPolygon" else geom["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]  # two vertices swapped in one governorate
    changed = tmp_path / src.name
    changed.write_text(json.dumps(doc), encoding="utf-8")
    with iraq_fresh_engine.connect() as c:
        before = c.execute(
            text("SELECT md5(string_agg(ST_AsBinary(geom)::text, '' ORDER BY pcode)) FROM admin_unit WHERE level = 1")
        ).scalar()
    with pytest.raises(BoundaryConflict, match="already imported from a different file.*--replace"):
        import_boundaries(iraq_fresh_engine, read_boundaries(changed))
    with iraq_fresh_engine.connect() as c:
        after = c.execute(
            text("SELECT md5(string_agg(ST_AsBinary(geom)::text, '' ORDER BY pcode)) FROM admin_unit WHERE level = 1")
        ).scalar()
    assert after == before
    res = import_boundaries(iraq_fresh_engine, read_boundaries(changed), replace=True)
    assert res.outcome == "committed"
