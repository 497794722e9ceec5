"""A second country's boundaries imported beside Iraq's leave Iraq's map, figures and tiles unchanged.

The synthetic island country of tests/boundaries/test_any_country.py (codes KM, in UTM 38S,
with a sub-pixel islet and an "Unspecified" unit) is imported into a database holding Iraq's
boundaries and a real Iraq round; Iraq's tiles (every tile over Iraq from z1 to z6, some
at z8 and z13), its choropleths, figures and time series are the same bytes after as before.
/tiles without ``country=`` holds the units of the one country with figures (Iraq), so even
its z0 tile is unchanged; the other country's units come with ``?country=COM``. The web map's
geometry tiles are per boundary set and keep every tile unchanged, as are its figures.
"""

from __future__ import annotations

from sqlalchemy import text

from boundaries.reader import read_boundaries
from boundaries.store import import_boundaries
from tests.boundaries.test_any_country import _adm1, _adm2
from tests.conftest import MASTERLISTS, client_for
from tests.tiles import BAGHDAD, IRAQ_BOUNDS, TMS, decode, tile_at

ROUND_FILE = "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"


def _iraq_answers(c) -> dict[str, bytes]:
    out = {}
    w, s, e, n = IRAQ_BOUNDS
    for z in range(0, 7):
        for t in TMS.tiles(w, s, e, n, [z]):
            for layers in ("districts,governorates", "subdistricts"):
                url = f"/tiles/{layers}/{t.z}/{t.x}/{t.y}.mvt?population=idp&round=120"
                out[url] = c.get(url)
    for z in (8, 13):
        z_, x, y = tile_at(*BAGHDAD, z)
        url = f"/tiles/districts,governorates/{z_}/{x}/{y}.mvt?population=idp&round=120"
        out[url] = c.get(url)
    for level in (1, 2, 3):
        for zoom in ("", "&zoom=5"):
            url = f"/choropleth/{level}.geojson?population=idp&round=120&indicator=individuals{zoom}"
            out[url] = c.get(url)
    # the web map's geometry tiles of Iraq's boundary set, z0 included, and its figures
    (sid,) = [k["boundary_set"]["id"] for k in c.get("/webmap/countries").json()["countries"] if k["country"] == "IRQ"]
    for z in range(0, 7):
        for t in TMS.tiles(w, s, e, n, [z]):
            url = f"/webmap/geometry/{sid}/districts,governorates/{t.z}/{t.x}/{t.y}.mvt"
            out[url] = c.get(url)
    for level in (1, 2, 3):
        url = f"/webmap/figures/{level}.json?country=IRQ&population=idp&round=120"
        out[url] = c.get(url)
    for url in (
        "/admin-units/IQG08/timeseries?population=idp",
        "/admin-units/IQG08Q01",
        "/admin-units?level=2&country=IRQ",
        "/boundaries/1.geojson?country=IRQ&zoom=5",
    ):
        out[url] = c.get(url)
    bad = {u: r.status_code for u, r in out.items() if r.status_code not in (200, 204)}  # 204: no feature
    assert not bad, bad
    return {u: r.content for u, r in out.items()}


def test_second_country_leaves_iraq_unchanged(iraq_fresh_engine, tmp_path):
    from service.ingest.rounds import import_masterlist

    import_masterlist(iraq_fresh_engine, MASTERLISTS / ROUND_FILE, population="idp")
    with client_for(iraq_fresh_engine) as c:
        before = _iraq_answers(c)
    assert sum(1 for u, b in before.items() if "/tiles/" in u and decode(b)) >= 30
    for read in (read_boundaries(_adm2(tmp_path)), read_boundaries(_adm1(tmp_path))):
        assert import_boundaries(iraq_fresh_engine, read).outcome == "committed"
    with iraq_fresh_engine.connect() as conn:
        assert set(conn.execute(text("SELECT country FROM boundary_set WHERE is_current")).scalars()) == {"IRQ", "COM"}
    with client_for(iraq_fresh_engine) as c:
        after = _iraq_answers(c)
        # the other country is there: its own tiles hold it, Iraq's (no country named) do not
        z, x, y = tile_at(43.35, -11.65, 6)
        assert c.get(f"/tiles/governorates/{z}/{x}/{y}.mvt").status_code == 204
        assert decode(c.get(f"/tiles/governorates/{z}/{x}/{y}.mvt?country=COM").content)["governorates"]
    changed = [u for u in before if before[u] != after[u]]
    assert not changed, f"{len(changed)} of {len(before)} Iraq answers changed, e.g. {changed[:3]}"
