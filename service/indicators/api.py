"""HTTP routes of indicator datasets: ``GET /datasets`` (the catalogue, JSON or HTML),
``GET /datasets/{id}``, ``POST /datasets`` (editor: upload a file), ``POST
/datasets/{id}/access`` (editor: publish), and ``/choropleth/{level}.geojson?dataset=ID``.

The choropleth shares its path with the master lists' choropleth: this router's route only
matches requests that name ``dataset=`` (``DatasetRoute``), so the master lists' route and its
parameters stay as they were. Included before the figures router by ``create_app``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Annotated, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Match

from service.api.access import authorize, authorize_sync, current, mark
from service.api.common import Conn, DbEngine, FormatParam, PrimaryEngine, render
from service.api.params import parse_level_path
from service.api.uploads import editor_country, multipart_body, named, receive, upload_dir, upload_responses
from service.auth import Editor
from service.core.access import Scope, answer_scope
from service.core.versioncache import VersionCaches
from service.indicators import publish
from service.indicators.errors import IndicatorFileError
from tiles.zoom import band_for_zoom, geojson_decimals


class DatasetRoute(APIRoute):
    """Matches only when the query names ``dataset`` (one OpenAPI operation with the master
    lists' route: ``service.api.openapi_variants``)."""

    variant = "with dataset= (an indicator dataset)"

    def matches(self, scope):
        match, child = super().matches(scope)
        if match is Match.FULL and "dataset" not in parse_qs(scope.get("query_string", b"").decode("latin-1")):
            return Match.NONE, {}
        return match, child


router = APIRouter(tags=["datasets"])
_RESOURCES = VersionCaches(max_entries=10_000)  # dataset id -> its Resource (the policy's view), per data version
_MISSING = object()
choropleth_router = APIRouter(tags=["datasets"], route_class=DatasetRoute)


def _not_found(exc: Exception) -> HTTPException:
    return HTTPException(404, str(exc).strip("'\""))


@router.get("/datasets", summary="Indicator datasets (site and location assessments, indices) and their catalogues")
def list_datasets(request: Request, conn: Conn, f: FormatParam = None):
    who = current(request)
    resources = publish.resources(conn)
    items, levels = [], []
    for d in publish.datasets(conn, who):
        cols = publish.indicators(conn, d["id"], who)
        d["indicators"] = [{k: c[k] for k in ("id", "label_en", "label_ar", "unit", "aggregation")} for c in cols]
        d["links"] = {"self": f"/datasets/{d['id']}"}
        levels.append(publish.answer_level(resources[d["id"]], [c["id"] for c in cols]))
        items.append(d)
    mark(request, answer_scope(levels))  # a listing naming partner or restricted data is not shared
    return render(request, f, {"datasets": items}, title="Indicator datasets")


def _authorize(request: Request, conn, dataset_id: int):
    """The dataset as the policy sees it, if the request's principal may read it (else 401/403/404)."""
    res = publish.resource(conn, dataset_id)
    if res is None:
        raise HTTPException(404, f"no dataset {dataset_id}; see /datasets")
    authorize_sync(request, res)
    return res


@router.get("/datasets/{dataset_id}", summary="One dataset: its catalogue (columns, labels, rules) and links")
def get_dataset(
    request: Request, conn: Conn, dataset_id: Annotated[int, PathParam(ge=1, le=2_147_483_647)], f: FormatParam = None
):
    res = _authorize(request, conn, dataset_id)
    try:
        data = publish.describe(conn, dataset_id, current(request))
    except publish.DatasetNotFound as exc:
        raise _not_found(exc) from None
    mark(request, answer_scope([publish.answer_level(res, [c["id"] for c in data["catalogue"]])]))
    return render(request, f, data, title=data["title"])


def _site_map_task(engine_or_url, dataset_id: int, indicator: str | None, who) -> bytes:
    """A render pool task (service.api.renderpool): the site map's PNG."""
    from service.api.renderpool import engine_of
    from service.indicators.sitemap import site_map_png

    with engine_of(engine_or_url).connect() as conn:
        try:
            return site_map_png(conn, dataset_id, indicator, who=who)
        except LookupError as exc:
            raise _not_found(exc) from None


@router.get("/datasets/{dataset_id}/map.png", summary="Site map: sites or locations as proportional symbols")
async def site_map(
    request: Request,
    engine: DbEngine,
    dataset_id: Annotated[int, PathParam(ge=1, le=2_147_483_647)],
    indicator: Annotated[str | None, Query(max_length=200, description="Symbol size (default individuals)")] = None,
):
    """Rendered once per data version and what it holds (the cache key has the indicator it
    draws, resolved for the reader, and the answer's scope: a public map is one entry for
    everyone, a restricted one is never kept)."""
    from service.api.httpcache import cached
    from service.api.renderpool import engine_arg, render_pool

    def policy() -> tuple[str | None, Scope]:
        with engine.connect() as conn:
            res = _authorize(request, conn, dataset_id)
            shown = [c["id"] for c in publish.indicators(conn, dataset_id, current(request))]
        drawn = indicator or ("individuals" if "individuals" in shown else next(iter(shown), None))
        if drawn not in shown:
            raise HTTPException(404, f"dataset {dataset_id} has no public indicator {drawn!r}")
        return drawn, answer_scope([publish.answer_level(res, [drawn])])

    drawn, scope = await run_in_threadpool(policy)
    who = current(request)
    pool = render_pool(request)  # drawn in a render worker process (the gate holds its place)

    def produce() -> bytes:
        return pool.call(_site_map_task, engine_arg(engine, pool), dataset_id, drawn, who)

    return await cached(request, "site-map", (dataset_id, drawn), "image/png", produce, scope)


DATASET_FIELDS = {"unit", "country", "component", "round", "date", "access", "sheet"}
DATASET_UPLOAD_OPENAPI = multipart_body(
    ["file", "unit"],
    {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "CSV, CSV.GZ or XLSX; an HXL row is read",
        },
        "mapping": {"type": "string", "format": "binary", "description": "Mapping file (YAML)"},
        "unit": {"type": "string", "enum": ["site", "location"]},
        "country": {"type": "string", "description": "ISO3 code (or P-code prefix)", "maxLength": 3},
        "component": {
            "type": "string",
            "enum": ["site_assessment", "location_assessment", "index", "baseline"],
        },
        "round": {"type": "string", "maxLength": 40},
        "date": {"type": "string", "format": "date"},
        "access": {
            "type": "string",
            "enum": ["public", "partner", "restricted"],
            "default": "restricted",
        },
        "sheet": {"type": "string", "maxLength": 100},
    },
)


def _dataset_form(fields: dict[str, str], user) -> dict:
    """The upload's form fields, checked like query parameters (400 naming the field)."""
    from service.api.params import ParamError

    def choice(name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
        value = fields.get(name) or default
        if value is not None and value not in allowed:
            raise ParamError(name, f"one of {', '.join(allowed)}, not {value[:40]!r}")
        return value

    out = {
        "unit": choice("unit", ("site", "location")),
        "country": editor_country(fields, user),
        "component": choice("component", ("site_assessment", "location_assessment", "index", "baseline")),
        "access": choice("access", ("public", "partner", "restricted"), "restricted"),
        "round_label": (fields.get("round") or "").strip()[:41] or None,
        "sheet": fields.get("sheet") or None,
    }
    if out["unit"] is None:
        raise ParamError("unit", "give site (a site assessment) or location")
    if out["round_label"] is not None and len(out["round_label"]) > 40:
        raise ParamError("round", "at most 40 characters")
    d = (fields.get("date") or "").strip()
    try:
        out["reporting_date"] = date.fromisoformat(d) if d and len(d) == 10 else None
        if d and out["reporting_date"] is None:
            raise ValueError(d)
    except ValueError:
        raise ParamError("date", f"a reporting date YYYY-MM-DD, not {d[:20]!r}") from None
    return out


@router.post(
    "/datasets",
    status_code=201,
    summary="Upload a site or location assessment (editor token)",
    openapi_extra=DATASET_UPLOAD_OPENAPI,
    responses=upload_responses({}, {}, "column"),
)
async def upload_dataset(request: Request, engine: PrimaryEngine, user: Editor):
    """Import a site or location assessment as a dataset. The token is checked before any byte
    of the body is read, and the body is streamed to the data folder within the size limit
    (``service.api.uploads.receive``), as for master lists."""
    from service.indicators.store import import_dataset

    settings = request.app.state.settings
    limit = settings.max_upload_mb * 1024 * 1024
    folder = upload_dir(settings)
    async with receive(
        request, limit, folder, fields=DATASET_FIELDS, files=("file", "mapping"), what="the assessment"
    ) as up:
        options = _dataset_form(up.fields, user)
        with named(up.path, up.name) as path:
            try:
                res = await run_in_threadpool(
                    import_dataset, engine, path, **options, mapping=up.files.get("mapping"), username=user.subject
                )
            except IndicatorFileError as exc:
                raise HTTPException(422, str(exc)) from None
    return {
        "dataset_id": res.dataset_id,
        "country": res.country,
        "round": res.round_label,
        "reporting_date": res.reporting_date.isoformat() if res.reporting_date else None,
        "access": res.access,
        "rows": res.rows,
        "columns": res.columns,
        "placement": res.placement,
        "issues": res.issues[:200],
        "conversions": res.conversions,
        "data_version": res.data_version,
    }


@router.post("/datasets/{dataset_id}/access", summary="Set who may see a dataset (editor token)")
def set_access(
    request: Request,
    engine: PrimaryEngine,
    user: Editor,
    dataset_id: Annotated[int, PathParam(ge=1, le=2_147_483_647)],
    access: Annotated[Literal["public", "partner", "restricted"], Form()],
):
    from service.indicators.store import set_access as store_access

    try:
        found = store_access(engine, dataset_id, access, user.countries)
    except PermissionError as exc:
        raise HTTPException(403, str(exc)) from None
    if not found:
        raise HTTPException(404, f"no dataset {dataset_id}")
    return {"dataset_id": dataset_id, "access": access}


class GeoJSONResponse(Response):
    media_type = "application/geo+json"


_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"status": {"type": "integer"}, "detail": {"type": "string"}},
            "required": ["status", "detail"],
        }
    }
}


@choropleth_router.get(
    "/choropleth/{level}.geojson",
    summary="An indicator of a dataset per unit of a level, classified, as GeoJSON",
    description="A FeatureCollection of the units of the level with the indicator's value (`value`), the number "
    "of sites or locations behind it (`n`) and its quantile class (`class`); `legend` holds the class breaks, the "
    "national value and the UNASSIGNED bucket (what could not be placed at the level), `dataset` the dataset.",
    response_class=GeoJSONResponse,
    responses={
        200: {"description": "The choropleth (gzip when asked; ETag)"},
        304: {"description": "Not modified: the If-None-Match ETag is still current"},
        400: {"description": "A parameter out of range (dataset, zoom) or too long (indicator)", "content": _ERROR},
        404: {
            "description": "An unknown level, no such public dataset, or no public indicator of that id",
            "content": _ERROR,
        },
    },
)
async def dataset_choropleth(
    request: Request,
    engine: DbEngine,
    level: Annotated[str, PathParam(description="1-3 or adm1..adm3")],
    dataset: Annotated[int, Query(ge=1, le=2_147_483_647, description="Dataset id (see /datasets)")],
    indicator: Annotated[str, Query(max_length=200, description="A column id of the dataset's catalogue")] = (
        "observations"
    ),
    zoom: Annotated[float | None, Query(ge=0, le=24, description="Map zoom the polygons are generalised for")] = 5,
):
    from service.api.httpcache import cached, get_service
    from service.core.disclosure import Rule

    lvl = parse_level_path(level)
    # the dataset's levels as the policy reads them, kept per data version (publishing or
    # withdrawing a dataset bumps it): a cached answer costs no query for the policy
    version = await get_service(request.app).version()
    held = _RESOURCES.of(engine).peek(version, dataset, _MISSING)
    if held is _MISSING:
        with engine.connect() as conn:
            held = await run_in_threadpool(publish.resource, conn, dataset)
        _RESOURCES.of(engine).put(version, dataset, held)
    res = held
    if res is None:
        raise HTTPException(404, f"no dataset {dataset}; see /datasets")
    # the answer holds the indicator's column: read at its level (401/403/404 before anything is
    # read, a restricted read audited); a non-public view (no suppression) is not shared either
    level = res.column_level(indicator)
    who = await authorize(request, replace(res, sensitivity=level))
    scope = answer_scope([level])
    if not publish.public_view(who, res):
        scope = max(scope, Scope.SHARED)
    rule = Rule.from_settings(request.app.state.settings)

    def produce() -> bytes:
        with engine.connect() as conn:
            try:
                return publish.choropleth_geojson(
                    conn, dataset, lvl, indicator, band_for_zoom(zoom), geojson_decimals(zoom), who, rule
                ).encode()
            except LookupError as exc:
                raise _not_found(exc) from None

    return await cached(
        request, "dataset-choropleth", (lvl, dataset, indicator, zoom), "application/geo+json", produce, scope
    )
