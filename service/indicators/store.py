"""Import an indicator file as a dataset: one transaction per file (stage with COPY, place,
aggregate, log, bump the data version). Owner of every ``indicator_*`` table's writes.

Placement, per admin level: a declared P-code the current boundary set has is taken as is; a
code it does not have (a newer COD, as a fifth of Malawi's traditional authorities) is placed
by the row's point and reported; no usable code and no point: the level's UNASSIGNED bucket,
reported. Aggregation is one set-based statement over ``jsonb_each`` with GROUPING SETS: the
national row and every level's units (UNASSIGNED included), so a sum's levels each add up to
the national figure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from service.core.bulk import copy_rows
from service.core.constants import UNASSIGNED
from service.core.importlog import ImportRecord, bump_data_version, log_import, log_rejection
from service.indicators.catalogue import Catalogue, build_catalogue, read_mapping
from service.indicators.errors import IndicatorFileError
from service.indicators.parse import is_missing, parse_date, parse_number, parse_value
from service.indicators.read import read_table

MAX_ROWS = 200_000
MAX_COLUMNS = 2_000
KIND = {"site": "sites", "location": "assessment"}


@dataclass
class DatasetImport:
    dataset_id: int
    file: str
    country: str
    component: str
    round_label: str | None
    reporting_date: dt.date | None
    access: str
    rows: int
    columns: int
    placement: dict[str, int]
    issues: list[str] = field(default_factory=list)  # per row and column: what was read how, what was not
    conversions: dict[str, str] = field(default_factory=dict)  # column -> how its values were read
    timings: dict[str, float] = field(default_factory=dict)
    data_version: int | None = None


def import_dataset(
    engine: Engine,
    path: str | Path,
    *,
    unit: str,
    country: str | None = None,
    component: str | None = None,
    round_label: str | None = None,
    reporting_date: dt.date | None = None,
    mapping: str | Path | None = None,
    access: str = "restricted",
    sheet: str | None = None,
    title: str | None = None,
    username: str | None = None,
) -> DatasetImport:
    """Import one file; IndicatorFileError (naming file, row, column) leaves the database unchanged."""
    path = Path(path)
    component = component or ("site_assessment" if unit == "site" else "location_assessment")
    rec = ImportRecord(kind=f"dataset:{component}", file_name=path.name, sha256=None)
    if username:
        rec.username = username
    t0 = time.perf_counter()
    try:
        if access not in ("public", "partner", "restricted"):
            raise IndicatorFileError(path.name, None, None, f"access {access!r}: public, partner or restricted")
        table = read_table(path, sheet)
        rec.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        if len(table.frame) > MAX_ROWS or len(table.frame.columns) > MAX_COLUMNS:
            raise IndicatorFileError(path.name, None, None, f"more than {MAX_ROWS:,} rows or {MAX_COLUMNS:,} columns")
        cat = build_catalogue(table, read_mapping(mapping))
        parsed = parse_rows(table, cat, country)
        t1 = time.perf_counter()
        country = parsed.country
        round_label = round_label or parsed.round_label
        reporting_date = reporting_date or parsed.reporting_date
        rec.rows_read = len(table.frame)
        with engine.begin() as conn:
            set_id = conn.execute(
                text("SELECT id FROM boundary_set WHERE country = :c AND is_current ORDER BY id DESC LIMIT 1"),
                {"c": country},
            ).scalar()
            if set_id is None:
                raise IndicatorFileError(
                    path.name,
                    None,
                    None,
                    f"no boundaries of {country}: import them first (dtm-atlas boundaries import)",
                )
            import_id = log_import(conn, rec, "committed")
            ds_id = conn.execute(
                text(
                    "INSERT INTO indicator_dataset (country, component, round_label, reporting_date, unit, title, "
                    "access, boundary_set_id, file_name, sha256, import_id) VALUES (:c, :comp, :r, :d, :u, :t, :a, "
                    ":s, :f, :h, :i) RETURNING id"
                ),
                {
                    "c": country,
                    "comp": component,
                    "r": round_label,
                    "d": reporting_date,
                    "u": unit,
                    "t": title or _title(country, component, round_label, reporting_date),
                    "a": access,
                    "s": set_id,
                    "f": path.name,
                    "h": rec.sha256,
                    "i": import_id,
                },
            ).scalar_one()
            store_catalogue(conn, ds_id, cat, unit)
            _stage(conn, parsed.rows)
            t2 = time.perf_counter()
            placement, place_issues = place(conn, ds_id, set_id, table.file)
            t3 = time.perf_counter()
            aggregate(conn, ds_id)
            t4 = time.perf_counter()
            issues = parsed.issues + place_issues
            conn.execute(
                text(
                    "UPDATE import_log SET rows_accepted = :n, rows_flagged = :f, details = CAST(:d AS jsonb) "
                    "WHERE id = :i"
                ),
                {
                    "n": len(parsed.rows),
                    "f": len(issues),
                    "i": import_id,
                    "d": json.dumps(
                        {
                            "dataset_id": ds_id,
                            "placement": placement,
                            "issues": issues[:1000],
                            "conversions": parsed.conversions,
                        },
                        ensure_ascii=False,
                    ),
                },
            )
            version = bump_data_version(conn)
        return DatasetImport(
            ds_id,
            path.name,
            country,
            component,
            round_label,
            reporting_date,
            access,
            len(parsed.rows),
            len(cat.entries),
            placement,
            issues,
            parsed.conversions,
            {"parse_s": t1 - t0, "stage_s": t2 - t1, "place_s": t3 - t2, "aggregate_s": t4 - t3},
            version,
        )
    except IndicatorFileError as exc:
        log_rejection(engine, rec, str(exc))
        raise


def _stage(conn: Connection, rows: list[tuple]) -> None:
    conn.execute(
        text(
            "CREATE TEMP TABLE indicator_stage (row_number int, obs_id text, name text, lon float8, lat float8, "
            "d1 text, d2 text, d3 text, vals jsonb) ON COMMIT DROP"
        )
    )
    copy_rows(conn, "indicator_stage", ["row_number", "obs_id", "name", "lon", "lat", "d1", "d2", "d3", "vals"], rows)
    conn.execute(text("ANALYZE indicator_stage"))  # a temp table has no statistics: the placement's plan needs them


def _title(country, component, round_label, reporting_date) -> str:
    what = component.replace("_", " ")
    when = f"round {round_label}" if round_label else (reporting_date.isoformat() if reporting_date else "")
    return f"{country} {what}" + (f", {when}" if when else "")


# ------------------------------------------------------------------------------ parse
@dataclass
class Parsed:
    country: str
    round_label: str | None
    reporting_date: dt.date | None
    rows: list[tuple]
    issues: list[str]
    conversions: dict[str, str]


def parse_rows(table, cat: Catalogue, country: str | None) -> Parsed:
    f = table.file
    frame = table.frame
    roles = cat.roles
    if "key" not in roles:
        raise IndicatorFileError(
            f,
            None,
            None,
            "no site or location key: no column such as SiteID, location_id, ssid or response_id with a value on every "
            "row, each different (name it in a mapping file: roles: {key: COLUMN})",
        )
    file_country = None
    if "country" in roles:
        codes = {str(v).strip().upper() for v in frame[roles["country"]] if not is_missing(v)}
        if len(codes) > 1:
            raise IndicatorFileError(f, None, roles["country"], f"several countries in one file: {sorted(codes)}")
        file_country = codes.pop() if codes else None
    country = (country or cat.country or file_country or "").upper() or None
    if country is None:
        raise IndicatorFileError(f, None, None, "no country: give --country ISO3 (the file has no country column)")
    if file_country and len(file_country) == 3 and file_country != country:
        raise IndicatorFileError(f, None, roles["country"], f"the file is of {file_country}, not {country}")
    entries = cat.entries
    issues: list[str] = []
    conversions: dict[str, str] = {}
    counts: Counter = Counter()
    cols = [(e, frame[e.header].tolist()) for e in entries]
    n = len(frame)
    values: list[dict] = [{} for _ in range(n)]
    for e, cells in cols:
        memo: dict = {}  # answers repeat (yes/no, codes, small counts): each distinct value is parsed once
        for i, v in enumerate(cells):
            key = (v.__class__, v) if getattr(v, "__hash__", None) is not None else None
            try:
                if key is not None and key in memo:
                    pv = memo[key]
                else:
                    pv = parse_value(e.type, v)
                    if key is not None:
                        memo[key] = pv
            except ValueError as exc:
                if e.source == "mapping":  # a type someone declared: the file must fit it
                    raise IndicatorFileError(
                        f, table.line(i), e.header, f"{exc}; the mapping types this column {e.type}"
                    ) from None
                issues.append(f"{f}, row {table.line(i)}, column {e.header!r}: {exc}: left empty ({e.type} column)")
                continue
            if pv is not None:
                values[i][e.column_id] = pv
                if e.type == "area" and isinstance(v, str):
                    counts[(e.header, "area")] += 1
                elif e.type in ("integer", "number") and isinstance(v, str) and "," in v:
                    counts[(e.header, "thousands")] += 1
                elif e.type == "date" and not hasattr(v, "isoformat"):
                    counts[(e.header, "date_text")] += 1
                elif e.type == "select_multiple":
                    counts[(e.header, "multi")] += 1
                elif e.type == "boolean":
                    counts[(e.header, "boolean")] += 1
    words = {
        "area": "areas read as square metres (e.g. '31,533 sq.m' = 31533)",
        "thousands": "numbers read without their thousands separators",
        "date_text": "dates read from text or Excel serial days",
        "multi": "multi-select answers split on spaces into lists",
        "boolean": "Yes/No answers read as true/false",
    }
    for (header, kind), k in counts.items():
        conversions[header] = f"{k} {words[kind]}"
    # key, name, point, declared P-codes
    key_e = cat.by_header(roles["key"])
    seen: dict[str, int] = {}
    rows = []
    lat_h, lon_h, gps_h = roles.get("lat"), roles.get("lon"), roles.get("gps")
    no_point = 0
    for i in range(n):
        line = table.line(i)
        key = values[i].get(key_e.column_id)
        if key is None:
            raise IndicatorFileError(f, line, roles["key"], "no site or location key on this row")
        key = str(key)
        if key in seen:
            raise IndicatorFileError(f, line, roles["key"], f"key {key!r} repeats row {seen[key]}")
        seen[key] = line
        lat = lon = None
        if lat_h and lon_h:
            lat, lon = parse_number(frame[lat_h].iat[i]), parse_number(frame[lon_h].iat[i])
        if (lat is None or lon is None) and gps_h and not is_missing(frame[gps_h].iat[i]):
            parts = str(frame[gps_h].iat[i]).split()
            if len(parts) >= 2:
                lat, lon = parse_number(parts[0]), parse_number(parts[1])
        if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            issues.append(
                f"{f}, row {line}, column {lat_h or gps_h!r}: point ({lat}, {lon}) is not a longitude/latitude"
            )
            lat = lon = None
        if lat is None or lon is None:
            no_point += 1
        declared = []
        for lvl in (1, 2, 3):
            h = roles.get(f"adm{lvl}")
            v = frame[h].iat[i] if h else None
            declared.append(None if is_missing(v) else str(v).strip().upper())
        name = frame[roles["name"]].iat[i] if "name" in roles else None
        rows.append(
            (
                line,
                key,
                None if is_missing(name) else str(name).strip(),
                lon,
                lat,
                *declared,
                json.dumps(values[i], ensure_ascii=False, default=str),
            )
        )
    if no_point:
        issues.append(f"{f}: {no_point} rows without a usable point (placed by their P-codes only)")
    round_label = None
    if "round" in roles:
        labels = Counter(str(v).strip() for v in frame[roles["round"]] if not is_missing(v))
        round_label = labels.most_common(1)[0][0] if labels else None
    reporting_date = _reporting_date(table, roles.get("date"), issues)
    return Parsed(country, round_label, reporting_date, rows, issues, conversions)


def _reporting_date(table, header: str | None, issues: list[str]) -> dt.date | None:
    """The latest date of the date column, leaving out dates more than 120 days from the median
    (reported: one of Malawi's assessment dates is typed as 2025)."""
    if header is None:
        return None
    dates = [(i, parse_date(v)) for i, v in enumerate(table.frame[header]) if not is_missing(v)]
    dates = [(i, d) for i, d in dates if d is not None]
    if not dates:
        return None
    mid = dt.date.fromordinal(int(statistics.median(d.toordinal() for _, d in dates)))
    kept = []
    for i, d in dates:
        if abs((d - mid).days) > 120:
            issues.append(
                f"{table.file}, row {table.line(i)}, column {header!r}: date {d} is far from the others "
                f"(median {mid}); not used for the reporting date"
            )
        else:
            kept.append(d)
    return max(kept) if kept else None


# ------------------------------------------------------------------------------ store
def store_catalogue(conn: Connection, ds_id: int, cat: Catalogue, unit: str) -> None:
    rows = [
        (
            ds_id,
            e.column_id,
            e.position,
            e.header,
            e.label_en,
            e.label_ar,
            e.type,
            e.unit,
            e.hxl,
            e.aggregation,
            e.weight,
            e.share_of,
            e.sensitivity,
            e.source,
            e.description,
        )
        for e in cat.entries
    ]
    label = "Sites" if unit == "site" else "Locations"
    label_ar = "المواقع" if unit == "site" else "المواقع المقيّمة"
    rows.append(
        (
            ds_id,
            OBSERVATIONS,
            -1,
            "",
            label,
            label_ar,
            "integer",
            unit + "s",
            "#meta+count",
            "count",
            None,
            None,
            "public",
            "derived",
            f"{label} assessed",
        )
    )
    copy_rows(
        conn,
        "indicator_column",
        [
            "dataset_id",
            "column_id",
            "position",
            "header",
            "label_en",
            "label_ar",
            "type",
            "unit",
            "hxl",
            "aggregation",
            "weight",
            "share_of",
            "sensitivity",
            "source",
            "description",
        ],
        rows,
    )


OBSERVATIONS = "observations"


def place(conn: Connection, ds_id: int, set_id: int, file: str) -> tuple[dict[str, int], list[str]]:
    conn.execute(
        text(
            """
            INSERT INTO indicator_observation (dataset_id, row_number, obs_id, name, geom, adm1, adm2, adm3,
                                               placement, "values")
            WITH pts AS (
              SELECT s.row_number, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS g
              FROM indicator_stage s WHERE s.lon IS NOT NULL AND s.lat IS NOT NULL
            ), hit AS (  -- one set-based point-in-polygon join (GiST), every level at once
              SELECT p.row_number,
                     max(a.pcode) FILTER (WHERE a.level = 1) AS adm1,
                     max(a.pcode) FILTER (WHERE a.level = 2) AS adm2,
                     max(a.pcode) FILTER (WHERE a.level = 3) AS adm3
              FROM pts p JOIN admin_unit_subdivided a
                ON a.boundary_set_id = :set AND a.level BETWEEN 1 AND 3 AND ST_Intersects(a.geom, p.g)
              GROUP BY p.row_number
            )
            SELECT :ds, s.row_number, s.obs_id, s.name, pts.g,
                   coalesce(u1.pcode, p.adm1), coalesce(u2.pcode, p.adm2), coalesce(u3.pcode, p.adm3),
                   CASE WHEN (s.d1 IS NULL OR u1.pcode IS NOT NULL) AND (s.d2 IS NULL OR u2.pcode IS NOT NULL)
                             AND (s.d3 IS NULL OR u3.pcode IS NOT NULL)
                             AND coalesce(s.d1, s.d2, s.d3) IS NOT NULL THEN 'declared'
                        WHEN pts.g IS NULL THEN 'declared_partly'
                        ELSE 'point' END,
                   s.vals
            FROM indicator_stage s
            LEFT JOIN pts ON pts.row_number = s.row_number
            LEFT JOIN hit p ON p.row_number = s.row_number
            LEFT JOIN admin_unit u1 ON u1.boundary_set_id = :set AND u1.level = 1 AND u1.pcode = s.d1
            LEFT JOIN admin_unit u2 ON u2.boundary_set_id = :set AND u2.level = 2 AND u2.pcode = s.d2
            LEFT JOIN admin_unit u3 ON u3.boundary_set_id = :set AND u3.level = 3 AND u3.pcode = s.d3
            """
        ),
        {"ds": ds_id, "set": set_id},
    )
    issues: list[str] = []
    levels = (
        conn.execute(
            text("SELECT DISTINCT level FROM admin_unit WHERE boundary_set_id = :s AND level BETWEEN 1 AND 3"),
            {"s": set_id},
        )
        .scalars()
        .all()
    )
    # every declared code the boundaries do not have, and where the row went instead
    for lvl in (1, 2, 3):
        rows = conn.execute(
            text(
                f"""
                SELECT s.row_number, s.d{lvl} AS declared, o.adm{lvl} AS placed
                FROM indicator_stage s JOIN indicator_observation o
                  ON o.dataset_id = :ds AND o.row_number = s.row_number
                WHERE s.d{lvl} IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM admin_unit u WHERE u.boundary_set_id = :set AND u.level = {lvl} AND u.pcode = s.d{lvl})
                ORDER BY s.row_number
                """
            ),
            {"ds": ds_id, "set": set_id},
        ).all()
        for line, declared, placed in rows:
            if lvl not in levels:
                continue  # the boundary set has no such level: nothing to place in
            where = f"placed by its point in {placed}" if placed else f"no unit holds its point: {UNASSIGNED}"
            issues.append(f"{file}, row {line}: adm{lvl} P-code {declared} is not in the boundary set; {where}")
    counts = dict(
        conn.execute(
            text("SELECT placement, count(*) FROM indicator_observation WHERE dataset_id = :ds GROUP BY 1"),
            {"ds": ds_id},
        ).all()
    )
    for lvl in levels:
        k = conn.execute(
            text(f"SELECT count(*) FROM indicator_observation WHERE dataset_id = :ds AND adm{lvl} IS NULL"),
            {"ds": ds_id},
        ).scalar_one()
        counts[f"unassigned_adm{lvl}"] = k
        if k:
            issues.append(f"{file}: {k} rows in no unit of level {lvl} ({UNASSIGNED} bucket of adm{lvl})")
    return counts, issues


def aggregate(conn: Connection, ds_id: int) -> None:
    """Every aggregated column of the dataset per unit of every level, and nationally, in one statement."""
    conn.execute(text("DELETE FROM indicator_aggregate WHERE dataset_id = :ds"), {"ds": ds_id})
    conn.execute(
        text(
            f"""
            INSERT INTO indicator_aggregate (dataset_id, level, pcode, column_id, value, n)
            WITH cells AS (
              SELECT o.adm1, o.adm2, o.adm3, c.column_id, c.aggregation, c.share_of,
                     CASE WHEN jsonb_typeof(e.value) = 'number' THEN (e.value #>> '{{}}')::float8 END AS num,
                     CASE WHEN c.aggregation = 'share' THEN
                       CASE WHEN jsonb_typeof(e.value) = 'array' THEN e.value ? c.share_of
                            ELSE e.value #>> '{{}}' = c.share_of END END AS hit,
                     CASE WHEN c.weight IS NOT NULL AND jsonb_typeof(o."values" -> c.weight) = 'number'
                          THEN (o."values" ->> c.weight)::float8 END AS w
              FROM indicator_observation o
              CROSS JOIN LATERAL jsonb_each(o."values") e
              JOIN indicator_column c ON c.dataset_id = o.dataset_id AND c.column_id = e.key
              WHERE o.dataset_id = :ds AND c.aggregation <> 'none' AND jsonb_typeof(e.value) <> 'null'
              UNION ALL
              SELECT o.adm1, o.adm2, o.adm3, '{OBSERVATIONS}', 'count', NULL, NULL, NULL, NULL
              FROM indicator_observation o WHERE o.dataset_id = :ds
            )
            SELECT :ds,
                   CASE WHEN GROUPING(adm1) = 0 THEN 1 WHEN GROUPING(adm2) = 0 THEN 2
                        WHEN GROUPING(adm3) = 0 THEN 3 ELSE 0 END AS level,
                   CASE WHEN GROUPING(adm1) = 0 THEN coalesce(adm1, '{UNASSIGNED}')
                        WHEN GROUPING(adm2) = 0 THEN coalesce(adm2, '{UNASSIGNED}')
                        WHEN GROUPING(adm3) = 0 THEN coalesce(adm3, '{UNASSIGNED}')
                        ELSE (SELECT country FROM indicator_dataset WHERE id = :ds) END AS pcode,
                   column_id,
                   CASE min(aggregation)
                     WHEN 'sum' THEN sum(num)
                     WHEN 'mean' THEN avg(num)
                     WHEN 'weighted_mean' THEN sum(num * w) / nullif(sum(w) FILTER (WHERE num IS NOT NULL), 0)
                     WHEN 'share' THEN avg(CASE WHEN hit THEN 1.0 ELSE 0.0 END)
                     WHEN 'count' THEN count(*)
                   END,
                   count(*)
            FROM cells
            GROUP BY GROUPING SETS ((column_id), (column_id, adm1), (column_id, adm2), (column_id, adm3))
            """
        ),
        {"ds": ds_id},
    )
    # levels the boundary set does not have are not published
    conn.execute(
        text(
            """
            DELETE FROM indicator_aggregate a USING indicator_dataset d
            WHERE a.dataset_id = :ds AND d.id = a.dataset_id AND a.level > 0 AND NOT EXISTS (
              SELECT 1 FROM admin_unit u WHERE u.boundary_set_id = d.boundary_set_id AND u.level = a.level)
            """
        ),
        {"ds": ds_id},
    )


def set_access(engine: Engine, ds_id: int, access: str) -> bool:
    """An editor publishes (or withdraws) a dataset; caches go stale with the data version."""
    if access not in ("public", "partner", "restricted"):
        raise ValueError(f"access {access!r}: public, partner or restricted")
    with engine.begin() as conn:
        n = conn.execute(
            text("UPDATE indicator_dataset SET access = :a WHERE id = :d"), {"a": access, "d": ds_id}
        ).rowcount
        if n:
            bump_data_version(conn)
    return bool(n)
