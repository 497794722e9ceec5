"""Shared pieces of the HTTP layer: DB dependency, output negotiation, HTML rendering."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection, Engine

from service.core.settings import Settings

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

#: fields of ours that are shares (fractions 0-1 in data; docs/exports.md, one convention)
SHARE_FIELDS = frozenset({"share_national", "change_share", "change_12m_share", "completeness", "p_high"})


def as_read(name: str, value) -> str:
    """A property as a person reads it on an HTML page: shares in percent ("12.5 %"), empty for
    no value, the rest as it is."""
    if value is None:
        return ""
    if name in SHARE_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value * 100:,.2f}".rstrip("0").rstrip(".") + " %"
    return str(value)


TEMPLATES.globals["as_read"] = as_read


class OutputFormat(str, enum.Enum):
    json = "json"
    html = "html"


def get_conn(request: Request) -> Iterator[Connection]:
    """The request's connection: the primary; for GET and HEAD with replicas set, one snapshot of
    the replica the request reads from (service/api/reads.py)."""
    from service.api import reads

    if not reads.split(request):
        with get_primary(request).connect() as conn:
            yield conn
        return
    with reads.read_snapshot(request) as conn:
        yield conn


def get_primary(request: Request) -> Engine:
    """The primary's engine, whatever the method: for what writes (imports, editors' actions, the
    audit of restricted reads, a fragility run stored on a GET)."""
    return request.app.state.engine


def get_engine(request: Request) -> Engine:
    """The engine of this request, for a route that writes or hands its work to a thread (which
    opens its own connection): the primary, or for GET and HEAD with replicas set the replica the
    request reads from (service/api/reads.py); a route that reads takes ``Conn``."""
    from service.api.reads import read_engine

    return read_engine(request)


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


Conn = Annotated[Connection, Depends(get_conn)]
DbEngine = Annotated[Engine, Depends(get_engine)]
PrimaryEngine = Annotated[Engine, Depends(get_primary)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
FormatParam = Annotated[OutputFormat | None, Query(alias="f", description="Response format: json or html")]


def wants_html(request: Request, f: OutputFormat | None) -> bool:
    if f is not None:
        return f == OutputFormat.html
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def render(
    request: Request,
    f: OutputFormat | None,
    data: Any,
    *,
    title: str,
    template: str = "generic.html",
    media_type: str = "application/json",
    **context,
) -> Response:
    """JSON by default; HTML for browsers (Accept: text/html) or ``?f=html``."""
    if wants_html(request, f):
        html = TEMPLATES.get_template(template).render(
            request=request,
            title=title,
            data=data,
            json_text=orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode(),
            json_url=str(request.url.include_query_params(f="json")),
            **context,
        )
        return HTMLResponse(html)
    resp = JSONResponse(data)
    resp.headers["content-type"] = media_type
    return resp


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` in lon/lat (service.api.params.parse_bbox: 400 stating the rule otherwise)."""
    from service.api.params import parse_bbox as parse

    return parse(value)
