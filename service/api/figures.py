"""Rounds, quality reports, uploads, choropleths, time series, flows, locations, sites."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from boundaries.pcode import country_of_pcode, to_dtm_pcode
from boundaries.store import unit_level
from service.api.common import (
    Conn,
    DbEngine,
    FormatParam,
    render,
    wants_html,
)
from service.api.params import (
    ACCEPTED,
    ALL_COUNTRIES,
    BBox,
    ClassesQuery,
    Country,
    CountryOrAll,
    Indicator,
    Limit,
    Offset,
    ParamError,
    PcodePath,
    PcodeQuery,
    Population,
    Round,
    parse_level_path,
    parse_round,
)
from service.api.reads import aread_engine
from service.core.countries import SeveralCountries, check_country, round_countries
from service.core.errors import NotFound
from service.core.rounds import get_round, list_rounds, resolve_round, round_ref
from service.figures import quality, read
from styles.classify import INDICATORS, get_indicator, legend_for
from styles.queries import classification_for, unit_values
from tiles.zoom import band_for_zoom, geojson_decimals

router = APIRouter(tags=["figures"])


class Method(str, Enum):
    natural_breaks = "natural_breaks"
    quantiles = "quantiles"
    equal_interval = "equal_interval"


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def _round_url(row: dict, path: str = "") -> str:
    """The public URL of a round: DTM's number or its reporting date, with its population and country."""
    return f"/rounds/{round_ref(row)}{path}?population={row['population']}&country={row['country']}"


def _round_of_ref(conn, ref: str, population: str | None, country: str | None) -> dict:
    """The round ``/rounds/{ref}`` names: a DTM round number or a reporting date, within the
    population (default idp) and country, like ``?round=`` everywhere (database ids stay internal)."""
    parsed = parse_round(ref, "ref")
    if parsed.number is None and parsed.date is None:
        raise ParamError("ref", "a round must be named", ACCEPTED["round"])
    return get_round(conn, resolve_round(conn, parsed, population, country)["id"])


RoundRefPath = Annotated[
    str, PathParam(description="DTM round number (120) or reporting date (2021-02-28)", examples=["120", "2021-02-28"])
]


@router.get("/rounds", summary="Rounds loaded, with national totals")
def rounds(request: Request, conn: Conn, country: CountryOrAll, population: Population = None, f: FormatParam = None):
    """The rounds of one country (``country=``, or the only one with rounds), or of every
    country (``country=all``); with several countries and none named, a 400 lists them."""
    if country is None:
        countries = round_countries(conn, population)
        if len(countries) > 1:
            what = f"{population or 'idp or returnee'} rounds (country=all lists every country's)"
            raise SeveralCountries(countries, what)
    elif country != ALL_COUNTRIES:
        check_country(conn, country)
    rows = list_rounds(conn, None if country == ALL_COUNTRIES else country, population)
    data = [{**_jsonable(r), "url": _round_url(r)} for r in rows]
    return render(request, f, data, title="Rounds", link_fields={"url": "{}"})


@router.get("/rounds/{ref}", summary="One round, by DTM round number or reporting date")
def round_detail(
    request: Request,
    conn: Conn,
    ref: RoundRefPath,
    country: Country,
    population: Population = None,
    f: FormatParam = None,
):
    rnd = _round_of_ref(conn, ref, population, country)
    round_id = rnd["id"]
    data = {
        **_jsonable(rnd),
        "url": _round_url(rnd),
        "quality": _round_url(rnd, "/quality"),
        "unassigned": {f"adm{lvl}": read.bucket(conn, round_id, lvl) for lvl in (1, 2, 3)},
    }
    return render(request, f, data, title=f"Round {round_ref(rnd)} ({rnd['population']})")


@router.get("/rounds/{ref}/quality", summary="Quality report: flagged locations of a round")
def round_quality(
    request: Request,
    conn: Conn,
    ref: RoundRefPath,
    country: Country,
    population: Population = None,
    flag: Annotated[str | None, Query(description="Only this flag, e.g. swapped_coordinates")] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
    f: Annotated[Literal["json", "html", "csv"] | None, Query()] = None,
):
    rnd = _round_of_ref(conn, ref, population, country)
    round_id = rnd["id"]
    report = quality.quality_report(conn, round_id, flag, limit, offset)
    if f == "csv":
        return Response(
            quality.report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="round_{round_ref(rnd)}_quality.csv"'},
        )
    for row in report["locations"]:
        row["flags"] = ", ".join(row["flags"]) if wants_html(request, f) else row["flags"]
    title = f"Quality report, {rnd['population']} round {round_ref(rnd)}"
    return render(request, f, report, title=title, rows=report["locations"])


# POST /rounds (upload a master list): service/api/uploads.py (the token before the body)


#: Which count of individuals a choropleth's features show (the features stay compact: the
#: published count is their ``value`` with ``?indicator=published``).
COUNTS_NOTE = (
    "individuals: the master list's own count (families x the household size on every row); DTM's published count "
    "(household size per shelter, service/data/household_sizes.csv, as the DTM API's numPresentIdpInd) "
    "is the value with indicator=published"
)


@router.get("/choropleth/{level}.geojson", summary="Figures of a round per unit, classified, as GeoJSON")
async def choropleth(
    request: Request,
    engine: DbEngine,
    level: Annotated[str, PathParam(description="1-3 or adm1..adm3 (0: national)")],
    rnd_ref: Round,
    country: Country,
    population: Population = None,
    indicator: Annotated[Indicator, Query()] = Indicator.individuals,
    method: Annotated[Method | None, Query(description="Class breaks (default per indicator)")] = None,
    k: Annotated[int | None, Query(ge=2, le=9, description="Number of classes")] = None,
    classes: ClassesQuery = None,
    zoom: Annotated[
        float | None,
        Query(ge=0, le=24, description="Map zoom the polygons are generalised for (default 5: whole country)"),
    ] = 5,
):
    """Cached per data version (an import makes it stale), gzip, ETag/304."""
    from service.api.httpcache import cached

    lvl = parse_level_path(level)
    engine = await aread_engine(request)  # the primary, or the request's replica (service/api/reads.py)

    def produce() -> bytes:
        with engine.connect() as conn:
            rnd = resolve_round(conn, rnd_ref, population, country)
            if method is None and k is None:  # the classes the tiles and styles use
                cls, by_pcode = classification_for(
                    conn,
                    round_id=rnd["id"],
                    level=lvl,
                    indicator=indicator.value,
                    population=rnd["population"],
                    classes=classes.value if classes else None,
                )
            else:
                by_pcode = dict(unit_values(conn, rnd["id"], lvl, get_indicator(indicator.value).field))
                cls = legend_for(
                    indicator.value, rnd["population"], by_pcode.values(), method=method.value if method else None, k=k
                )
            values = list(by_pcode.items())
            legend = cls.to_dict()
            legend["unassigned"] = read.bucket(conn, rnd["id"], lvl)
            meta = {
                "id": rnd["id"],
                "round_number": rnd["round_number"],
                "population": rnd["population"],
                "reporting_date": rnd["reporting_date"].isoformat(),
                "level": lvl,
                "indicator": indicator.value,
                "counts": COUNTS_NOTE,
                "credit": "IOM DTM",
            }
            return read.choropleth_geojson(
                conn,
                round_row=rnd,
                level=lvl,
                indicator=indicator.value,
                classification=cls,
                values=values,
                zband=band_for_zoom(zoom),
                decimals=geojson_decimals(zoom),
                legend_json=json.dumps(legend, ensure_ascii=False, default=str),
                meta_json=json.dumps(meta),
            ).encode()

    params = (
        lvl,
        rnd_ref.key(),
        country,
        population,
        indicator.value,
        method.value if method else None,
        k,
        zoom,
        classes.value if classes else None,
    )
    return await cached(request, "choropleth", params, "application/geo+json", produce)


@router.get("/admin-units/{pcode}/timeseries", summary="A unit's figures across rounds")
def unit_timeseries(
    request: Request, conn: Conn, code: PcodePath, population: Population = None, f: FormatParam = None
):
    series = [_jsonable(r) for r in read.timeseries(conn, code, population)]
    if not series:
        raise NotFound(f"no figures for {code} in any round")
    data = {"pcode": code, "dtm_pcode": to_dtm_pcode(code), "series": series}
    return render(request, f, data, title=f"Time series {code}", rows=series)


@router.get("/admin-units/{pcode}/breakdown", summary="Families by origin, shelter and period in a round")
def unit_breakdown(
    request: Request,
    conn: Conn,
    code: PcodePath,
    rnd_ref: Round,
    country: Country,
    population: Population = None,
    f: FormatParam = None,
):
    if country is None:  # the P-code names the country
        try:
            country = country_of_pcode(code)
        except ValueError:
            country = None
    rnd = resolve_round(conn, rnd_ref, population, country)
    level = unit_level(conn, code)
    if level is None:
        raise NotFound(f"no admin unit {code}")
    data = {
        "pcode": code,
        "round_number": rnd["round_number"],
        "population": rnd["population"],
        **read.breakdowns(conn, rnd["id"], level, code),
    }
    return render(request, f, data, title=f"Breakdown {code}")


@router.get("/flows", summary="Origin governorate -> current district (families) for flow maps")
def origin_flows(
    request: Request, conn: Conn, rnd_ref: Round, country: Country, population: Population = None, f: FormatParam = None
):
    rnd = resolve_round(conn, rnd_ref, population, country)
    rows = read.flows(conn, rnd["id"])
    return render(
        request,
        f,
        {"round_number": rnd["round_number"], "population": rnd["population"], "flows": rows},
        title="Origin flows",
        rows=rows,
    )


def _feature_collection(total: int, features: str, limit: int, offset: int, base: str, extra: dict) -> Response:
    links = []
    if offset + limit < total:
        links.append({"rel": "next", "href": f"{base}offset={offset + limit}&limit={limit}"})
    if offset > 0:
        links.append({"rel": "prev", "href": f"{base}offset={max(0, offset - limit)}&limit={limit}"})
    head = json.dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": total,
            "limit": limit,
            "offset": offset,
            "links": links,
            **extra,
        },
        ensure_ascii=False,
        default=str,
    )
    return Response(head[:-1] + ',"features":[' + features + "]}", media_type="application/geo+json")


def _base_url(request: Request) -> str:
    q = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
    from urllib.parse import urlencode

    return f"{request.url.path}?{urlencode(q)}{'&' if q else ''}"


@router.get("/locations", summary="Locations of a round with figures (GeoJSON; bbox, paging)")
def locations(
    request: Request,
    conn: Conn,
    rnd_ref: Round,
    country: Country,
    box: BBox,
    pcode: PcodeQuery,
    population: Population = None,
    limit: Limit = 1000,
    offset: Offset = 0,
):
    """``pcode``: only locations placed in this unit (any level)."""
    rnd = resolve_round(conn, rnd_ref, population, country)
    total, feats = read.locations_geojson(conn, round_id=rnd["id"], bbox=box, limit=limit, offset=offset, pcode=pcode)
    return _feature_collection(
        total,
        feats,
        limit,
        offset,
        _base_url(request),
        {
            "round": {
                "round_number": rnd["round_number"],
                "population": rnd["population"],
                "reporting_date": rnd["reporting_date"].isoformat(),
            }
        },
    )


@router.get("/sites", summary="Sites: camps, informal settlements, collective centres (GeoJSON)")
def sites(
    request: Request,
    conn: Conn,
    country: Country,
    box: BBox,
    limit: Limit = 1000,
    offset: Offset = 0,
):
    total, feats = read.sites_geojson(conn, country=country, bbox=box, limit=limit, offset=offset)
    return _feature_collection(total, feats, limit, offset, _base_url(request), {})


@router.get("/indicators", summary="Indicators the maps can show")
def indicators(request: Request, f: FormatParam = None):
    data = [{"key": i.key, "label": i.label, "unit": i.unit, "description": i.description} for i in INDICATORS.values()]
    return render(request, f, data, title="Indicators")
