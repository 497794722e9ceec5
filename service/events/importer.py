"""Owner of ``event_crisis``, ``event_row`` and ``event_unit_day``: the import of an Emergency
Tracking file (one transaction per file) and the daily sums per unit.

One COPY into a scratch table, whole-column checks in SQL (the first bad cell is reported by
file, row and column; nothing is imported), placement like the master lists' (a declared
P-code that exists in the country's current boundaries, else the point in a sub-district, else
a declared governorate or district, else UNASSIGNED; every row is kept and its placement and
flag stored), then the file's days replace the same days of the crisis (a day is never
counted twice) and their sums per unit are made again.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from service.core.constants import UNASSIGNED
from service.core.files import sha256_of
from service.core.importlog import ImportRecord, bump_data_version, log_import, log_rejection
from service.ingest import tagged
from service.ingest.tagged import Field, InputError, is_place_code

FIELDS = [
    Field("date", ("#date",), ("day", "reporting_date")),
    Field("crisis", ("#crisis+code", "#crisis+id", "#crisis"), ("crisis_id",)),
    Field("adm1", ("#adm1+code",), ("adm1_pcode",)),
    Field("adm2", ("#adm2+code",), ("adm2_pcode",)),
    Field("adm3", ("#adm3+code",), ("adm3_pcode",)),
    Field("loc_name", ("#loc+name",), ("location", "location_name")),
    Field("loc_code", ("#loc+code",), ("location_id", "loc_id", "site_id")),
    Field("lat", ("#geo+lat",), ("latitude",)),
    Field("lon", ("#geo+lon",), ("longitude",)),
    Field("idp_hh", ("#affected+hh+idps",), ("idp_families", "idp_households")),
    Field("idp_ind", ("#affected+ind+idps",), ("idp_individuals",)),
    Field("ret_hh", ("#affected+hh+returnees",), ("returnee_families", "returnee_households")),
    Field("ret_ind", ("#affected+ind+returnees",), ("returnee_individuals",)),
    Field("origin_adm1", ("#adm1+code+origin", "#adm1+origin+code"), ("origin_adm1_pcode",)),
    Field("origin_adm2", ("#adm2+code+origin", "#adm2+origin+code"), ("origin_adm2_pcode",)),
    Field("shelter", ("#indicator+shelter",), ("shelter_type",)),
    Field("cause", ("#cause",), ("displacement_cause",)),
]
COUNTS = ["idp_hh", "idp_ind", "ret_hh", "ret_ind"]


@dataclass
class EventImport:
    crisis_id: str
    file: str
    import_id: int
    rows: int
    days: list[dt.date]
    replaced_days: int
    placement: dict[str, int]
    flagged: int
    data_version: int
    timings: dict[str, float] = field(default_factory=dict)


def check_origins(conn: Connection, header: tagged.Header, table: str, names: list[str]) -> None:
    """An origin is a P-code (IQG15Q05) or an ISO3 country code; anything else is an error."""
    for name in names:
        if name not in header.fields:
            continue
        c = f"c{header.fields[name]}"
        values = conn.exec_driver_sql(
            f"SELECT upper(btrim({c})), min(row_no) FROM {table} WHERE coalesce(btrim({c}), '') <> '' GROUP BY 1"
        ).all()
        for value, row_no in sorted(values, key=lambda v: v[1]):
            if not is_place_code(value):
                raise InputError(
                    header.path,
                    f"origin {value!r} is neither a country code (ISO3) nor a P-code",
                    row=tagged.file_row(header, row_no),
                    column=header.column_of(name),
                )


def _cell(header: tagged.Header, name: str, cast: str | None = None) -> str:
    if name not in header.fields:
        return "NULL"
    c = f"nullif(btrim(c{header.fields[name]}), '')"
    return f"CAST({c} AS {cast})" if cast else c


def import_events(
    engine: Engine,
    path: Path | str,
    *,
    country: str,
    crisis_id: str,
    mapping: Path | None = None,
    name: str | None = None,
    synthetic: bool = False,
    today: dt.date | None = None,
    username: str | None = None,
) -> EventImport:
    """Import one ETT file into ``crisis_id`` (created on first import) in one transaction
    (logged as ``username``, else the OS user)."""
    path = Path(path)
    country = country.upper()
    rec = ImportRecord(kind="events", file_name=path.name, sha256=None, details={"crisis": crisis_id})
    if username:
        rec.username = username
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        rec.sha256 = sha256_of(path)
        header = tagged.read_header(path, FIELDS, tagged.load_mapping(mapping))
        for need in ("date", "loc_code"):
            if need not in header.fields:
                raise InputError(path, f"no {need} column (HXL {FIELDS[[f.name for f in FIELDS].index(need)].hxl[0]})")
        if not any(c in header.fields for c in COUNTS):
            raise InputError(path, "no count column (#affected+hh+idps, #affected+ind+idps, ... +returnees)")
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('event_crisis:' || :c))"), {"c": crisis_id})
            set_id = conn.execute(
                text("SELECT id FROM boundary_set WHERE country = :c AND is_current"), {"c": country}
            ).scalar()
            if set_id is None:
                raise InputError(path, f"no boundaries of {country} are loaded (dtm-atlas boundaries import ...)")
            existing = conn.execute(
                text("SELECT country FROM event_crisis WHERE crisis_id = :c"), {"c": crisis_id}
            ).scalar()
            if existing is not None and existing.strip() != country:
                raise InputError(path, f"crisis {crisis_id} is a crisis of {existing.strip()}, not {country}")
            rows = tagged.copy_body(conn, header, "ev_raw")
            rec.rows_read = rows
            if rows == 0:
                raise InputError(path, "no data rows")
            timings["copy"] = time.perf_counter() - t0
            _check(conn, header, crisis_id, today or dt.date.today())
            timings["checks"] = time.perf_counter() - t0
            placement = _stage_and_place(conn, header, set_id)
            timings["placement"] = time.perf_counter() - t0
            conn.execute(
                text(
                    "INSERT INTO event_crisis (crisis_id, country, name, synthetic, boundary_set_id) "
                    "VALUES (:c, :ctry, :n, :s, :b) ON CONFLICT (crisis_id) DO UPDATE SET "
                    "name = coalesce(EXCLUDED.name, event_crisis.name), boundary_set_id = EXCLUDED.boundary_set_id, "
                    "synthetic = event_crisis.synthetic OR EXCLUDED.synthetic"
                ),
                {"c": crisis_id, "ctry": country, "n": name, "s": synthetic, "b": set_id},
            )
            days = conn.execute(text("SELECT DISTINCT day FROM ev ORDER BY 1")).scalars().all()
            replaced = conn.execute(
                text("DELETE FROM event_row WHERE crisis_id = :c AND day IN (SELECT DISTINCT day FROM ev)"),
                {"c": crisis_id},
            ).rowcount
            flagged = sum(v for k, v in placement.items() if k.startswith("flag:"))
            rec.rows_accepted, rec.rows_flagged = rows, flagged
            rec.details.update({"days": [str(d) for d in (days[0], days[-1])], "placement": placement})
            import_id = log_import(conn, rec, "committed")
            conn.execute(
                text(
                    """
                    INSERT INTO event_row (crisis_id, day, loc_code, loc_name, adm1, adm2, adm3, placement, flag,
                        idp_hh, idp_ind, ret_hh, ret_ind, origin_adm1, origin_adm2, shelter, cause, source_row,
                        import_id, geom)
                    SELECT :c, day, loc_code, loc_name, p1, p2, p3, placement, flag, idp_hh, idp_ind, ret_hh,
                           ret_ind, origin_adm1, origin_adm2, shelter, cause, source_row, :i, geom
                    FROM ev
                    """
                ),
                {"c": crisis_id, "i": import_id},
            )
            aggregate_days(conn, crisis_id)
            timings["store"] = time.perf_counter() - t0
            version = bump_data_version(conn)
    except InputError as exc:
        log_rejection(engine, rec, str(exc))
        raise
    return EventImport(
        crisis_id=crisis_id,
        file=path.name,
        import_id=import_id,
        rows=rows,
        days=list(days),
        replaced_days=len(days) if replaced else 0,
        placement={k: v for k, v in placement.items() if not k.startswith("flag:")},
        flagged=flagged,
        data_version=version,
        timings={k: round(v, 3) for k, v in timings.items()},
    )


def _check(conn: Connection, header: tagged.Header, crisis_id: str, today: dt.date) -> None:
    t = "ev_raw"
    if "crisis" in header.fields:
        c = f"c{header.fields['crisis']}"
        bad = conn.exec_driver_sql(
            f"SELECT row_no, {c} FROM {t} WHERE coalesce(btrim({c}), '') NOT IN ('', %s) ORDER BY row_no LIMIT 1",
            (crisis_id,),
        ).first()
        if bad is not None:
            raise InputError(
                header.path,
                f"the row is of crisis {bad[1]!r}, not {crisis_id!r} (--crisis)",
                row=tagged.file_row(header, bad[0]),
                column=header.column_of("crisis"),
            )
    c = f"c{header.fields['loc_code']}"
    bad = conn.exec_driver_sql(f"SELECT row_no FROM {t} WHERE coalesce(btrim({c}), '') = '' ORDER BY 1 LIMIT 1").first()
    if bad is not None:
        raise InputError(
            header.path,
            "a location code is required",
            row=tagged.file_row(header, bad[0]),
            column=header.column_of("loc_code"),
        )
    tagged.check_dates(conn, header, t, "date", today=today)
    tagged.check_integers(conn, header, t, COUNTS, required=False)
    for name, lo, hi in (("lat", -90, 90), ("lon", -180, 180)):
        if name not in header.fields:
            continue
        c = f"c{header.fields[name]}"
        bad = conn.exec_driver_sql(
            f"SELECT row_no, {c} FROM {t} WHERE coalesce(btrim({c}), '') <> '' AND ("
            f"btrim({c}) !~ '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$' "
            f"OR CASE WHEN btrim({c}) ~ '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$' "
            f"THEN btrim({c})::float8 NOT BETWEEN {lo} AND {hi} END) ORDER BY row_no LIMIT 1"
        ).first()
        if bad is not None:
            raise InputError(
                header.path,
                f"{bad[1]!r} is not a {'latitude' if name == 'lat' else 'longitude'} ({lo}..{hi})",
                row=tagged.file_row(header, bad[0]),
                column=header.column_of(name),
            )
    check_origins(conn, header, t, ["origin_adm1", "origin_adm2"])
    tagged.check_duplicates(conn, header, t, ["date", "loc_code"], "the same location and day")


def _stage_and_place(conn: Connection, header: tagged.Header, set_id: int) -> dict[str, int]:
    h = header
    dc = f"c{h.fields['date']}"
    geom = (
        f"CASE WHEN {_cell(h, 'lat')} IS NOT NULL AND {_cell(h, 'lon')} IS NOT NULL "
        f"THEN ST_SetSRID(ST_MakePoint({_cell(h, 'lon', 'float8')}, {_cell(h, 'lat', 'float8')}), 4326) END"
        if "lat" in h.fields and "lon" in h.fields
        else "NULL::geometry"
    )
    counts = ", ".join(f"coalesce({_cell(h, n, 'integer')}, 0) AS {n}" for n in COUNTS)
    conn.exec_driver_sql(
        f"""
        CREATE TEMP TABLE ev ON COMMIT DROP AS
        SELECT (row_no + {h.skip})::int AS source_row, {tagged.date_sql(dc)} AS day,
               {_cell(h, "loc_code")} AS loc_code, {_cell(h, "loc_name")} AS loc_name,
               upper({_cell(h, "adm1")}) AS d1, upper({_cell(h, "adm2")}) AS d2, upper({_cell(h, "adm3")}) AS d3,
               {counts},
               upper({_cell(h, "origin_adm1")}) AS origin_adm1, upper({_cell(h, "origin_adm2")}) AS origin_adm2,
               lower({_cell(h, "shelter")}) AS shelter, lower({_cell(h, "cause")}) AS cause,
               {geom}::geometry(Point, 4326) AS geom,
               NULL::text AS p1, NULL::text AS p2, NULL::text AS p3, NULL::text AS placement, NULL::text AS flag
        FROM ev_raw
        """
    )
    p = {"s": set_id}
    # declared: the deepest declared code that is a unit of the boundaries, with its parents
    conn.execute(
        text(
            """
            UPDATE ev SET p3 = u3.pcode, p2 = u3.parent_pcode, p1 = u2.parent_pcode, placement = 'declared'
            FROM admin_unit u3 JOIN admin_unit u2 ON u2.boundary_set_id = u3.boundary_set_id
                 AND u2.level = 2 AND u2.pcode = u3.parent_pcode
            WHERE u3.boundary_set_id = :s AND u3.level = 3 AND u3.pcode = ev.d3
            """
        ),
        p,
    )
    # the point, where no declared sub-district is known
    conn.execute(
        text(
            """
            UPDATE ev SET p3 = u3.pcode, p2 = u3.parent_pcode, p1 = u2.parent_pcode, placement = 'point',
                   flag = CASE WHEN coalesce(ev.d1, ev.d2, ev.d3) IS NOT NULL THEN 'declared_code_unknown' END
            FROM admin_unit u3 JOIN admin_unit u2 ON u2.boundary_set_id = u3.boundary_set_id
                 AND u2.level = 2 AND u2.pcode = u3.parent_pcode
            WHERE ev.placement IS NULL AND ev.geom IS NOT NULL AND u3.boundary_set_id = :s AND u3.level = 3
              AND ST_Intersects(u3.geom, ev.geom)
            """
        ),
        p,
    )
    # a declared district or governorate only
    conn.execute(
        text(
            """
            UPDATE ev SET p2 = u2.pcode, p1 = u2.parent_pcode, p3 = :un, placement = 'declared'
            FROM admin_unit u2
            WHERE ev.placement IS NULL AND u2.boundary_set_id = :s AND u2.level = 2 AND u2.pcode = ev.d2
            """
        ),
        {**p, "un": UNASSIGNED},
    )
    conn.execute(
        text(
            """
            UPDATE ev SET p1 = u1.pcode, p2 = :un, p3 = :un, placement = 'declared'
            FROM admin_unit u1
            WHERE ev.placement IS NULL AND u1.boundary_set_id = :s AND u1.level = 1 AND u1.pcode = ev.d1
            """
        ),
        {**p, "un": UNASSIGNED},
    )
    conn.execute(
        text(
            """
            UPDATE ev SET p1 = :un, p2 = :un, p3 = :un, placement = 'unassigned',
                   flag = CASE WHEN coalesce(d1, d2, d3) IS NOT NULL THEN 'declared_code_unknown'
                               WHEN geom IS NOT NULL THEN 'point_outside_boundaries'
                               ELSE 'no_place' END
            WHERE placement IS NULL
            """
        ),
        {"un": UNASSIGNED},
    )
    out = {
        k: v
        for k, v in conn.exec_driver_sql(
            "SELECT placement, count(*) FROM ev GROUP BY 1 UNION ALL "
            "SELECT 'flag:' || flag, count(*) FROM ev WHERE flag IS NOT NULL GROUP BY 1"
        ).all()
    }
    return out


def aggregate_days(conn: Connection, crisis_id: str) -> None:
    """Remake the daily sums per unit of the days in ``ev`` (the file's days)."""
    p = {"c": crisis_id}
    conn.execute(text("DELETE FROM event_unit_day WHERE crisis_id = :c AND day IN (SELECT DISTINCT day FROM ev)"), p)
    conn.execute(
        text(
            """
            INSERT INTO event_unit_day (crisis_id, level, pcode, day, idp_hh, idp_ind, ret_hh, ret_ind, locations)
            SELECT :c,
                   CASE WHEN GROUPING(adm3) = 0 THEN 3 WHEN GROUPING(adm2) = 0 THEN 2
                        WHEN GROUPING(adm1) = 0 THEN 1 ELSE 0 END,
                   CASE WHEN GROUPING(adm3) = 0 THEN adm3 WHEN GROUPING(adm2) = 0 THEN adm2
                        WHEN GROUPING(adm1) = 0 THEN adm1 ELSE c.country END,
                   day, sum(idp_hh), sum(idp_ind), sum(ret_hh), sum(ret_ind), count(*)
            FROM event_row r JOIN event_crisis c USING (crisis_id)
            WHERE r.crisis_id = :c AND r.day IN (SELECT DISTINCT day FROM ev)
            GROUP BY GROUPING SETS ((day, adm1), (day, adm2), (day, adm3), (day, c.country))
            """
        ),
        p,
    )
