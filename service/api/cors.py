"""Cross-origin reads: a partner's web map on another origin fetches our tiles, TileJSON,
styles, GeoJSON, OGC API, DTM API and exports from the browser.

Only reads take part: GET and HEAD answers carry ``Access-Control-Allow-Origin`` for the
origins in ``Settings.cors_origins`` (default ``*``), and a preflight is answered for them
(with the request headers a map sends: ``If-None-Match``, ``Range``...). Writes (``POST
/rounds``) get no CORS headers and their preflight is refused, so a page elsewhere can never
send an editor's token; credentials (cookies) are never allowed cross-origin. Pure ASGI.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware

READ_METHODS = ("GET", "HEAD")
EXPOSED = [
    "ETag",
    "Content-Length",
    "Content-Encoding",
    "X-Data-Version",
    "X-Tile-Cache",
    "X-Cache",
    "Content-Crs",
    "Content-Disposition",
    "Retry-After",
]


def parse_origins(value: str | list[str] | None) -> list[str]:
    """``"*"``, or a comma-separated list of origins (``https://a.org, https://b.org``)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else value.split(",")
    return [o.strip().rstrip("/") for o in items if o.strip()]


class ReadOnlyCORS:
    """CORS for read requests only (see the module's docstring)."""

    def __init__(self, app, origins: str | list[str] | None = "*"):
        self.app = app
        allowed = parse_origins(origins)
        self.enabled = bool(allowed)
        # "*": every read answer says so, Origin or not, so it does not vary with the Origin
        # header (no "Vary: Origin": shared caches and CDNs keep one copy)
        self.any_origin = "*" in allowed
        self.cors = CORSMiddleware(
            app,
            allow_origins=allowed,
            allow_methods=list(READ_METHODS),
            allow_headers=["*"],
            allow_credentials=False,
            expose_headers=EXPOSED,
            max_age=86400,
        )

    @staticmethod
    def _with_any_origin(send):
        async def wrapped(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", ", ".join(EXPOSED).encode()),
                ]
            await send(message)

        return wrapped

    async def __call__(self, scope, receive, send):
        if not self.enabled or scope["type"] != "http":
            return await self.app(scope, receive, send)
        method = scope["method"]
        if method in READ_METHODS:
            if self.any_origin:
                return await self.app(scope, receive, self._with_any_origin(send))
            return await self.cors(scope, receive, send)
        if method == "OPTIONS":
            headers = {k.lower(): v for k, v in scope.get("headers", [])}
            wanted = headers.get(b"access-control-request-method", b"").decode("latin-1").upper()
            if b"origin" in headers and wanted:
                # a preflight: for a read, the CORS answer; for a write, a refusal without CORS headers
                if wanted in READ_METHODS:
                    return await self.cors(scope, receive, send)
                from fastapi.responses import JSONResponse

                detail = (
                    f"cross-origin {wanted} is not allowed: only GET and HEAD are served to other "
                    "origins (writes need a token, from the same origin or a non-browser client)"
                )
                return await JSONResponse({"status": 403, "detail": detail}, status_code=403)(scope, receive, send)
        return await self.app(scope, receive, send)
