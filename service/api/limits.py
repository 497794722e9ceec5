"""Bounds and headers on every answer (pure ASGI: nothing on the hot path but a header list).

- A path segment longer than ``MAX_SEGMENT`` bytes is a 404 before any route runs (a static
  file name, a glyph range or a P-code of 256 characters never reaches the file system or an
  ``int()``); a query string over ``MAX_QUERY`` bytes is a 414.
- Security headers on every answer: ``X-Content-Type-Options: nosniff``,
  ``X-Frame-Options: DENY`` with CSP ``frame-ancestors 'none'``, ``Referrer-Policy``, and a
  Content-Security-Policy the web map (MapLibre: workers from blob:, styles inline) and the
  API docs satisfy; everything is served by the service itself. No ``'unsafe-eval'``: the web
  map's RTL text plugin is WebAssembly (``'wasm-unsafe-eval'`` lets it compile, nothing else) and
  is loaded by MapLibre's worker as a module (service/api/webmap.py), not evaluated; Arabic labels
  are shaped under this policy with no violation (tests/web/test_csp.py, Chromium).
  Data answers (JSON, GeoJSON, vector tiles, protobuf glyphs, CSV) are never documents: they
  carry the API's policy ``default-src 'none'; frame-ancestors 'none'`` (OWASP's advice for
  APIs) instead of the page's policy, which keeps a web-map round step under 2 KB.
- ``clip``: error details are cut to a few hundred characters (a 10 MB header line is not
  echoed back).
"""

from __future__ import annotations

import json

MAX_SEGMENT = 200
MAX_QUERY = 8192
DETAIL_LIMIT = 400

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval' blob:; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' data: blob:; worker-src 'self' blob:; "
    "child-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: the policy of answers that are data, never rendered as a document
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"content-security-policy", CSP.encode()),
]
DATA_SECURITY_HEADERS = [*SECURITY_HEADERS[:3], (b"content-security-policy", DATA_CSP.encode())]
#: content types of data answers (JSON of any kind, vector tiles, protobuf, CSV)
DATA_TYPES = (
    b"application/json",
    b"application/geo+json",
    b"application/schema+json",
    b"application/problem+json",
    b"application/vnd.mapbox-vector-tile",
    b"application/x-protobuf",
    b"text/csv",
)


def _is_data(headers) -> bool:
    for k, v in headers:
        if k.lower() == b"content-type":
            return v.split(b";")[0].strip().lower() in DATA_TYPES
    return False


def clip(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def bounded_int(text: str, max_digits: int = 18) -> int | None:
    """The whole number in ``text`` (ASCII digits), or None when it is not one or has more
    than ``max_digits`` digits (checked before any conversion: Python refuses 4,301 digits)."""
    t = text.strip()
    if not t or len(t) > max_digits or not (t.isascii() and t.isdigit()):
        return None
    return int(t)


class Guard:
    """Rejects over-long paths and query strings; adds the security headers to every answer."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                present = {k.lower() for k, _ in headers}
                extra = DATA_SECURITY_HEADERS if _is_data(headers) else SECURITY_HEADERS
                message["headers"] = list(headers) + [(k, v) for k, v in extra if k not in present]
            await send(message)

        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if any(len(seg) > MAX_SEGMENT for seg in raw_path.split(b"/")):
            return await _reply(send_with_headers, 404, f"no such path: a path segment is over {MAX_SEGMENT} bytes")
        if len(scope.get("query_string", b"")) > MAX_QUERY:
            return await _reply(send_with_headers, 414, f"query string over {MAX_QUERY} bytes")
        return await self.app(scope, receive, send_with_headers)


async def _reply(send, status: int, detail: str) -> None:
    body = json.dumps({"status": status, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
