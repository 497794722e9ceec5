"""The web map for planners: ``GET /`` (one HTML page), its own files under ``/static/`` (web/static)
and MapLibre GL JS under ``/vendor/maplibre-gl@{version}/`` (web/node_modules/maplibre-gl/dist,
installed by ``web/install.sh``). Everything the page loads comes from this server: no CDN, no
web fonts, no basemap. See docs/webmap.md.

Static files are read once, gzip-compressed once and kept in memory (re-read when the file
changes on disk). Caching for slow connections:

* ``/`` is ``no-cache`` with an ETag: a revisit costs one small 304.
* The page names its files with their content hash (``/static/app.js?v=HASH``) and MapLibre
  with its version in the path, so those answers are ``immutable`` for a year; the same path
  without (or with a stale) ``v`` is ``no-cache`` with an ETag instead.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service.api.httpcache import accepts_gzip, etag_matches

router = APIRouter(tags=["web map"])

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
STATIC_DIR = WEB_DIR / "static"
MAPLIBRE_DIR = WEB_DIR / "node_modules" / "maplibre-gl"
MAPLIBRE_DIST = MAPLIBRE_DIR / "dist"
# the only MapLibre files the page needs (the worker is loaded by maplibre-gl.mjs, next to itself)
MAPLIBRE_FILES = (
    "maplibre-gl.mjs",
    "maplibre-gl-worker.mjs",
    "maplibre-gl.css",
    "maplibre-gl.mjs.map",
    "maplibre-gl-worker.mjs.map",
)
SETUP_HINT = "run `./dev setup` (or `web/install.sh`, which runs `npm ci` in web/)"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
GZIP_MIDDLEWARE_MIN_SIZE = 1024  # service.app's GZipMiddleware(minimum_size=...)
COMPRESSIBLE = {".js", ".mjs", ".css", ".html", ".svg", ".map", ".json"}
_STATIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Asset:
    body: bytes
    gz: bytes | None
    etag: str  # quoted strong ETag of the uncompressed body
    digest: str  # first 10 hex digits of the body's sha256, used as ?v=
    media_type: str
    stamp: tuple[int, int]  # (mtime_ns, size) when read


_cache: dict[Path, Asset] = {}
_lock = threading.Lock()


def load_asset(path: Path) -> Asset:
    """The file at ``path`` (read, hashed and gzipped once; again when it changes on disk)."""
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    asset = _cache.get(path)
    if asset is not None and asset.stamp == stamp:
        return asset
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    suffix = path.suffix.lower()
    gz = gzip.compress(body, compresslevel=9, mtime=0) if suffix in COMPRESSIBLE and len(body) > 512 else None
    media_type = TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    asset = Asset(body, gz, f'"{digest[:32]}"', digest[:10], media_type, stamp)
    with _lock:
        _cache[path] = asset
    return asset


def maplibre_version() -> str | None:
    """The installed maplibre-gl version, or None when web/node_modules is missing."""
    try:
        version = json.loads((MAPLIBRE_DIR / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None
    if not all((MAPLIBRE_DIST / name).is_file() for name in MAPLIBRE_FILES[:3]):
        return None
    return version


def asset_response(request: Request, asset: Asset, cache_control: str, body: bytes | None = None) -> Response:
    """``asset`` (or ``body`` in its place) with ETag, caching and precompressed gzip when accepted."""
    if body is not None:  # a rendered variant of the asset (the page)
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        gz = gzip.compress(body, compresslevel=9, mtime=0) if len(body) > 512 else None
    else:
        body, etag, gz = asset.body, asset.etag, asset.gz
    headers = {"Cache-Control": cache_control, "ETag": etag, "X-Content-Type-Options": "nosniff"}
    if gz is not None:
        headers["Vary"] = "Accept-Encoding"
    if etag_matches(request, etag):
        return Response(status_code=304, headers=headers)
    if gz is not None and accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"  # GZipMiddleware leaves encoded answers alone
        body = gz
    elif len(body) >= GZIP_MIDDLEWARE_MIN_SIZE:
        headers.pop("Vary", None)  # GZipMiddleware adds its own Vary to plain answers of this size
    return Response(body, media_type=asset.media_type, headers=headers)


def _missing(request: Request) -> Response:
    """503 saying how to install MapLibre GL JS (HTML for browsers, JSON otherwise)."""
    where = MAPLIBRE_DIR.relative_to(WEB_DIR.parent) if MAPLIBRE_DIR.is_relative_to(WEB_DIR.parent) else MAPLIBRE_DIR
    detail = (
        f"The web map needs MapLibre GL JS in {where}, which is not "
        f"installed: {SETUP_HINT}. The APIs (/docs) work without it."
    )
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "application/json" not in accept:
        html = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>DTM Atlas: web map not installed</title>"
            "<body style='font-family:sans-serif;max-width:40em;margin:2em auto'><h1>Web map not installed</h1>"
            f"<p>{detail.replace('`', '')}</p><p><a href='/docs'>API documentation</a></p></body></html>"
        )
        return HTMLResponse(html, status_code=503, headers={"Cache-Control": "no-store", "Retry-After": "60"})
    return JSONResponse(
        {"status": 503, "detail": detail}, status_code=503, headers={"Cache-Control": "no-store", "Retry-After": "60"}
    )


def _not_found(detail: str) -> JSONResponse:
    return JSONResponse({"status": 404, "detail": detail}, status_code=404)


def render_page(version: str) -> bytes:
    """index.html with the MapLibre path and the content hashes of the page's own files filled in."""
    page = load_asset(STATIC_DIR / "index.html").body.decode("utf-8")
    values = {"MAPLIBRE": f"/vendor/maplibre-gl@{version}"}
    rtl = json.loads((WEB_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"].get(
        "@mapbox/mapbox-gl-rtl-text", ""
    )
    # .mjs: MapLibre's worker imports it as a module, no eval (service.api.webmap)
    values["RTL"] = f"/vendor/mapbox-gl-rtl-text@{rtl}/mapbox-gl-rtl-text.mjs"
    values["PMTILES"] = f"/vendor/pmtiles@{pmtiles_version()}/pmtiles.js"  # a published round's PMTiles
    for name in (
        *("app.js", "app.css", "fragility.js", "flows.js", "events.js", "datasets.js"),
        *("signin.js", "published.js", "print.js"),
    ):
        values[name] = f"/static/{name}?v={load_asset(STATIC_DIR / name).digest}"
    return re.sub(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}", lambda m: values[m.group(1)], page).encode("utf-8")


@router.get("/", summary="The web map (HTML page)", response_class=HTMLResponse)
def index(request: Request):
    version = maplibre_version()
    if version is None:
        return _missing(request)
    asset = load_asset(STATIC_DIR / "index.html")
    resp = asset_response(request, asset, REVALIDATE, body=render_page(version))
    origins = request.app.state.settings.published_origins
    if origins:  # the page may read published rounds from there (web/static/published.js)
        from service.api.limits import CSP

        extra = " ".join(origins.split(","))
        resp.headers["Content-Security-Policy"] = CSP.replace("connect-src 'self'", f"connect-src 'self' {extra}")
    return resp


@router.get("/static/{name}", include_in_schema=False)
def static_file(request: Request, name: str, v: str | None = None):
    if not _STATIC_NAME.fullmatch(name) or not (STATIC_DIR / name).is_file():
        return _not_found(f"no static file {name!r}")
    asset = load_asset(STATIC_DIR / name)
    return asset_response(request, asset, IMMUTABLE if v == asset.digest else REVALIDATE)


@router.get("/vendor/maplibre-gl@{version}/{name}", include_in_schema=False)
def maplibre_file(request: Request, version: str, name: str):
    installed = maplibre_version()
    if installed is None:
        return _missing(request)
    if name not in MAPLIBRE_FILES or not (MAPLIBRE_DIST / name).is_file():
        return _not_found(f"no MapLibre file {name!r}")
    if version != installed:
        return _not_found(f"maplibre-gl {version} is not installed here (installed: {installed}); reload /")
    return asset_response(request, load_asset(MAPLIBRE_DIST / name), IMMUTABLE)


# the `pmtiles` package's browser build (its protocol for MapLibre: web/static/published.js reads a
# published round's archive with it), served as installed, with its version in the path
PMTILES_FILE = WEB_DIR / "node_modules" / "pmtiles" / "dist" / "pmtiles.js"


def pmtiles_version() -> str | None:
    try:
        return json.loads((PMTILES_FILE.parents[1] / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


@router.get("/vendor/pmtiles@{version}/pmtiles.js", include_in_schema=False)
def pmtiles_file(request: Request, version: str):
    installed = pmtiles_version()
    if installed is None or not PMTILES_FILE.is_file():
        return _not_found(f"the pmtiles package is not installed in web/node_modules: {SETUP_HINT}")
    if version != installed:
        return _not_found(f"pmtiles {version} is not installed here (installed: {installed}); reload /")
    return asset_response(request, load_asset(PMTILES_FILE), IMMUTABLE)
