"""The API's typed input layer: one definition per kind of query or path value.

Every endpoint takes its round, population, country, level, P-code, bounding box, paging,
indicator and layer list from here, so a bad value gets the same answer everywhere: a 400
``{"status": 400, "detail": "PARAM: what was wrong; accepted: ..."}`` (``ParamError``,
mapped in ``service.api.errors``). Integers are range-checked against the columns they are
compared with (``integer``: at most 2,147,483,647), so no value reaches the database as an
overflow.

* round: DTM's round number, or a reporting date (``2021-02-28``), within the population
  (and country); resolved by ``resolve_round``.
* country: ISO 3166 alpha-3 (``IRQ``) or the P-code prefix (``IQ``). Where it is omitted and
  several countries have figures (or boundaries), the query is ambiguous: 400 listing them.
* P-codes in any form (``IRQ-G07Q02``, ``IQG07Q02``, ``iqg07q02``) through
  ``boundaries.pcode``; malformed ones are a 400.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Literal

from fastapi import Depends, Path, Query

from boundaries.pcode import normalize_country, normalize_pcode
from service.core.constants import POPULATIONS
from service.core.errors import NotFound, ParamError
from service.core.rounds import INT4_MAX, ROUND_ACCEPTED, RoundRef, parse_round
from styles.classify import CLASSES as CLASS_SCHEMES
from styles.classify import INDICATORS as INDICATOR_REGISTRY

# What each parameter accepts, for validation errors raised by FastAPI itself
# (service.api.errors adds it to pydantic's message).
ACCEPTED = {
    "round": ROUND_ACCEPTED,
    "round_id": "a round id from /rounds (1 to 2147483647)",
    "population": "idp or returnee",
    "country": "an ISO 3166 alpha-3 code (IRQ) or its P-code prefix (IQ)",
    "level": "0 (country), 1 (governorate), 2 (district) or 3 (sub-district)",
    "limit": "a whole number within the stated range",
    "offset": "a whole number from 0 to 2147483647",
    "boundary_set": "a boundary set id (1 to 2147483647)",
    "indicator": ", ".join(INDICATOR_REGISTRY),
    "zoom": "a number from 0 to 24",
    "k": "a whole number from 2 to 9",
    "bbox": "four numbers minLon,minLat,maxLon,maxLat",
    "classes": ", ".join(CLASS_SCHEMES),
}


# ------------------------------------------------------------------------------ population
Population = Annotated[Literal["idp", "returnee"] | None, Query(description="idp or returnee (default idp)")]


# --------------------------------------------------------------------------------- country
def parse_country(value: str | None, param: str = "country") -> str | None:
    """``IRQ``, ``irq``, ``IQ`` -> ``IRQ``; None/empty -> None; anything else: ParamError."""
    if value is None or not value.strip():
        return None
    v = value.strip().upper()
    try:
        if len(v) in (2, 3) and v.isalpha():
            return normalize_country(v)
    except ValueError:
        pass
    raise ParamError(param, f"{value!r} is not a country code", ACCEPTED["country"])


def country_param(
    country: Annotated[
        str | None,
        Query(
            description="ISO 3166 alpha-3 (IRQ) or P-code prefix (IQ); needed only when several countries are loaded"
        ),
    ] = None,
) -> str | None:
    return parse_country(country)


Country = Annotated[str | None, Depends(country_param)]

#: ``country=all`` on lists that name each row's country (``/rounds``): every country's rows.
ALL_COUNTRIES = "all"


def country_or_all_param(
    country: Annotated[
        str | None,
        Query(
            description="ISO 3166 alpha-3 (IRQ) or P-code prefix (IQ), or 'all' for every country's; needed "
            "only when several countries are loaded"
        ),
    ] = None,
) -> str | None:
    if country is not None and country.strip().lower() == ALL_COUNTRIES:
        return ALL_COUNTRIES
    return parse_country(country)


CountryOrAll = Annotated[str | None, Depends(country_or_all_param)]


# ----------------------------------------------------------------------------------- round
ROUND_DESCRIPTION = (
    "DTM round number (e.g. 120) or a reporting date (2021-02-28), within the population "
    "(default: its latest round by reporting date)"
)


def round_param(
    round: Annotated[str | None, Query(description=ROUND_DESCRIPTION, examples=["120", "2021-02-28"])] = None,
) -> RoundRef:
    return parse_round(round)


Round = Annotated[RoundRef, Depends(round_param)]


RoundId = Annotated[int, Path(ge=1, le=INT4_MAX, description="Round id (see /rounds)")]


# ----------------------------------------------------------------------------------- level
_LEVEL = re.compile(r"(?:adm)?([0-3])")


def parse_level_path(value: str, allowed: tuple[int, ...] = (0, 1, 2, 3)) -> int:
    """``2`` or ``adm2`` -> 2; a level not served is a path that does not exist (404)."""
    m = _LEVEL.fullmatch(value.strip().lower())
    if not m or int(m.group(1)) not in allowed:
        names = ", ".join(str(a) for a in allowed)
        raise NotFound(f"unknown level {value!r}: use {names} (or adm{allowed[0]}..adm{allowed[-1]})")
    return int(m.group(1))


def level_path(level: Annotated[str, Path(description="0-3 or adm0..adm3")]) -> int:
    return parse_level_path(level)


LevelPath = Annotated[int, Depends(level_path)]
LevelQuery = Annotated[
    int | None, Query(ge=0, le=3, description="Admin level: 0 country, 1 governorate, 2 district, 3 sub-district")
]


# ---------------------------------------------------------------------------------- P-code
def parse_pcode(value: str | None, param: str = "pcode") -> str | None:
    if value is None or value == "":
        return None
    try:
        return normalize_pcode(value)
    except ValueError as exc:
        raise ParamError(
            param, f"{value!r} is not a P-code ({exc})", "a P-code in any common form: IQG07Q02, IRQ-G07Q02, iqg07q02"
        ) from None


def pcode_path(pcode: Annotated[str, Path(description="P-code in any form: IQG07Q02, IRQ-G07Q02, iqg07q02")]) -> str:
    return parse_pcode(pcode)


PcodePath = Annotated[str, Depends(pcode_path)]


def pcode_query(
    pcode: Annotated[str | None, Query(description="P-code in any form (IQG07, IRQ-G07)")] = None,
) -> str | None:
    return parse_pcode(pcode)


def parent_query(
    parent: Annotated[str | None, Query(description="Parent P-code, any form (IQG07, IRQ-G07)")] = None,
) -> str | None:
    return parse_pcode(parent, "parent")


PcodeQuery = Annotated[str | None, Depends(pcode_query)]
ParentQuery = Annotated[str | None, Depends(parent_query)]


# ------------------------------------------------------------------------------------ bbox
BBoxValue = tuple[float, float, float, float]


def parse_bbox(value: str | None, param: str = "bbox") -> BBoxValue | None:
    """``minx,miny,maxx,maxy`` in lon/lat; ParamError stating the rule otherwise."""
    if value is None or value == "":
        return None
    parts = value.split(",")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        nums = []
    if len(nums) != 4:
        raise ParamError(param, f"must be four numbers minLon,minLat,maxLon,maxLat; got {value!r}")
    x0, y0, x1, y1 = nums
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise ParamError(param, f"{value!r} is out of range: longitudes in [-180, 180], latitudes in [-90, 90]")
    if x0 > x1 or y0 > y1:
        raise ParamError(param, f"{value!r} is reversed: minLon must be <= maxLon and minLat <= maxLat")
    return x0, y0, x1, y1


def bbox_param(
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
) -> BBoxValue | None:
    return parse_bbox(bbox)


BBox = Annotated[BBoxValue | None, Depends(bbox_param)]


# ---------------------------------------------------------------------------------- paging
def limit_query(maximum: int, description: str | None = None):
    return Annotated[int, Query(ge=1, le=maximum, description=description or f"Items per page (1 to {maximum})")]


Limit = limit_query(10000)
Offset = Annotated[int, Query(ge=0, le=INT4_MAX, description="Items to skip (0 to 2147483647)")]
BoundarySet = Annotated[int | None, Query(ge=1, le=INT4_MAX, description="Boundary set id (default: the current set)")]


# ------------------------------------------------------------------------------- indicator
Indicator = enum.Enum("Indicator", {key: key for key in INDICATOR_REGISTRY}, type=str)  # styles.classify's registry
INDICATORS = tuple(i.value for i in Indicator)


Classes = enum.Enum("Classes", {key: key for key in CLASS_SCHEMES}, type=str)  # styles.classify.CLASSES
ClassesQuery = Annotated[
    Classes | None,
    Query(
        description="Class breaks: fixed (the indicator's method over the whole history: the same breaks in every "
        "round), quantile, jenks (natural breaks) or equal (interval), over the round's units "
        "(default: the indicator's own method over the round)"
    ),
]


def parse_classes(value: str | None, param: str = "classes") -> str | None:
    if value is None or value == "":
        return None
    if value not in CLASS_SCHEMES:
        raise ParamError(param, f"{value!r} is not a class scheme", ", ".join(CLASS_SCHEMES))
    return value


def parse_indicator(value: str | None, param: str = "indicator") -> str:
    if value is None or value == "":
        return Indicator.individuals.value
    if value not in INDICATORS:
        raise ParamError(param, f"{value!r} is not an indicator", ", ".join(INDICATORS))
    return value


def parse_population(value: str | None, param: str = "population") -> str:
    if value is None or value == "":
        return "idp"
    if value not in POPULATIONS:
        raise ParamError(param, f"{value!r} is not a population", " or ".join(POPULATIONS))
    return value


# ---------------------------------------------------------------------------------- layers
def parse_layer_list(spec: str):
    """``districts`` or ``governorates,locations`` -> [Layer]; tiles.layers.LayerError
    (404 unknown layer, 400 malformed list) otherwise."""
    from tiles.layers import parse_layers

    return parse_layers(spec)


def layers_path(layers: Annotated[str, Path(description="A layer, or several comma-separated (see /tiles)")]) -> list:
    return parse_layer_list(layers)


Layers = Annotated[list, Depends(layers_path)]


# ----------------------------------------------------------------------------- whole ints
# -------------------------------------------------------------------------------- NUL bytes
class RejectNulBytes:
    """PostgreSQL text cannot hold NUL: a path or query string with one (``%00``) is a 400
    naming the parameter, before any endpoint reads it. Pure ASGI."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            bad = _nul_param(scope)
            if bad is not None:
                from fastapi.responses import JSONResponse

                detail = f"{bad}: contains a NUL character (%00); accepted: text without control characters"
                return await JSONResponse({"status": 400, "detail": detail}, status_code=400)(scope, receive, send)
        return await self.app(scope, receive, send)


def _nul_param(scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    raw = scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:
        return None
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "") or "query"
    return None
