"""Reads of a crisis for publishing: figures per unit for a day or a range (new, last 24 h,
7-day rolling, cumulative since onset), the time series of a unit, the choropleth and the
day's locations as GeoJSON. Reads ``event_unit_day`` and ``event_row`` only."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Connection, text

from service.core.constants import UNASSIGNED
from service.core.errors import NotFound, ParamError

MEASURES = ("idp_hh", "idp_ind", "ret_hh", "ret_ind")
INDICATORS = {
    "cumulative_idp_ind": "IDPs (individuals) displaced since the onset",
    "new_idp_ind": "IDPs (individuals) newly displaced in the period",
    "day_idp_ind": "IDPs (individuals) displaced in the last 24 hours",
    "rolling7_idp_ind": "IDPs (individuals) displaced in the last 7 days",
    "cumulative_ret_ind": "Returnees (individuals) since the onset",
    "new_ret_ind": "Returnees (individuals) in the period",
}


class EventsNotFound(LookupError):
    pass


@dataclass
class Crisis:
    crisis_id: str
    country: str
    name: str | None
    synthetic: bool
    boundary_set_id: int | None
    onset: dt.date | None
    last_day: dt.date | None


def crises(conn: Connection) -> list[dict]:
    rows = conn.execute(
        text(
            """
            SELECT c.crisis_id, c.country, c.name, c.synthetic, min(d.day) AS onset, max(d.day) AS last_day,
                   count(DISTINCT d.day) AS days
            FROM event_crisis c LEFT JOIN event_unit_day d ON d.crisis_id = c.crisis_id AND d.level = 0
            GROUP BY c.crisis_id ORDER BY c.crisis_id
            """
        )
    ).mappings()
    return [dict(r) | {"country": r["country"].strip()} for r in rows]


def crisis(conn: Connection, crisis_id: str) -> Crisis:
    row = (
        conn.execute(
            text(
                """
                SELECT c.crisis_id, c.country, c.name, c.synthetic, c.boundary_set_id,
                       (SELECT min(day) FROM event_unit_day WHERE crisis_id = c.crisis_id AND level = 0) AS onset,
                       (SELECT max(day) FROM event_unit_day WHERE crisis_id = c.crisis_id AND level = 0) AS last_day
                FROM event_crisis c WHERE c.crisis_id = :c
                """
            ),
            {"c": crisis_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise EventsNotFound(f"no crisis {crisis_id!r} (GET /events lists them)")
    return Crisis(**{**row, "country": row["country"].strip()})


def period(c: Crisis, day: dt.date | None, day_from: dt.date | None, day_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The (from, to) a query means: ``date`` alone is that day; ``from``/``to`` a range; nothing
    is the crisis's last day."""
    if c.last_day is None:
        raise EventsNotFound(f"crisis {c.crisis_id} has no days imported")
    if day is not None:
        return day, day
    to = day_to or c.last_day
    return (day_from or to), to


def parse_day(value: str | None, param: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ParamError(param, f"{value!r} is not a date", "YYYY-MM-DD") from None


def request_days(
    conn: Connection, crisis_id: str, date: str | None, day_from: str | None, day_to: str | None
) -> tuple[dt.date, dt.date]:
    """The (from, to) of a request's ``?date=`` or ``?from=&to=`` (either alone: from the onset /
    to the last day; nothing: the last day); NotFound for an unknown crisis, ParamError for a
    bad or reversed range."""
    d, f, t = parse_day(date, "date"), parse_day(day_from, "from"), parse_day(day_to, "to")
    if d is not None and (f or t):
        raise ParamError("date", "give date alone, or from/to", "date=YYYY-MM-DD, or from=...&to=...")
    try:
        c = crisis(conn, crisis_id)
        if f is not None and t is None and d is None:
            return period(c, None, f, c.last_day)
        if d is None and t is None and f is None:
            return period(c, None, None, None)
        if d is None and f is None:
            return c.onset or t, t
        lo, hi = period(c, d, f, t)
    except EventsNotFound as exc:
        raise NotFound(str(exc)) from None
    if lo > hi:
        raise ParamError("from", f"{lo} is after to={hi}")
    return lo, hi


def unit_figures(
    conn: Connection,
    crisis_id: str,
    *,
    level: int,
    day_from: dt.date | None = None,
    day_to: dt.date | None = None,
    pcode: str | None = None,
) -> list[dict]:
    """Per unit of ``level`` (every unit of the crisis's boundaries, and UNASSIGNED when it has
    figures): new in [from, to], the last 24 h (the day ``to``), the 7 days to ``to``, and the
    cumulative since the onset to ``to``."""
    c = crisis(conn, crisis_id)
    f, t = period(c, None, day_from, day_to)
    parts = []
    for m in MEASURES:
        parts += [
            f"coalesce(sum({m}) FILTER (WHERE day >= :f), 0) AS new_{m}",
            f"coalesce(sum({m}) FILTER (WHERE day = :t), 0) AS day_{m}",
            f"coalesce(sum({m}) FILTER (WHERE day > :t - 7), 0) AS rolling7_{m}",
            f"coalesce(sum({m}), 0) AS cumulative_{m}",
        ]
    sql = f"""
        WITH s AS (
            SELECT pcode, {", ".join(parts)}, max(locations) FILTER (WHERE day = :t) AS locations_day
            FROM event_unit_day WHERE crisis_id = :c AND level = :l AND day <= :t
            GROUP BY pcode
        ), units AS (
            SELECT pcode, name_en, name_ar FROM admin_unit WHERE boundary_set_id = :s AND level = :l
            UNION ALL SELECT :un, NULL, NULL WHERE EXISTS (SELECT 1 FROM s WHERE pcode = :un)
            UNION ALL SELECT pcode, NULL, NULL FROM s WHERE :l = 0
        )
        SELECT u.pcode, u.name_en, u.name_ar, s.*
        FROM units u LEFT JOIN s USING (pcode)
        WHERE (CAST(:p AS text) IS NULL OR u.pcode = :p)
        ORDER BY u.pcode = :un, u.pcode
    """
    rows = conn.execute(
        text(sql), {"c": crisis_id, "l": level, "f": f, "t": t, "s": c.boundary_set_id, "un": UNASSIGNED, "p": pcode}
    ).mappings()
    out = []
    for r in rows:
        d = dict(r)
        d.pop("pcode_1", None)
        for k, v in d.items():
            if v is None and k not in ("name_en", "name_ar", "locations_day"):
                d[k] = 0
        d["pcode"] = r["pcode"]
        out.append(
            {k: (int(v) if hasattr(v, "as_integer_ratio") and not isinstance(v, float) else v) for k, v in d.items()}
        )
    return out


def series(conn: Connection, crisis_id: str, pcode: str) -> list[dict]:
    """The unit's days: new, cumulative since onset and 7-day rolling sums (days without a
    report count as zero in the rolling window)."""
    crisis(conn, crisis_id)
    level = conn.execute(
        text("SELECT level FROM event_unit_day WHERE crisis_id = :c AND pcode = :p LIMIT 1"),
        {"c": crisis_id, "p": pcode},
    ).scalar()
    if level is None:
        raise EventsNotFound(f"no figures of {pcode} in crisis {crisis_id}")
    cols = []
    for m in MEASURES:
        cols += [
            f"{m}",
            f"sum({m}) OVER (ORDER BY day) AS cumulative_{m}",
            f"sum({m}) OVER (ORDER BY day RANGE BETWEEN '6 days'::interval PRECEDING AND CURRENT ROW) AS rolling7_{m}",
        ]
    rows = conn.execute(
        text(
            f"SELECT day, locations, {', '.join(cols)} FROM event_unit_day "
            "WHERE crisis_id = :c AND level = :l AND pcode = :p ORDER BY day"
        ),
        {"c": crisis_id, "l": level, "p": pcode},
    ).mappings()
    return [{k: (int(v) if k != "day" else v.isoformat()) for k, v in r.items()} for r in rows]


def choropleth_geojson(
    conn: Connection,
    crisis_id: str,
    *,
    level: int,
    day_from: dt.date | None,
    day_to: dt.date | None,
    indicator: str,
    zband: int | None,
    decimals: int,
) -> str:
    """The units of ``level`` with their figures for the period (GeoJSON text). UNASSIGNED is
    no polygon: it is reported under ``unassigned``."""
    if indicator not in INDICATORS:
        raise ValueError(f"indicator: one of {', '.join(INDICATORS)}")
    c = crisis(conn, crisis_id)
    f, t = period(c, None, day_from, day_to)
    figures = {r["pcode"]: r for r in unit_figures(conn, crisis_id, level=level, day_from=f, day_to=t)}
    keep = ["new_idp_ind", "day_idp_ind", "rolling7_idp_ind", "cumulative_idp_ind", "new_ret_ind", "cumulative_ret_ind"]
    props = {p: {k: r[k] for k in keep} for p, r in figures.items() if p != UNASSIGNED}
    geom = (
        "JOIN admin_unit_generalised g ON g.boundary_set_id = u.boundary_set_id AND g.level = u.level "
        "AND g.pcode = u.pcode AND g.zband = :zband"
        if zband is not None
        else "CROSS JOIN LATERAL (SELECT u.geom) g"
    )
    rows = conn.execute(
        text(
            f"SELECT u.pcode, u.name_en, u.name_ar, ST_AsGeoJSON(g.geom, :d) AS g FROM admin_unit u {geom} "
            "WHERE u.boundary_set_id = :s AND u.level = :l ORDER BY u.pcode"
        ),
        {"s": c.boundary_set_id, "l": level, "zband": zband, "d": decimals},
    ).all()
    feats = []
    for pcode, name_en, name_ar, g in rows:
        p = props.get(pcode, {k: 0 for k in keep})
        feats.append(
            '{"type":"Feature","geometry":'
            + g
            + ',"properties":'
            + json.dumps(
                {"pcode": pcode, "name_en": name_en, "name_ar": name_ar, "value": p[indicator], **p},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            + "}"
        )
    un = figures.get(UNASSIGNED)
    head = {
        "type": "FeatureCollection",
        "crisis": {"id": c.crisis_id, "country": c.country, "name": c.name, "synthetic": c.synthetic},
        "from": f.isoformat(),
        "to": t.isoformat(),
        "level": level,
        "indicator": indicator,
        "indicator_title": INDICATORS[indicator],
        "unassigned": {k: un[k] for k in keep} if un else None,
    }
    h = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    return h[:-1] + ',"features":[' + ",".join(feats) + "]}"


def locations_geojson(conn: Connection, crisis_id: str, *, day_from: dt.date | None, day_to: dt.date | None) -> str:
    """The locations reporting in the period (the day's by default) with their figures; rows
    without a point are left out and counted under ``without_point``."""
    c = crisis(conn, crisis_id)
    f, t = period(c, None, day_from, day_to)
    p = {"c": crisis_id, "f": f, "t": t}
    body, without = conn.execute(
        text(
            """
            WITH l AS (
                SELECT loc_code, max(loc_name) AS loc_name, max(adm1) AS adm1, max(adm2) AS adm2, max(adm3) AS adm3,
                       max(placement) AS placement, sum(idp_hh) AS idp_hh, sum(idp_ind) AS idp_ind,
                       sum(ret_hh) AS ret_hh, sum(ret_ind) AS ret_ind, max(shelter) AS shelter,
                       (array_agg(geom ORDER BY day DESC) FILTER (WHERE geom IS NOT NULL))[1] AS geom
                FROM event_row WHERE crisis_id = :c AND day BETWEEN :f AND :t GROUP BY loc_code
            )
            SELECT coalesce(string_agg(json_build_object('type', 'Feature', 'id', loc_code,
                       'geometry', ST_AsGeoJSON(geom, 5)::json,
                       'properties', json_build_object('loc_code', loc_code, 'loc_name', loc_name, 'adm1', adm1,
                           'adm2', adm2, 'adm3', adm3, 'placement', placement, 'shelter', shelter, 'idp_hh', idp_hh,
                           'idp_ind', idp_ind, 'ret_hh', ret_hh, 'ret_ind', ret_ind))::text, ',' ORDER BY loc_code)
                       FILTER (WHERE geom IS NOT NULL), ''),
                   count(*) FILTER (WHERE geom IS NULL)
            FROM l
            """
        ),
        p,
    ).one()
    head = json.dumps(
        {
            "type": "FeatureCollection",
            "crisis": c.crisis_id,
            "synthetic": c.synthetic,
            "from": f.isoformat(),
            "to": t.isoformat(),
            "without_point": without,
        }
    )
    return head[:-1] + ',"features":[' + body + "]}"
