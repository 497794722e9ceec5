"""Zoom bands shared by boundary generalisation, tiles and simplified GeoJSON.

Each boundary set is generalised once per band at import. A band's tolerance follows the size
of a pixel at that zoom: ``WORLD / 2**z / PIXELS_PER_TILE`` metres in Web Mercator, so the
simplification stays within one CSS pixel where MapLibre draws that zoom (512 px tiles).
"""

from __future__ import annotations

import math

import morecantile

TMS = morecantile.tms.get("WebMercatorQuad")
WORLD_M = 2 * math.pi * 6378137.0
PIXELS_PER_TILE = 512  # MapLibre draws a zoom-z tile over 512 CSS px
MIN_BAND, MAX_BAND = 0, 12  # above MAX_BAND tiles and GeoJSON use the full-resolution geometry


def tolerance_m(zoom: int) -> float:
    return WORLD_M / (2**zoom) / PIXELS_PER_TILE


def band_for_zoom(zoom: int | float | None) -> int | None:
    """The generalised band to read for a zoom; ``None`` means full resolution."""
    if zoom is None:
        return None
    z = int(math.floor(zoom))
    if z > MAX_BAND:
        return None
    return max(MIN_BAND, z)


def geojson_decimals(zoom: int | float | None) -> int:
    """Coordinate decimals that keep ~1/2 pixel precision at ``zoom`` (full: 6, ~0.1 m)."""
    if zoom is None:
        return 6
    pixel_deg = 360.0 / (2 ** max(0.0, float(zoom)) * 512)
    return max(2, min(6, math.ceil(-math.log10(pixel_deg / 2))))
