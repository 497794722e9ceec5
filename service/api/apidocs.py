"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served offline: their scripts and styles come
from this server (npm ``swagger-ui-dist`` and ``redoc``'s standalone bundle in web/node_modules,
installed by ``web/install.sh``), never from a CDN, and no web fonts are asked for. The vendor
files carry the package's version in their path, so they are ``immutable`` for a year."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from service.api.web import IMMUTABLE, SETUP_HINT, WEB_DIR, asset_response, load_asset

router = APIRouter(include_in_schema=False)

PACKAGES = {
    "swagger-ui-dist": ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"),
    "redoc": ("bundles/redoc.standalone.js",),
}


def _dir(package: str) -> Path:
    return WEB_DIR / "node_modules" / package


def version(package: str) -> str | None:
    try:
        return json.loads((_dir(package) / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def _missing(package: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>API documentation</title><p>The {package} package is not installed, so this "
        f"page cannot be shown offline: {SETUP_HINT}. The API's description is at <a href='/openapi.json'>"
        "/openapi.json</a>.</p>",
        status_code=503,
    )


def _url(package: str, name: str) -> str:
    return f"/apidocs/{package}@{version(package)}/{name}"


@router.get("/docs")
def swagger_ui(request: Request):
    if version("swagger-ui-dist") is None:
        return _missing("swagger-ui-dist")
    app = request.app
    return get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - API",
        swagger_js_url=_url("swagger-ui-dist", "swagger-ui-bundle.js"),
        swagger_css_url=_url("swagger-ui-dist", "swagger-ui.css"),
        swagger_favicon_url=_url("swagger-ui-dist", "favicon-32x32.png"),
        swagger_ui_parameters={"validatorUrl": None},  # no call to an online validator
    )


@router.get("/redoc")
def redoc(request: Request):
    if version("redoc") is None:
        return _missing("redoc")
    app = request.app
    page = get_redoc_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - API reference",
        redoc_js_url=_url("redoc", "bundles/redoc.standalone.js"),
        redoc_favicon_url=_url("swagger-ui-dist", "favicon-32x32.png"),
        with_google_fonts=False,
    )
    page.headers["Content-Security-Policy"] = "img-src 'self' data:"  # images from this server only
    return page


@router.get("/apidocs/{package}@{ver}/{name:path}")
def vendor_file(request: Request, package: str, ver: str, name: str):
    if package not in PACKAGES or name not in PACKAGES[package]:
        return JSONResponse({"status": 404, "detail": f"no vendor file {package}/{name}"}, status_code=404)
    installed = version(package)
    if installed is None:
        return JSONResponse({"status": 503, "detail": f"{package} is not installed: {SETUP_HINT}"}, status_code=503)
    if ver != installed:
        return JSONResponse(
            {"status": 404, "detail": f"{package} {ver} is not installed here (installed: {installed}); reload"},
            status_code=404,
        )
    asset = load_asset(_dir(package) / name)
    if package == "redoc":  # its menu's maker logo comes from its CDN: an empty image of our own instead
        return asset_response(request, asset, IMMUTABLE, body=_without_cdn(asset.body))
    return asset_response(request, asset, IMMUTABLE)


REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"
_patched: dict[int, bytes] = {}


def _without_cdn(body: bytes) -> bytes:
    key = id(body)
    if key not in _patched:
        _patched.clear()
        _patched[key] = body.replace(REDOC_LOGO, EMPTY_SVG)
    return _patched[key]
