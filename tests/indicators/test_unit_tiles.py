"""The registry's ``dataset-adm1|adm2|adm3`` tile layers: an indicator dataset's aggregates on
its admin polygons, decoded, publish exactly what the public choropleth publishes (the same
values, the same small cells suppressed by the settings' disclosure rule)."""

from __future__ import annotations

import mapbox_vector_tile
import pytest

TILES = {"NGA": (4, 8, 7), "MWI": (4, 9, 8)}  # z/x/y of one tile over each country's units


def _decode(client, ds: int, level: int, indicator: str, zxy) -> dict:
    z, x, y = zxy
    r = client.get(f"/tiles/dataset-adm{level}/{z}/{x}/{y}.mvt?dataset={ds}&column={indicator}")
    assert r.status_code == 200, r.text
    return {
        f["properties"]["pcode"]: f["properties"]
        for f in mapbox_vector_tile.decode(r.content)[f"dataset-adm{level}"]["features"]
    }


@pytest.mark.parametrize(
    "iso3,level,indicator",
    [
        ("NGA", 1, "individuals"),
        ("NGA", 2, "individuals"),
        ("MWI", 2, "m0310_loc_num_idp_ind"),
        ("MWI", 3, "m0310_loc_num_idp_ind"),
    ],
)
def test_unit_tiles_publish_what_the_public_choropleth_does(assessments, assessments_client, iso3, level, indicator):
    ds = assessments[1][iso3].dataset_id
    doc = assessments_client.get(f"/choropleth/{level}.geojson?dataset={ds}&indicator={indicator}").json()
    want = {f["properties"]["pcode"]: f["properties"] for f in doc["features"]}
    got = _decode(assessments_client, ds, level, indicator, TILES[iso3])
    assert len(got) >= 0.9 * len(want) and set(got) <= set(want)
    for pcode, props in got.items():
        w = want[pcode]
        assert props.get("value") == w["value"] and props.get("class") == w["class"], (pcode, props, w)
        assert bool(props.get("suppressed")) == bool(w.get("suppressed")), (pcode, props, w)
        assert props.get("n") == (w["n"] if w["value"] is not None or w.get("suppressed") else props.get("n"))
    hidden = [p for p, w in want.items() if w.get("suppressed")]
    assert doc["legend"]["disclosure"]["suppressed"] == len(hidden)


def test_unit_tiles_suppress_small_cells(assessments, assessments_client):
    """Malawi's traditional authorities hold small cells: the tile shows them suppressed, with no
    value and no count, like the public choropleth; a bad indicator is 400, a dataset nobody
    published 404."""
    ds = assessments[1]["MWI"].dataset_id
    doc = assessments_client.get(f"/choropleth/3.geojson?dataset={ds}&indicator=m0310_loc_num_idp_ind").json()
    hidden = {f["properties"]["pcode"] for f in doc["features"] if f["properties"].get("suppressed")}
    got = _decode(assessments_client, ds, 3, "m0310_loc_num_idp_ind", TILES["MWI"])
    shown_hidden = {p for p, props in got.items() if props.get("suppressed")}
    assert hidden and shown_hidden == hidden & set(got)
    assert all(got[p].get("value") is None and got[p].get("n") is None for p in shown_hidden)
    z, x, y = TILES["MWI"]
    bad = assessments_client.get(f"/tiles/dataset-adm3/{z}/{x}/{y}.mvt?dataset={ds}&column=nope")
    assert bad.status_code == 400 and "no public indicator 'nope'" in bad.text and "accepted: observations" in bad.text
    assert assessments_client.get(f"/tiles/dataset-adm3/{z}/{x}/{y}.mvt?dataset=999999").status_code == 404


def test_public_dataset_exports_print_the_disclosure_rule(assessments):
    """A public export of an indicator dataset's aggregates says in its README which disclosure
    rule applies, the rule of the service's settings (here 7 households)."""
    import io
    import zipfile

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.core.settings import DisclosureSettings
    from tests.conftest import settings_for

    engine, res = assessments
    ds = res["NGA"].dataset_id
    settings = settings_for(engine, disclosure=DisclosureSettings(min_households=7))
    with TestClient(create_app(settings, engine)) as c:
        readmes = {}
        for part in ("adm1", "adm2", "sites"):
            r = c.get(f"/exports/dataset{ds}-{part}.csv?zip=true")
            assert r.status_code == 200, r.text
            with zipfile.ZipFile(io.BytesIO(r.content)) as z:
                readmes[part] = z.read(next(n for n in z.namelist() if "readme" in n.lower())).decode("utf-8")
    for part in ("adm1", "adm2"):  # the aggregates per unit: the rule, with the settings' threshold
        assert "Disclosure control" in readmes[part] and "fewer than 7 households is suppressed" in readmes[part]
    assert "Disclosure control" not in readmes["sites"]  # one row per site: no cells of an aggregate
