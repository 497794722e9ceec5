"""Owner of ``flow_point``, ``flow_count``, ``flow_month`` and ``flow_place``: the import of a
point registry and of Flow Monitoring counts (one transaction per file).

Counts come by day (DTM West and Central Africa: ``t, route, fmp, fmp_country, from, to, n,
reason_*``) or by month (East and Horn of Africa: ``t, fmp, fmp_country, route, subroute,
movement, origin, previous, next, final, nat, n, reason_*``), with plain names, HXL tags or a
mapping file. One COPY into a scratch table, whole-column checks in SQL (the first bad cell is
reported by file, row and column; nothing is imported), then the file's (point, day) pairs
replace the same pairs already stored, and the monthly sums of the touched months are made
again. Origins and destinations are ISO3 country codes or P-codes; ``flow_place`` holds where
each is drawn (a country: its capital, from Natural Earth; a P-code: a point on its unit).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from service.core.bulk import copy_rows
from service.core.constants import UNASSIGNED
from service.core.files import sha256_of
from service.core.importlog import ImportRecord, bump_data_version, log_import, log_rejection
from service.core.settings import DEFAULT_SHARED_DIR
from service.ingest import tagged
from service.ingest.tagged import Field, InputError, is_country_code, is_place_code

FIELDS = [
    Field("t", ("#date",), ("date", "day", "month")),
    Field("fmp", ("#loc+code", "#loc+fmp+code"), ("fmp_id", "fmp_code", "point")),
    Field("fmp_country", ("#country+code", "#loc+country+code"), ("country",)),
    Field("route", ("#route",), ()),
    Field("subroute", ("#route+sub",), ()),
    Field("direction", ("#indicator+movement",), ("movement",)),
    Field("origin", ("#country+code+origin", "#geo+origin"), ("from",)),
    Field("previous", ("#country+code+previous",), ("prev",)),
    Field("next", ("#country+code+next",), ()),
    Field("final", ("#country+code+destination", "#geo+destination"), ("to", "destination")),
    Field("nationality", ("#country+code+nationality",), ("nat",)),
    Field("n", ("#affected+ind", "#affected"), ("count", "individuals")),
    Field("reason_seasonal", ("#affected+reason+seasonal",), ()),
    Field("reason_disaster", ("#affected+reason+disaster",), ()),
    Field("reason_conflict", ("#affected+reason+conflict",), ()),
    Field("reason_economic", ("#affected+reason+economic",), ()),
]
PLACES_FIELDS = ["origin", "previous", "next", "final"]
REASONS = ["reason_seasonal", "reason_disaster", "reason_conflict", "reason_economic"]
REGISTRY_FIELDS = [
    Field("id", ("#loc+code",), ("fmp", "fmp_id", "code")),
    Field("name", ("#loc+name",), ("fmp_name",)),
    Field("type", ("#loc+type",), ("point_type",)),
    Field("country", ("#country+code",), ("fmp_country", "iso3")),
    Field("adm1", ("#adm1+code",), ("adm1_pcode",)),
    Field("adm2", ("#adm2+code",), ("adm2_pcode",)),
    Field("lat", ("#geo+lat",), ("latitude",)),
    Field("lon", ("#geo+lon",), ("longitude",)),
]


@dataclass
class FlowImport:
    file: str
    import_id: int
    rows: int
    period: str
    points_imported: int
    days: tuple[dt.date, dt.date]
    replaced_rows: int
    data_version: int
    timings: dict[str, float] = field(default_factory=dict)


@lru_cache(maxsize=2)
def capitals(places_file: str) -> dict[str, tuple[str, float, float]]:
    """ISO3 -> (capital, lon, lat) from Natural Earth's populated places."""
    out: dict[str, tuple[str, float, float]] = {}
    with gzip.open(places_file, "rt", encoding="utf-8") as fh:
        feats = json.load(fh)["features"]
    for f in feats:
        p = f["properties"]
        code = p.get("ADM0_A3")
        if not code or "capital" not in (p.get("FEATURECLA") or "").lower():
            continue
        lon, lat = f["geometry"]["coordinates"][:2]
        if code not in out or p.get("FEATURECLA") == "Admin-0 capital":
            out[code] = (p.get("NAME") or code, float(lon), float(lat))
    return out


def places_file(shared_dir: Path = DEFAULT_SHARED_DIR) -> Path:
    """Natural Earth's populated places in the shared data folder (the setting ``shared_data_dir``)."""
    return Path(shared_dir) / "natural_earth" / "ne_10m_populated_places.json.gz"


# ------------------------------------------------------------------------------ the point registry


def import_points(conn: Connection, path: Path, *, synthetic: bool = False, import_id: int | None = None) -> int:
    """Upsert the point registry (inside the caller's transaction); points placed like
    master-list rows where their country's boundaries are loaded."""
    header = tagged.read_header(path, REGISTRY_FIELDS)
    for need in ("id", "country"):
        if need not in header.fields:
            raise InputError(
                path, f"the point registry has no {need!r} column (id, name, type, country, adm1, adm2, lat, lon)"
            )
    n = tagged.copy_body(conn, header, "fp_raw")
    h = header

    def cell(name, cast=None):
        if name not in h.fields:
            return "NULL"
        c = f"nullif(btrim(c{h.fields[name]}), '')"
        return f"CAST({c} AS {cast})" if cast else c

    c = f"c{h.fields['country']}"
    bad = conn.exec_driver_sql(
        f"SELECT row_no, {c} FROM fp_raw WHERE coalesce(btrim({c}), '') !~ '^[A-Za-z]{{3}}$' ORDER BY 1 LIMIT 1"
    ).first()
    if bad is None:
        for code, row_no in conn.exec_driver_sql(f"SELECT upper(btrim({c})), min(row_no) FROM fp_raw GROUP BY 1").all():
            if not is_country_code(code):
                bad = (row_no, code)
                break
    if bad is not None:
        raise InputError(
            path,
            f"{bad[1]!r} is not an ISO3 country code",
            row=tagged.file_row(h, bad[0]),
            column=h.column_of("country"),
        )
    idc = f"c{h.fields['id']}"
    bad = conn.exec_driver_sql(
        f"SELECT row_no FROM fp_raw WHERE coalesce(btrim({idc}), '') = '' ORDER BY 1 LIMIT 1"
    ).first()
    if bad is not None:
        raise InputError(path, "a point id is required", row=tagged.file_row(h, bad[0]), column=h.column_of("id"))
    tagged.check_duplicates(conn, h, "fp_raw", ["id"], "the same point")
    for name, lo, hi in (("lat", -90, 90), ("lon", -180, 180)):
        if name in h.fields:
            cc = f"c{h.fields[name]}"
            num = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$"
            bad = conn.exec_driver_sql(
                f"SELECT row_no, {cc} FROM fp_raw WHERE coalesce(btrim({cc}), '') <> '' AND (btrim({cc}) !~ '{num}' "
                f"OR CASE WHEN btrim({cc}) ~ '{num}' THEN btrim({cc})::float8 NOT BETWEEN {lo} AND {hi} END) "
                "ORDER BY 1 LIMIT 1"
            ).first()
            if bad is not None:
                raise InputError(
                    path,
                    f"{bad[1]!r} is not a coordinate ({lo}..{hi})",
                    row=tagged.file_row(h, bad[0]),
                    column=h.column_of(name),
                )
    geom = (
        (
            f"CASE WHEN {cell('lat')} IS NOT NULL AND {cell('lon')} IS NOT NULL "
            f"THEN ST_SetSRID(ST_MakePoint({cell('lon', 'float8')}, {cell('lat', 'float8')}), 4326) END"
        )
        if "lat" in h.fields and "lon" in h.fields
        else "NULL"
    )
    conn.exec_driver_sql(
        f"""
        CREATE TEMP TABLE fp ON COMMIT DROP AS
        SELECT {cell("id")} AS fmp_id, {cell("name")} AS name, {cell("type")} AS point_type,
               upper({cell("country")})::char(3) AS country, upper({cell("adm1")}) AS d1, upper({cell("adm2")}) AS d2,
               {geom}::geometry(Point, 4326) AS geom, NULL::text AS adm1, NULL::text AS adm2, NULL::text AS placement
        FROM fp_raw
        """
    )
    p = {"un": UNASSIGNED}
    conn.execute(
        text(
            """
            UPDATE fp SET adm2 = u.pcode, adm1 = u.parent_pcode, placement = 'declared'
            FROM boundary_set b JOIN admin_unit u ON u.boundary_set_id = b.id AND u.level = 2
            WHERE b.is_current AND b.country = fp.country AND u.pcode = fp.d2
            """
        )
    )
    conn.execute(
        text(
            """
            UPDATE fp SET adm2 = u.pcode, adm1 = u.parent_pcode, placement = 'point'
            FROM boundary_set b JOIN admin_unit u ON u.boundary_set_id = b.id AND u.level = 2
            WHERE fp.placement IS NULL AND fp.geom IS NOT NULL AND b.is_current AND b.country = fp.country
              AND ST_Intersects(u.geom, fp.geom)
            """
        )
    )
    conn.execute(
        text(
            """
            UPDATE fp SET adm1 = CASE WHEN has THEN :un ELSE fp.d1 END,
                          adm2 = CASE WHEN has THEN :un ELSE fp.d2 END,
                          placement = CASE WHEN has THEN 'unassigned' ELSE 'unchecked' END
            FROM (SELECT f2.fmp_id, EXISTS (SELECT 1 FROM boundary_set b WHERE b.is_current AND b.country = f2.country)
                  AS has FROM fp f2) x
            WHERE fp.placement IS NULL AND x.fmp_id = fp.fmp_id
            """
        ),
        p,
    )
    conn.execute(
        text(
            """
            INSERT INTO flow_point (fmp_id, name, point_type, country, adm1, adm2, placement, synthetic,
                                    import_id, geom)
            SELECT fmp_id, name, point_type, country, adm1, adm2, placement, :s, :i, geom FROM fp
            ON CONFLICT (fmp_id) DO UPDATE SET name = EXCLUDED.name, point_type = EXCLUDED.point_type,
                country = EXCLUDED.country, adm1 = EXCLUDED.adm1, adm2 = EXCLUDED.adm2,
                placement = EXCLUDED.placement, synthetic = EXCLUDED.synthetic, import_id = EXCLUDED.import_id,
                geom = EXCLUDED.geom
            """
        ),
        {"s": synthetic, "i": import_id},
    )
    return n


def import_registry(engine: Engine, path: Path | str, *, synthetic: bool = False, username: str | None = None) -> int:
    """Import a point registry alone (one transaction, logged as ``username``, else the OS user)."""
    path = Path(path)
    rec = ImportRecord(kind="flow_points", file_name=path.name, sha256=None)
    if username:
        rec.username = username
    try:
        with engine.begin() as conn:
            n = import_points(conn, path, synthetic=synthetic)
            rec.rows_read = rec.rows_accepted = n
            log_import(conn, rec, "committed")
            bump_data_version(conn)
    except InputError as exc:
        log_rejection(engine, rec, str(exc))
        raise
    return n


# ------------------------------------------------------------------------------ counts


def import_flows(
    engine: Engine,
    path: Path | str,
    *,
    points: Path | str | None = None,
    mapping: Path | None = None,
    period: str | None = None,
    synthetic: bool = False,
    today: dt.date | None = None,
    places: Path | None = None,
    username: str | None = None,
) -> FlowImport:
    """Import one file of FMP counts (and the point registry first, when given) in one transaction."""

    path = Path(path)
    rec = ImportRecord(kind="flows", file_name=path.name, sha256=None)
    if username:
        rec.username = username
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        rec.sha256 = sha256_of(path)
        header = tagged.read_header(path, FIELDS, tagged.load_mapping(mapping))
        for need in ("t", "fmp", "n"):
            if need not in header.fields:
                raise InputError(
                    path, f"no {need!r} column (the daily shape: t, route, fmp, fmp_country, from, to, n, reason_*)"
                )
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('flow_count'))"))
            n_points = 0
            if points is not None:
                n_points = import_points(conn, Path(points), synthetic=synthetic)
                rec.details["points"] = Path(points).name
            rows = tagged.copy_body(conn, header, "fl_raw")
            rec.rows_read = rows
            if rows == 0:
                raise InputError(path, "no data rows")
            timings["copy"] = time.perf_counter() - t0
            kind = period or ("M" if "direction" in header.fields else "D")
            _check(conn, header, today or dt.date.today(), monthly=kind == "M")
            timings["checks"] = time.perf_counter() - t0
            replaced, first, last = _store(conn, header, kind, rec)
            timings["store"] = time.perf_counter() - t0
            _places(conn, Path(places) if places else places_file())
            version = bump_data_version(conn)
    except InputError as exc:
        log_rejection(engine, rec, str(exc))
        raise
    return FlowImport(
        file=path.name,
        import_id=rec.details["import_id"],
        rows=rows,
        period=kind,
        points_imported=n_points,
        days=(first, last),
        replaced_rows=replaced,
        data_version=version,
        timings={k: round(v, 3) for k, v in timings.items()},
    )


def _check(conn: Connection, h: tagged.Header, today: dt.date, *, monthly: bool) -> None:
    t = "fl_raw"
    fc = f"c{h.fields['fmp']}"
    bad = conn.exec_driver_sql(
        f"SELECT r.row_no, r.{fc} FROM (SELECT btrim({fc}) AS id, min(row_no) AS row_no FROM {t} GROUP BY 1) s "
        f"JOIN {t} r ON r.row_no = s.row_no LEFT JOIN flow_point p ON p.fmp_id = s.id "
        "WHERE p.fmp_id IS NULL ORDER BY 1 LIMIT 1"
    ).first()
    if bad is not None:
        raise InputError(
            h.path,
            f"flow monitoring point {bad[1]!r} is not in the point registry (give it with --points)",
            row=tagged.file_row(h, bad[0]),
            column=h.column_of("fmp"),
        )
    tagged.check_dates(conn, h, t, "t", today=today, monthly_ok=monthly)
    tagged.check_integers(conn, h, t, ["n"], required=True)
    tagged.check_integers(conn, h, t, REASONS, required=False)
    for name in PLACES_FIELDS + ["nationality"]:
        if name not in h.fields:
            continue
        c = f"c{h.fields[name]}"
        for value, row_no in conn.exec_driver_sql(
            f"SELECT upper(btrim({c})), min(row_no) FROM {t} WHERE coalesce(btrim({c}), '') <> '' GROUP BY 1 ORDER BY 2"
        ).all():
            if not is_place_code(value):
                what = "nationality" if name == "nationality" else name.replace("final", "destination")
                raise InputError(
                    h.path,
                    f"{what} {value!r} is neither a country code (ISO3) nor a P-code",
                    row=tagged.file_row(h, row_no),
                    column=h.column_of(name),
                )
    if "direction" in h.fields:
        c = f"c{h.fields['direction']}"
        bad = conn.exec_driver_sql(
            f"SELECT row_no, {c} FROM {t} "
            f"WHERE lower(coalesce(btrim({c}), '')) NOT IN ('', 'incoming', 'outgoing', 'in', 'out') "
            "ORDER BY 1 LIMIT 1"
        ).first()
        if bad is not None:
            raise InputError(
                h.path,
                f"movement {bad[1]!r} is not incoming or outgoing",
                row=tagged.file_row(h, bad[0]),
                column=h.column_of("direction"),
            )
    keys = ["t", "fmp", "route", "subroute", "direction", "origin", "previous", "next", "final", "nationality"]
    tagged.check_duplicates(conn, h, t, [k for k in keys if k in h.fields], "the same point, day and route")


def _store(conn: Connection, h: tagged.Header, kind: str, rec: ImportRecord) -> tuple[int, dt.date, dt.date]:
    def cell(name, cast=None, upper=False, default="''"):
        if name not in h.fields:
            return "NULL" if cast else default
        c = f"btrim(c{h.fields[name]})"
        if upper:
            c = f"upper({c})"
        return f"CAST(nullif({c}, '') AS {cast})" if cast else f"coalesce({c}, '')"

    direction = (
        f"CASE lower(coalesce(btrim(c{h.fields['direction']}), '')) "
        "WHEN 'in' THEN 'incoming' WHEN 'out' THEN 'outgoing' "
        f"ELSE lower(coalesce(btrim(c{h.fields['direction']}), '')) END"
        if "direction" in h.fields
        else "''"
    )
    conn.exec_driver_sql(
        f"""
        CREATE TEMP TABLE fl ON COMMIT DROP AS
        SELECT btrim(c{h.fields["fmp"]}) AS fmp_id, {tagged.date_sql(f"c{h.fields['t']}")} AS t,
               '{kind}'::char(1) AS period,
               {cell("route")} AS route, {cell("subroute")} AS subroute, {direction} AS direction,
               {cell("origin", upper=True)} AS origin, {cell("previous", upper=True)} AS previous,
               {cell("next", upper=True)} AS next, {cell("final", upper=True)} AS final,
               {cell("nationality", upper=True)} AS nationality, {cell("n", "integer")} AS n,
               {cell("reason_seasonal", "integer")} AS reason_seasonal,
               {cell("reason_disaster", "integer")} AS reason_disaster,
               {cell("reason_conflict", "integer")} AS reason_conflict,
               {cell("reason_economic", "integer")} AS reason_economic
        FROM fl_raw
        """
    )
    conn.exec_driver_sql("CREATE TEMP TABLE fl_days ON COMMIT DROP AS SELECT DISTINCT fmp_id, t, period FROM fl")
    first, last = conn.exec_driver_sql("SELECT min(t), max(t) FROM fl_days").one()
    conn.exec_driver_sql("ANALYZE fl_days")
    replaced = conn.exec_driver_sql(
        "DELETE FROM flow_count c USING fl_days d WHERE c.fmp_id = d.fmp_id AND c.t = d.t AND c.period = d.period"
    ).rowcount
    rec.rows_accepted = conn.exec_driver_sql("SELECT count(*) FROM fl").scalar_one()
    rec.details.update({"period": kind, "first": str(first), "last": str(last), "replaced_rows": replaced})
    import_id = log_import(conn, rec, "committed")
    rec.details["import_id"] = import_id
    conn.execute(
        text(
            """
            INSERT INTO flow_count (fmp_id, t, period, route, subroute, direction, origin, previous, next, final,
                nationality, n, reason_seasonal, reason_disaster, reason_conflict, reason_economic, import_id)
            SELECT fmp_id, t, period, route, subroute, direction, origin, previous, next, final, nationality, n,
                   reason_seasonal, reason_disaster, reason_conflict, reason_economic, :i
            FROM fl
            """
        ),
        {"i": import_id},
    )
    # the monthly sums of the touched (point, month) pairs, made again from every stored row
    conn.exec_driver_sql(
        "CREATE TEMP TABLE fl_months ON COMMIT DROP AS "
        "SELECT DISTINCT fmp_id, date_trunc('month', t)::date AS month FROM fl_days"
    )
    conn.exec_driver_sql("DELETE FROM flow_month m USING fl_months x WHERE m.fmp_id = x.fmp_id AND m.month = x.month")
    conn.exec_driver_sql(
        """
        INSERT INTO flow_month (fmp_id, month, direction, origin, final, n)
        SELECT c.fmp_id, x.month, c.direction, c.origin, CASE WHEN c.final <> '' THEN c.final ELSE c.next END, sum(c.n)
        FROM fl_months x JOIN flow_count c ON c.fmp_id = x.fmp_id AND c.t >= x.month
             AND c.t < x.month + interval '1 month'
        GROUP BY 1, 2, 3, 4, 5
        """
    )
    return replaced, first, last


def _places(conn: Connection, ne_places: Path) -> None:
    """Where each new origin and destination is drawn."""
    codes = (
        conn.exec_driver_sql(
            "SELECT DISTINCT code FROM (SELECT origin AS code FROM flow_month UNION SELECT final FROM flow_month) s "
            "WHERE code <> '' AND NOT EXISTS (SELECT 1 FROM flow_place p WHERE p.code = s.code AND p.geom IS NOT NULL)"
        )
        .scalars()
        .all()
    )
    if not codes:
        return
    caps = capitals(str(ne_places)) if ne_places.exists() else {}
    rows = []
    for code in codes:
        if is_country_code(code):
            name, lon, lat = caps.get(code, (code, None, None))
            rows.append((code, "country", name, None if lon is None else f"SRID=4326;POINT({lon} {lat})"))
        else:
            rows.append((code, "pcode", None, None))
    conn.exec_driver_sql("CREATE TEMP TABLE fpl (code text, kind text, name text, geom text) ON COMMIT DROP")
    copy_rows(conn, "fpl", ["code", "kind", "name", "geom"], rows)
    conn.exec_driver_sql(
        """
        INSERT INTO flow_place (code, kind, name, geom)
        SELECT f.code, f.kind, coalesce(f.name, u.name_en), coalesce(f.geom::geometry, ST_PointOnSurface(u.geom))
        FROM fpl f LEFT JOIN LATERAL (
            SELECT a.name_en, a.geom FROM admin_unit a JOIN boundary_set b ON b.id = a.boundary_set_id AND b.is_current
            WHERE a.pcode = f.code LIMIT 1) u ON f.kind = 'pcode'
        ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom
        """
    )
