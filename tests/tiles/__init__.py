"""Helpers shared by the vector-tile tests: decoding with mapbox-vector-tile and with GDAL."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import mapbox_vector_tile
import morecantile
import pytest

TMS = morecantile.tms.get("WebMercatorQuad")
BAGHDAD = (44.366, 33.315)  # lon, lat
IRAQ_BOUNDS = (38.79, 29.06, 48.57, 37.38)


def tile_at(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    t = TMS.tile(lon, lat, z)
    return t.z, t.x, t.y


def decode(body: bytes) -> dict:
    """{layer name: [feature dicts]} (geometry in tile coordinates, y down)."""
    if not body:
        return {}
    layers = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})
    return {name: layer["features"] for name, layer in layers.items()}


def extents(body: bytes) -> dict[str, int]:
    """{layer name: extent} of a tile."""
    return {name: layer["extent"] for name, layer in mapbox_vector_tile.decode(body).items()} if body else {}


def by_pcode(features: list[dict]) -> dict[str, dict]:
    return {f["properties"]["pcode"]: f["properties"] for f in features}


needs_ogrinfo = pytest.mark.skipif(
    shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed (apt-get install gdal-bin)"
)

_FEATURE = re.compile(r"^OGRFeature\((?P<layer>[^)]*)\):\d+$")
_FIELD = re.compile(r"^  (?P<name>\w+) \((?P<type>[\w]+)\) = (?P<value>.*)$")


def ogr_features(body: bytes, z: int, x: int, y: int, folder: Path) -> dict[str, list[dict]]:
    """Decode a tile with GDAL's MVT driver: a z/x/y.pbf file read by ``ogrinfo``.

    Returns {layer: [{field: value (str), "_geometry": WKT type}]}.
    """
    path = folder / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-oo", f"Z={z}", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", "CLIP=NO", f"MVT:{path}"],
        capture_output=True,
        text=True,
        check=True,
        encoding="utf-8",
    ).stdout
    layers: dict[str, list[dict]] = {}
    current: dict | None = None
    for line in out.splitlines():
        m = _FEATURE.match(line)
        if m:
            current = {}
            layers.setdefault(m.group("layer"), []).append(current)
            continue
        if current is None:
            continue
        m = _FIELD.match(line)
        if m:
            current[m.group("name")] = m.group("value")
        elif line.startswith("  ") and re.match(r"^  (MULTI)?(POLYGON|POINT|LINESTRING)", line):
            current["_geometry"] = line.strip().split(" ", 1)[0]
    return layers
