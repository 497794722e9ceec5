"""Vector tiles of the boundaries (no figures): content, GDAL, HTTP caching, errors, coverage."""

from __future__ import annotations

import gzip

import pytest
import shapely
from shapely.geometry import box, shape
from sqlalchemy import text

from tests.tiles import BAGHDAD, IRAQ_BOUNDS, TMS, by_pcode, decode, extents, needs_ogrinfo, ogr_features, tile_at
from tiles.layers import LAYERS

BAGHDAD_DISTRICTS = {
    "IQG08Q01": ("Al-Adhamiya", "الاعظمية"),
    "IQG08Q02": ("Al-Kadhmiyah", "الكاظمية"),
    "IQG08Q03": ("Al-Karkh", "الكرخ"),
    "IQG08Q06": ("Al-Risafa", "الرصافة"),
    "IQG08Q07": ("Al-Thawra", "الثورة"),
}


def _expected_pcodes(engine, level: int, z: int, x: int, y: int, margin: float = 0.0) -> set[str]:
    """Units whose generalised geometry of the band meets the tile (computed independently)."""
    with engine.connect() as conn:
        return set(
            conn.execute(
                text(
                    """
            SELECT g.pcode FROM admin_unit_generalised g JOIN boundary_set b ON b.id = g.boundary_set_id
            WHERE b.is_current AND g.level = :l AND g.zband = :z
              AND ST_Intersects(g.geom_3857, ST_TileEnvelope(:z, :x, :y, margin => :m))
            """
                ),
                {"l": level, "z": z, "x": x, "y": y, "m": margin},
            ).scalars()
        )


def test_baghdad_districts_at_z7(client, iraq_engine):
    z, x, y = tile_at(*BAGHDAD, 7)
    r = client.get(f"/tiles/districts/{z}/{x}/{y}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = decode(r.content)
    assert list(layers) == ["districts"]
    props = by_pcode(layers["districts"])
    for pcode, (en, ar) in BAGHDAD_DISTRICTS.items():
        assert pcode in props, pcode
        assert props[pcode]["name_en"] == en
        assert props[pcode]["name_ar"] == ar  # Arabic intact
        assert props[pcode]["level"] == 2
        # no round in this database: no figures, no class (null = property absent)
        assert "value" not in props[pcode] and "class" not in props[pcode]
    got = set(props)
    layer = LAYERS["districts"]
    margin = layer.buffer_for(z) / layer.extent_for(z)
    assert _expected_pcodes(iraq_engine, 2, z, x, y) <= got <= _expected_pcodes(iraq_engine, 2, z, x, y, margin)
    for f in layers["districts"]:
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert extents(r.content) == {"districts": layer.extent_for(z)}


def test_names_match_database(client, iraq_engine):
    z, x, y = tile_at(*BAGHDAD, 6)
    props = by_pcode(decode(client.get(f"/tiles/subdistricts/{z}/{x}/{y}.mvt").content)["subdistricts"])
    with iraq_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT pcode, name_en, name_ar FROM admin_unit WHERE level = 3 AND pcode = ANY(:p)"),
            {"p": list(props)},
        ).all()
    assert len(rows) == len(props) > 50
    for pcode, en, ar in rows:
        assert (props[pcode]["name_en"], props[pcode]["name_ar"]) == (en, ar)


@needs_ogrinfo
def test_gdal_reads_the_tile(client, tmp_path):
    z, x, y = tile_at(*BAGHDAD, 7)
    body = client.get(f"/tiles/governorates,districts/{z}/{x}/{y}.mvt").content
    ours = decode(body)
    gdal = ogr_features(body, z, x, y, tmp_path)
    assert set(gdal) == {"governorates", "districts"}
    for layer in ("governorates", "districts"):
        assert {f["pcode"] for f in gdal[layer]} == {f["properties"]["pcode"] for f in ours[layer]}
    baghdad = {f["pcode"]: f for f in gdal["districts"]}
    for pcode, (en, ar) in BAGHDAD_DISTRICTS.items():
        assert baghdad[pcode]["name_en"] == en
        assert baghdad[pcode]["name_ar"] == ar
        assert baghdad[pcode]["_geometry"] in ("POLYGON", "MULTIPOLYGON")


def test_composite_is_the_layers_together(client):
    z, x, y = tile_at(*BAGHDAD, 7)
    composite = client.get(f"/tiles/subdistricts,governorates,districts/{z}/{x}/{y}.mvt")
    assert composite.status_code == 200
    layers = decode(composite.content)
    assert list(layers) == ["subdistricts", "governorates", "districts"]  # the order asked for
    joined = b"".join(
        client.get(f"/tiles/{name}/{z}/{x}/{y}.mvt").content for name in ("subdistricts", "governorates", "districts")
    )
    assert composite.content == joined


def test_full_resolution_above_band_12(client, iraq_engine):
    z, x, y = tile_at(*BAGHDAD, 14)
    r = client.get(f"/tiles/subdistricts/{z}/{x}/{y}.mvt")
    assert r.status_code == 200
    feats = decode(r.content)["subdistricts"]
    assert feats and all(f["properties"]["pcode"].startswith("IQG08") for f in feats)
    with iraq_engine.connect() as conn:
        expected = set(
            conn.execute(
                text(
                    "SELECT pcode FROM admin_unit WHERE level = 3 AND "
                    "ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y))"
                ),
                {"z": z, "x": x, "y": y},
            ).scalars()
        )
    assert expected <= {f["properties"]["pcode"] for f in feats}


def test_gzip_etag_and_304(client):
    z, x, y = tile_at(*BAGHDAD, 7)
    url = f"/tiles/districts/{z}/{x}/{y}.mvt"
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert first.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in first.headers["vary"].lower()
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert "cache-control" in first.headers
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.content == first.content  # httpx decoded the gzip one
    assert plain.headers["etag"] == etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    # the second request came from the cache, byte for byte the same
    assert client.get(url).headers["x-tile-cache"] == "hit"


def test_raw_body_is_precompressed_gzip(client):
    z, x, y = tile_at(*BAGHDAD, 6)
    with client.stream("GET", f"/tiles/subdistricts/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
    assert raw[:2] == b"\x1f\x8b"
    assert decode(gzip.decompress(raw))["subdistricts"]


def test_empty_tile_is_204(client):
    # the middle of the Pacific
    r = client.get("/tiles/districts/6/2/30.mvt")
    assert r.status_code == 204
    assert r.content == b""
    assert "etag" in r.headers
    # a layer below its minzoom is empty too
    assert client.get("/tiles/subdistricts/2/2/1.mvt").status_code == 204


@pytest.mark.parametrize(
    "url, status",
    [
        ("/tiles/nope/5/19/12.mvt", 404),
        ("/tiles/districts,nope/5/19/12.mvt", 404),
        ("/tiles/districts,districts/5/19/12.mvt", 400),
        ("/tiles/districts/23/0/0.mvt", 400),
        ("/tiles/districts/99/0/0.mvt", 400),
        ("/tiles/districts/5/32/12.mvt", 400),
        ("/tiles/districts/5/19/32.mvt", 400),
        ("/tiles/districts/5/-1/12.mvt", 400),
        ("/tiles/districts/-1/0/0.mvt", 400),
        ("/tiles/districts/a/0/0.mvt", 400),
        ("/tiles/districts/5/19/12.mvt?indicator=bogus", 400),
        ("/tiles/districts/5/19/12.mvt?population=refugee", 400),
        ("/tiles/districts/5/19/12.mvt?round=-3", 400),
        ("/tiles/districts/5/19/12.mvt?round=4242", 404),
        ("/tiles/nope.json", 404),
    ],
)
def test_errors_are_json(client, url, status):
    r = client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == status and body["detail"]


def test_tilejson(client):
    r = client.get("/tiles/districts.json?population=idp&indicator=families")
    assert r.status_code == 200
    tj = r.json()
    assert tj["tilejson"] == "3.0.0"
    v = tj["dtm_atlas"]["data_version"]  # the URLs carry the data version (immutable tiles, issue 23)
    assert tj["tiles"] == [
        f"http://testserver/tiles/districts/{{z}}/{{x}}/{{y}}.mvt?population=idp&indicator=families&v={v}"
    ]
    w, s, e, n = tj["bounds"]
    assert 38 < w < 39 and 29 < s < 29.2 and 48 < e < 49 and 37 < n < 37.5
    assert tj["minzoom"] == 3 and tj["maxzoom"] == 14
    (layer,) = tj["vector_layers"]
    assert layer["id"] == "districts"
    assert set(layer["fields"]) == {"pcode", "name_en", "name_ar", "level", "value", "class", "families", "individuals"}
    assert tj["legend"] is None  # no round in this database
    composite = client.get("/tiles/governorates,locations.json").json()
    assert [v["id"] for v in composite["vector_layers"]] == ["governorates", "locations"]
    assert composite["tiles"][0].endswith(f"/tiles/governorates,locations/{{z}}/{{x}}/{{y}}.mvt?v={v}")
    assert {"location_id", "adm1", "adm2", "adm3"} <= set(composite["vector_layers"][1]["fields"])
    index = client.get("/tiles").json()
    assert [layer["id"] for layer in index["layers"]] == [
        "governorates",
        "districts",
        "subdistricts",
        "locations",
        "sites",
        "dataset-points",  # the indicator datasets' points (?dataset=&column=), the first kind registered
        "dataset-adm1",  # their aggregates on admin polygons (?dataset=&column=), suppressed as published
        "dataset-adm2",
        "dataset-adm3",
        "fragility",
        "events-governorates",  # the kinds' layers with parameters of their own (crisis, period)
        "events-districts",
        "events-subdistricts",
        "flows",
        "flow-routes",
        "origin-flows-governorates",
        "origin-flows-districts",
    ]


def _polygons(features: list[dict], clip) -> list:
    return [shapely.make_valid(shape(f["geometry"])).intersection(clip) for f in features]


@pytest.mark.parametrize("z", [5, 6, 7])
def test_subdistricts_cover_without_gaps_or_overlaps(client, z):
    """In every tile over Iraq, the decoded sub-districts neither overlap nor leave holes, and
    they cover what the governorates cover (generalised separately, same outline)."""
    seen = 0
    for t in TMS.tiles(*IRAQ_BOUNDS, [z]):
        r = client.get(f"/tiles/subdistricts,governorates/{z}/{t.x}/{t.y}.mvt")
        if r.status_code == 204:
            continue
        extent = extents(r.content)["subdistricts"]
        assert extents(r.content)["governorates"] == extent
        clip = box(0, 0, extent, extent)
        pixel = (extent / 512) ** 2  # one CSS pixel where MapLibre draws the tile, in tile units
        layers = decode(r.content)
        parts = _polygons(layers.get("subdistricts", []), clip)
        if not parts:
            continue
        seen += 1
        union = shapely.union_all(parts)
        overlap = sum(p.area for p in parts) - union.area
        assert overlap < 1e-5 * clip.area, (z, t, overlap)
        holes = [shapely.Polygon(ring).area for poly in getattr(union, "geoms", [union]) for ring in poly.interiors]
        assert max(holes, default=0) < pixel, (z, t, holes)  # grid-snapping specks, below a pixel
        country = shapely.union_all(_polygons(layers.get("governorates", []), clip))
        assert union.symmetric_difference(country).area < 1e-4 * clip.area, (z, t)
    assert seen >= 4
