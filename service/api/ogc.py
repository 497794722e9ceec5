"""OGC API - Features Part 1 (Core, GeoJSON, HTML) under ``/ogc``, with the CRS84-only subset of Part 2.

Collections (see docs/ogc.md):

* ``admin0`` .. ``admin3``: admin units of the current boundary set(s), polygons;
* ``sites``: sites (camps, informal settlements, collective centres), points;
* for every round loaded, ``{population}-r{round}-locations`` (points) and
  ``{population}-r{round}-adm1`` .. ``-adm3`` (figures per unit, polygons), e.g.
  ``idp-r120-locations``, ``idp-r120-adm2``, ``returnee-r120-adm1``.

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
import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from boundaries.pcode import iso3_from_iso2, normalize_country, normalize_pcode
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
from service.api.params import INT4_MAX, Country, Offset, ParamError
from service.core.access import ANONYMOUS, Principal
from service.core.countries import check_country, figures_country, geometry_country, loaded_countries
from service.core.errors import BadRequest, NotFound
from service.core.registry import registry
from service.core.rounds import find_round, list_rounds
from service.publish.datasets import (
    CACHE,
    DATASETS,
    POPULATION_LABEL,
    Dataset,
    Selection,
    bucket_totals,
    round_label,
)
from service.publish.exports import CREDIT, DISCLAIMER, FORMATS, licence

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_ALIASES = {CRS84, "https://www.opengis.net/def/crs/OGC/1.3/CRS84", "[OGC:CRS84]", "OGC:CRS84", "CRS84"}
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
HTML_MAX_ROWS = 1_000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
ITEMS_PARAMS = {"bbox", "datetime", "limit", "offset", "f", "crs", "bbox-crs", "country"}
PLAIN_IDS = ("admin0", "admin1", "admin2", "admin3", "sites")


def kind_ids() -> tuple[str, ...]:
    """The kinds' datasets not of a round (events, flows: their own dates), collections under their key."""
    return tuple(
        k for k, ds in DATASETS.items() if not ds.per_round and k not in PLAIN_IDS and ds.kind not in ("admin",)
    )


def round_id_pattern() -> re.Pattern:
    """A round's collection ids: its own (locations, adm1..3), then the kinds' (the registry's round datasets)."""
    keys = "".join(f"|{re.escape(key)}" for _, rd in registry().round_datasets() for key in rd.keys)
    return re.compile(r"(idp|returnee)-(r\d+|d\d{8})-(locations|adm[1-3]" + keys + ")")


COUNTRY_PREFIX = re.compile(r"([A-Za-z]{3})-(.+)")

CollectionId = Annotated[
    str,
    Path(
        description="Collection id: admin0..admin3, sites, or per round "
        "{idp|returnee}-r{round}-{locations|adm1|adm2|adm3}, e.g. idp-r120-adm2; "
        "prefixed by a country's ISO3 in lower case (irq-admin1, irq-idp-r120-adm2) when several countries are loaded"
    ),
]
CountryParam = Country  # ?country= on /collections (which countries), a collection and its items (which country)


# --------------------------------------------------------------------------- collections
@dataclass
class Collection:
    id: str
    dataset: Dataset
    round: dict | None = None
    country: str | None = None  # the country of its rows (None: nothing loaded)
    qualified: bool = False  # the id carries the country's prefix (several countries loaded)
    named: bool = False  # the request named the country (?country=): links name it too

    @property
    def title(self) -> str:
        if self.round is None:
            return self.dataset.title
        what = "Locations" if self.dataset.kind == "locations" else self.dataset.title
        return f"{what}, {round_label(self.round)}"

    def selection(self, **kw) -> Selection:
        country = None if self.dataset.per_round else self.country
        return Selection(self.dataset, round=self.round, spatial=True, country=country, **kw)

    @property
    def cache_key(self) -> tuple:
        return (self.id, self.country, self.round["id"] if self.round else None)


def _round_part(rnd: dict) -> str:
    """DTM's round number (``r120``), or the reporting date of a round the calendar does not number."""
    return f"r{rnd['round_number']}" if rnd["round_number"] is not None else rnd["reporting_date"].strftime("d%Y%m%d")


def _prefixed(country: str | None, cid: str, qualified: bool) -> str:
    return f"{country.lower()}-{cid}" if qualified and country else cid


def _round_collections(rnd: dict, qualified: bool = False) -> list[Collection]:
    prefix = _prefixed(rnd["country"], f"{rnd['population']}-{_round_part(rnd)}", qualified)
    c = rnd["country"]
    return [
        Collection(f"{prefix}-locations", DATASETS["locations"], rnd, c, qualified),
        *(Collection(f"{prefix}-adm{lvl}", DATASETS[f"figures-adm{lvl}"], rnd, c, qualified) for lvl in (1, 2, 3)),
    ]


def all_collections(conn, country: str | None = None, who: Principal = ANONYMOUS) -> list[Collection]:
    """Every collection, per loaded country (``country``: that one's only; NoCountryData, 404,
    when it has no data). Ids carry the country's prefix when several countries are loaded."""
    loaded = loaded_countries(conn)
    qualified = len(loaded) > 1
    if country is not None:
        check_country(conn, country)
    countries = [country] if country is not None else (loaded or [None])
    kinds_rounds = [(rd, rd.rounds(conn)) for _, rd in registry().round_datasets()]
    rounds = sorted(list_rounds(conn, country), key=lambda r: (r["population"], -r["reporting_date"].toordinal()))
    out: list[Collection] = []
    for c in countries:
        out += [Collection(_prefixed(c, cid, qualified), DATASETS[cid], None, c, qualified) for cid in PLAIN_IDS]
        if c == countries[0]:  # the kinds' own collections that hold rows: once, their rows of every country
            out += [Collection(cid, DATASETS[cid], None, country, False) for cid in kind_ids() if _has_rows(conn, cid)]
        seen = set()
        for rnd in rounds:
            if c is not None and rnd["country"] != c:
                continue
            number = rnd["round_number"] if rnd["round_number"] is not None else rnd["reporting_date"]
            key = (rnd["population"], number)
            if key not in seen:  # the latest of a (population, round) pair
                seen.add(key)
                out += _round_collections(rnd, qualified)
                for rd, with_data in kinds_rounds:  # the kinds' datasets of the round (registry)
                    if rnd["id"] in with_data:
                        prefix = _prefixed(rnd["country"], f"{rnd['population']}-{_round_part(rnd)}", qualified)
                        out += [Collection(f"{prefix}-{key}", DATASETS[key], rnd, c, qualified) for key in rd.keys]
    # datasets that are rows of a kind's tables (indicator datasets: sites, aggregates per level)
    for dc in registry().data_collections():
        out += [
            Collection(cid, ds, None, dc_country)
            for cid, ds, dc_country in dc.list(conn, who)
            if country in (None, dc_country)
        ]
    return out


def _has_rows(conn, cid: str) -> bool:
    from sqlalchemy import text

    ds = DATASETS[cid]
    return bool(conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {ds.from_sql} WHERE {ds.where_sql})")).scalar())


def _split_country(cid: str) -> tuple[str | None, str]:
    """``irq-admin1`` -> ("IRQ", "admin1"); an id without a country prefix -> (None, id)."""
    if cid in PLAIN_IDS or round_id_pattern().fullmatch(cid):
        return None, cid
    m = COUNTRY_PREFIX.fullmatch(cid)
    if m and (m.group(2) in PLAIN_IDS or round_id_pattern().fullmatch(m.group(2))):
        try:
            return normalize_country(m.group(1)), m.group(2)
        except ValueError:
            pass
    return None, cid


def _kinds_id_patterns() -> list[str]:
    return [rd.id_pattern for _, rd in registry().round_datasets()] + [
        dc.id_pattern for dc in registry().data_collections()
    ]


def get_collection(conn, cid: str, country: str | None = None, who: Principal = ANONYMOUS) -> Collection:
    """The collection ``cid`` names (with a country prefix, or without: then ``country``, or
    the one country that has it; SeveralCountries, 400, when several have)."""
    prefix, base = _split_country(cid)
    named = country is not None
    if prefix is not None:
        if country is not None and country != prefix:
            raise ParamError("country", f"collection {cid!r} is of {prefix}, not {country}", prefix)
        country = prefix
    qualified = prefix is not None
    if base in PLAIN_IDS:
        return Collection(cid, DATASETS[base], None, geometry_country(conn, country), qualified, named)
    if prefix is None and cid in kind_ids():
        return Collection(cid, DATASETS[cid], None, country, False, named)
    m = round_id_pattern().fullmatch(base)
    rnd = None
    if m and m.group(2).startswith("d"):
        try:
            day = dt.datetime.strptime(m.group(2)[1:], "%Y%m%d").date()
        except ValueError:
            day = None
        if day is not None:
            which = figures_country(conn, country, m.group(1), reporting_date=day)
            rnd = find_round(conn, reporting_date=day, population=m.group(1), country=which)
    elif m and len(m.group(2)) <= 12 and int(m.group(2)[1:]) <= INT4_MAX:
        which = figures_country(conn, country, m.group(1), round_number=int(m.group(2)[1:]))
        rnd = find_round(conn, round_number=int(m.group(2)[1:]), population=m.group(1), country=which)
    if m:
        if rnd is not None:
            kind = m.group(3)
            return Collection(
                cid,
                DATASETS[f"figures-{kind}" if kind.startswith("adm") else kind],
                rnd,
                rnd["country"],
                qualified,
                named,
            )
    for dc in registry().data_collections():
        found = dc.get(conn, cid, who)  # built for the reader: None when it does not exist for it
        if found is not None and (country is None or country == found[1]):
            return Collection(cid, found[0], None, found[1], False, named)
    raise NotFound(
        f"no collection {cid!r}; see /ogc/collections (ids: admin0..admin3, sites, "
        + ", ".join(["{idp|returnee}-r{round}-{locations|adm1|adm2|adm3}", *_kinds_id_patterns()])
        + "; "
        "-dYYYYMMDD- instead of -r{round}- for a round without a DTM number; a country's ISO3 prefix, "
        "irq-admin1, where several countries are loaded)" + (f" in {country}" if country else "")
    )


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


def _html(template: str, request: Request, title: str, data, headers: dict | None = None, **context) -> HTMLResponse:
    body = TEMPLATES.get_template(template).render(
        request=request,
        title=title,
        data=data,
        base=_base(request),
        json_url=str(request.url.include_query_params(f="json")),
        **context,
    )
    return HTMLResponse(body, headers=headers)


def _check_crs(value: str | None, param: str) -> None:
    if value is not None and value.strip() not in CRS84_ALIASES:
        raise BadRequest(f"{param} {value!r} is not supported: the only CRS served is {CRS84} (longitude, latitude)")


def parse_datetime(value: str | None) -> tuple[dt.date | None, dt.date | None] | None:
    """RFC 3339 date or date-time, or an interval ``a/b`` with ``..`` or empty for an open end -> inclusive days."""
    if value is None or value.strip() == "":
        return None

    def one(s: str, end: bool) -> dt.date | None:
        s = s.strip()
        if s in ("", ".."):
            return None
        try:
            if len(s) == 10:
                return dt.date.fromisoformat(s)
            t = dt.datetime.fromisoformat(s.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(
                f"datetime {value!r}: {s!r} is not an RFC 3339 date (2021-02-28) or date-time "
                "(2021-02-28T00:00:00Z); intervals are start/end with '..' for an open end"
            ) from None
        if t.tzinfo is not None:
            t = t.astimezone(dt.timezone.utc)
        return t.date()

    if "/" in value:
        a, _, b = value.partition("/")
        if a.strip() in ("", "..") and b.strip() in ("", ".."):
            raise BadRequest(f"datetime {value!r}: an interval needs at least one bound")
        d0, d1 = one(a, False), one(b, True)
        if d0 is not None and d1 is not None and d0 > d1:
            raise BadRequest(f"datetime {value!r} is reversed: the start must not be after the end")
        return d0, d1
    d = one(value, False)
    return d, d


def _property_filters(request: Request, ds: Dataset) -> tuple[tuple[str, str], ...]:
    out = []
    for key, value in request.query_params.multi_items():
        if key in ITEMS_PARAMS:
            continue
        flt = ds.filter(key)
        if flt is None:
            valid = ", ".join(sorted(ITEMS_PARAMS | {f.name for f in ds.filters}))
            raise BadRequest(f"unknown query parameter {key!r} for this collection; valid parameters: {valid}")
        if flt.kind == "pcode":
            try:
                value = normalize_pcode(value)
            except ValueError as exc:
                raise BadRequest(f"{key}={value!r} is not a P-code: {exc}") from exc
        elif flt.kind == "country":
            value = value.strip().upper()
            if len(value) == 2:
                try:
                    value = iso3_from_iso2(value)
                except ValueError:
                    pass
        out.append((key, value))
    return tuple(out)


def _collection_doc(request: Request, conn, col: Collection, html: bool = False) -> dict:
    ds, sel = col.dataset, col.selection()
    path = f"/ogc/collections/{col.id}"
    extent = CACHE.get(conn, ("extent", *col.cache_key), lambda: sel.extent(conn))
    temporal = CACHE.get(conn, ("temporal", *col.cache_key), lambda: sel.temporal_extent(conn))
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
                    "href": _url(
                        request,
                        f"/exports/{ds.key}.{ext}",
                        round=col.round["round_number"] if col.round else None,
                        population=col.round["population"] if col.round else None,
                        country=col.country if col.qualified or col.named else None,
                    ),
                    "rel": "enclosure",
                    "type": fmt.media_type,
                    "title": f"Download: {fmt.label}",
                }
                for ext, fmt in FORMATS.items()
            ),
        ],
        "itemType": "feature",
        "crs": [CRS84],
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
    doc["properties"] = [{"name": f.name, "type": f.type, "description": f.description} for f in ds.fields]
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
    if ds.kind == "figures":
        b = bucket_totals(conn, col.round["id"], ds.level)
        doc["unassigned"] = b
        doc["unassignedNote"] = (
            "The UNASSIGNED bucket (locations not placed in a unit of this level) has no polygon and "
            "is not an item; the CSV and XLSX exports carry it as the row pcode = UNASSIGNED."
        )
    doc["attribution"] = CREDIT
    doc["license"] = CACHE.get(conn, ("licence", col.country), lambda: licence(conn, [col.country]))
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
        return _html("ogc_page.html", request, data["title"], data, kind="landing")
    return _json(data)


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
    cols = [
        _collection_doc(request, conn, c, html)
        for c in all_collections(conn, country, current(request))
        if dataset_visible(request, c.dataset, c.country)  # collections a role cannot see do not exist
    ]
    data = {
        "links": _self_links(request, "/ogc/collections", JSON, "Collections", html),
        "crs": [CRS84],
        "collections": cols,
    }
    if html:
        return _html("ogc_page.html", request, "Collections", data, kind="collections")
    return _json(data)


@router.get("/collections/{collection_id}", summary="One collection")
def collection(request: Request, conn: Conn, collection_id: CollectionId, country: CountryParam, f: FormatParam = None):
    html = wants_html(request, f)
    col = get_collection(conn, collection_id, country, current(request))
    authorize_dataset_sync(request, col.dataset, col.country)
    doc = _collection_doc(request, conn, col, html)
    if html:
        return _html("ogc_page.html", request, doc["title"], doc, kind="collection")
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
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat (CRS84)")] = None,
    datetime: Annotated[
        str | None, Query(description="A date (2021-02-28), date-time or interval (2021-01-01/.., ../2021-03-01)")
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
    crs: Annotated[str | None, Query(description=f"Only {CRS84}")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description=f"Only {CRS84}")] = None,
    f: FormatParam = None,
):
    """Other query parameters are property filters (see the collection's ``filters``), e.g. ``?pcode=IQG07Q02``,
    ``?adm1=IQG07``; P-codes in any form (IRQ-G07, iqg07). ``?country=`` names the country of a
    collection id without a country prefix (needed only when several countries have it)."""
    col = get_collection(conn, collection_id, country, current(request))
    authorize_dataset_sync(request, col.dataset, col.country)
    _check_crs(crs, "crs")
    _check_crs(bbox_crs, "bbox-crs")
    sel = col.selection(
        bbox=parse_bbox(bbox), dates=parse_datetime(datetime), filters=_property_filters(request, col.dataset)
    )
    requested = DEFAULT_LIMIT if limit is None else limit
    effective = min(requested, MAX_LIMIT)
    clamped = requested > MAX_LIMIT
    cache_key = ("count", *col.cache_key, sel.bbox, sel.dates, sel.filters)
    matched = CACHE.get(conn, cache_key, lambda: sel.count(conn))
    path = f"/ogc/collections/{col.id}/items"
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset", "f")]

    def page_url(off: int, fmt: str) -> str:
        return f"{_base(request)}{path}?" + urlencode(keep + [("limit", effective), ("offset", off), ("f", fmt)])

    html = wants_html(request, f)
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
    fmt = "html" if html else "json"
    mtype = HTML if html else GEOJSON
    if offset + effective < matched:
        links.append({"href": page_url(offset + effective, fmt), "rel": "next", "type": mtype, "title": "Next page"})
    if offset > 0:
        links.append(
            {"href": page_url(max(0, offset - effective), fmt), "rel": "prev", "type": mtype, "title": "Previous page"}
        )
    links.append(
        {
            "href": _url(request, f"/ogc/collections/{col.id}", f="json"),
            "rel": "collection",
            "type": JSON,
            "title": "The collection",
        }
    )
    headers = {"Content-Crs": f"<{CRS84}>"}
    if clamped:
        headers["X-Limit-Clamped"] = f"requested={requested}; effective={effective}"
    head = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "timeStamp": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "limit": effective,
    }
    if clamped:
        head["limitClamped"] = True
        head["limitRequested"] = requested
    head["links"] = links

    if html:
        effective_html = min(effective, HTML_MAX_ROWS)
        rows = [
            dict(zip(["id", *(f_.name for f_ in col.dataset.fields)], r))
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
        )

    conn.close()

    def body():
        yield orjson.dumps(head)[:-1] + b',"features":[\n'
        n = 0
        with engine.connect() as c:
            for batch in sel.batches(c, "geojson", limit=effective, offset=offset, batch=2_000):
                yield ((",\n" if n else "") + ",\n".join(r[0] for r in batch)).encode("utf-8")
                n += len(batch)
        yield f'\n],"numberReturned":{n}}}\n'.encode()

    return StreamingResponse(body(), media_type=GEOJSON, headers=headers)


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
    crs: Annotated[str | None, Query(description=f"Only {CRS84}")] = None,
    f: FormatParam = None,
):
    col = get_collection(conn, collection_id, country, current(request))
    authorize_dataset_sync(request, col.dataset, col.country)
    _check_crs(crs, "crs")
    fid: object = feature_id
    if col.dataset.id_type == "int":
        if not (feature_id.isascii() and feature_id.isdigit()) or int(feature_id) >= 2**63:
            raise NotFound(f"no feature {feature_id!r} in {col.id}: ids of this collection are numbers")
        fid = int(feature_id)
    elif not col.dataset.is_point:  # units, by P-code
        try:
            fid = normalize_pcode(feature_id)
        except ValueError:
            fid = feature_id
    sel = col.selection(fid=fid)
    rows = [r for b in sel.batches(conn, "geojson", limit=1) for r in b]
    if not rows:
        raise NotFound(f"no feature {feature_id!r} in collection {col.id}")
    feature = orjson.loads(rows[0][0])
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
    headers = {"Content-Crs": f"<{CRS84}>"}
    if html:
        return _html(
            "ogc_page.html",
            request,
            f"{col.title}: {feature_id}",
            feature,
            kind="item",
            collection_id=col.id,
            headers=headers,
        )
    return _json(feature, GEOJSON, headers)


__all__ = ["router", "all_collections", "get_collection", "parse_datetime", "POPULATION_LABEL"]
