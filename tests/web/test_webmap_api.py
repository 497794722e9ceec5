"""What the web map reads (service.api.webmap), without a browser: countries, geometry tiles per
boundary set, a round's compact figures, glyphs and the RTL text plugin."""

from __future__ import annotations

import gzip

import pytest

from tests.tiles import BAGHDAD, by_pcode, decode, tile_at

LATEST, OLDER = 120, 86


@pytest.fixture(scope="module")
def iraq(figures_client):
    body = figures_client.get("/webmap/countries").json()
    (country,) = body["countries"]
    return country


def test_countries(iraq):
    assert (iraq["country"], iraq["name_en"], iraq["name_ar"]) == ("IRQ", "Iraq", "العراق")
    assert iraq["levels"] == [1, 2, 3]
    w, s, e, n = iraq["bounds"]
    assert 38.7 < w < 38.9 and 29 < s < 29.1 and 48.5 < e < 48.7 and 37.3 < n < 37.5
    assert iraq["rounds"] == {"idp": 2, "returnee": 1}
    assert "OCHA COD-AB (Iraq)" in iraq["attribution_en"] and "العراق" in iraq["attribution_ar"]


def test_geometry_tiles_have_no_figures_and_are_immutable(figures_client, figures_engine, iraq):
    sid, stamp = iraq["boundary_set"]["id"], iraq["boundary_set"]["stamp"]
    z, x, y = tile_at(*BAGHDAD, 7)
    url = f"/webmap/geometry/{sid}/districts,governorates/{z}/{x}/{y}.mvt"
    r = figures_client.get(url, params={"v": stamp}, headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=31536000, immutable"
    layers = decode(r.content)
    assert set(layers) == {"districts", "governorates", "labels"}
    districts = by_pcode(layers["districts"])
    assert districts["IQG08Q01"] == {"pcode": "IQG08Q01", "name_en": "Al-Adhamiya", "name_ar": "الاعظمية", "level": 2}
    # the same units as the figure tiles of any round, with the same geometry
    fig = decode(figures_client.get(f"/tiles/districts,governorates/{z}/{x}/{y}.mvt?round={LATEST}").content)
    assert set(districts) == {f["properties"]["pcode"] for f in fig["districts"]}
    geo = {f["properties"]["pcode"]: f["geometry"] for f in layers["districts"]}
    assert all(geo[f["properties"]["pcode"]] == f["geometry"] for f in fig["districts"])
    # one label point per unit whose point lies in this tile, inside the tile
    labels = layers["labels"]
    assert labels and all(f["geometry"]["type"] == "Point" for f in labels)
    assert len({(f["properties"]["pcode"]) for f in labels}) == len(labels)
    assert all(0 <= c <= 4096 for f in labels for c in f["geometry"]["coordinates"])
    assert figures_client.get(url, params={"v": "old"}).headers["cache-control"] == "no-cache"
    etag = r.headers["etag"]
    assert figures_client.get(url, params={"v": stamp}, headers={"if-none-match": etag}).status_code == 304


def test_labels_appear_once_across_tiles(figures_client, iraq):
    sid = iraq["boundary_set"]["id"]
    from tests.tiles import IRAQ_BOUNDS, TMS

    seen: dict[str, int] = {}
    for t in TMS.tiles(*IRAQ_BOUNDS, [6]):
        body = figures_client.get(f"/webmap/geometry/{sid}/districts/{t.z}/{t.x}/{t.y}.mvt").content
        for f in decode(body).get("labels", []):
            seen[f["properties"]["pcode"]] = seen.get(f["properties"]["pcode"], 0) + 1
    assert len(seen) == 101 and set(seen.values()) == {1}


def test_geometry_tile_errors(figures_client, iraq):
    sid = iraq["boundary_set"]["id"]
    r = figures_client.get(f"/webmap/geometry/{sid}/provinces/5/19/12.mvt")
    assert r.status_code == 404 and "districts" in r.json()["detail"]
    assert figures_client.get(f"/webmap/geometry/{sid}/districts/13/0/0.mvt").status_code == 400
    assert figures_client.get("/webmap/geometry/999/districts/5/19/12.mvt").status_code == 404


def test_figures_match_the_choropleth(figures_client):
    r = figures_client.get(
        "/webmap/figures/2.json",
        params={"country": "IRQ", "population": "idp", "round": LATEST},
        headers={"accept-encoding": "gzip"},
    )
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    body = r.json()
    assert len(gzip.compress(r.content)) < 4000  # what a round step costs at district level
    geo = figures_client.get("/choropleth/2.geojson", params={"population": "idp", "round": LATEST}).json()
    want = {f["properties"]["pcode"]: f["properties"] for f in geo["features"]}
    got = {p: (c, v, i) for p, c, v, i in zip(body["pcode"], body["class"], body["value"], body["individuals"])}
    assert {p for p in want if want[p].get("individuals") is not None} <= set(got)
    for p, (c, v, i) in got.items():
        assert (c, i) == (want[p]["class"], want[p]["individuals"]), p
    for key in ("colors", "breaks", "labels", "no_data_color"):
        assert body["legend"][key] == geo["legend"][key]
    assert body["round"]["round_number"] == LATEST and body["round"]["reporting_date"] == "2021-02-28"
    # a round by its reporting date is the same round
    by_date = figures_client.get("/webmap/figures/2.json", params={"country": "IRQ", "round": "2017-12-31"}).json()
    by_number = figures_client.get("/webmap/figures/2.json", params={"country": "IRQ", "round": OLDER}).json()
    assert by_date == by_number and by_date["round"]["round_number"] == OLDER
    assert figures_client.get("/webmap/figures/2.json", params={"round": "2017-12-30"}).status_code == 404
    bad = figures_client.get("/webmap/figures/2.json", params={"round": "last week"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["detail"]


def test_glyphs_and_rtl_plugin(figures_client):
    from service.api import webmap

    if not (webmap.FONTS_DIR / "Noto Sans Regular").is_dir():
        pytest.skip("glyphs not built (web/install.sh)")
    for rng in ("0-255", "1536-1791", "65024-65279"):  # Latin, Arabic, Arabic presentation forms B
        r = figures_client.get(f"/fonts/Noto Sans Regular/{rng}.pbf")
        assert r.status_code == 200 and len(r.content) > 10_000, rng
    # a fontstack with fallbacks takes the first one served
    assert figures_client.get("/fonts/Noto Sans Regular,Arial Unicode MS Regular/0-255.pbf").status_code == 200
    assert figures_client.get("/fonts/Comic Sans/0-255.pbf").status_code == 404
    assert figures_client.get("/fonts/Noto Sans Regular/0-99.pbf").status_code == 400
    version = webmap.rtl_version()
    r = figures_client.get(f"/vendor/mapbox-gl-rtl-text@{version}/mapbox-gl-rtl-text.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert figures_client.get("/vendor/mapbox-gl-rtl-text@0.0.1/mapbox-gl-rtl-text.js").status_code == 404


def test_styles_name_the_country_from_its_data(figures_client, iraq):
    style = figures_client.get("/styles/idp-by-district.json").json()
    assert style["metadata"]["dtm-atlas:country"] == "IRQ"
    assert style["metadata"]["dtm-atlas:attribution"] == "Figures: IOM DTM Iraq. Boundaries: OCHA COD-AB (Iraq)."
    w, s, e, n = iraq["bounds"]
    lon, lat = style["center"]
    assert w < lon < e and s < lat < n
    assert style["glyphs"].endswith("/fonts/{fontstack}/{range}.pbf")  # this server serves glyphs now
    assert figures_client.get("/styles/idp-by-district.json", params={"country": "COM"}).status_code == 404


def test_figures_of_every_indicator_the_map_offers(figures_client):
    """The web map's indicator list (web/static/app.js) is served: DTM's published count and the
    change over 12 months among them; the published count differs from the file's in camps."""
    import re

    from service.api.web import WEB_DIR

    offered = re.search(r"const INDICATORS = \[([^\]]*)\]", (WEB_DIR / "static" / "app.js").read_text()).group(1)
    names = re.findall(r'"([a-z_0-9]+)"', offered)
    assert {"published", "change_12m"} <= set(names)
    for name in names:
        r = figures_client.get("/webmap/figures/1.json", params={"country": "IRQ", "round": LATEST, "indicator": name})
        assert r.status_code == 200, (name, r.text[:200])
    pub = figures_client.get("/webmap/figures/1.json", params={"round": LATEST, "indicator": "published"}).json()
    assert any(v is not None and v < i for v, i in zip(pub["value"], pub["individuals"]))
