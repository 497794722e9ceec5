"""The context basemap served by the service itself (tiles.basemap): ``/basemap.json``
(TileJSON whose tile URL carries the data stamp) and ``/basemap/{z}/{x}/{y}.mvt``. A tile asked
with the current ``?v=`` stamp is ``immutable`` for a year; without it (or with a stale one) it
is ``no-cache`` with an ETag. No request leaves the server: the web map draws land, sea,
rivers, lakes, neighbouring countries and places from these tiles."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from service.api.httpcache import raw_response
from service.api.web import IMMUTABLE, REVALIDATE, WEB_DIR
from service.core.errors import BadRequest
from tiles.basemap import LAYERS, MAX_ZOOM, MIN_ZOOM, Basemap, BasemapMissing

router = APIRouter(tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"
ATTRIBUTION = "Natural Earth (public domain)"

_lock = threading.Lock()
_basemaps: dict[tuple[Path, Path], Basemap] = {}  # one per folder pair and process: read once


def get_basemap(request: Request) -> Basemap:
    ne = Path(request.app.state.settings.shared_data_dir) / "natural_earth"
    atlas = WEB_DIR / "node_modules" / "world-atlas"
    with _lock:
        key = (ne, atlas)
        if key not in _basemaps:
            _basemaps[key] = Basemap(ne, atlas)
        return _basemaps[key]


def _unavailable(exc: Exception) -> JSONResponse:
    return JSONResponse({"status": 503, "detail": str(exc)}, status_code=503)


@router.get("/basemap.json", summary="TileJSON of the context basemap (Natural Earth, world-atlas countries)")
def basemap_tilejson(request: Request):
    basemap = get_basemap(request)
    try:
        stamp = basemap.stamp
    except BasemapMissing as exc:
        return _unavailable(exc)
    base = str(request.base_url).rstrip("/")
    return {
        "tilejson": "3.0.0",
        "name": "DTM Atlas basemap",
        "attribution": ATTRIBUTION,
        "tiles": [f"{base}/basemap/{{z}}/{{x}}/{{y}}.mvt?v={stamp}"],
        "minzoom": MIN_ZOOM,
        "maxzoom": MAX_ZOOM,
        "bounds": [-180, -85.0511, 180, 85.0511],
        "vector_layers": [{"id": name, "fields": {}} for name in LAYERS],
        "dtm_atlas": {"stamp": stamp, "empty_tile": "204 No Content"},
    }


# documented bounds (the route checks them itself, with x and y below 2^z, and names them in its 400)
TILE_INDEX = {"minimum": 0, "maximum": (1 << MAX_ZOOM) - 1}


@router.get("/basemap/{z}/{x}/{y}.mvt", response_class=Response, summary="A tile of the context basemap")
async def basemap_tile(
    request: Request,
    z: Annotated[int, PathParam(json_schema_extra={"minimum": MIN_ZOOM, "maximum": MAX_ZOOM})],
    x: Annotated[int, PathParam(json_schema_extra=TILE_INDEX, description="0 to 2^z - 1")],
    y: Annotated[int, PathParam(json_schema_extra=TILE_INDEX, description="0 to 2^z - 1")],
    v: Annotated[str | None, Query(description="The basemap's stamp (/basemap.json): immutable when current")] = None,
):
    basemap = get_basemap(request)
    try:
        stamp = basemap.stamp
    except BasemapMissing as exc:
        return _unavailable(exc)
    if not (MIN_ZOOM <= z <= MAX_ZOOM) or x < 0 or y < 0 or x >= (1 << z) or y >= (1 << z):
        raise BadRequest(
            f"tile {z}/{x}/{y}: basemap tiles go from zoom {MIN_ZOOM} to {MAX_ZOOM} (clients overzoom above), "
            "x and y from 0 to 2^z - 1"
        )
    data = await run_in_threadpool(basemap.tile, z, x, y)
    return raw_response(request, data, MVT, IMMUTABLE if v == stamp else REVALIDATE, {})
