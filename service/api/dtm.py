"""DTM-API-compatible reads: /v2/IdpAdmin{0,1,2}Data, /v2/CountryList, /v2/OperationList and
their /v3/displacement/... twins, so existing DTM API clients (the ``dtmapi`` package, the R
package, scripts written against dtmapi.iom.int) work unchanged when pointed here.

One implementation serves both versions; v3 records carry the v3-only fields
(sex, origin, reason), null because master lists do not have them. Responses use the DTM
envelope ``{isSuccess, result, errorMessages, statusCode, totalRecordsCount}``, errors too
(with the matching HTTP status). Query parameter names are matched without regard to case,
as the real API (ASP.NET) does; empty values and round number 0 mean "not given" (the R
client sends ``FromRoundNumber=0`` by default). See docs/dtm-api.md.
"""

# No ``from __future__ import annotations`` here: FastAPI must resolve the annotations of the
# endpoint closures made in _idp_endpoint, whose dependency is a local name.
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from boundaries.pcode import country_of_pcode, infer_level, normalize_pcode
from service.api.common import (
    Conn,
    DbEngine,
    JSONResponse,
    OutputFormat,
    render,
)
from service.api.errors import status_for
from service.api.httpcache import cached
from service.api.params import INT4_MAX
from service.api.reads import aread_engine
from service.core.errors import BadRequest
from service.core.logs import log
from service.publish import dtm as dtm_queries

logger = logging.getLogger("dtm_atlas.dtm")

# Canonical spelling of every parameter these endpoints read (matched case-insensitively).
PARAMS = (
    "Operation",
    "CountryName",
    "Admin0Pcode",
    "Admin1Name",
    "Admin1Pcode",
    "Admin2Name",
    "Admin2Pcode",
    "FromReportingDate",
    "ToReportingDate",
    "FromRoundNumber",
    "ToRoundNumber",
    "f",
)
_CANONICAL = {p.lower(): p for p in PARAMS}

# v3 fields the master lists cannot fill: present (null) so v3 consumers see the v3 columns
V3_FIELDS = ("displacementReason", "numberMales", "numberFemales", "idpOriginAdmin1Name", "idpOriginAdmin1Pcode")


def envelope_body(result: list[dict], status: int = 200, errors: list[str] | None = None) -> dict:
    return {
        "isSuccess": status < 400,
        "result": result,
        "errorMessages": list(errors or []),
        "statusCode": status,
        "totalRecordsCount": len(result),
    }


def envelope(result: list[dict], status: int = 200, errors: list[str] | None = None) -> JSONResponse:
    return JSONResponse(envelope_body(result, status, errors), status_code=status)


def _canonical_query(scope: dict) -> None:
    """Rewrite the query string: known parameter names in their canonical case, empty values dropped."""
    raw = scope.get("query_string", b"").decode("latin-1")
    if not raw:
        return
    pairs = [(_CANONICAL.get(k.lower(), k), v) for k, v in parse_qsl(raw, keep_blank_values=True) if v.strip()]
    scope["query_string"] = urlencode(pairs).encode("latin-1")


def _validation_messages(exc: RequestValidationError) -> list[str]:
    out = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"] if p not in ("query", "path", "body"))
        got = f" (got {e['input']!r})" if "input" in e and e["input"] is not None else ""
        out.append(f"{where}: {e['msg']}{got}")
    return out


class DtmRoute(APIRoute):
    """Route class of this router: canonical parameter names in, DTM envelope out on every error."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def dtm_handler(request: Request) -> Response:
            _canonical_query(request.scope)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return envelope([], 400, _validation_messages(exc))
            except HTTPException as exc:  # sign-in refusals keep WWW-Authenticate and Retry-After
                resp = envelope([], exc.status_code, [str(exc.detail)])
                resp.headers.update(getattr(exc, "headers", None) or {})
                return resp
            except Exception as exc:  # the error boundary of these endpoints: the app's table, in the envelope
                status, detail, headers = status_for(exc)
                if status >= 500:
                    log(
                        logger,
                        "unhandled error" if status == 500 else "database unavailable",
                        logging.ERROR if status == 500 else logging.WARNING,
                        path=request.url.path,
                        error=repr(exc),
                    )
                resp = envelope([], status, [detail])
                resp.headers.update(headers)
                return resp

        return dtm_handler


router = APIRouter(tags=["DTM API compatible"], route_class=DtmRoute)

# ---------------------------------------------------------------------------- parameters

OperationQ = Annotated[
    str | None, Query(alias="Operation", description="DTM operation: one per country here, e.g. Iraq")
]
CountryNameQ = Annotated[str | None, Query(alias="CountryName", description="Country name, e.g. Iraq")]
Admin0PcodeQ = Annotated[str | None, Query(alias="Admin0Pcode", description="Country code: IRQ (ISO3) or IQ")]
Admin1NameQ = Annotated[str | None, Query(alias="Admin1Name", description="Governorate name: COD-AB, DTM or Arabic")]
Admin1PcodeQ = Annotated[
    str | None, Query(alias="Admin1Pcode", description="Governorate P-code, any form: IRQ-G07, IQG07")
]
Admin2NameQ = Annotated[str | None, Query(alias="Admin2Name", description="District name: COD-AB, DTM or Arabic")]
Admin2PcodeQ = Annotated[
    str | None, Query(alias="Admin2Pcode", description="District P-code, any form: IRQ-G07Q02, IQG07Q02")
]
FromDateQ = Annotated[date | None, Query(alias="FromReportingDate", description="Earliest reporting date, YYYY-MM-DD")]
ToDateQ = Annotated[date | None, Query(alias="ToReportingDate", description="Latest reporting date, YYYY-MM-DD")]
FromRoundQ = Annotated[
    int | None, Query(alias="FromRoundNumber", ge=0, le=INT4_MAX, description="Lowest round number (0: no limit)")
]
ToRoundQ = Annotated[
    int | None, Query(alias="ToRoundNumber", ge=0, le=INT4_MAX, description="Highest round number (0: no limit)")
]
HtmlQ = Annotated[OutputFormat | None, Query(alias="f", description="json (default) or html")]

_LEVEL_NAMES = {1: "governorate (admin 1)", 2: "district (admin 2)", 3: "sub-district (admin 3)"}


def _pcode(value: str | None, param: str, level: int) -> str | None:
    """A P-code in any form -> COD-AB form; 400 if malformed or of another level."""
    if value is None:
        return None
    try:
        code = normalize_pcode(value)
        iso3 = country_of_pcode(code)
    except ValueError as exc:
        raise BadRequest(f"{param} {value!r} is not a P-code: {exc}") from exc
    found = infer_level(code, iso3)
    if found is not None and found != level:
        what = "a country code" if found == 0 else f"a {_LEVEL_NAMES[found]} P-code"
        hint = f"; use Admin{found}Pcode" if found in (0, 1, 2) else ""
        raise BadRequest(f"{param} {value!r} is {what}, not a {_LEVEL_NAMES[level]} P-code{hint}")
    return code


def _admin0(value: str | None) -> str | None:
    """Admin0Pcode (IRQ, IQ, irq) -> ISO3."""
    if value is None:
        return None
    try:
        code = normalize_pcode(value)
        iso3 = country_of_pcode(code)
    except ValueError as exc:
        raise BadRequest(f"Admin0Pcode {value!r} is not a country code (ISO 3166-1 alpha-3, e.g. IRQ): {exc}") from exc
    if code not in (iso3, normalize_pcode(iso3)):
        raise BadRequest(
            f"Admin0Pcode {value!r} is not a country code (ISO 3166-1 alpha-3, e.g. IRQ); "
            "use Admin1Pcode / Admin2Pcode for lower levels"
        )
    return iso3


@dataclass
class PlaceQuery:
    """Operation, CountryName, Admin0Pcode: the country asked for (one at least)."""

    operation: OperationQ = None
    country_name: CountryNameQ = None
    admin0: Admin0PcodeQ = None


@dataclass
class Admin1Query:
    """Admin1Name, Admin1Pcode: a governorate."""

    name: Admin1NameQ = None
    pcode: Admin1PcodeQ = None


@dataclass
class Admin2Query:
    """Admin2Name, Admin2Pcode: a district."""

    name: Admin2NameQ = None
    pcode: Admin2PcodeQ = None


@dataclass
class PeriodQuery:
    """FromReportingDate, ToReportingDate, FromRoundNumber, ToRoundNumber (0: no limit)."""

    from_date: FromDateQ = None
    to_date: ToDateQ = None
    from_round: FromRoundQ = None
    to_round: ToRoundQ = None


def _base_filter(level: int, place: PlaceQuery, period: PeriodQuery) -> dict:
    if not (place.operation or place.country_name or place.admin0):
        raise BadRequest("At least one of the following parameters is required: Operation, CountryName, Admin0Pcode")
    if period.from_date and period.to_date and period.from_date > period.to_date:
        raise BadRequest(
            f"FromReportingDate ({period.from_date}) must be before or equal to ToReportingDate ({period.to_date})"
        )
    if period.from_round and period.to_round and period.from_round > period.to_round:
        raise BadRequest(f"FromRoundNumber ({period.from_round}) must be <= ToRoundNumber ({period.to_round})")
    out: dict[str, Any] = {
        "level": level,
        "country": _admin0(place.admin0),
        "from_date": period.from_date,
        "to_date": period.to_date,
        "from_round": period.from_round or None,  # 0 = not given
        "to_round": period.to_round or None,
    }
    if place.country_name:
        out["country_name"] = dtm_queries.name_filter(0, place.country_name)
        out["country_name_iso3"] = dtm_queries.country_iso3_for_name(place.country_name)
    if place.operation:
        out["operation"] = dtm_queries.name_filter(0, place.operation)
        out["operation_iso3"] = dtm_queries.country_iso3_for_name(place.operation)
    return out


# the query parameters in the order of DTM's own API (and of the OpenAPI document)
Place = Annotated[PlaceQuery, Depends()]
Admin1 = Annotated[Admin1Query, Depends()]
Admin2 = Annotated[Admin2Query, Depends()]
Period = Annotated[PeriodQuery, Depends()]


def admin0_filter(place: Place, period: Period) -> dtm_queries.IdpFilter:
    return dtm_queries.IdpFilter(**_base_filter(0, place, period))


def admin1_filter(place: Place, admin1: Admin1, period: Period) -> dtm_queries.IdpFilter:
    return dtm_queries.IdpFilter(
        **_base_filter(1, place, period),
        admin1_pcode=_pcode(admin1.pcode, "Admin1Pcode", 1),
        admin1_name=dtm_queries.name_filter(1, admin1.name) if admin1.name else None,
    )


def admin2_filter(place: Place, admin1: Admin1, admin2: Admin2, period: Period) -> dtm_queries.IdpFilter:
    base = _base_filter(2, place, period)
    code1 = _pcode(admin1.pcode, "Admin1Pcode", 1)
    name1 = dtm_queries.name_filter(1, admin1.name) if admin1.name else None
    # a district name is resolved under its governorate when the client names one
    parent = code1 or (name1.pcodes[0] if name1 and len(name1.pcodes) == 1 else None)
    return dtm_queries.IdpFilter(
        **base,
        admin1_pcode=code1,
        admin1_name=name1,
        admin2_pcode=_pcode(admin2.pcode, "Admin2Pcode", 2),
        admin2_name=dtm_queries.name_filter(2, admin2.name, parent) if admin2.name else None,
    )


# ---------------------------------------------------------------------------- endpoints


def _respond(request: Request, f: OutputFormat | None, result: list[dict], title: str) -> Response:
    # JSON unless ?f=html is asked for explicitly: DTM clients and browsers get JSON, as from the real API
    if f == OutputFormat.html:
        return render(request, f, envelope_body(result), title=title, rows=result)
    return envelope(result)


def _idp_endpoint(level: int, filter_dep: Callable, v3: bool) -> Callable:
    async def endpoint(
        request: Request, engine: DbEngine, flt: Annotated[dtm_queries.IdpFilter, Depends(filter_dep)], f: HtmlQ = None
    ) -> Response:
        engine = await aread_engine(request)  # the primary, or the request's replica (service/api/reads.py)

        def rows() -> list[dict]:
            with engine.connect() as conn:
                out = dtm_queries.idp_rows(conn, flt)
            if v3:
                for r in out:
                    r.update(dict.fromkeys(V3_FIELDS))
            return out

        if f == OutputFormat.html:
            return _respond(request, f, await run_in_threadpool(rows), title=f"IDPs, admin {level}")
        # JSON: cached per data version and filter (a whole history at admin 2 is ~12,000
        # records, 4-5 MB: made once, then served gzip-compressed), ETag/304
        return await cached(
            request,
            "dtm",
            (level, v3, repr(flt)),
            "application/json",
            lambda: orjson.dumps(envelope_body(rows()), option=orjson.OPT_NON_STR_KEYS),
        )

    endpoint.__name__ = f"idp_admin{level}_{'v3' if v3 else 'v2'}"
    return endpoint


def _list_endpoint(kind: str) -> Callable:
    read = dtm_queries.idp_countries if kind == "countries" else dtm_queries.idp_operations

    def endpoint(request: Request, conn: Conn, f: HtmlQ = None) -> Response:
        return _respond(request, f, read(conn), title="Countries" if kind == "countries" else "Operations")

    return endpoint


_FILTERS = {0: admin0_filter, 1: admin1_filter, 2: admin2_filter}
for _version, _prefix in (("v2", "/v2"), ("v3", "/v3/displacement")):
    for _level in (0, 1, 2):
        _path = f"{_prefix}/IdpAdmin{_level}Data" if _version == "v2" else f"{_prefix}/admin{_level}"
        router.add_api_route(
            _path,
            _idp_endpoint(_level, _FILTERS[_level], _version == "v3"),
            methods=["GET"],
            name=f"dtm_{_version}_admin{_level}",
            summary=f"IDP figures per admin-{_level} unit and round (DTM API {_version})",
        )
    for _kind, _v2_path, _v3_path, _what in (
        ("countries", "CountryList", "country-list", "Countries"),
        ("operations", "OperationList", "operation-list", "DTM operations"),
    ):
        router.add_api_route(
            f"{_prefix}/{_v2_path if _version == 'v2' else _v3_path}",
            _list_endpoint(_kind),
            methods=["GET"],
            name=f"dtm_{_version}_{_kind}",
            summary=f"{_what} with IDP figures (DTM API {_version})",
        )
