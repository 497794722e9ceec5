"""Reads of Flow Monitoring for publishing: sums per point, route or corridor by period and
direction; flow lines (origin -> point -> destination) as GeoJSON and vector tiles; and the
master lists' origin -> district flows (``origin_flow``) as lines. Reads only."""

from __future__ import annotations

import calendar
import datetime as dt
import json

from sqlalchemy import Connection, text

from service.core.errors import ParamError

BY = {
    "point": "c.fmp_id",
    "route": "c.route",
    "corridor": "c.origin || ' -> ' || CASE WHEN c.final <> '' THEN c.final ELSE c.next END",
}
PERIODS = {"day": "c.t", "month": "date_trunc('month', c.t)::date", "year": "date_trunc('year', c.t)::date"}
MAX_WIDTH = 12.0  # px of the widest line; the thinnest is 1 px


class FlowsNotFound(LookupError):
    pass


def parse_bound(value: str | None, param: str, end: bool) -> dt.date | None:
    if not value:
        return None
    try:
        if len(value) == 7:
            y, m = int(value[:4]), int(value[5:7])
            return dt.date(y, m, calendar.monthrange(y, m)[1] if end else 1)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ParamError(param, f"{value!r} is not a day or a month", "YYYY-MM-DD or YYYY-MM") from None


def period(day_from: str | None, to: str | None) -> tuple[dt.date | None, dt.date | None]:
    f, t = parse_bound(day_from, "from", False), parse_bound(to, "to", True)
    if f and t and f > t:
        raise ParamError("from", f"{f} is after to={t}")
    return f, t


def points(conn: Connection) -> list[dict]:
    rows = conn.execute(
        text(
            """
            SELECT p.fmp_id, p.name, p.point_type, p.country, p.adm1, p.adm2, p.placement, p.synthetic,
                   ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat,
                   (SELECT min(t) FROM flow_count c WHERE c.fmp_id = p.fmp_id) AS first_day,
                   (SELECT max(t) FROM flow_count c WHERE c.fmp_id = p.fmp_id) AS last_day
            FROM flow_point p ORDER BY p.fmp_id
            """
        )
    ).mappings()
    return [dict(r) | {"country": r["country"].strip()} for r in rows]


def extent(conn: Connection) -> tuple[dt.date | None, dt.date | None]:
    return tuple(
        conn.execute(text("SELECT min(month), (max(month) + interval '1 month - 1 day')::date FROM flow_month")).one()
    )


def summary(
    conn: Connection,
    *,
    by: str,
    period: str,
    day_from: dt.date | None,
    day_to: dt.date | None,
    direction: str | None = None,
    fmp: str | None = None,
    limit: int = 10_000,
) -> list[dict]:
    """Sums of ``n`` (and the reasons) per ``by`` (point, route, corridor), ``period`` (day,
    month, year) and direction, over [from, to]."""
    if by not in BY:
        raise ValueError(f"by: one of {', '.join(BY)}")
    if period not in PERIODS:
        raise ValueError(f"period: one of {', '.join(PERIODS)}")
    rows = conn.execute(
        text(
            f"""
            SELECT {BY[by]} AS key, {PERIODS[period]} AS period, c.direction, sum(c.n) AS n,
                   sum(c.reason_seasonal) AS reason_seasonal, sum(c.reason_disaster) AS reason_disaster,
                   sum(c.reason_conflict) AS reason_conflict, sum(c.reason_economic) AS reason_economic
            FROM flow_count c
            WHERE (CAST(:f AS date) IS NULL OR c.t >= :f) AND (CAST(:t AS date) IS NULL OR c.t <= :t)
              AND (CAST(:d AS text) IS NULL OR c.direction = :d) AND (CAST(:p AS text) IS NULL OR c.fmp_id = :p)
            GROUP BY 1, 2, 3 ORDER BY 2, 4 DESC
            LIMIT :limit
            """
        ),
        {"f": day_from, "t": day_to, "d": direction, "p": fmp, "limit": limit},
    ).mappings()
    return [{**r, "period": r["period"].isoformat(), "n": int(r["n"])} for r in rows]


def whole_months(f: dt.date | None, t: dt.date | None) -> bool:
    """Whether [f, t] is whole months (or everything): the monthly table answers it."""
    if f is None or t is None:
        return f is None and t is None
    return f.day == 1 and (t + dt.timedelta(days=1)).day == 1


def _source(p: str) -> str:
    """The sums per (point, direction, origin, destination) over [from, to] (``:{p}from``,
    ``:{p}to``, ``:{p}fmp``): the monthly table when ``:{p}months`` (whole months), else the
    day rows; the other branch is cut before it reads a row (a one-time filter)."""
    f, t, fmp, months = (
        f"CAST(:{p}from AS date)",
        f"CAST(:{p}to AS date)",
        f"CAST(:{p}fmp AS text)",
        f"CAST(:{p}months AS boolean)",
    )
    return f"""
        SELECT fmp_id, direction, origin, final, sum(n) AS n FROM flow_month
        WHERE {months} AND ({f} IS NULL OR month >= {f}) AND ({t} IS NULL OR month <= {t})
          AND ({fmp} IS NULL OR fmp_id = {fmp}) GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT fmp_id, direction, origin, CASE WHEN final <> '' THEN final ELSE next END AS final, sum(n) AS n
        FROM flow_count WHERE NOT {months} AND t BETWEEN {f} AND {t}
          AND ({fmp} IS NULL OR fmp_id = {fmp}) GROUP BY 1, 2, 3, 4"""


def line_params(f: dt.date | None, t: dt.date | None, fmp: str | None = None) -> dict:
    """The parameters of ``lines_sql`` (without a prefix)."""
    return {"from": f, "to": t, "fmp": fmp, "months": whole_months(f, t)}


SHAPES = ("legs", "routes")


def lines_sql(shape: str, p: str = "") -> str:
    """SQL of the flow lines: ``legs`` (origin -> point and point -> destination, summed per
    point and place) or ``routes`` (origin -> point -> destination, one line each); parameters
    ``line_params`` prefixed with ``p``."""
    src = _source(p)
    if shape == "legs":
        sql = f"""
            WITH s AS ({src}),
            legs AS (
                SELECT fmp_id, 'in' AS leg, origin AS place, sum(n) AS n FROM s WHERE origin <> '' GROUP BY 1, 3
                UNION ALL
                SELECT fmp_id, 'out', final, sum(n) FROM s WHERE final <> '' GROUP BY 1, 3
            )
            SELECT l.fmp_id, l.leg, l.place AS origin_or_destination, l.n,
                   CASE WHEN l.leg = 'in' THEN l.place ELSE l.fmp_id END AS from_code,
                   CASE WHEN l.leg = 'in' THEN l.fmp_id ELSE l.place END AS to_code,
                   CASE WHEN pl.geom IS NULL OR pt.geom IS NULL THEN NULL
                        WHEN l.leg = 'in' THEN ST_MakeLine(pl.geom, pt.geom)
                        ELSE ST_MakeLine(pt.geom, pl.geom) END AS geom
            FROM legs l JOIN flow_point pt USING (fmp_id) LEFT JOIN flow_place pl ON pl.code = l.place
        """
    elif shape == "routes":
        sql = f"""
            WITH s AS ({src}), r AS (SELECT fmp_id, origin, final, sum(n) AS n FROM s GROUP BY 1, 2, 3)
            SELECT r.fmp_id, 'route' AS leg, r.origin || ' -> ' || r.final AS origin_or_destination, r.n,
                   r.origin AS from_code, r.final AS to_code,
                   CASE WHEN o.geom IS NOT NULL AND d.geom IS NOT NULL AND pt.geom IS NOT NULL
                        THEN ST_MakeLine(ARRAY[o.geom, pt.geom, d.geom]) END AS geom
            FROM r JOIN flow_point pt USING (fmp_id) LEFT JOIN flow_place o ON o.code = r.origin
            LEFT JOIN flow_place d ON d.code = r.final
        """
    else:
        raise ValueError("shape: legs or routes")
    return sql


def width(n: float, top: float) -> float:
    """A line's width in px: linear in its count, 1 px for none to MAX_WIDTH for the largest."""
    return round(1.0 + (MAX_WIDTH - 1.0) * (n / top if top else 0.0), 2)


def lines(
    conn: Connection, *, shape: str, day_from: dt.date | None, day_to: dt.date | None, fmp: str | None = None
) -> list[dict]:
    sql, p = lines_sql(shape), line_params(day_from, day_to, fmp)
    rows = (
        conn.execute(text(f"SELECT q.*, ST_AsGeoJSON(q.geom, 5) AS gj FROM ({sql}) q ORDER BY q.n DESC"), p)
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def lines_geojson(conn: Connection, *, shape: str, day_from, day_to, fmp: str | None = None) -> dict:
    rows = lines(conn, shape=shape, day_from=day_from, day_to=day_to, fmp=fmp)
    top = max((int(r["n"]) for r in rows if r["gj"]), default=0)
    feats, unplaced = [], 0
    for r in rows:
        if r["gj"] is None:
            unplaced += int(r["n"])
            continue
        feats.append(
            {
                "type": "Feature",
                "geometry": json.loads(r["gj"]),
                "properties": {
                    "fmp_id": r["fmp_id"],
                    "leg": r["leg"],
                    "from": r["from_code"],
                    "to": r["to_code"],
                    "n": int(r["n"]),
                    "width": width(int(r["n"]), top),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "from": day_from.isoformat() if day_from else None,
        "to": day_to.isoformat() if day_to else None,
        "shape": shape,
        "max_n": top,
        "unplaced": unplaced,
        "synthetic": bool(conn.execute(text("SELECT bool_or(synthetic) FROM flow_point")).scalar()),
        "features": feats,
    }


# ------------------------------------------------------------------------------ the master lists' flows


def origin_sql(level: int, round_sql: str) -> str:
    """SQL of the master lists' origin governorate -> place of displacement flows of the round
    ``round_sql`` (an int expression): ``level`` 2 to each district, 1 to each governorate
    (summed over its districts); each row has the line (lon/lat) between the units' points on
    surface, ``leaves`` (the destination is outside the origin governorate) and ``top``, the
    largest families among the lines drawn (at level 1 those that leave), for the width."""
    if level not in (1, 2):
        raise ValueError("level: 1 (governorates) or 2 (districts)")
    dest = "d2.pcode" if level == 2 else "d2.parent_pcode"
    leaves = "d.parent_pcode <> f.origin_adm1" if level == 2 else "f.dest <> f.origin_adm1"
    return f"""
        WITH r AS (SELECT id, boundary_set_id FROM round WHERE id = {round_sql}),
        f AS (
            SELECT o.origin_adm1, {dest} AS dest, sum(o.families) AS families
            FROM r JOIN origin_flow o ON o.round_id = r.id
            JOIN admin_unit d2 ON d2.boundary_set_id = r.boundary_set_id AND d2.level = 2 AND d2.pcode = o.adm2
            WHERE o.origin_adm1 IS NOT NULL
            GROUP BY 1, 2
        ),
        l AS (
            SELECT f.origin_adm1, a.name_en AS origin_name, f.dest, d.name_en AS dest_name,
                   d.parent_pcode AS dest_parent, f.families::bigint AS families, {leaves} AS leaves,
                   ST_MakeLine(ST_PointOnSurface(a.geom), ST_PointOnSurface(d.geom)) AS geom
            FROM r, f JOIN admin_unit a ON a.level = 1 AND a.pcode = f.origin_adm1
            JOIN admin_unit d ON d.level = {level} AND d.pcode = f.dest
            WHERE a.boundary_set_id = r.boundary_set_id AND d.boundary_set_id = r.boundary_set_id
        )
        SELECT l.*, max(l.families) FILTER (WHERE {"l.leaves" if level == 1 else "true"}) OVER () AS top FROM l"""


def origin_lines(conn: Connection, round_row: dict, level: int) -> dict:
    """The master lists' origin governorate -> place of displacement flows of a round as lines:
    ``level`` 2 to each district, 1 to each governorate (summed over its districts). A flow
    within one governorate at level 1 has no line: its total is under ``within``. Each line says
    whether it ``leaves`` the origin governorate; ``width`` is linear in families."""
    rows = (
        conn.execute(
            text(
                f"SELECT q.*, ST_AsGeoJSON(q.geom, 5) AS gj FROM ({origin_sql(level, 'CAST(:r AS int)')}) q "
                "ORDER BY q.families DESC, q.origin_adm1, q.dest"
            ),
            {"r": round_row["id"]},
        )
        .mappings()
        .all()
    )
    unresolved = conn.execute(
        text("SELECT coalesce(sum(families), 0) FROM origin_flow WHERE round_id = :r AND origin_adm1 IS NULL"),
        {"r": round_row["id"]},
    ).scalar_one()
    within = sum(int(r["families"]) for r in rows if level == 1 and not r["leaves"])
    drawn = [r for r in rows if not (level == 1 and not r["leaves"])]
    top = max((int(r["families"]) for r in drawn), default=0)
    return {
        "type": "FeatureCollection",
        "round_number": round_row.get("round_number"),
        "population": round_row.get("population"),
        "level": level,
        "within": within,
        "unresolved_origin": int(unresolved),
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(r["gj"]),
                "properties": {
                    "origin_adm1": r["origin_adm1"],
                    "origin_name": r["origin_name"],
                    "dest": r["dest"],
                    "dest_name": r["dest_name"],
                    "dest_adm1": r["dest_parent"] if level == 2 else r["dest"],
                    "families": int(r["families"]),
                    "leaves": bool(r["leaves"]),
                    "width": width(int(r["families"]), top),
                },
            }
            for r in drawn
        ],
    }
