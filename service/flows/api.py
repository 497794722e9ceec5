"""HTTP routes of Flow Monitoring: points, sums per point/route/corridor by period and
direction, flow lines (GeoJSON; as vector tiles they are the registry's layers ``flows`` and
``flow-routes``, ``/tiles/{layers}/...``), and the master lists' origin -> district flows
as lines. Ranges: ``?from=&to=`` (YYYY-MM-DD, or YYYY-MM for whole months)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as FastPath

from service.api.common import Conn, DbEngine, FormatParam, render
from service.api.httpcache import cached
from service.api.params import Country, ParamError, Population, Round
from service.core.rounds import resolve_round
from service.flows import read

router = APIRouter(prefix="/flows", tags=["flows"])

FromQ = Annotated[str | None, Query(alias="from", description="First day (YYYY-MM-DD) or month (YYYY-MM)")]
ToQ = Annotated[str | None, Query(description="Last day (YYYY-MM-DD) or month (YYYY-MM: to its last day)")]
ShapeQ = Annotated[
    Literal["legs", "routes"],
    Query(description="legs: origin -> point and point -> destination; routes: origin -> point -> destination"),
]


def period(day_from: str | None, to: str | None) -> tuple[dt.date | None, dt.date | None]:
    """``?from=&to=`` (days or months; service.flows.read.period)."""
    return read.period(day_from, to)


@router.get("/points", summary="Flow monitoring points (the registry) with their first and last day of counts")
def points(request: Request, conn: Conn, f: FormatParam = None):
    rows = read.points(conn)
    return render(request, f, {"points": rows}, title="Flow monitoring points", rows=rows)


@router.get("/summary", summary="Counts per point, route or corridor, by day, month or year and direction")
def summary(
    request: Request,
    conn: Conn,
    by: Annotated[Literal["point", "route", "corridor"], Query()] = "point",
    period_: Annotated[Literal["day", "month", "year"], Query(alias="period")] = "month",
    day_from: FromQ = None,
    to: ToQ = None,
    direction: Annotated[Literal["incoming", "outgoing"] | None, Query()] = None,
    fmp: Annotated[str | None, Query(description="One point's id")] = None,
    f: FormatParam = None,
):
    lo, hi = period(day_from, to)
    rows = read.summary(conn, by=by, period=period_, day_from=lo, day_to=hi, direction=direction, fmp=fmp)
    data = {"by": by, "period": period_, "from": lo, "to": hi, "direction": direction, "rows": rows}
    return render(request, f, data, title=f"Flows by {by}", rows=rows)


def _range_or_last_month(conn, lo, hi):
    if lo is None and hi is None:
        first, last = read.extent(conn)
        if last is None:
            return None, None
        return last.replace(day=1), last
    return lo, hi


@router.get("/lines", summary="Flow lines of a period (GeoJSON; n and a width in px linear in n)")
async def lines(
    request: Request,
    engine: DbEngine,
    day_from: FromQ = None,
    to: ToQ = None,
    shape: ShapeQ = "legs",
    fmp: str | None = None,
):
    lo, hi = period(day_from, to)
    with engine.connect() as conn:
        lo, hi = _range_or_last_month(conn, lo, hi)

    def produce() -> bytes:
        import orjson

        with engine.connect() as conn:
            return orjson.dumps(read.lines_geojson(conn, shape=shape, day_from=lo, day_to=hi, fmp=fmp))

    return await cached(request, "flow-lines", (lo, hi, shape, fmp), "application/geo+json", produce)


@router.get("/origins/lines/{level}", summary="The master lists' origin governorate -> place of displacement as lines")
def origin_lines(
    request: Request,
    conn: Conn,
    level: Annotated[int, FastPath(ge=1, le=2, description="1 governorates, 2 districts")],
    rnd_ref: Round,
    country: Country,
    population: Population = None,
):
    if level not in (1, 2):
        raise ParamError("level", f"{level} has no flow lines", "1 (governorates) or 2 (districts)")
    rnd = resolve_round(conn, rnd_ref, population, country)
    data = read.origin_lines(conn, rnd, level)
    import orjson
    from fastapi.responses import Response

    return Response(orjson.dumps(data), media_type="application/geo+json")
