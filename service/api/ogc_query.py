"""The query parameters of OGC API - Features items beyond Part 1, for ``service.api.ogc``.

* Part 2, coordinate reference systems: ``crs`` (output) and ``bbox-crs`` -- CRS84 (the
  default), EPSG:4326 (latitude first), EPSG:3857 and the UTM zone of the collection's country.
* Part 3, filtering: ``filter`` + ``filter-lang`` (``cql2-text``, ``cql2-json``; parsed by
  the ``cql2`` library, written as SQL with bound parameters by ``service.publish.cql``) over
  the collection's queryables, ``filter-crs`` (CRS84 only).
* Sorting (Part 8, draft) ``sortby`` and property selection ``properties``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Connection, text

from boundaries.pcode import iso3_from_iso2, normalize_pcode
from service.core.datasets import Dataset
from service.core.errors import BadRequest
from service.publish.cql import LANGS as FILTER_LANGS
from service.publish.cql import CqlError, compile_filter, parse_properties, parse_sortby

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_ALIASES = {CRS84, "https://www.opengis.net/def/crs/OGC/1.3/CRS84", "[OGC:CRS84]", "OGC:CRS84", "CRS84"}
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/ogcapi-features-8/1.0/conf/sorting",
]


ITEMS_PARAMS = {
    *("bbox", "datetime", "limit", "offset", "f", "crs", "bbox-crs", "country", "round"),
    *("filter", "filter-lang", "filter-crs", "sortby", "properties"),
}


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


def property_filters(request: Request, ds: Dataset) -> tuple[tuple[str, str], ...]:
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


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    latlon: bool = False  # EPSG:4326: latitude first


def utm_srid(conn: Connection, country: str | None) -> int | None:
    """The WGS 84 / UTM zone (EPSG:326xx north, 327xx south) of the centre of the country's current boundaries."""
    if country is None:
        return None
    row = conn.execute(
        text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(u.geom)::geometry) c FROM admin_unit u "
            "JOIN boundary_set b ON b.id = u.boundary_set_id AND b.is_current AND b.country = :c WHERE u.level = 0) x"
        ),
        {"c": country},
    ).one_or_none()
    if row is None or row[0] is None:
        return None
    zone = min(60, int((row[0] + 180) // 6) + 1)
    return (32600 if row[1] >= 0 else 32700) + zone


def supported_crs(utm: int | None) -> list[Crs]:
    out = [Crs(CRS84, 4326), Crs(EPSG_URI.format(4326), 4326, True), Crs(EPSG_URI.format(3857), 3857)]
    if utm is not None:
        out.append(Crs(EPSG_URI.format(utm), utm))
    return out


def parse_crs(value: str | None, supported: list[Crs], param: str) -> Crs:
    """A CRS by URI, ``EPSG:n``, ``[EPSG:n]`` or an OGC CRS84 alias; 400 listing the supported ones otherwise."""
    if value is None or value.strip() in CRS84_ALIASES:
        return supported[0]
    v = value.strip().strip("[]")
    if v.lower().startswith("https://"):
        v = "http://" + v[8:]
    if v.upper().startswith("EPSG:"):
        v = EPSG_URI.format(v[5:].strip())
    for c in supported:
        if c.uri == v:
            return c
    raise BadRequest(f"{param} {value!r} is not supported; supported: " + ", ".join(c.uri for c in supported))


def bbox_to_crs84(
    conn: Connection, bbox: tuple[float, float, float, float] | None, crs: Crs
) -> tuple[float, float, float, float] | None:
    """A bbox given in ``crs`` (``bbox-crs``) as CRS84 longitudes and latitudes."""
    if bbox is None or crs.uri == CRS84:
        return bbox
    if crs.latlon:
        return (bbox[1], bbox[0], bbox[3], bbox[2])
    row = conn.execute(
        text(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM "
            "(SELECT ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, :srid), 4326)::box2d b) t"
        ),
        {"x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3], "srid": crs.srid},
    ).one()
    return (row[0], row[1], row[2], row[3])


def query_options(
    ds: Dataset,
    *,
    filter_: str | None,
    filter_lang: str | None,
    filter_crs: str | None,
    sortby: str | None,
    properties: str | None,
) -> dict:
    """Selection keywords (``cql``, ``sort``, ``properties``) of the items' Part 3 parameters; 400 when wrong."""
    out: dict = {}
    if filter_crs is not None and filter_crs.strip() not in CRS84_ALIASES:
        raise BadRequest(f"filter-crs {filter_crs!r} is not supported: geometries in filters are in {CRS84}")
    try:
        if filter_ is not None and filter_.strip():
            sql, params = compile_filter(filter_, filter_lang, ds)
            out["cql"] = (sql, tuple(params.items()))
        elif filter_lang is not None and filter_lang.strip().lower() not in FILTER_LANGS:
            raise CqlError(f"filter-lang {filter_lang!r} is not supported: use cql2-text or cql2-json")
        if sortby is not None and sortby.strip():
            out["sort"] = parse_sortby(sortby, ds)
        if properties is not None:
            out["properties"] = parse_properties(properties, ds)
    except CqlError as exc:
        raise BadRequest(str(exc)) from None
    return out
