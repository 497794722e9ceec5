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
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from service.core.bulk import copy_rows, execute_literal, raw
from service.core.constants import UNASSIGNED
from service.core.importlog import ImportRecord, bump_data_version, log_import, log_rejection
from service.indicators import hotspots
from service.indicators.catalogue import Catalogue, build_catalogue, read_mapping
from service.indicators.errors import IndicatorFileError
from service.indicators.parse import ParsedColumn, is_missing, parse_column, parse_date, parse_number
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
        doc = read_mapping(mapping)
        cat = build_catalogue(table, doc)
        hotspot = doc.get("hotspot")
        if hotspot is not None:
            hotspots.check(hotspot, cat)
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
            parsed.rows, code_issues = check_pcodes(conn, set_id, parsed.rows, cat, table.hxl, table.file, country)
            parsed.issues += code_issues
            _stage(conn, parsed.rows)
            t2 = time.perf_counter()
            placement, place_issues = place(conn, ds_id, set_id, table.file)
            t3 = time.perf_counter()
            aggregate(conn, ds_id, cat.entries, parsed.columns, [r[0] for r in parsed.rows])
            if hotspot is not None:  # the index's hotspot rule: a derived column per sub-district
                hotspots.publish(conn, ds_id, hotspot, cat)
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
    # the values (a few kB a row) are compressed twice (stage, observation): lz4 is ~2x faster than pglz
    if conn.execute(
        text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar():
        conn.execute(text("SET LOCAL default_toast_compression = 'lz4'"))
    conn.execute(
        text(
            "CREATE TEMP TABLE indicator_stage (row_number int, obs_id text, name text, lon float8, lat float8, "
            "d1 text, d2 text, d3 text, vals jsonb) ON COMMIT DROP"
        )
    )
    copy_text(conn, "indicator_stage", ["row_number", "obs_id", "name", "lon", "lat", "d1", "d2", "d3", "vals"], rows)
    conn.execute(text("ANALYZE indicator_stage"))  # a temp table has no statistics: the placement's plan needs them


def code_form(code: str) -> str:
    """The form of a P-code: its letters as they are, each digit a 9 (``NG002001`` -> ``NG999999``)."""
    return re.sub(r"[0-9]", "9", code)


def check_pcodes(
    conn: Connection, set_id: int, rows: list[tuple], cat: Catalogue, hxl: dict, file: str, country: str
) -> tuple[list[tuple], list[str]]:
    """The declared P-code columns against the forms of the boundary set's codes per level.

    A column whose header or HXL tag says one level while its codes have the form of another
    (an ``#adm1+code`` row over county codes) is read by its codes, and the mismatch reported;
    a code with the form of no level of the country is reported with its row (it is then placed
    by the row's point, like a code the boundaries do not have)."""
    forms: dict[int, Counter] = {}
    for level, code in conn.execute(
        text("SELECT level, pcode FROM admin_unit WHERE boundary_set_id = :s AND level BETWEEN 1 AND 3"), {"s": set_id}
    ):
        forms.setdefault(level, Counter())[code_form(code)] += 1
    if not forms:
        return rows, []
    issues: list[str] = []
    declared = {lvl: [r[4 + lvl] for r in rows] for lvl in (1, 2, 3)}
    moved: dict[int, int] = {}  # level the file says -> level its codes have
    for lvl in (1, 2, 3):
        header = cat.roles.get(f"adm{lvl}")
        codes = [c for c in declared[lvl] if c is not None]
        if header is None or not codes:
            continue
        said = f"HXL tag {hxl[header]!r}" if header in hxl else "header"
        fit = {m: sum(code_form(c) in f for c in codes) for m, f in forms.items()}
        best = max(fit, key=lambda m: fit[m])
        eff = lvl
        if fit.get(lvl, 0) * 2 < len(codes) and fit[best] * 2 > len(codes) and best != lvl:
            example = next(c for c in codes if code_form(c) in forms[best])
            free = cat.roles.get(f"adm{best}") is None or not any(declared[best])
            if free and best not in moved.values():
                moved[lvl] = eff = best
                issues.append(
                    f"{file}, column {header!r}: its {said} says adm{lvl}, but {fit[best]} of its {len(codes)} codes "
                    f"have the form of {country}'s adm{best} P-codes (e.g. {example}): read as adm{best}"
                )
            else:
                issues.append(
                    f"{file}, column {header!r}: its {said} says adm{lvl}, but {fit[best]} of its {len(codes)} codes "
                    f"have the form of {country}'s adm{best} P-codes (e.g. {example}); adm{best} is declared by "
                    "another column: kept as adm{lvl} (rows placed by their points)".replace("{lvl}", str(lvl))
                )
        target = forms.get(eff)
        if target is None:
            continue  # the boundary set has no such level: nothing to compare with
        like = target.most_common(1)[0][0]
        known = set().union(*forms.values())
        for r, c in zip(rows, declared[lvl]):
            if c is not None and code_form(c) not in known:
                issues.append(
                    f"{file}, row {r[0]}, column {header!r}: {c!r} does not have the form of a P-code of {country} "
                    f"(adm{eff} codes look like {like}); placed by the row's point"
                )
    if not moved:
        return rows, issues
    out = []
    for r in rows:
        codes = {lvl: r[4 + lvl] for lvl in (1, 2, 3)}
        new = dict(codes)
        for said, real in moved.items():
            new[said] = None if said not in moved.values() else new[said]
        for said, real in moved.items():
            new[real] = codes[said]
        out.append((*r[:5], new[1], new[2], new[3], *r[8:]))
    return out, issues


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
    columns: dict[str, ParsedColumn]  # column id -> its parsed cells (rows in file order)


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
    n = len(frame)
    columns: dict[str, ParsedColumn] = {}
    for e in entries:
        col = parse_column(e.type, frame[e.header].tolist())
        columns[e.column_id] = col
        if col.errors:
            bad = sorted((int(i), j) for j in col.errors for i in col.rows_of(j))
            if e.source == "mapping":  # a type someone declared: the file must fit it
                i, j = bad[0]
                raise IndicatorFileError(
                    f, table.line(i), e.header, f"{col.errors[j]}; the mapping types this column {e.type}"
                )
            issues += [
                f"{f}, row {table.line(i)}, column {e.header!r}: {col.errors[j]}: left empty ({e.type} column)"
                for i, j in bad
            ]
        how = col.counts()
        for j, v in enumerate(col.raw):
            if col.values[j] is None:
                continue
            if e.type == "area" and isinstance(v, str):
                counts[(e.header, "area")] += how[j]
            elif e.type in ("integer", "number") and isinstance(v, str) and "," in v:
                counts[(e.header, "thousands")] += how[j]
            elif e.type == "date" and not hasattr(v, "isoformat"):
                counts[(e.header, "date_text")] += how[j]
            elif e.type == "select_multiple":
                counts[(e.header, "multi")] += how[j]
            elif e.type == "boolean":
                counts[(e.header, "boolean")] += how[j]
    words = {
        "area": "areas read as square metres (e.g. '31,533 sq.m' = 31533)",
        "thousands": "numbers read without their thousands separators",
        "date_text": "dates read from text or Excel serial days",
        "multi": "multi-select answers split on spaces into lists",
        "boolean": "Yes/No answers read as true/false",
    }
    for (header, kind), k in counts.items():
        conversions[header] = f"{k} {words[kind]}"
    # the values of each row as one JSON object, missing values left out: each distinct cell's
    # '"id": value' written once, a row joins its cells' pieces
    pieces = [columns[c].pieces(c) for c in columns]
    vals = ["{" + ",".join(filter(None, r)) + "}" for r in zip(*pieces)] if pieces else ["{}"] * n
    # key, name, point, declared P-codes
    keys = columns[cat.by_header(roles["key"]).column_id].cells()
    seen: dict[str, int] = {}
    rows = []
    lat_h, lon_h, gps_h = roles.get("lat"), roles.get("lon"), roles.get("gps")
    lats = frame[lat_h].tolist() if lat_h and lon_h else None
    lons = frame[lon_h].tolist() if lat_h and lon_h else None
    gps = frame[gps_h].tolist() if gps_h else None
    declared_cols = [frame[roles[f"adm{lvl}"]].tolist() if f"adm{lvl}" in roles else None for lvl in (1, 2, 3)]
    names = frame[roles["name"]].tolist() if "name" in roles else None
    no_point = 0
    for i in range(n):
        line = table.line(i)
        key = keys[i]
        if key is None:
            raise IndicatorFileError(f, line, roles["key"], "no site or location key on this row")
        key = str(key)
        if key in seen:
            raise IndicatorFileError(f, line, roles["key"], f"key {key!r} repeats row {seen[key]}")
        seen[key] = line
        lat = lon = None
        if lats is not None:
            lat, lon = parse_number(lats[i]), parse_number(lons[i])
        if (lat is None or lon is None) and gps is not None and not is_missing(gps[i]):
            parts = str(gps[i]).split()
            if len(parts) >= 2:
                lat, lon = parse_number(parts[0]), parse_number(parts[1])
        if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            issues.append(
                f"{f}, row {line}, column {lat_h or gps_h!r}: point ({lat}, {lon}) is not a longitude/latitude"
            )
            lat = lon = None
        if lat is None or lon is None:
            no_point += 1
        declared = [None if d is None or is_missing(d[i]) else str(d[i]).strip().upper() for d in declared_cols]
        name = names[i] if names is not None else None
        rows.append((line, key, None if is_missing(name) else str(name).strip(), lon, lat, *declared, vals[i]))
    if no_point:
        issues.append(f"{f}: {no_point} rows without a usable point (placed by their P-codes only)")
    round_label = None
    if "round" in roles:
        labels = Counter(str(v).strip() for v in frame[roles["round"]] if not is_missing(v))
        round_label = labels.most_common(1)[0][0] if labels else None
    reporting_date = _reporting_date(table, roles.get("date"), issues)
    return Parsed(country, round_label, reporting_date, rows, issues, conversions, columns)


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
    execute_literal(
        conn,
        """
        CREATE TEMP TABLE indicator_points ON COMMIT DROP AS
        SELECT row_number, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g FROM indicator_stage
        WHERE lon IS NOT NULL AND lat IS NOT NULL ORDER BY 2;
        CREATE INDEX ON indicator_points USING gist (g);
        ANALYZE indicator_points;
        CREATE TEMP TABLE indicator_hits ON COMMIT DROP AS
        SELECT p.row_number,
               max(a.pcode) FILTER (WHERE a.level = 1) AS adm1,
               max(a.pcode) FILTER (WHERE a.level = 2) AS adm2,
               max(a.pcode) FILTER (WHERE a.level = 3) AS adm3
        FROM admin_unit_subdivided a JOIN indicator_points p ON ST_Intersects(a.geom, p.g)
        WHERE a.boundary_set_id = :set AND a.level BETWEEN 1 AND 3
        GROUP BY p.row_number;
        ANALYZE indicator_hits;
        """,
        {"set": set_id},
    )
    conn.execute(
        text(
            """
            INSERT INTO indicator_observation (dataset_id, row_number, obs_id, name, geom, adm1, adm2, adm3,
                                               placement, "values")
            SELECT :ds, s.row_number, s.obs_id, s.name, pts.g,
                   coalesce(u1.pcode, p.adm1), coalesce(u2.pcode, p.adm2), coalesce(u3.pcode, p.adm3),
                   CASE WHEN (s.d1 IS NULL OR u1.pcode IS NOT NULL) AND (s.d2 IS NULL OR u2.pcode IS NOT NULL)
                             AND (s.d3 IS NULL OR u3.pcode IS NOT NULL)
                             AND coalesce(s.d1, s.d2, s.d3) IS NOT NULL THEN 'declared'
                        WHEN pts.g IS NULL THEN 'declared_partly'
                        ELSE 'point' END,
                   s.vals
            FROM indicator_stage s
            LEFT JOIN indicator_points pts ON pts.row_number = s.row_number
            LEFT JOIN indicator_hits p ON p.row_number = s.row_number
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


def aggregate(conn: Connection, ds_id: int, entries, columns: dict[str, ParsedColumn], lines: list[int]) -> int:
    """Every aggregated column of the dataset per unit of every level, and nationally.

    Set-based over whole columns: the parsed cells are already in memory as arrays, so after the
    placement is read back (one row per observation) each level is one grouped sum over a matrix of
    every column's parts (cells, numbers, weighted numbers, hits) and each rule is a ratio of those
    sums. Every level groups the same rows (UNASSIGNED included), so where the rule is a sum each
    level adds up to the national figure. The rows go in with COPY."""
    n = len(lines)
    pos = {line: i for i, line in enumerate(lines)}
    adm = [np.full(n, UNASSIGNED, dtype=object) for _ in range(3)]
    for line, *codes in conn.execute(
        text("SELECT row_number, adm1, adm2, adm3 FROM indicator_observation WHERE dataset_id = :ds"), {"ds": ds_id}
    ):
        for k, code in enumerate(codes):
            if code is not None:
                adm[k][pos[line]] = code
    country, levels = conn.execute(
        text(
            "SELECT d.country, array(SELECT DISTINCT level FROM admin_unit u WHERE u.boundary_set_id = "
            "d.boundary_set_id AND u.level BETWEEN 1 AND 3 ORDER BY 1) FROM indicator_dataset d WHERE d.id = :ds"
        ),
        {"ds": ds_id},
    ).one()
    parts: list[np.ndarray] = []  # columns of the matrix summed per unit
    rules: list[tuple[str, str, list[int]]] = []  # column id, rule, its parts' positions in the matrix

    def add(*arrays) -> list[int]:
        parts.extend(np.asarray(a, dtype=np.float64) for a in arrays)
        return list(range(len(parts) - len(arrays), len(parts)))

    for e in entries:
        if e.aggregation == "none":
            continue
        col = columns[e.column_id]
        present = col.present()
        if e.aggregation in ("sum", "mean"):
            x = col.numbers()
            rules.append((e.column_id, e.aggregation, add(present, np.nan_to_num(x), ~np.isnan(x))))
        elif e.aggregation == "weighted_mean":
            x, w = col.numbers(), columns[e.weight].numbers()
            both = ~np.isnan(x) & ~np.isnan(w)
            rules.append(
                (e.column_id, e.aggregation, add(present, np.where(both, x * w, 0.0), np.where(both, w, 0.0), both))
            )
        elif e.aggregation == "share":
            rules.append((e.column_id, e.aggregation, add(present, present & col.matches(e.share_of))))
        else:  # count
            rules.append((e.column_id, e.aggregation, add(present)))
    rules.append((OBSERVATIONS, "count", add(np.ones(n))))
    matrix = np.column_stack(parts) if n else np.zeros((0, len(parts)))
    sums = [(0, [country], matrix.sum(axis=0)[None, :])]
    for lvl in levels:
        g = pd.DataFrame(matrix).groupby(adm[lvl - 1], sort=True).sum()
        sums.append((lvl, g.index.tolist(), g.to_numpy()))
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for lvl, pcodes, m in sums:
            for cid, rule, ix in rules:
                cells = m[:, ix[0]]
                if rule == "sum":
                    value = np.where(m[:, ix[2]] > 0, m[:, ix[1]], np.nan)
                elif rule == "mean":
                    value = m[:, ix[1]] / m[:, ix[2]]
                elif rule == "weighted_mean":
                    value = np.where((m[:, ix[3]] > 0) & (m[:, ix[2]] != 0), m[:, ix[1]] / m[:, ix[2]], np.nan)
                elif rule == "share":
                    value = m[:, ix[1]] / cells
                else:
                    value = cells
                for pcode, v, k in zip(pcodes, value.tolist(), cells.tolist()):
                    if k > 0:
                        out.append((ds_id, lvl, pcode, cid, None if v != v else v, int(k)))
    conn.execute(text("DELETE FROM indicator_aggregate WHERE dataset_id = :ds"), {"ds": ds_id})
    copy_text(conn, "indicator_aggregate", ["dataset_id", "level", "pcode", "column_id", "value", "n"], out)
    return len(out)


def copy_text(conn: Connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    """COPY rows of numbers and text in one write of the text format (psycopg's row-by-row
    writer costs more than the database's parse of long JSON values)."""

    def field(v) -> str:
        if v is None:
            return "\\N"
        if isinstance(v, str):
            return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return repr(v) if isinstance(v, float) else str(v)

    data = "".join("\t".join(map(field, r)) + "\n" for r in rows).encode()
    with raw(conn).cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            cp.write(data)


def set_access(engine: Engine, ds_id: int, access: str, countries: frozenset[str] | None = None) -> bool:
    """An editor publishes (or withdraws) a dataset; caches go stale with the data version.
    ``countries``: those the editor holds (None: every one); a dataset of another country is
    left as it is (``PermissionError`` naming it). False: no such dataset."""
    if access not in ("public", "partner", "restricted"):
        raise ValueError(f"access {access!r}: public, partner or restricted")
    with engine.begin() as conn:
        country = conn.execute(
            text("SELECT country FROM indicator_dataset WHERE id = :d FOR UPDATE"), {"d": ds_id}
        ).scalar_one_or_none()
        if country is None:
            return False
        if countries is not None and country not in countries:
            raise PermissionError(
                f"dataset {ds_id} is {country}'s: your token is an editor's for {', '.join(sorted(countries))} only"
            )
        conn.execute(text("UPDATE indicator_dataset SET access = :a WHERE id = :d"), {"a": access, "d": ds_id})
        bump_data_version(conn)
    return True
