"""``country=`` wherever a round's figures are served (tiles, TileJSON, styles, exports, OGC).

A synthetic second country (the island country of tests/boundaries/test_any_country.py: codes
KM, ISO3 COM, levels 1 and 2) gets its boundaries and a round of figures (a three-row master
list imported by the real import, placed spatially) beside Iraq's boundaries and Iraq's real
Feb 2021 round, both round 120 of 2021-02-28. Then:

* without ``country=`` every family of endpoints answers a JSON 400 naming ``country`` and
  listing both countries (round figures: tiles, TileJSON, styles, exports of a round, OGC
  collections of a round; geometry only: admin exports and OGC admin collections);
* ``country=`` selects each country;
* a country without data is a 404;
* Iraq's choropleths, tiles (decoded), exports (read back with GDAL) and OGC items with
  ``country=IRQ`` are the same as before the second country was imported (and, before, the
  same as without ``country=``).
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pyogrio
import pytest
from sqlalchemy import text

from boundaries.reader import read_boundaries
from boundaries.store import import_boundaries
from tests.boundaries.test_any_country import _adm1, _adm2
from tests.conftest import MASTERLISTS, client_for
from tests.tiles import BAGHDAD, IRAQ_BOUNDS, TMS, by_pcode, decode, tile_at

IRAQ_ROUND = "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
# the second country's master list: points inside its units (tests/boundaries/test_any_country.py)
COM_LIST = """Location ID,Location Name,Arabic Name,Latitude,Longitude,Families,Individuals
KM-1,North village,قرية الشمال,-11.5,43.35,10,60
KM-2,South village,قرية الجنوب,-11.8,43.35,20,120
KM-3,Second town,مدينة ثانية,-12.25,44.35,5,30
"""
COM_TILE = tile_at(43.35, -11.65, 6)


def _features(body: bytes, ext: str, tmp_path, name: str) -> list[dict]:
    """The rows of an export read back through GDAL (sorted, geometry as WKB hex)."""
    path = tmp_path / f"{name}.{ext}"
    path.write_bytes(body)
    df = pyogrio.read_dataframe(path)
    rows = []
    for rec in df.to_dict("records"):
        geom = rec.pop("geometry", None)
        rows.append({**{k: str(v) for k, v in rec.items()}, "geometry": geom.wkb_hex if geom is not None else None})
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))


def _ogc_features(c, url: str) -> list[dict]:
    r = c.get(url)
    assert r.status_code == 200, (url, r.text[:300])
    return r.json()["features"]


def _iraq(c, q: str, tmp_path, tag: str) -> dict:
    """Iraq's answers (``q``: '' or '&country=IRQ'), as bytes or as decoded features."""
    out: dict = {}
    for level in (1, 2, 3):
        url = f"/choropleth/{level}.geojson?population=idp&round=120{q}"
        r = c.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        out[f"choropleth{level}"] = r.content
    w, s, e, n = IRAQ_BOUNDS
    tiles = [(t.z, t.x, t.y) for z in range(0, 6) for t in TMS.tiles(w, s, e, n, [z])] + [tile_at(*BAGHDAD, 8)]
    for z, x, y in tiles:
        url = f"/tiles/districts,governorates,locations/{z}/{x}/{y}.mvt?population=idp&round=120{q}"
        r = c.get(url)
        assert r.status_code in (200, 204), (url, r.text[:300])
        out[f"tile {z}/{x}/{y}"] = r.content
    tj = c.get(f"/tiles/districts.json?round=120{q}").json()
    out["tilejson"] = (tj["bounds"], tj["legends"], tj["dtm_atlas"]["round"], tj["dtm_atlas"]["country"])
    style = c.get(f"/styles/idp-by-district.json?round=120{q}").json()
    out["style legend"] = style["metadata"]["dtm-atlas:legend"]
    out["csv"] = c.get(f"/exports/figures-adm2.csv?round=120{q}").content
    for key, ext in (("figures-adm2", "gpkg"), ("locations", "fgb"), ("admin1", "geojson")):
        url = f"/exports/{key}.{ext}?round=120{q}" if key != "admin1" else f"/exports/{key}.{ext}?{q[1:]}"
        r = c.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        out[f"export {key}.{ext}"] = _features(r.content, ext, tmp_path, f"{tag}-{key}")
    for cid in ("idp-r120-adm2", "admin2"):
        feats = _ogc_features(c, f"/ogc/collections/{cid}/items?limit=10000{q}")
        out[f"ogc {cid}"] = sorted(json.dumps(f, sort_keys=True) for f in feats)
    return out


def _is_several(r, *countries) -> bool:
    body = r.json()
    return (
        r.status_code == 400
        and body["status"] == 400
        and body["detail"].startswith("country: several countries have")
        and all(c in body["detail"] for c in countries)
    )


def _import_second_country(engine, tmp_path) -> None:
    from service.ingest.rounds import import_masterlist

    for read in (read_boundaries(_adm2(tmp_path)), read_boundaries(_adm1(tmp_path))):
        assert import_boundaries(engine, read).outcome == "committed"
    path = tmp_path / "com_masterlist.csv"
    path.write_text(COM_LIST, encoding="utf-8")
    result = import_masterlist(
        engine,
        path,
        population="idp",
        country="COM",
        placement_mode="spatial",
        round_number=120,
        reporting_date=dt.date(2021, 2, 28),
    )
    assert (result.country, result.individuals) == ("COM", 210)


def test_country_on_every_family_of_endpoints(iraq_fresh_engine, tmp_path, monkeypatch):
    from service.ingest.rounds import import_masterlist

    import_masterlist(iraq_fresh_engine, MASTERLISTS / IRAQ_ROUND, population="idp")
    with client_for(iraq_fresh_engine) as c:
        before = _iraq(c, "", tmp_path, "before")
        named = _iraq(c, "&country=IRQ", tmp_path, "named")
        # one country: the ids and answers of a one-country deployment
        ids = [col["id"] for col in c.get("/ogc/collections").json()["collections"]]
        assert {"admin1", "sites", "idp-adm2"} <= set(ids) and not any(i.startswith("irq-") for i in ids)
    assert named == before
    assert sum(1 for k, v in before.items() if k.startswith("tile ") and decode(v)) >= 10
    assert len(before["export figures-adm2.gpkg"]) > 90 and len(before["ogc idp-r120-adm2"]) > 90

    _import_second_country(iraq_fresh_engine, tmp_path)
    with iraq_fresh_engine.connect() as conn:
        assert set(conn.execute(text("SELECT DISTINCT country FROM round")).scalars()) == {"IRQ", "COM"}

    with client_for(iraq_fresh_engine) as c:
        # Iraq's answers, named, are what they were
        after = _iraq(c, "&country=IRQ", tmp_path, "after")
        changed = [k for k in before if before[k] != after[k]]
        assert not changed, f"{len(changed)} of {len(before)} Iraq answers changed: {changed[:5]}"

        # omitted: a JSON 400 naming the parameter and listing both countries, on every family
        z, x, y = COM_TILE
        several = [
            "/choropleth/2.geojson?round=120",
            "/webmap/figures/2.json?round=120",
            "/rounds",
            "/boundaries/1.geojson",
            f"/tiles/governorates/{z}/{x}/{y}.mvt?round=120",
            f"/tiles/governorates/{z}/{x}/{y}.mvt",  # the latest round: of both countries
            f"/tiles/sites/{z}/{x}/{y}.mvt",  # geometry only: both countries have boundaries
            "/tiles/governorates.json?round=120",
            "/styles/idp-by-district.json",
            "/styles",
            "/exports/figures-adm2.gpkg?round=120",
            "/exports/locations.csv",
            "/exports/admin1.gpkg",  # geometry only
            "/exports/sites.csv",
            "/ogc/collections/idp-r120-adm2",
            "/ogc/collections/idp-r120-adm2/items",
            "/ogc/collections/idp-r120-locations/items/1",
            "/ogc/collections/admin1/items",
        ]
        for url in several:
            r = c.get(url)
            assert _is_several(r, "COM", "IRQ"), (url, r.status_code, r.text[:300])

        # country= selects each
        com_choro = c.get("/choropleth/2.geojson?round=120&country=COM").json()
        assert {f["properties"]["pcode"] for f in com_choro["features"]} == {"KM0101", "KM0102", "KM0201"}
        com_tile = decode(c.get(f"/tiles/governorates/{z}/{x}/{y}.mvt?round=120&country=KM").content)
        assert by_pcode(com_tile["governorates"])["KM01"]["individuals"] == 180
        # Iraq's tile over the other country holds none of its units
        assert c.get(f"/tiles/governorates/{z}/{x}/{y}.mvt?round=120&country=IRQ").status_code == 204
        tj = c.get("/tiles/governorates.json?round=120&country=COM").json()
        assert tj["dtm_atlas"]["country"] == "COM" and "country=COM" in tj["tiles"][0]
        # attribution and terms name the country and its boundary source, from the data
        assert "(Comoros)" in tj["attribution"] and "Iraq" not in tj["attribution"], tj["attribution"]
        irq_tj = c.get("/tiles/governorates.json?round=120&country=IRQ").json()
        assert irq_tj["attribution"] == "Boundaries: OCHA COD-AB (Iraq); figures: IOM DTM"
        com_terms = c.get("/ogc/collections/admin1?country=COM").json()["license"]
        assert "Comoros" in com_terms and "Iraq" not in com_terms, com_terms
        assert "COD-AB) for Iraq" in c.get("/ogc/collections/admin1?country=IRQ").json()["license"]
        assert tj["bounds"][0] > 43 and tj["bounds"][1] < -11  # the island country's extent, not Iraq's
        style = c.get("/styles/idp-by-governorate.json?country=COM").json()
        assert style["metadata"]["dtm-atlas:country"] == "COM"
        assert "country=COM" in next(iter(style["sources"].values()))["url"]
        csv = c.get("/exports/figures-adm1.csv?round=120&country=COM").content.decode("utf-8-sig")
        rows = list(__import__("csv").DictReader(io.StringIO(csv)))[1:]  # the HXL row first
        assert {r["pcode"]: r["individuals"] for r in rows if r["pcode"] != "UNASSIGNED"} == {
            "KM01": "180",
            "KM02": "30",
            "KM03": "0",  # every unit of the level, 0 where no one was counted (issue 23)
            "KMUNSPECIFIED": "0",
        }
        r = c.get("/exports/admin2.geojson?country=COM")
        assert sorted(f["properties"]["pcode"] for f in r.json()["features"]) == ["KM0101", "KM0102", "KM0201"]
        assert r.headers["content-disposition"].startswith('attachment; filename="com_')

        # OGC: collections per country, prefixed ids, ?country= filters
        cols = {col["id"]: col for col in c.get("/ogc/collections").json()["collections"]}
        # (issue 23: one time-enabled collection per population and level; a round's own id answers, unlisted)
        assert {"irq-admin1", "com-admin1", "irq-idp-adm2", "com-idp-adm2"} <= set(cols)
        assert not {"admin1", "idp-adm2", "irq-idp-r120-adm2"} & set(cols)
        page = c.get("/ogc/collections?f=html")
        assert page.status_code == 200 and "com-idp-adm2" in page.text and "irq-admin1" in page.text
        com_ids = [col["id"] for col in c.get("/ogc/collections?country=COM").json()["collections"]]
        assert com_ids and all(i.startswith("com-") for i in com_ids)
        items = _ogc_features(c, "/ogc/collections/com-idp-r120-adm2/items")
        assert {f["id"] for f in items} == {"KM0101", "KM0102", "KM0201"}
        irq = sorted(
            json.dumps(f, sort_keys=True) for f in _ogc_features(c, "/ogc/collections/irq-admin2/items?limit=10000")
        )
        assert irq == before["ogc admin2"]
        assert _ogc_features(c, "/ogc/collections/admin1/items?country=COM")[0]["id"].startswith("KM")
        for cid, q in (("admin1", "?country=COM"), ("com-idp-r120-adm2", "")):  # the downloads name the country
            doc = c.get(f"/ogc/collections/{cid}{q}").json()
            assert doc["extent"]["spatial"]["bbox"][0][1] < -11  # the island country's extent
            href = next(x["href"] for x in doc["links"] if x["rel"] == "enclosure" and ".csv" in x["href"])
            assert "country=COM" in href
            assert c.get(href.removeprefix("http://testserver")).status_code == 200
        r = c.get("/ogc/collections/irq-admin1/items?country=COM")
        assert r.status_code == 400 and "is of IRQ" in r.json()["detail"]

        # a country without data: 404
        for url in (
            f"/tiles/governorates/{z}/{x}/{y}.mvt?country=SYR",
            "/tiles/governorates.json?country=SYR",
            "/exports/admin1.gpkg?country=SYR",
            "/exports/figures-adm1.csv?round=120&country=SYR",
            "/ogc/collections?country=SYR",
            "/ogc/collections/admin1/items?country=SYR",
            "/choropleth/1.geojson?round=120&country=SYR",
        ):
            r = c.get(url)
            assert r.status_code == 404 and r.json()["status"] == 404, (url, r.status_code, r.text[:300])
            assert "SYR" in r.json()["detail"], (url, r.json())

    # the offline tile package: one country's, named
    from service.core.countries import SeveralCountries
    from tiles.pmtiles_export import export_tiles

    with pytest.raises(SeveralCountries, match="COM, IRQ"):
        export_tiles(iraq_fresh_engine, tmp_path / "both.pmtiles", round_number=120, max_zoom=2)
    package = export_tiles(
        iraq_fresh_engine,
        tmp_path / "com.pmtiles",
        round_number=120,
        country="COM",
        layers=["governorates"],
        max_zoom=4,
    )
    assert package.round["country"] == "COM" and package.tiles_written >= 5

    # the CLI says the same
    from typer.testing import CliRunner

    import service.cli
    import service.cli.export

    monkeypatch.setattr(service.cli.export, "open_engine", lambda migrate=True: iraq_fresh_engine)
    runner = CliRunner()
    res = runner.invoke(service.cli.app, ["export", "figures-adm2", "-f", "csv", "--round", "120", "-o", str(tmp_path)])
    assert res.exit_code == 2 and "--country" in res.output and "COM, IRQ" in res.output, res.output
    res = runner.invoke(
        service.cli.app,
        ["export", "figures-adm2", "-f", "csv", "--round", "120", "--country", "IRQ", "-o", str(tmp_path / "irq.csv")],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "irq.csv").read_bytes() == before["csv"]
