"""Vector tiles with the figures of a round: values, classes (= the choropleth's), locations."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.core.rounds import find_round
from styles.classify import get_indicator, legend_for
from tests.tiles import BAGHDAD, IRAQ_BOUNDS, TMS, by_pcode, decode, needs_ogrinfo, ogr_features, tile_at
from tiles.layers import LAYERS

LEVELS = {"governorates": 1, "districts": 2, "subdistricts": 3}


def _all_units(client, layer: str, query: str) -> dict[str, dict]:
    """Properties of every unit of a layer, from the z5 tiles over Iraq."""
    out: dict[str, dict] = {}
    for t in TMS.tiles(*IRAQ_BOUNDS, [5]):
        r = client.get(f"/tiles/{layer}/5/{t.x}/{t.y}.mvt?{query}")
        if r.status_code == 200:
            out.update(by_pcode(decode(r.content).get(layer, [])))
    return out


def _db_values(engine, round_id: int, level: int, indicator: str) -> dict[str, object]:
    column = get_indicator(indicator).field
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    f"SELECT pcode, {column} FROM unit_figure "
                    "WHERE round_id = :r AND level = :l AND pcode <> 'UNASSIGNED' "
                    "ORDER BY pcode"
                ),
                {"r": round_id, "l": level},
            ).all()
        )


@pytest.mark.parametrize("indicator", ["individuals", "families", "change", "share"])
@pytest.mark.parametrize("layer", ["governorates", "districts", "subdistricts"])
def test_class_is_the_choropleths(figures_client, figures_engine, layer, indicator):
    level = LEVELS[layer]
    tiles = _all_units(figures_client, layer, f"indicator={indicator}")
    choropleth = figures_client.get(f"/choropleth/{level}.geojson?indicator={indicator}")
    assert choropleth.status_code == 200, choropleth.text
    geo = {f["properties"]["pcode"]: f["properties"] for f in choropleth.json()["features"]}
    legend_geojson = choropleth.json()["legend"]
    assert set(tiles) == set(geo)  # every unit of the level, in some z5 tile
    for pcode, props in tiles.items():
        assert props.get("class") == geo[pcode]["class"], (pcode, props, geo[pcode])
        if geo[pcode]["value"] is None:
            assert "value" not in props
        else:
            assert props["value"] == pytest.approx(geo[pcode]["value"], rel=1e-12)
        assert props.get("individuals") == geo[pcode]["individuals"]
        assert props.get("families") == geo[pcode]["families"]
    # the tile's classes follow the shared classification's breaks (computed here independently)
    with figures_engine.connect() as conn:
        rnd = find_round(conn, population="idp")
    values = _db_values(figures_engine, rnd["id"], level, indicator)
    legend = legend_for(indicator, "idp", list(values.values()))
    assert legend.breaks == legend_geojson["breaks"]
    for pcode, props in tiles.items():
        assert props.get("class") == legend.class_of(values.get(pcode)), pcode
    classes = {props.get("class") for props in tiles.values()} - {None}
    assert classes and classes <= set(range(legend.k))
    if indicator == "change":
        assert legend.diverging
    tj = figures_client.get(f"/tiles/{layer}.json?indicator={indicator}").json()
    assert tj["legend"]["breaks"] == legend.breaks
    assert tj["legends"][layer]["k"] == legend.k


def test_round_and_population_select_the_figures(figures_client, figures_engine):
    z, x, y = tile_at(*BAGHDAD, 7)
    with figures_engine.connect() as conn:
        latest = find_round(conn, population="idp")
        older = find_round(conn, population="idp", round_number=86)
        returnee = find_round(conn, population="returnee")
    assert latest["round_number"] != 86 and older is not None and returnee is not None
    for query, rnd in (
        ("", latest),
        ("?round=86", older),
        ("?population=returnee", returnee),
        (f"?round={latest['round_number']}&population=idp", latest),
    ):
        props = by_pcode(decode(figures_client.get(f"/tiles/districts/{z}/{x}/{y}.mvt{query}").content)["districts"])
        expected = _db_values(figures_engine, rnd["id"], 2, "individuals")
        assert props
        for pcode, p in props.items():
            assert p.get("individuals") == expected.get(pcode), (query, pcode)
            assert p.get("value") == expected.get(pcode)
    baghdad = "IQG08Q03"  # Al-Karkh
    default = by_pcode(decode(figures_client.get(f"/tiles/districts/{z}/{x}/{y}.mvt").content)["districts"])
    old = by_pcode(decode(figures_client.get(f"/tiles/districts/{z}/{x}/{y}.mvt?round=86").content)["districts"])
    assert default[baghdad]["individuals"] != old[baghdad]["individuals"]
    tj = figures_client.get("/tiles/districts.json?round=86").json()
    assert tj["dtm_atlas"]["round"]["round_number"] == 86
    assert tj["tiles"][0].endswith(
        f"/tiles/districts/{{z}}/{{x}}/{{y}}.mvt?round=86&v={tj['dtm_atlas']['data_version']}"
    )


def test_locations_layer(figures_client, figures_engine):
    z, x, y = tile_at(*BAGHDAD, 8)
    r = figures_client.get(f"/tiles/locations/{z}/{x}/{y}.mvt")
    assert r.status_code == 200
    feats = decode(r.content)["locations"]
    with figures_engine.connect() as conn:
        rnd = find_round(conn, population="idp")

        def ids(margin: float) -> set[int]:
            return set(
                conn.execute(
                    text(
                        "SELECT id FROM location_figure WHERE round_id = :r AND "
                        "ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y, margin => :m))"
                    ),
                    {"r": rnd["id"], "z": z, "x": x, "y": y, "m": margin},
                ).scalars()
            )

        got = {f["id"] for f in feats}
        layer = LAYERS["locations"]
        assert ids(0.0) <= got <= ids(layer.buffer_for(z) / layer.extent_for(z))
        rows = {
            row.id: row
            for row in conn.execute(
                text(
                    "SELECT id, location_id, name_en, name_ar, families, individuals, adm1, adm2, adm3 "
                    "FROM location_figure WHERE id = ANY(:ids)"
                ),
                {"ids": list(got)},
            )
        }
    assert len(feats) > 100
    for f in feats:
        row, p = rows[f["id"]], f["properties"]
        assert f["geometry"]["type"] == "Point"
        assert p["location_id"] == row.location_id
        assert p.get("name_ar") == row.name_ar and p.get("name_en") == row.name_en
        assert p.get("families") == row.families and p.get("individuals") == row.individuals
        assert (p["adm1"], p["adm2"], p["adm3"]) == (row.adm1, row.adm2, row.adm3)
    assert any(p["properties"]["adm1"] == "IQG08" for p in feats)
    assert any(any("\u0600" <= ch <= "\u06ff" for ch in f["properties"].get("name_ar", "")) for f in feats)


def test_locations_below_minzoom_are_left_out(figures_client):
    composite = decode(figures_client.get("/tiles/governorates,locations/2/2/1.mvt").content)
    assert list(composite) == ["governorates"]


@needs_ogrinfo
def test_gdal_reads_figures_and_points(figures_client, tmp_path):
    z, x, y = tile_at(*BAGHDAD, 8)
    body = figures_client.get(f"/tiles/districts,locations/{z}/{x}/{y}.mvt?indicator=change").content
    ours = decode(body)
    gdal = ogr_features(body, z, x, y, tmp_path)
    assert set(gdal) == {"districts", "locations"}
    assert len(gdal["locations"]) == len(ours["locations"])
    assert {f["_geometry"] for f in gdal["locations"]} == {"POINT"}
    props = by_pcode(ours["districts"])
    for f in gdal["districts"]:
        mine = props[f["pcode"]]
        assert f["name_ar"] == mine["name_ar"]
        if "class" in mine:
            assert int(f["class"]) == mine["class"]
        if "value" in mine:
            assert int(f["value"]) == mine["value"]
    names = {f["location_id"]: f.get("name_ar") for f in gdal["locations"]}
    for f in ours["locations"]:
        assert names[f["properties"]["location_id"]] == f["properties"].get("name_ar")
