"""Vector tiles and TileJSON: /tiles/{layers}/{z}/{x}/{y}.mvt, /tiles/{layers}.json, /tiles.

``layers`` is one layer or several, comma-separated (a composite tile): governorates,
districts, subdistricts (admin levels 1-3 with the figures of a round), locations (the
round's master-list points) and sites. See docs/tiles.md.

Tiles are served from a cache keyed by the data version (tiles.cache): a cached tile costs no
database query. A tile is gzip-compressed once, when made, and stored compressed; clients
that accept gzip get those bytes as they are. Empty tiles are ``204 No Content``.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.api.access import answer_scope_of, authorize, layer_resource, mark
from service.api.common import (
    FormatParam,
    render,
)
from service.api.httpcache import entry_response, get_service, make_entry, raw_response
from service.api.params import (
    CLASS_SCHEMES,
    INDICATORS,
    ClassesQuery,
    Country,
    Layers,
    Round,
    RoundRef,
    parse_classes,
    parse_country,
    parse_indicator,
    parse_population,
    parse_round,
)
from service.api.params import (
    Indicator as IndicatorName,
)
from service.core.access import answer_scope, decide
from service.core.constants import POPULATIONS
from service.core.countries import attribution
from service.core.errors import BadRequest
from service.core.importlog import data_version
from service.core.rounds import round_filter
from tiles.cache import NoCache
from tiles.layers import (
    BASE_LAYERS,
    LAYERS,
    MAX_PARAM_LENGTH,
    MAX_REQUEST_ZOOM,
    Layer,
    LayerError,
    layer_params,
    parse_layers,
)
from tiles.mvt import TileQuery, check_tile, set_bounds
from tiles.service import TileService

router = APIRouter(tags=["tiles"])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


Population = enum.Enum("Population", {p: p for p in POPULATIONS}, type=str)


PopulationParam = Annotated[Population, Query(description="idp or returnee")]
IndicatorParam = Annotated[
    IndicatorName, Query(description="The admin layers' value and class: " + ", ".join(INDICATORS))
]


def dated(service: TileService, query: TileQuery, ref: RoundRef, engine=None) -> TileQuery:
    """``query`` naming the round ``ref`` names (a date is looked up: NotFound without a round)."""
    with (engine or service.engine).connect() as conn:
        return dataclasses.replace(query, **round_filter(conn, ref, query.population, query.country))


def _layers(spec: str) -> list[Layer]:
    return parse_layers(spec)  # LayerError: 404 unknown layer, 400 malformed list (service.api.errors)


# ------------------------------------------------------------------------------------ tiles
# The tile endpoint reads its parameters itself (no FastAPI validation): a cached tile then
# costs about what a no-op endpoint does. They are documented through OPENAPI_PARAMETERS.
def _int_param(name: str, value: str, minimum: int = 0) -> int:
    try:
        if value is not None and len(value.strip()) > 20:  # (no int() of thousands of digits)
            raise BadRequest(f"{name}: the number is out of range")
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name}: Input should be a valid integer, got {value!r}") from None
    if number < minimum:
        raise BadRequest(f"{name}: Input should be greater than or equal to {minimum}")
    return number


def tile_query(params, chosen: list[Layer] = ()) -> tuple[TileQuery, RoundRef]:
    """``?round=&population=&indicator=&country=`` and the ``chosen`` layers' own parameters
    (``Layer.params``) -> (TileQuery, what ``round`` names); 400 on a
    bad value (service.api.params). A round named by its date has no number in the query yet:
    ``TileService.dated`` looks it up. Which country an omitted ``country`` means is decided
    with the context (tiles.mvt.tile_country: 400 when several countries have figures)."""
    population = parse_population(params.get("population"))
    indicator = parse_indicator(params.get("indicator"))
    ref = parse_round(params.get("round"))
    country = parse_country(params.get("country"))
    classes = parse_classes(params.get("classes"))
    query = TileQuery(
        population=population,
        round_number=ref.number,
        indicator=indicator,
        country=country,
        classes=classes,
        extra=layer_params(chosen, params),
    )
    return query, ref


def _tile_coordinates(path_params: dict) -> tuple[int, int, int]:
    z, x, y = (_int_param(k, path_params[k], minimum=-(1 << 62)) for k in ("z", "x", "y"))
    check_tile(z, x, y)  # TileError: 400
    return z, x, y


def dataset_visible_layer(request: Request, layer: Layer) -> bool:
    """Whether the layer exists for the request's principal (a restricted kind's layer does not)."""
    from service.api.access import current

    return decide(current(request), layer_resource(layer)).allowed


async def _tile(request: Request) -> Response:
    chosen = _layers(request.path_params["layers"])
    z, x, y = _tile_coordinates(request.path_params)
    query, ref = tile_query(request.query_params, chosen)
    spec = ",".join(layer.id for layer in chosen)
    service = get_service(request.app)
    if ref.date is not None:  # the resolver finds the round of the date (cached per data version)
        query = dataclasses.replace(query, reporting_date=ref.date)
    resources = [layer_resource(layer) for layer in chosen]
    for resource in resources:
        if resource.level:  # not public: the policy decides (401/403/404, audit), never a shared cache entry
            await authorize(request, resource)
    read = await service.read(request)  # the primary, or a replica and the version it has replayed
    version = read.version
    key = service.key(version, spec, z, x, y, query)
    if type(service.cache) is NoCache or answer_scope_of(request):
        # no cache: compress only for a client that takes gzip (an entry would gzip, then unzip);
        # RoundNotFound is a 404 (service.api.errors)
        version, raw = await service.make_raw_tile(chosen, z, x, y, query, version, read)
        return raw_response(
            request,
            raw,
            MVT_MEDIA_TYPE,
            _cache_control(request, service, version),
            {"X-Data-Version": str(version), "X-Tile-Cache": "off"},
        )
    entry = await service.cache.get(key)
    status = "hit"
    if entry is None:
        status = "miss"
        seen, raw = await service.make_raw_tile(chosen, z, x, y, query, version, read)
        entry = make_entry(raw)
        if seen != version:  # an import committed in between: file it under what was read
            version, key = seen, service.key(seen, spec, z, x, y, query)
        await service.cache.set(key, entry)
    return entry_response(
        request,
        entry,
        MVT_MEDIA_TYPE,
        _cache_control(request, service, version),
        {"X-Data-Version": str(version), "X-Tile-Cache": status},
    )


#: a tile URL naming the data version it was made at (TileJSON hands those out) never changes:
#: an import gives new URLs, so a browser keeps such a tile for a year and never asks again
IMMUTABLE = "public, max-age=31536000, immutable"


def _cache_control(request: Request, service: TileService, version: int) -> str:
    """Immutable for ``?v=`` the data version the tile holds; else the service's revalidating rule."""
    return IMMUTABLE if request.query_params.get("v") == str(version) else service.cache_control


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


OPENAPI_PARAMETERS = [
    _param(
        "layers",
        "path",
        {"type": "string"},
        "A layer, or several comma-separated (a composite tile): "
        + ", ".join(BASE_LAYERS)
        + " and the layers of the kinds of data (GET /tiles lists them all)",
        True,
    ),
    _param("z", "path", {"type": "integer", "minimum": 0, "maximum": MAX_REQUEST_ZOOM}, "zoom", True),
    _param("x", "path", {"type": "integer", "minimum": 0}, "column, 0 .. 2^z - 1", True),
    _param("y", "path", {"type": "integer", "minimum": 0}, "row from the top (XYZ), 0 .. 2^z - 1", True),
    _param(
        "round",
        "query",
        {"type": "string"},
        "DTM round number (e.g. 120) or a reporting date (2021-02-28), within the population "
        "(default: its latest round by reporting date)",
    ),
    _param("population", "query", {"type": "string", "enum": list(POPULATIONS), "default": "idp"}, "idp or returnee"),
    _param(
        "indicator",
        "query",
        {"type": "string", "enum": list(INDICATORS), "default": "individuals"},
        "The admin layers' value and class",
    ),
    _param(
        "classes",
        "query",
        {"type": "string", "enum": list(CLASS_SCHEMES)},
        "Class breaks of the admin layers' class: fixed (over the whole history), quantile, jenks, equal "
        "(default: the indicator's own method over the round)",
    ),
    _param(
        "v",
        "query",
        {"type": "string"},
        "The data version the URL was handed out at (TileJSON's tiles carry it): when it is the current one the "
        "tile is Cache-Control: public, max-age=31536000, immutable; without it the tile revalidates",
    ),
    _param(
        "country",
        "query",
        {"type": "string"},
        "ISO 3166 alpha-3 (IRQ) or P-code prefix (IQ): the country whose units, figures and sites the tile holds; "
        "needed only when several countries have figures of the population (or, with no round, boundaries): "
        "omitted then, the answer is a 400 listing them",
    ),
]


# what a layer's own parameter accepts where the service checks more than "a string": a day or
# a month (the flows layers take months, the events layers days: one pattern holds both)
LAYER_PARAM_SCHEMAS = {
    "date": {"type": "string", "format": "date"},
    "from": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"},
    "to": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"},
}


def layer_parameters(layers) -> list[dict]:
    """The OpenAPI parameters the kinds' layers read (``Layer.params``, as the registry's layers
    declare them): one per name, its description saying which layers read it and how; names the
    service documents already (round, country, ...) are left to those."""
    taken = {p["name"] for p in OPENAPI_PARAMETERS}
    by_name: dict[str, dict[str, list[str]]] = {}
    for layer in layers:
        for name, description in layer.params.items():
            if name not in taken:
                by_name.setdefault(name, {}).setdefault(description, []).append(layer.id)
    out = []
    for name, descriptions in sorted(by_name.items()):
        text = "; ".join(f"layer{'s' if len(ids) > 1 else ''} {', '.join(ids)}: {d}" for d, ids in descriptions.items())
        schema = {"maxLength": MAX_PARAM_LENGTH} | LAYER_PARAM_SCHEMAS.get(name, {"type": "string"})
        out.append(_param(name, "query", schema, f"Read only by the layers named here (others ignore it). {text}"))
    return out


def document_layer_parameters() -> None:
    """Put the layers' own parameters of the installed kinds (the registry) into the OpenAPI of
    ``/tiles/{layers}/...`` and ``/tiles/{layers}.json`` (``create_app``, before it includes
    ``router``: an included router's routes carry their ``openapi_extra`` along)."""
    extra = layer_parameters(LAYERS.values())
    base = [
        p | {"description": p["description"].split(":")[0] + ": " + ", ".join(LAYERS) + " (GET /tiles describes them)"}
        if p["name"] == "layers"
        else p
        for p in OPENAPI_PARAMETERS
    ]
    for route in router.routes:
        path = getattr(route, "path", "")
        if path == "/tiles/{layers}/{z}/{x}/{y}.mvt":
            route.openapi_extra = {"parameters": base + extra}
        elif path == "/tiles/{layers}.json":
            route.openapi_extra = {"parameters": extra}


@router.get(
    "/tiles/{layers}/{z}/{x}/{y}.mvt",
    summary="A vector tile (Mapbox Vector Tile) of one or several comma-separated layers",
    response_class=Response,
    responses={
        200: {"content": {MVT_MEDIA_TYPE: {}}, "description": "the tile (gzip when accepted)"},
        204: {"description": "no feature in this tile"},
        304: {"description": "unchanged (If-None-Match)"},
        400: {"description": "bad tile coordinates or parameter; country omitted while several countries have figures"},
        404: {"description": "unknown layer or round, or a country without data"},
    },
    openapi_extra={"parameters": OPENAPI_PARAMETERS},
)
async def tile(request: Request):
    return await _tile(request)


@router.get("/tiles/{layers}/{z}/{x}/{y}.pbf", include_in_schema=False)
async def tile_pbf(request: Request):
    return await _tile(request)


# --------------------------------------------------------------------------------- TileJSON
def tilejson(service: TileService, chosen: list[Layer], query: TileQuery, tiles_url: str, engine=None) -> dict:
    """The TileJSON, read in one snapshot of ``engine`` (the request's read: the primary or a
    replica), whose data version its tile URLs name."""
    with service.snapshot(engine) as conn:
        version = data_version(conn)
        ctx = service.resolver.context(conn, version, query, chosen)
        bounds = service.resolver.cached(version, ("bounds", ctx.country), lambda: set_bounds(conn, ctx.set_ids))
        credit = service.resolver.cached(
            version, ("attribution", ctx.country), lambda: attribution(conn, [ctx.country] if ctx.country else None)
        )
        conn.rollback()
    legends = {
        layer.id: ctx.legends[layer.level].to_dict()
        for layer in chosen
        if layer.kind == "admin" and layer.level in ctx.legends
    }
    minzoom = min(layer.minzoom for layer in chosen)
    maxzoom = max(layer.maxzoom for layer in chosen)
    bounds = bounds or [-180.0, -85.051129, 180.0, 85.051129]
    rnd = ctx.round
    return {
        "tilejson": "3.0.0",
        "name": "DTM Atlas: " + ", ".join(layer.id for layer in chosen),
        "description": "; ".join(layer.description for layer in chosen),
        "attribution": credit,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [
            round((bounds[0] + bounds[2]) / 2, 4),
            round((bounds[1] + bounds[3]) / 2, 4),
            max(minzoom, min(maxzoom, 5)),
        ],
        "vector_layers": [layer.tilejson() for layer in chosen],
        "legend": next(iter(legends.values()), None),
        "legends": legends,
        "dtm_atlas": {
            "data_version": version,
            "population": query.population,
            "indicator": query.indicator,
            "classes": query.classes,
            "country": ctx.country,
            "round": None
            if rnd is None
            else {
                "id": rnd["id"],
                "round_number": rnd["round_number"],
                "population": rnd["population"],
                "country": rnd["country"],
                "reporting_date": rnd["reporting_date"].isoformat(),
            },
            "empty_tile": "204 No Content",
        },
    }


@router.get("/tiles/{layers}.json", summary="TileJSON 3.0.0 of one or several comma-separated layers, with the legend")
def tiles_json(
    request: Request,
    chosen: Layers,
    rnd_ref: Round,
    country: Country,
    population: PopulationParam = Population.idp,
    indicator: IndicatorParam = IndicatorName.individuals,
    classes: ClassesQuery = None,
    f: FormatParam = None,
):
    for layer in chosen:  # a layer a role cannot see does not exist for it
        if not dataset_visible_layer(request, layer):
            raise LayerError(f"unknown layer {layer.id!r}; see /tiles", status=404)
        mark(request, answer_scope([layer_resource(layer).level]))
    service = get_service(request.app)
    engine = service.read_sync(request).engine  # the primary, or a replica (service/core/replicas.py)
    query = TileQuery(
        population=population.value,
        round_number=rnd_ref.number,
        indicator=indicator.value,
        country=country,
        classes=classes.value if classes else None,
        extra=layer_params(chosen, request.query_params),
    )
    if rnd_ref.date is not None:  # the tile URLs name the round by its number
        query = dated(service, query, rnd_ref, engine)
    base = str(request.base_url).rstrip("/")
    qs = "&".join(
        f"{k}={query.round_number if k == 'round' else v}"
        for k, v in request.query_params.multi_items()
        if k not in ("f", "v")
    )
    url = f"{base}/tiles/{','.join(layer.id for layer in chosen)}/{{z}}/{{x}}/{{y}}.mvt" + (f"?{qs}" if qs else "")
    data = tilejson(service, chosen, query, url, engine)  # RoundNotFound: 404 (service.api.errors)
    # the URLs carry the data version: immutable tiles, new URLs after an import
    version = data["dtm_atlas"]["data_version"]
    data["tiles"] = [f"{u}{'&' if '?' in u else '?'}v={version}" for u in data["tiles"]]
    return render(request, f, data, title=data["name"])


@router.get("/tiles", summary="The vector-tile layers and their TileJSON")
def tiles_index(request: Request, f: FormatParam = None):
    base = str(request.base_url).rstrip("/")
    service = get_service(request.app)
    data = {
        "layers": [
            dict(
                layer.tilejson(),
                geometry=layer.geometry,
                feature_limit=layer.feature_limit,
                tilejson=f"{base}/tiles/{layer.id}.json",
            )
            for layer in LAYERS.values()
            if dataset_visible_layer(request, layer)
        ],
        "composite": f"{base}/tiles/{{layer1,layer2,...}}/{{z}}/{{x}}/{{y}}.mvt",
        "cache": service.cache.stats(),
        "data_version_source": "memory (LISTEN/NOTIFY)"
        if service.watcher.version is not None
        else f"database per request ({service.watcher.reason})",
    }
    return render(
        request,
        f,
        data,
        title="Vector tiles",
        rows=[{k: v for k, v in layer.items() if k != "fields"} for layer in data["layers"]],
    )
