"""HTTP routes of Emergency Tracking: crises, figures per unit for a day or a range, the
choropleth, the day's locations, a unit's time series, exports (CSV).

Dates: ``?date=D`` is one day; ``?from=&to=`` a range (either alone: from the onset / to the
last day); nothing is the crisis's last day. Every figure answer is cached under the data version.
Tiles are the registry's layers ``events-governorates|districts|subdistricts``
(``/tiles/{layers}/...?crisis=&date=``, service/events/tiles.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.api.common import Conn, DbEngine, FormatParam, render
from service.api.httpcache import cached
from service.api.params import NotFound, ParamError, parse_level_path, parse_pcode
from service.events import read

router = APIRouter(prefix="/events", tags=["events"])

DateQ = Annotated[str | None, Query(description="One day, YYYY-MM-DD")]
FromQ = Annotated[str | None, Query(alias="from", description="First day of a range, YYYY-MM-DD (default: the onset)")]
ToQ = Annotated[str | None, Query(description="Last day of a range, YYYY-MM-DD (default: the last day imported)")]
LevelQ = Annotated[str, Query(description="0-3 or adm0..adm3")]


def days(conn, crisis_id: str, date: str | None, day_from: str | None, day_to: str | None) -> tuple[dt.date, dt.date]:
    """The (from, to) of a request (service.events.read.request_days)."""
    return read.request_days(conn, crisis_id, date, day_from, day_to)


def _guard(fn):
    try:
        return fn()
    except read.EventsNotFound as exc:
        raise NotFound(str(exc)) from None
    except ValueError as exc:
        raise ParamError("indicator", str(exc)) from None


@router.get("", summary="Crises of Emergency Tracking (onset, last day, days imported)")
def crises(request: Request, conn: Conn, f: FormatParam = None):
    rows = read.crises(conn)
    return render(request, f, {"crises": rows}, title="Emergency Tracking: crises", rows=rows)


@router.get("/{crisis_id}/figures", summary="Figures per unit: new in the period, last 24 h, 7 days, since the onset")
def figures(
    request: Request,
    conn: Conn,
    crisis_id: str,
    level: LevelQ = "2",
    date: DateQ = None,
    day_from: FromQ = None,
    to: ToQ = None,
    pcode: Annotated[str | None, Query(description="One unit's P-code")] = None,
    f: FormatParam = None,
):
    lvl = parse_level_path(level)
    lo, hi = days(conn, crisis_id, date, day_from, to)
    code = parse_pcode(pcode)
    rows = _guard(lambda: read.unit_figures(conn, crisis_id, level=lvl, day_from=lo, day_to=hi, pcode=code))
    data = {"crisis": crisis_id, "level": lvl, "from": lo.isoformat(), "to": hi.isoformat(), "units": rows}
    return render(request, f, data, title=f"{crisis_id}: figures", rows=rows)


@router.get(
    "/{crisis_id}/choropleth/{level}", summary="Units of a level with their figures for a day or range (GeoJSON)"
)
async def choropleth(
    request: Request,
    engine: DbEngine,
    crisis_id: str,
    level: str,
    date: DateQ = None,
    day_from: FromQ = None,
    to: ToQ = None,
    indicator: Annotated[str, Query(description=", ".join(read.INDICATORS))] = "cumulative_idp_ind",
    zoom: Annotated[float | None, Query(ge=0, le=24, description="Generalise for this zoom")] = None,
):
    from tiles.zoom import band_for_zoom, geojson_decimals

    lvl = parse_level_path(level, (1, 2, 3))
    if indicator not in read.INDICATORS:
        raise ParamError("indicator", f"{indicator!r} is not an indicator", ", ".join(read.INDICATORS))
    with engine.connect() as conn:
        lo, hi = days(conn, crisis_id, date, day_from, to)

    def produce() -> bytes:
        with engine.connect() as conn:
            return read.choropleth_geojson(
                conn,
                crisis_id,
                level=lvl,
                day_from=lo,
                day_to=hi,
                indicator=indicator,
                zband=band_for_zoom(zoom),
                decimals=geojson_decimals(zoom),
            ).encode()

    params = (crisis_id, lvl, lo, hi, indicator, band_for_zoom(zoom))
    return await cached(request, "events-choropleth", params, "application/geo+json", produce)


@router.get(
    "/{crisis_id}/locations", summary="Locations reporting on a day or in a range, with their figures (GeoJSON)"
)
async def locations(
    request: Request, engine: DbEngine, crisis_id: str, date: DateQ = None, day_from: FromQ = None, to: ToQ = None
):
    with engine.connect() as conn:
        lo, hi = days(conn, crisis_id, date, day_from, to)

    def produce() -> bytes:
        with engine.connect() as conn:
            return read.locations_geojson(conn, crisis_id, day_from=lo, day_to=hi).encode()

    return await cached(request, "events-locations", (crisis_id, lo, hi), "application/geo+json", produce)


@router.get("/{crisis_id}/series/{pcode}", summary="A unit's days: new, cumulative since the onset, 7-day rolling sums")
def series(request: Request, conn: Conn, crisis_id: str, pcode: str, f: FormatParam = None):
    code = pcode.strip().upper() if len(pcode.strip()) == 3 else parse_pcode(pcode)  # level 0: the ISO3 code
    rows = _guard(lambda: read.series(conn, crisis_id, code))
    return render(
        request, f, {"crisis": crisis_id, "pcode": code, "days": rows}, title=f"{crisis_id}: {code}", rows=rows
    )


@router.get("/{crisis_id}/export.csv", summary="Figures per unit for a day or range as CSV (HXL-tagged)")
def export_csv(
    conn: Conn, crisis_id: str, level: LevelQ = "2", date: DateQ = None, day_from: FromQ = None, to: ToQ = None
):
    lvl = parse_level_path(level)
    lo, hi = days(conn, crisis_id, date, day_from, to)
    rows = _guard(lambda: read.unit_figures(conn, crisis_id, level=lvl, day_from=lo, day_to=hi))
    cols = ["pcode", "name_en", "name_ar"] + [k for k in rows[0] if k not in ("pcode", "name_en", "name_ar")]
    tags = {"pcode": f"#adm{lvl}+code", "name_en": f"#adm{lvl}+name+i_en", "name_ar": f"#adm{lvl}+name+i_ar"}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    w.writerow([tags.get(c, "#affected+" + c.replace("_", "+")) for c in cols])
    for r in rows:
        w.writerow([r.get(c) for c in cols])
    name = f"{crisis_id.lower()}_adm{lvl}_{lo:%Y%m%d}_{hi:%Y%m%d}.csv"
    return Response(
        buf.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
