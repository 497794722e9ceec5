"""OGC API - Features under ``/ogc``: Part 1 (Core, GeoJSON, HTML), Part 2 (CRS: CRS84, EPSG:4326,
EPSG:3857, the country's UTM zone), Part 3 (queryables, CQL2 ``filter``), ``sortby`` and
``properties`` (service.api.ogc_query).

Collections (see docs/ogc.md):

* ``admin0`` .. ``admin3``: admin units of the current boundary set(s), polygons;
* ``sites``: sites (camps, informal settlements, collective centres), points;
* per population, one time-enabled collection per level over all its rounds:
  ``{population}-locations`` (points) and ``{population}-adm1`` .. ``-adm3`` (figures per unit,
  polygons), plus the kinds' round datasets (``idp-fragility-adm3``); ``datetime`` and
  ``round`` select rounds, feature ids carry the round (``r120-IQG07Q02``);
* the per-round collections ``{population}-r{round}-locations``, ``-adm1`` .. ``-adm3``
  (``idp-r120-adm2``) are aliases, answered but not listed (the list stays short: GIS
  clients read every listed collection's document).

Countries: with one country loaded, the ids are the ones above. With several (current
boundaries or rounds of more than one country), ``/collections`` lists each country's
collections under ids prefixed by its ISO3 code in lower case (``irq-admin1``,
``irq-idp-r120-adm2``, ``syr-admin1``) and ``?country=`` keeps one country's. The prefixed ids
are accepted in a one-country deployment too, and an id without prefix still names the
collection of the one country that has it (a round only one country has); when several have
it (``admin1`` with two countries' boundaries), ``?country=`` says which, else the answer is a
400 listing the countries (service.core.countries).

Every collection is a dataset of ``service.publish.datasets`` (fields and SQL are defined there,
shared with the file exports). The ``UNASSIGNED`` bucket of the figures has no polygon and is
not an item; the collection document reports its totals (``unassigned``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from boundaries.pcode import normalize_pcode
from service.api.access import authorize_dataset_sync, current, dataset_visible
from service.api.common import (
    TEMPLATES,
    Conn,
    DbEngine,
    FormatParam,
    JSONResponse,
    parse_bbox,
    wants_html,
)
from service.api.ogc_collections import (
    Collection,
    CollectionId,
    CountryParam,
    all_collections,
    get_collection,
    only_rounds,
    round_part,
)
from service.api.ogc_openapi import OPENAPI_30, ogc_openapi
from service.api.ogc_query import (
    CONFORMANCE,
    CRS84,
    FILTER_LANGS,
    ITEMS_PARAMS,
    bbox_to_crs84,
    parse_crs,
    parse_datetime,
    property_filters,
    query_options,
    supported_crs,
    utm_srid,
)
from service.api.params import INT4_MAX, Offset
from service.core.errors import NotFound
from service.core.importlog import data_version
from service.publish.cql import queryables_schema
from service.publish.datasets import (
    CACHE,
    POPULATION_LABEL,
    bucket_totals,
    round_label,
)
from service.publish.exports import CREDIT, DISCLAIMER, FORMATS, licence
from service.publish.series import split_feature_id

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
HTML_MAX_ROWS = 1_000
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"


# --------------------------------------------------------------------------- helpers
def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _url(request: Request, path: str, **params) -> str:
    q = {k: v for k, v in params.items() if v is not None}
    return f"{_base(request)}{path}" + (f"?{urlencode(q)}" if q else "")


def _self_links(request: Request, path: str, json_type: str, title: str, html: bool) -> list[dict]:
    return [
        {
            "href": _url(request, path, f="json"),
            "rel": "self" if not html else "alternate",
            "type": json_type,
            "title": f"{title} (JSON)",
        },
        {
            "href": _url(request, path, f="html"),
            "rel": "alternate" if not html else "self",
            "type": HTML,
            "title": f"{title} (HTML)",
        },
    ]


def _json(data, media_type: str = JSON, headers: dict | None = None) -> Response:
    resp = JSONResponse(data, headers=headers)
    resp.headers["content-type"] = media_type
    return resp


def _map_assets() -> dict | None:
    """MapLibre and the pages' map script (web/static/ogcmap.js), served by this service; None when not installed."""
    from service.api.web import STATIC_DIR, load_asset, maplibre_version

    version = maplibre_version()
    if version is None or not (STATIC_DIR / "ogcmap.js").is_file():
        return None
    digest = load_asset(STATIC_DIR / "ogcmap.js").digest
    return {"maplibre": f"/vendor/maplibre-gl@{version}", "script": f"/static/ogcmap.js?v={digest}"}


def _html(template: str, request: Request, title: str, data, headers: dict | None = None, **context) -> HTMLResponse:
    context.setdefault("map_geojson", None)
    context.setdefault("map_bboxes", None)
    body = TEMPLATES.get_template(template).render(
        map_assets=_map_assets(),
        request=request,
        title=title,
        data=data,
        base=_base(request),
        json_url=str(request.url.include_query_params(f="json")),
        **context,
    )
    return HTMLResponse(body, headers=headers)


def _cached(conn, version: int | None, key, compute):
    """``CACHE`` at the data version ``version`` of ``conn``'s snapshot (read once per request:
    a list of collections asks the cache four times per collection), or read now when None."""
    if version is None:
        return CACHE.get(conn, key, compute)
    return CACHE.of(conn.engine).get(version, key, compute)


def collection_crs(conn, col: Collection, version: int | None = None) -> list:
    """The CRSs a collection's items are served in (service.api.ogc_query.supported_crs)."""
    return supported_crs(_cached(conn, version, ("utm", col.country), lambda: utm_srid(conn, col.country)))


def _collection_doc(request: Request, conn, col: Collection, html: bool = False, version: int | None = None) -> dict:
    ds, sel = col.dataset, col.selection()
    path = f"/ogc/collections/{col.id}"
    if version is None:
        version = data_version(conn)
    extent = _cached(conn, version, ("extent", *col.cache_key), lambda: sel.extent(conn))
    if col.rounds is not None:
        dates = [r["reporting_date"] for r in col.rounds]
        temporal = [min(dates).isoformat(), max(dates).isoformat()] if dates else None
    else:
        temporal = _cached(conn, version, ("temporal", *col.cache_key), lambda: sel.temporal_extent(conn))
    export_round = col.round or (col.rounds[-1] if col.rounds else None)
    doc: dict = {
        "id": col.id,
        "title": col.title,
        "description": ds.description,
        "links": [
            *_self_links(request, path, JSON, "This collection", html),
            {
                "href": _url(request, f"{path}/items", f="json"),
                "rel": "items",
                "type": GEOJSON,
                "title": "Items (GeoJSON)",
            },
            {"href": _url(request, f"{path}/items", f="html"), "rel": "items", "type": HTML, "title": "Items (HTML)"},
            *(
                {
                    "href": _url(request, f"{path}/queryables"),
                    "rel": rel,
                    "type": "application/schema+json",
                    "title": "Queryables (JSON Schema)",
                }
                for rel in ("http://www.opengis.net/def/rel/ogc/1.0/queryables", "queryables")  # the draft's rel too
            ),
            *(
                {
                    "href": _url(
                        request,
                        f"/exports/{ds.key}.{ext}",
                        round=export_round["round_number"] if export_round else None,
                        population=export_round["population"] if export_round else None,
                        country=col.country if col.qualified or col.named else None,
                    ),
                    "rel": "enclosure",
                    "type": fmt.media_type,
                    "title": f"Download: {fmt.label}"
                    + (f" ({round_label(export_round)})" if col.rounds is not None and export_round else ""),
                }
                for ext, fmt in FORMATS.items()
            ),
        ],
        "itemType": "feature",
        "crs": [c.uri for c in collection_crs(conn, col, version)],
        "storageCrs": CRS84,
    }
    ext_doc: dict = {}
    if extent:
        ext_doc["spatial"] = {"bbox": [extent], "crs": CRS84}
    if temporal:
        ext_doc["temporal"] = {"interval": [[f"{temporal[0]}T00:00:00Z", f"{temporal[1]}T23:59:59Z"]], "trs": TRS}
    if ext_doc:
        doc["extent"] = ext_doc
    doc["geometryType"] = ds.geometry_type
    fields = col.queryable_dataset.fields
    doc["properties"] = [{"name": f.name, "type": f.type, "description": f.description} for f in fields]
    doc["filters"] = [{"name": f.name, "description": f.description} for f in ds.filters]
    if col.qualified:
        doc["country"] = col.country
    if col.round is not None:
        doc["round"] = {
            "round_number": col.round["round_number"],
            "population": col.round["population"],
            "reporting_date": col.round["reporting_date"].isoformat(),
            "country": col.round["country"],
        }
    if col.rounds is not None:
        doc["timeEnabled"] = True
        doc["rounds"] = [
            {"round_number": r["round_number"], "reporting_date": r["reporting_date"].isoformat()} for r in col.rounds
        ]
    if ds.kind == "figures" and col.round is not None:
        b = bucket_totals(conn, col.round["id"], ds.level)
        doc["unassigned"] = b
        doc["unassignedNote"] = (
            "The UNASSIGNED bucket (locations not placed in a unit of this level) has no polygon and "
            "is not an item; the CSV and XLSX exports carry it as the row pcode = UNASSIGNED."
        )
    doc["attribution"] = CREDIT
    doc["license"] = _cached(conn, version, ("licence", col.country), lambda: licence(conn, [col.country]))
    doc["disclaimer"] = DISCLAIMER
    return doc


# --------------------------------------------------------------------------- endpoints
@router.get("", summary="Landing page (OGC API - Features)")
def landing(request: Request, f: FormatParam = None):
    html = wants_html(request, f)
    data = {
        "title": "DTM Atlas: OGC API - Features",
        "description": "IOM DTM displacement figures per admin unit and round, locations, sites and admin "
        "boundaries, for QGIS, ArcGIS and GDAL. " + DISCLAIMER,
        "attribution": CREDIT,
        "links": [
            *_self_links(request, "/ogc", JSON, "This document", html),
            {
                "href": _url(request, "/openapi.json"),
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.1",
                "title": "The API definition (OpenAPI)",
            },
            {
                "href": _url(request, "/ogc/api"),
                "rel": "service-desc",
                "type": OPENAPI_30,
                "title": "The OGC API - Features definition alone (OpenAPI 3.0, paths under /ogc)",
            },
            {"href": _url(request, "/docs"), "rel": "service-doc", "type": HTML, "title": "The API documentation"},
            {
                "href": _url(request, "/ogc/conformance", f="json"),
                "rel": "conformance",
                "type": JSON,
                "title": "Conformance classes",
            },
            {"href": _url(request, "/ogc/collections", f="json"), "rel": "data", "type": JSON, "title": "Collections"},
            {
                "href": _url(request, "/ogc/collections", f="html"),
                "rel": "data",
                "type": HTML,
                "title": "Collections (HTML)",
            },
        ],
    }
    if html:
        admin0 = _url(request, "/ogc/collections/admin0/items", f="json")
        return _html("ogc_page.html", request, data["title"], data, kind="landing", map_geojson=admin0)
    return _json(data)


@router.get("/api", include_in_schema=False)
def api(request: Request):
    return _json(ogc_openapi(request), OPENAPI_30)


@router.get("/conformance", summary="Conformance classes")
def conformance(request: Request, f: FormatParam = None):
    html = wants_html(request, f)
    data = {"conformsTo": CONFORMANCE, "links": _self_links(request, "/ogc/conformance", JSON, "Conformance", html)}
    if html:
        return _html("ogc_page.html", request, "Conformance", data, kind="conformance")
    return _json(data)


@router.get("/collections", summary="Collections: admin levels, sites, and per round locations and figures per level")
def collections(request: Request, conn: Conn, country: CountryParam, f: FormatParam = None):
    html = wants_html(request, f)
    version = data_version(conn)  # one read for every collection's cached extents, CRSs and licence
    cols = [
        _collection_doc(request, conn, c, html, version)
        for c in all_collections(conn, country, who=current(request))
        if dataset_visible(request, c.dataset, c.country)  # collections a role cannot see do not exist
    ]
    data = {
        "links": _self_links(request, "/ogc/collections", JSON, "Collections", html),
        "crs": [CRS84],
        "collections": cols,
    }
    if html:
        boxes = sorted({tuple(c["extent"]["spatial"]["bbox"][0]) for c in cols if "spatial" in c.get("extent", {})})
        return _html("ogc_page.html", request, "Collections", data, kind="collections", map_bboxes=boxes)
    return _json(data)


@router.get("/collections/{collection_id}", summary="One collection")
def collection(request: Request, conn: Conn, collection_id: CollectionId, country: CountryParam, f: FormatParam = None):
    html = wants_html(request, f)
    col = get_collection(conn, collection_id, country, current(request))
    authorize_dataset_sync(request, col.dataset, col.country)
    doc = _collection_doc(request, conn, col, html)
    if html:
        boxes = [doc["extent"]["spatial"]["bbox"][0]] if "spatial" in doc.get("extent", {}) else None
        return _html("ogc_page.html", request, doc["title"], doc, kind="collection", map_bboxes=boxes)
    return _json(doc)


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection (GeoJSON), with paging and filters",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}, HTML: {}}}},
)
def items(
    request: Request,
    engine: DbEngine,
    conn: Conn,
    collection_id: CollectionId,
    country: CountryParam,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat (CRS84, or in bbox-crs)")] = None,
    datetime: Annotated[
        str | None,
        Query(
            description="A date (2021-02-28), date-time or interval (2021-01-01/.., ../2021-03-01): in a "
            "time-enabled collection the rounds reported then"
        ),
    ] = None,
    round: Annotated[
        str | None,
        Query(description="Time-enabled collections: DTM round number(s), comma-separated (120 or 118,119,120)"),
    ] = None,
    filter: Annotated[
        str | None,
        Query(
            description="A CQL2 filter over the collection's queryables, "
            "e.g. individuals > 10000 AND adm1_name = 'Ninewa'"
        ),
    ] = None,
    filter_lang: Annotated[
        str | None,
        Query(
            alias="filter-lang",
            description="cql2-text (default) or cql2-json; cql-text (the draft's name, as GDAL up to 3.6 "
            "sends it) is read as cql2-text",
            json_schema_extra={"enum": list(FILTER_LANGS)},
        ),
    ] = None,
    filter_crs: Annotated[str | None, Query(alias="filter-crs", description=f"Only {CRS84}")] = None,
    sortby: Annotated[
        str | None, Query(description="Properties to sort by, '-' for descending: -individuals,pcode")
    ] = None,
    properties: Annotated[
        str | None, Query(description="The properties to return, comma-separated (none: all)")
    ] = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=INT4_MAX,
            description=f"Items per page (default {DEFAULT_LIMIT}; above {MAX_LIMIT} it is clamped)",
            json_schema_extra={"maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
    ] = None,
    offset: Offset = 0,
    crs: Annotated[
        str | None, Query(description="Output CRS: CRS84 (default), EPSG:4326, EPSG:3857, the country's UTM zone")
    ] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="The CRS of bbox (as crs)")] = None,
    f: FormatParam = None,
):
    """Other query parameters are property filters (see the collection's ``filters``), e.g. ``?pcode=IQG07Q02``,
    ``?adm1=IQG07``; P-codes in any form (IRQ-G07, iqg07). ``?country=`` names the country of a
    collection id without a country prefix (needed only when several countries have it)."""
    col = get_collection(conn, collection_id, country, current(request))
    authorize_dataset_sync(request, col.dataset, col.country)
    if round is not None:
        col = only_rounds(col, round)
    supported = collection_crs(conn, col)
    out_crs = parse_crs(crs, supported, "crs")
    in_crs = parse_crs(bbox_crs, supported, "bbox-crs")
    options = query_options(
        col.queryable_dataset,
        filter_=filter,
        filter_lang=filter_lang,
        filter_crs=filter_crs,
        sortby=sortby,
        properties=properties,
    )
    sel = col.selection(
        bbox=bbox_to_crs84(conn, parse_bbox(bbox), in_crs),
        dates=parse_datetime(datetime),
        filters=property_filters(request, col.dataset),
        srid=out_crs.srid,
        latlon=out_crs.latlon,
        **options,
    )
    requested = DEFAULT_LIMIT if limit is None else limit
    effective = min(requested, MAX_LIMIT)
    clamped = requested > MAX_LIMIT
    cache_key = ("count", *col.cache_key, sel.bbox, sel.dates, sel.filters, sel.cql)
    path = f"/ogc/collections/{col.id}/items"
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset", "f")]

    def page_url(off: int, fmt: str) -> str:
        return f"{_base(request)}{path}?" + urlencode(keep + [("limit", effective), ("offset", off), ("f", fmt)])

    html = wants_html(request, f)
    fmt = "html" if html else "json"
    mtype = HTML if html else GEOJSON

    def page_links(matched: int | None, more: bool) -> list[dict]:
        """self/alternate, next (``more``: a row after the page exists), prev, collection."""
        links = [
            {
                "href": page_url(offset, "json"),
                "rel": "alternate" if html else "self",
                "type": GEOJSON,
                "title": "This page (GeoJSON)",
            },
            {
                "href": page_url(offset, "html"),
                "rel": "self" if html else "alternate",
                "type": HTML,
                "title": "This page (HTML)",
            },
        ]
        if more:
            links.append(
                {"href": page_url(offset + effective, fmt), "rel": "next", "type": mtype, "title": "Next page"}
            )
        if offset > 0:
            links.append(
                {
                    "href": page_url(max(0, offset - effective), fmt),
                    "rel": "prev",
                    "type": mtype,
                    "title": "Previous page",
                }
            )
        links.append(
            {
                "href": _url(request, f"/ogc/collections/{col.id}", f="json"),
                "rel": "collection",
                "type": JSON,
                "title": "The collection",
            }
        )
        return links

    headers = {"Content-Crs": f"<{out_crs.uri}>"}
    if clamped:
        headers["X-Limit-Clamped"] = f"requested={requested}; effective={effective}"
    head = {
        "type": "FeatureCollection",
        "timeStamp": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "limit": effective,
    }
    if clamped:
        head["limitClamped"] = True
        head["limitRequested"] = requested

    if html:
        matched = CACHE.get(conn, cache_key, lambda: sel.count(conn))
        head["numberMatched"] = matched
        head["links"] = page_links(matched, offset + effective < matched)
        effective_html = min(effective, HTML_MAX_ROWS)
        rows = [
            dict(zip(["id", *(f_.name for f_ in sel.out_fields())], r))
            for b in sel.batches(conn, "table", limit=effective_html, offset=offset)
            for r in b
        ]
        for r in rows:
            for k, v in r.items():
                if hasattr(v, "isoformat"):
                    r[k] = v.isoformat()
        head["numberReturned"] = len(rows)
        return _html(
            "ogc_page.html",
            request,
            col.title,
            head,
            kind="items",
            collection_id=col.id,
            rows=rows,
            offset=offset,
            shown=effective_html,
            headers=headers,
            map_geojson=f"{_base(request)}{path}?"
            + urlencode(
                [(k, v) for k, v in keep if k != "crs"] + [("limit", effective_html), ("offset", offset), ("f", "json")]
            ),
        )

    conn.close()

    def body():
        # one query for the page and the row after it (is there a next page?), features streamed as
        # PostgreSQL writes them; numberMatched, numberReturned and the links close the document
        # (a page that ends the matches counts them for free; otherwise the count is cached per data
        # version and filter)
        yield orjson.dumps(head)[:-1] + b',"features":[\n'
        n, more = 0, False
        with engine.connect() as c:
            for batch in sel.batches(c, "geojson", limit=effective + 1, offset=offset, batch=2_000):
                rows = [r[0] for r in batch]
                if n + len(rows) > effective:
                    rows, more = rows[: effective - n], True
                if rows:
                    yield ((",\n" if n else "") + ",\n".join(rows)).encode("utf-8")
                n += len(rows)
            if not more and (n or not offset):
                matched = offset + n
            else:
                matched = CACHE.get(c, cache_key, lambda: sel.count(c))
        tail = {"numberReturned": n, "numberMatched": matched, "links": page_links(matched, more)}
        yield b"\n]," + orjson.dumps(tail)[1:] + b"\n"

    return StreamingResponse(body(), media_type=GEOJSON, headers=headers)


@router.get(
    "/collections/{collection_id}/queryables",
    summary="What a filter may name: the collection's properties and geometry (JSON Schema)",
    response_class=Response,
    responses={200: {"content": {"application/schema+json": {}, HTML: {}}}},
)
def queryables(request: Request, conn: Conn, collection_id: CollectionId, country: CountryParam, f: FormatParam = None):
    col = get_collection(conn, collection_id, country, current(request))
    authorize_dataset_sync(request, col.dataset, col.country)
    url = _url(request, f"/ogc/collections/{col.id}/queryables")
    schema = queryables_schema(col.queryable_dataset, url, col.title)
    if wants_html(request, f):
        return _html(
            "ogc_page.html", request, f"Queryables: {col.title}", schema, kind="queryables", collection_id=col.id
        )
    # the same JSON as application/json to a client that asks for that and not for JSON Schema (GDAL up to 3.6)
    accept = request.headers.get("accept", "")
    plain = "application/schema+json" not in accept and ("application/json" in accept or "geo+json" in accept)
    return _json(schema, JSON if plain else "application/schema+json")


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature (GeoJSON)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}, HTML: {}}}},
)
def item(
    request: Request,
    conn: Conn,
    collection_id: CollectionId,
    feature_id: Annotated[
        str, Path(description="Feature id: P-code for admin units and figures, number for locations, site ID for sites")
    ],
    country: CountryParam,
    crs: Annotated[
        str | None, Query(description="Output CRS: CRS84 (default), EPSG:4326, EPSG:3857, the country's UTM zone")
    ] = None,
    f: FormatParam = None,
):
    col = get_collection(conn, collection_id, country, current(request))
    authorize_dataset_sync(request, col.dataset, col.country)
    out_crs = parse_crs(crs, collection_crs(conn, col), "crs")
    requested_id, series = feature_id, col.rounds is not None
    fid: object = feature_id
    if series:  # r120-IQG07Q02: the round's feature IQG07Q02
        parts = split_feature_id(feature_id)
        rnd = next((r for r in col.rounds if parts and round_part(r) == parts[0]), None)
        if rnd is None:
            raise NotFound(f"no feature {feature_id!r} in {col.id}: ids are r{{round}}-{{id}} (r120-IQG07Q02)")
        col = Collection(col.id, col.dataset, rnd, col.country, col.qualified, col.named)
        fid = feature_id = parts[1]
    if col.dataset.id_type == "int":
        if not (feature_id.isascii() and feature_id.isdigit()) or int(feature_id) >= 2**63:
            raise NotFound(f"no feature {feature_id!r} in {col.id}: ids of this collection are numbers")
        fid = int(feature_id)
    elif not col.dataset.is_point:  # units, by P-code
        try:
            fid = normalize_pcode(feature_id)
        except ValueError:
            fid = feature_id
    sel = col.selection(fid=fid, srid=out_crs.srid, latlon=out_crs.latlon)
    rows = [r for b in sel.batches(conn, "geojson", limit=1) for r in b]
    if not rows:
        raise NotFound(f"no feature {feature_id!r} in collection {col.id}")
    feature = orjson.loads(rows[0][0])
    if series:
        feature["id"] = feature_id = requested_id
    path = f"/ogc/collections/{col.id}/items/{feature_id}"
    html = wants_html(request, f)
    feature["links"] = [
        {
            "href": _url(request, path, f="json"),
            "rel": "alternate" if html else "self",
            "type": GEOJSON,
            "title": "This feature (GeoJSON)",
        },
        {
            "href": _url(request, path, f="html"),
            "rel": "self" if html else "alternate",
            "type": HTML,
            "title": "This feature (HTML)",
        },
        {
            "href": _url(request, f"/ogc/collections/{col.id}", f="json"),
            "rel": "collection",
            "type": JSON,
            "title": "The collection",
        },
    ]
    headers = {"Content-Crs": f"<{out_crs.uri}>"}
    if html:
        return _html(
            "ogc_page.html",
            request,
            f"{col.title}: {feature_id}",
            feature,
            kind="item",
            collection_id=col.id,
            headers=headers,
            map_geojson=_url(request, path, f="json"),
        )
    return _json(feature, GEOJSON, headers)


__all__ = ["router", "all_collections", "get_collection", "parse_datetime", "POPULATION_LABEL", "ITEMS_PARAMS"]
