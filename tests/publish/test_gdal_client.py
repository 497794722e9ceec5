"""A real client: GDAL's OAPIF driver (ogrinfo / ogr2ogr) against a live uvicorn server."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from urllib.parse import parse_qs

import pyogrio
import pytest
from sqlalchemy import text

from service.core.rounds import find_round
from service.publish.datasets import DATASETS, Selection
from tests.publish import live_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(
    shutil.which("ogrinfo") is None or shutil.which("ogr2ogr") is None,
    reason="GDAL command-line tools (gdal-bin) not installed",
)

ENV = {
    **os.environ,
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "CPL_DEBUG": "OFF",
    "GDAL_HTTP_TIMEOUT": "60",
}


def gdal(*args: str) -> str:
    proc = subprocess.run(list(args), capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


def _expected(engine, key, round_number, population):
    with engine.connect() as c:
        rnd = find_round(c, round_number=round_number, population=population) if round_number else None
        sel = Selection(DATASETS[key], round=rnd)
        names = ["fid", *(f.name for f in DATASETS[key].fields)]
        return [dict(zip(names, r)) for b in sel.batches(c, "table") for r in b]


def test_ogrinfo_lists_every_collection(live_url, figures_client):  # noqa: F811
    out = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_url}/ogc")
    layers = re.findall(r"^\d+: (\S+)", out, flags=re.M)
    expected = [c["id"] for c in figures_client.get("/ogc/collections").json()["collections"]]
    assert layers == expected and len(layers) <= 100  # issue 23: rounds are time, not one collection each
    assert {"admin0", "admin3", "sites", "idp-locations", "idp-adm3", "returnee-adm1"} <= set(layers)


def _source(url: str, cid: str) -> list[str]:
    """GDAL's source and layer of a collection: a listed one by name, a per-round alias by its own URL."""
    if "-r" in cid:
        return [f"OAPIF:{url}/ogc/collections/{cid}"]
    return [f"OAPIF:{url}/ogc", cid]


@pytest.mark.parametrize(
    "cid,key,rnd,pop",
    [
        ("idp-r120-locations", "locations", 120, "idp"),
        ("returnee-r120-adm2", "figures-adm2", 120, "returnee"),
        ("admin3", "admin3", None, None),
    ],
)
def test_ogrinfo_feature_count(live_url, figures_engine, cid, key, rnd, pop):  # noqa: F811
    n = len(_expected(figures_engine, key, rnd, pop))
    summary = gdal("ogrinfo", "-ro", "-al", "-so", *_source(live_url, cid))
    assert f"Feature Count: {n}" in summary
    assert "name_ar: String" in summary
    # read every feature, page by page (GDAL's default page size is small: many pages)
    full = gdal("ogrinfo", "-ro", "-al", "-q", "-geom=NO", "-oo", "PAGE_SIZE=250", *_source(live_url, cid))
    assert full.count("OGRFeature(") == n


def test_ogr2ogr_copies_a_collection_with_arabic_names(live_url, figures_engine, tmp_path):  # noqa: F811
    for cid, key, rnd, pop in (
        ("idp-r120-adm2", "figures-adm2", 120, "idp"),
        ("idp-r86-locations", "locations", 86, "idp"),
    ):
        out = tmp_path / f"{cid}.gpkg"
        gdal("ogr2ogr", "-f", "GPKG", str(out), *_source(live_url, cid))
        df = pyogrio.read_dataframe(out)
        expected = _expected(figures_engine, key, rnd, pop)
        assert len(df) == len(expected)
        id_field = "pcode" if key.startswith("figures") else "location_id"
        want = {(str(r[id_field]), r["name_ar"], r["individuals"]) for r in expected}
        got = {(str(a), b, int(c)) for a, b, c in zip(df[id_field], df["name_ar"], df["individuals"])}
        assert got == want
        assert any("\u0600" <= ch <= "\u06ff" for ch in "".join(df["name_ar"].dropna()))


def test_ogrinfo_where_is_answered_by_the_server(live_url, figures_engine, caplog):  # noqa: F811
    """issue 23: ``-where`` goes to the server as a CQL filter (GDAL 3.6 sends the draft's
    ``filter-lang=cql-text``; newer GDAL cql2-text), and the answer is the database's."""
    caplog.set_level(logging.INFO, logger="dtm_atlas.http")
    out = gdal(
        "ogrinfo", "-ro", "-al", "-q", "-geom=NO", f"OAPIF:{live_url}/ogc", "idp-adm2", "-where", "individuals > 10000"
    )
    with figures_engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT r.round_number, f.pcode FROM unit_figure f JOIN round r ON r.id = f.round_id "
                "WHERE r.population = 'idp' AND f.level = 2 AND f.pcode <> 'UNASSIGNED' AND f.individuals > 10000"
            )
        ).all()
    got = set(re.findall(r"^  id \(String\) = (\S+)$", out, flags=re.M))
    assert got == {f"r{n}-{p}" for n, p in rows} and len(got) > 10
    logged = [getattr(r, "fields", {}) for r in caplog.records]
    items = [f for f in logged if f.get("path") == "/ogc/collections/idp-adm2/items"]
    queries = [parse_qs(f.get("query") or "") for f in items]
    # every page GDAL read carried the filter (the server did the filtering), but its first
    # request: one page of 10 to learn the fields
    filtered = [q for q in queries if q.get("filter") == ["individuals > 10000"]]
    assert len(filtered) >= 2 and queries[1:] == filtered and "filter" not in queries[0], queries
    assert all(f.get("status") == 200 for f in items)
