"""``dtm-atlas publish``: a round as static files whose bytes are the API's, under immutable keys."""

from __future__ import annotations

import gzip
import hashlib
import json

import pyogrio
from pmtiles.reader import MmapSource, Reader

from service.static_publish import IMMUTABLE, publish_round
from tests.conftest import settings_for


def test_a_round_published_as_static_files(figures_engine, figures_client, tmp_path):
    out = tmp_path / "bucket"
    result = publish_round(
        settings_for(figures_engine), figures_engine, out, round_ref="120", population="idp", package=False, max_zoom=5
    )
    assert result.prefix.startswith("IRQ/idp/r120/v")
    root = out / result.prefix
    manifest = json.loads((out / "manifest.json").read_text())["objects"]

    # every file is in the manifest with its real size and digest; versioned keys are immutable
    for f in result.files:
        entry = manifest[f["key"]]
        data = (out / f["key"]).read_bytes()
        assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
        if f["key"].startswith(result.prefix):
            assert entry["cache_control"] == IMMUTABLE
    latest = json.loads((out / "IRQ/idp/r120/latest.json").read_text())
    assert latest["prefix"] == result.prefix
    assert "immutable" not in manifest["IRQ/idp/r120/latest.json"]["cache_control"]

    # the choropleth is the API's answer, byte for byte
    api = figures_client.get("/choropleth/2.geojson", params={"round": "120", "population": "idp"})
    assert (root / "choropleth/adm2.geojson").read_bytes() == api.content
    assert manifest[f"{result.prefix}/choropleth/adm2.geojson"]["content_type"] == "application/geo+json"

    # the exports read back with GDAL: the districts GeoPackage carries the choropleth's figures
    gpkg = root / "exports" / "irq_dtm_idp_adm2_r120_20210228.gpkg"
    df = pyogrio.read_dataframe(gpkg)
    by_pcode = {f["properties"]["pcode"]: f["properties"]["individuals"] or 0 for f in api.json()["features"]}
    assert int(df["individuals"].fillna(0).sum()) == sum(by_pcode.values()) > 1_000_000

    # the PMTiles package holds decodable tiles of the round
    import mapbox_vector_tile

    with open(root / "tiles.pmtiles", "rb") as fh:
        reader = Reader(MmapSource(fh))
        header = reader.header()
        assert header["max_zoom"] == 5
        tile = reader.get(5, 20, 12)  # Baghdad
        assert tile
        layers = mapbox_vector_tile.decode(gzip.decompress(tile) if tile[:2] == b"\x1f\x8b" else tile)
        assert layers and any(layer["features"] for layer in layers.values())
