"""Offline packages: `dtm-atlas tiles export` writes PMTiles/MBTiles holding the live tiles."""

from __future__ import annotations

import gzip
import json
import sqlite3

import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType
from typer.testing import CliRunner

from service.cli import app as cli
from tests.tiles import decode


@pytest.fixture
def cli_env(figures_engine, monkeypatch):
    """The CLI pointed at the figures database (it reads DATABASE_URL through the settings)."""
    from service.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", figures_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("DTM_ATLAS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


QUERY = "round=120&population=idp&indicator=change"


def _live(client, z, x, y, layers="governorates,districts,subdistricts,locations,sites,fragility"):
    r = client.get(f"/tiles/{layers}/{z}/{x}/{y}.mvt?{QUERY}")
    assert r.status_code in (200, 204)
    return r.content if r.status_code == 200 else None


def test_export_pmtiles_holds_the_live_tiles(cli_env, figures_client, tmp_path):
    out = tmp_path / "iraq.pmtiles"
    res = CliRunner().invoke(
        cli,
        [
            "tiles",
            "export",
            "--round",
            "120",
            "--population",
            "idp",
            "--indicator",
            "change",
            "--max-zoom",
            "7",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and "round 120" in res.output
    with open(out, "rb") as fh:
        reader = Reader(MmapSource(fh))
        header = reader.header()
        assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
        assert (header["min_zoom"], header["max_zoom"]) == (0, 7)
        assert 38 < header["min_lon_e7"] / 1e7 < 39 and 48 < header["max_lon_e7"] / 1e7 < 49
        meta = reader.metadata()
        assert [v["id"] for v in meta["vector_layers"]] == [
            "governorates",
            "districts",
            "subdistricts",
            "locations",
            "sites",
            "fragility",
        ]
        assert meta["dtm_atlas"]["round"]["round_number"] == 120
        assert meta["legends"]["districts"]["diverging"] is True
        tiles = {(z, x, y): data for (z, x, y), data in all_tiles(reader.get_bytes)}
    assert len(tiles) > 20 and {z for z, _, _ in tiles} == set(range(8))
    for (z, x, y), data in tiles.items():
        assert data[:2] == b"\x1f\x8b"
        assert gzip.decompress(data) == _live(figures_client, z, x, y), (z, x, y)  # byte for byte
    # and the tiles left out are the empty ones
    assert _live(figures_client, 4, 0, 0) is None and (4, 0, 0) not in tiles
    z7 = decode(gzip.decompress(tiles[(7, 79, 51)]))
    assert {"governorates", "districts", "subdistricts", "locations"} <= set(z7)
    assert any(f["properties"]["name_ar"] == "الكرخ" for f in z7["districts"])


def test_export_mbtiles(cli_env, figures_client, tmp_path):
    out = tmp_path / "subdistricts.mbtiles"
    res = CliRunner().invoke(
        cli,
        [
            "tiles",
            "export",
            "--indicator",
            "change",
            "--layers",
            "subdistricts",
            "--min-zoom",
            "5",
            "--max-zoom",
            "6",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    db = sqlite3.connect(out)
    meta = dict(db.execute("SELECT name, value FROM metadata"))
    assert meta["format"] == "pbf" and meta["minzoom"] == "5" and meta["maxzoom"] == "6"
    assert [v["id"] for v in json.loads(meta["json"])["vector_layers"]] == ["subdistricts"]
    rows = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").fetchall()
    db.close()
    assert rows
    for z, x, tms_row, data in rows:
        y = (1 << z) - 1 - tms_row
        assert gzip.decompress(data) == _live(figures_client, z, x, y, "subdistricts")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-zoom", "3", "out.geojson"], ".pmtiles or .mbtiles"),
        (["--round", "4242", "--max-zoom", "2", "x.pmtiles"], "no idp data for round 4242"),  # the one 404 of a round
        (["--layers", "nope", "x.pmtiles"], "unknown layer"),
        (["--population", "refugee", "x.pmtiles"], "population"),
    ],
)
def test_export_errors(cli_env, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["tiles", "export", *args])
    assert res.exit_code != 0
    assert message in res.output
    assert not list(tmp_path.glob("*.pmtiles*"))
