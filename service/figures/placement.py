"""Owner of ``location`` and ``location_figure``: placing a staged round into admin units.

``location_figure`` is partitioned by round: an import writes its rows into a table of its
own (``create_round_table``), indexes it once (``index_round_table``) and attaches it
(``attach_round_table``, in its turn: ``lock_partitions``).

Works on the ``stage`` temp table of the import transaction (one row per source row).
Everything here is set-based SQL; Python only resolves the few distinct declared names.

Declared placement (default; DTM publishes its figures by the declared units): the
governorate and district written in the file, resolved through the crosswalk, and the
sub-district from the point, kept inside the declared district (nearest sub-district of
the declared district when the point lies outside it). A declared sub-district P-code (a
ward, a payam: lists of other operations) places the row in that sub-district, and gives its
district and governorate when those are not declared. A declared name or code that does not
resolve falls back to the spatial placement. Spatial placement: point-in-polygon only.
Either way each row lands in one unit per level or in that level's ``UNASSIGNED`` bucket.

``place`` runs the steps in order: ``leaf_chain``, ``find_duplicate_ids``,
``points_in_polygons``, ``rows_outside_declared_unit``, ``insert_round_rows``
(``resolve_declared`` runs before, ``upsert_locations`` after). They share the temp tables
named below; ``docs/architecture.md`` times each step under the same name.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from boundaries.crosswalk import Crosswalk
from boundaries.pcode import normalize_pcode
from service.core.bulk import copy_rows, execute_literal
from service.core.constants import UNASSIGNED
from service.figures.household import RoundSizes

#: The temp tables of one import transaction (ON COMMIT DROP) that the steps share, by the
#: step that makes each. ``stage`` comes from staging (``service.ingest.stage``).
STAGE = "stage"
DECLARED = "declared"  # resolve_declared: each distinct declared (governorate, district) -> P-codes
DUPLICATE_IDS = "duplicate_ids"  # find_duplicate_ids: location ids given twice or more, first row of each
LEAF_CHAIN = "leaf_chain"  # leaf_chain: each unit of the deepest level -> its units at levels 1-3
POINTS = "stage_points"  # points_in_polygons: the valid points, in geometry order
POINT_UNITS = "point_units"  # points_in_polygons: the deepest unit holding each point
OFF_DECLARED = "off_declared"  # rows_outside_declared_unit: swap test, point used, nearest units
TEMP_TABLES = (DECLARED, DUPLICATE_IDS, LEAF_CHAIN, POINTS, POINT_UNITS, OFF_DECLARED)

FLAG_DESCRIPTIONS = {
    "bad_coordinate": "latitude/longitude missing, non-numeric or out of range",
    "outside_all_units": "the point falls outside every admin unit",
    "swapped_coordinates": "latitude and longitude look swapped: the swapped point falls in the declared unit",
    "declared_differs_from_spatial": "the declared unit differs from the unit the point falls in",
    "unresolved_declared_name": "a declared governorate/district name the crosswalk cannot resolve",
    "duplicate_id": "the location ID appears more than once in the file",
    "missing_id": "no location ID",
    "negative_count": "a negative families/individuals/breakdown value",
    "non_numeric_count": "a non-numeric families/individuals/breakdown value",
    "individuals_mismatch": "individuals differ from families x the household size in force (service/data/"
    "household_sizes.csv: the default, or a shelter's own size on a row with families in that shelter)",
}


def boundary_rows(conn: Connection, set_id: int) -> list[tuple[int, str, str, str | None]]:
    """Canonical names (English, Arabic, alternates) of the set, for the crosswalk:
    ``(level, name, pcode, parent_pcode)``, in one order (``Crosswalk.shared`` keys on them)."""
    rows = conn.execute(
        text(
            """
            SELECT level, n AS name, pcode, parent_pcode FROM admin_unit,
                   LATERAL unnest(array_remove(ARRAY[name_en, name_ar] || alt_names, NULL)) AS n
            WHERE boundary_set_id = :s AND level IN (1, 2)
            ORDER BY level, pcode, n COLLATE "C", parent_pcode COLLATE "C"
            """
        ),
        {"s": set_id},
    )
    return [tuple(r) for r in rows]


def crosswalk_for(conn: Connection, country: str, set_id: int) -> Crosswalk:
    """The country's crosswalk plus the set's canonical names (``boundary_rows``): one
    shared, read-only instance per distinct set of names in the process."""
    return Crosswalk.shared(country, boundary_rows(conn, set_id))


def resolve_declared(conn: Connection, crosswalk: Crosswalk, set_id: int) -> None:
    """Resolve each distinct declared (governorate, district, sub-district code) of the stage to
    P-codes of the set. A declared sub-district (ward, payam) P-code must be a level-3 unit of
    the set, under the declared district if one resolves; it gives the district and governorate
    when they are not declared."""
    units = dict(
        conn.execute(
            text("SELECT pcode, parent_pcode FROM admin_unit WHERE boundary_set_id = :s AND level IN (1, 2)"),
            {"s": set_id},
        ).all()
    )
    distinct = conn.execute(
        text(f"SELECT DISTINCT gov_name, dist_name, adm1_code, adm2_code, adm3_code FROM {STAGE}")
    ).all()
    codes3 = sorted({c3 for *_, c3 in distinct if c3 and str(c3).strip()})
    sub_districts = {}  # the declared level-3 codes the set holds (canonical) -> their district
    if codes3:
        canonical = {c: _canonical(c) for c in codes3}
        sub_districts = dict(
            conn.execute(
                text(
                    "SELECT pcode, parent_pcode FROM admin_unit WHERE boundary_set_id = :s AND level = 3 "
                    "AND pcode = ANY(:codes)"
                ),
                {"s": set_id, "codes": sorted({c for c in canonical.values() if c})},
            ).all()
        )

    def resolve(level: int, code: str | None, name: str | None, parent: str | None) -> str | None:
        for candidate in (code, name):
            if candidate and str(candidate).strip():
                hit = crosswalk.resolve(level, candidate, parent)
                if hit is None and parent is not None:
                    hit = crosswalk.resolve(level, candidate)
                    if hit is not None and units.get(hit) != parent:
                        hit = None  # the name means a district of another governorate
                if hit in units:
                    return hit
        return None

    rows = []
    for gov, dist, c1, c2, c3 in distinct:
        a1 = resolve(1, c1, gov, None)
        a2 = resolve(2, c2, dist, a1)
        a3 = None
        if c3 and str(c3).strip():
            a3 = _canonical(c3)
            parent = sub_districts.get(a3)
            if parent is None or (a2 is not None and parent != a2) or (a1 is not None and units.get(parent) != a1):
                a3 = None  # not a sub-district of the set, or of another district than the declared one
            elif a2 is None:  # (as a district gives an unresolved governorate)
                a2 = parent
        if a2 is not None and a1 is None:
            a1 = units.get(a2)
        unresolved = (
            bool((gov or c1) and a1 is None)
            or bool((dist or c2) and a2 is None)
            or bool(c3 and str(c3).strip() and a3 is None)
        )
        rows.append((gov, dist, c1, c2, c3, a1, a2, a3, unresolved))
    conn.execute(
        text(
            f"""
            CREATE TEMP TABLE {DECLARED} (gov_name text, dist_name text, adm1_code text, adm2_code text,
                                        adm3_code text, declared_adm1 text, declared_adm2 text, declared_adm3 text,
                                        unresolved boolean) ON COMMIT DROP
            """
        )
    )
    copy_rows(
        conn,
        DECLARED,
        [
            "gov_name",
            "dist_name",
            "adm1_code",
            "adm2_code",
            "adm3_code",
            "declared_adm1",
            "declared_adm2",
            "declared_adm3",
            "unresolved",
        ],
        rows,
    )
    conn.execute(text(f"ANALYZE {DECLARED}"))  # a few rows: the planner then hashes it instead of sorting the stage


def _canonical(code: str) -> str | None:
    try:
        return normalize_pcode(str(code))
    except ValueError:
        return None


def find_duplicate_ids(conn: Connection) -> None:
    """``DUPLICATE_IDS``: the stage's location ids seen twice or more, with the first source
    row of each (counted by hashing: no sort of all rows). Made once per import transaction:
    the fast staging reports duplicates from it, placement flags them and
    ``upsert_locations`` takes each one's first row."""
    if conn.execute(text(f"SELECT to_regclass('pg_temp.{DUPLICATE_IDS}') IS NULL")).scalar_one():
        conn.execute(
            text(
                f"CREATE TEMP TABLE {DUPLICATE_IDS} ON COMMIT DROP AS SELECT location_id, min(source_row) AS first_row "
                f"FROM {STAGE} WHERE location_id IS NOT NULL GROUP BY location_id HAVING count(*) > 1; "
                f"ANALYZE {DUPLICATE_IDS}"
            )
        )


def place(
    conn: Connection,
    *,
    round_id: int,
    country: str,
    set_id: int,
    mode: str,
    correct_swapped: bool,
    sizes: RoundSizes,
) -> None:
    """Place the staged rows (``resolve_declared`` done) and write them into the round's own
    table (``create_round_table``), with their units per level, method and flags. ``sizes``:
    the household sizes in force for the round (``service.figures.household``), which the
    ``individuals_mismatch`` flag checks."""
    params = {
        "s": set_id,
        "r": round_id,
        "c": country,
        "correct": correct_swapped,
        "spatial": mode == "spatial",
        "U": UNASSIGNED,
    }
    # the set's deepest level: 3 for Iraq; 2 where sub-districts are absent
    params["leaf"] = conn.execute(
        text("SELECT max(level) FROM admin_unit WHERE boundary_set_id = :s AND level <= 3"), params
    ).scalar_one()
    leaf_chain(conn, params)
    find_duplicate_ids(conn)  # (the fast staging may have made it already)
    points_in_polygons(conn, params)
    rows_outside_declared_unit(conn, params)
    insert_round_rows(conn, params, round_id, mismatch_sql(sizes, params))


def leaf_chain(conn: Connection, params: dict) -> None:
    """``LEAF_CHAIN``: each unit of the deepest level with its units at levels 1, 2 and 3."""
    execute_literal(
        conn,
        f"""
            CREATE TEMP TABLE {LEAF_CHAIN} ON COMMIT DROP AS
            SELECT u.pcode AS leaf,
                   CASE u.level WHEN 3 THEN p2.parent_pcode WHEN 2 THEN u.parent_pcode ELSE u.pcode END AS p1,
                   CASE u.level WHEN 3 THEN u.parent_pcode WHEN 2 THEN u.pcode END AS p2,
                   CASE u.level WHEN 3 THEN u.pcode END AS p3
            FROM admin_unit u
            LEFT JOIN admin_unit p2 ON p2.boundary_set_id = u.boundary_set_id AND p2.pcode = u.parent_pcode
            WHERE u.boundary_set_id = :s AND u.level = :leaf;
            CREATE UNIQUE INDEX ON {LEAF_CHAIN} (leaf);
            """,
        params,
    )


def points_in_polygons(conn: Connection, params: dict) -> None:
    """``POINTS`` and ``POINT_UNITS``: the deepest unit holding each valid point.

    The polygons are outside and the points have an index: each polygon is prepared once and
    tested against the points in its box (about 3x faster than probing the polygon index once
    per point). The points are stored in geometry order (PostGIS sorts along a space-filling
    curve), so the points in one polygon's box sit on few pages."""
    execute_literal(
        conn,
        f"""
            CREATE TEMP TABLE {POINTS} ON COMMIT DROP AS
            SELECT source_row, {_POINT} AS pt FROM {STAGE} s WHERE {_HAS_POINT} ORDER BY 2;
            CREATE INDEX ON {POINTS} USING gist (pt);
            ANALYZE {POINTS};
            CREATE TEMP TABLE {POINT_UNITS} ON COMMIT DROP AS
            SELECT DISTINCT ON (p.source_row) p.source_row, a.pcode
            FROM admin_unit_subdivided a JOIN {POINTS} p ON ST_Intersects(a.geom, p.pt)
            WHERE a.boundary_set_id = :s AND a.level = :leaf
            ORDER BY p.source_row, a.pcode;
            ANALYZE {POINT_UNITS};
            """,
        params,
    )


def rows_outside_declared_unit(conn: Connection, params: dict) -> None:
    """``OFF_DECLARED``: the (few) rows whose point is outside every unit or outside the
    declared unit, with the swapped-coordinate test, the point used (corrected when swapped
    and the import says so) and its units, and the nearest units of the declared unit. Every
    other row is placed by its ``POINT_UNITS`` unit in ``insert_round_rows``."""
    execute_literal(
        conn,
        f"""
            CREATE TEMP TABLE {OFF_DECLARED} ON COMMIT DROP AS
            WITH candidates AS MATERIALIZED (
              SELECT s.source_row, d.declared_adm1, d.declared_adm2, pu.pcode AS sp_leaf,
                     c.p1 AS sp1, c.p2 AS sp2, c.p3 AS sp3,
                     CASE WHEN {_HAS_POINT} THEN {_POINT} END AS pt,
                     CASE WHEN {_HAS_SWAPPED} THEN {_SWAPPED} END AS pt_swapped
              FROM {STAGE} s
              {_DECLARED_JOIN}
              LEFT JOIN {POINT_UNITS} pu ON pu.source_row = s.source_row
              LEFT JOIN {LEAF_CHAIN} c ON c.leaf = pu.pcode
              WHERE pu.pcode IS NULL
                 OR d.declared_adm2 IS NOT NULL AND c.p2 IS DISTINCT FROM d.declared_adm2
                 OR d.declared_adm2 IS NULL AND d.declared_adm1 IS NOT NULL AND c.p1 IS DISTINCT FROM d.declared_adm1
            ),
            -- swapped: the point misses the declared unit (or every unit) and the swapped point
            -- falls in it (for a point outside every unit: in the declared governorate)
            swap_tested AS MATERIALIZED (
              SELECT p.*,
                     (p.pt_swapped IS NOT NULL AND (
                        CASE WHEN p.declared_adm2 IS NOT NULL THEN
                               p.sp2 IS DISTINCT FROM p.declared_adm2 AND EXISTS (
                                 SELECT 1 FROM admin_unit_subdivided a WHERE a.boundary_set_id = :s AND a.level = 2
                                   AND a.pcode = p.declared_adm2 AND ST_Intersects(a.geom, p.pt_swapped))
                               -- a point outside the country whose swap lands in the declared governorate
                               OR p.sp_leaf IS NULL AND EXISTS (
                                 SELECT 1 FROM admin_unit_subdivided a WHERE a.boundary_set_id = :s AND a.level = 1
                                   AND a.pcode = coalesce(p.declared_adm1, (SELECT parent_pcode FROM admin_unit u
                                       WHERE u.boundary_set_id = :s AND u.pcode = p.declared_adm2))
                                   AND ST_Intersects(a.geom, p.pt_swapped))
                             WHEN p.declared_adm1 IS NOT NULL THEN
                               p.sp1 IS DISTINCT FROM p.declared_adm1 AND EXISTS (
                                 SELECT 1 FROM admin_unit_subdivided a WHERE a.boundary_set_id = :s AND a.level = 1
                                   AND a.pcode = p.declared_adm1 AND ST_Intersects(a.geom, p.pt_swapped))
                             ELSE p.sp_leaf IS NULL AND EXISTS (
                                 SELECT 1 FROM admin_unit_subdivided a WHERE a.boundary_set_id = :s AND a.level = :leaf
                                   AND ST_Intersects(a.geom, p.pt_swapped))
                        END)) AS swapped
              FROM candidates p
            ),
            used AS MATERIALIZED (  -- a corrected point's units: the first leaf by pcode
              SELECT p.source_row, p.declared_adm1, p.declared_adm2, p.swapped,
                     CASE WHEN p.swapped AND :correct THEN p.pt_swapped ELSE p.pt END AS pt_used,
                     CASE WHEN p.swapped AND :correct THEN c.p1 ELSE p.sp1 END AS u1,
                     CASE WHEN p.swapped AND :correct THEN c.p2 ELSE p.sp2 END AS u2,
                     CASE WHEN p.swapped AND :correct THEN c.p3 ELSE p.sp3 END AS u3
              FROM swap_tested p
              LEFT JOIN LATERAL (
                SELECT a.pcode FROM admin_unit_subdivided a
                WHERE p.swapped AND :correct AND a.boundary_set_id = :s AND a.level = :leaf
                  AND ST_Intersects(a.geom, p.pt_swapped)
                ORDER BY a.pcode LIMIT 1) cl ON true
              LEFT JOIN {LEAF_CHAIN} c ON c.leaf = cl.pcode
            ),
            -- nearest sub-district of the declared district: the rows joined to their district's
            -- sub-districts at once (a hash join; a lookup per row scanned the set's units)
            nearest3 AS (
              SELECT DISTINCT ON (p.source_row) p.source_row, a.pcode
              FROM used p
              JOIN admin_unit a ON a.boundary_set_id = :s AND a.level = 3 AND a.parent_pcode = p.declared_adm2
              WHERE NOT :spatial AND p.pt_used IS NOT NULL AND p.u2 IS DISTINCT FROM p.declared_adm2
              ORDER BY p.source_row, ST_Distance(a.geom, p.pt_used), a.pcode
            )
            SELECT p.source_row, p.swapped, p.pt_used, p.u1, p.u2, p.u3,
                   n3.pcode AS nearest3, n2.pcode AS nearest2, n23.pcode AS nearest2_3
            FROM used p
            LEFT JOIN nearest3 n3 ON n3.source_row = p.source_row
            LEFT JOIN LATERAL (  -- nearest district of the declared governorate (district not declared)
              SELECT a.pcode FROM admin_unit a
              WHERE NOT :spatial AND p.pt_used IS NOT NULL
                AND p.declared_adm2 IS NULL AND p.declared_adm1 IS NOT NULL
                AND p.u1 IS DISTINCT FROM p.declared_adm1
                AND a.boundary_set_id = :s AND a.level = 2 AND a.parent_pcode = p.declared_adm1
              ORDER BY ST_Distance(a.geom, p.pt_used), a.pcode LIMIT 1) n2 ON true
            LEFT JOIN LATERAL (  -- nearest sub-district of that nearest district
              SELECT a.pcode FROM admin_unit a
              WHERE n2.pcode IS NOT NULL AND a.boundary_set_id = :s AND a.level = 3 AND a.parent_pcode = n2.pcode
              ORDER BY ST_Distance(a.geom, p.pt_used), a.pcode LIMIT 1) n23 ON true;
            ANALYZE {OFF_DECLARED};
            """,
        params,
    )


def mismatch_sql(sizes: RoundSizes, params: dict) -> str:
    """SQL condition over the row ``p``: its individuals are neither families x the default
    household size nor, on a row with families in a shelter whose size differs, families x
    that size. False when no size is known for the round (no rule for the country)."""
    if sizes.default is None:
        return "false"
    params["hh"] = sizes.default
    alternatives = []
    for i, (shelter, persons) in enumerate(sorted(sizes.shelters.items())):
        if persons == sizes.default:
            continue
        params[f"hh_s{i}"], params[f"hh_n{i}"] = shelter, persons
        alternatives.append(
            f" AND NOT (p.individuals = p.families * :hh_n{i}"
            f" AND coalesce((p.shelter ->> CAST(:hh_s{i} AS text))::numeric, 0) > 0)"
        )
    return f"p.individuals <> p.families * :hh{''.join(alternatives)}"


def insert_round_rows(conn: Connection, params: dict, round_id: int, mismatch: str = "false") -> None:
    """The round's rows, straight from the stage into the round's own table: units per level
    (the ``POINT_UNITS`` unit, or the row's ``OFF_DECLARED`` placement), method and flags.
    The ids are a block taken from the sequence at once (a nextval per row costs ~1.5 us):
    they follow the file's order (the block's first id for the first source row)."""
    first, last = conn.execute(text(f"SELECT min(source_row), max(source_row) FROM {STAGE}")).one()
    block = (last - first + 1) if first is not None else 0
    conn.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": ID_BLOCK_LOCK})
    try:
        params["id0"] = conn.execute(
            text(
                "SELECT setval(s, nextval(s) + :n) - :n FROM CAST(pg_get_serial_sequence('location_figure', 'id') "
                "AS regclass) s"
            ),
            {"n": block},
        ).scalar_one() - (first or 0)
    except BaseException:
        conn.invalidate()  # a session lock outlives the transaction: the connection goes, and the lock with it
        raise
    conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": ID_BLOCK_LOCK})
    conn.execute(
        text(
            f"""
            INSERT INTO __round_table__ (
              id, round_id, country, location_id, source_row, name_en, name_ar, families, individuals,
              origin, shelter, period, extra, reported_lat, reported_lon, geom,
              declared_adm1_name, declared_adm2_name, declared_adm1, declared_adm2,
              spatial_adm1, spatial_adm2, spatial_adm3, adm1, adm2, adm3, placement, flags)
            SELECT CAST(:id0 AS bigint) + p.source_row, :r, :c, p.location_id, p.source_row,
                   p.name_en, p.name_ar, p.families, p.individuals,
                   p.origin, p.shelter, p.period, p.extra, p.lat, p.lon, p.pt_used,
                   p.gov_name, p.dist_name, p.declared_adm1, p.declared_adm2,
                   p.u1, p.u2, p.u3,
                   coalesce(x.adm1, :U), coalesce(x.adm2, :U), coalesce(x.adm3, :U), x.method,
                   array_remove(ARRAY[
                     CASE WHEN NOT p.has_pt THEN 'bad_coordinate' END,
                     CASE WHEN p.has_pt AND p.sp_leaf IS NULL THEN 'outside_all_units' END,
                     CASE WHEN p.swapped THEN 'swapped_coordinates' END,
                     CASE WHEN p.u1 IS NOT NULL AND (
                            (p.declared_adm2 IS NOT NULL AND p.u2 IS DISTINCT FROM p.declared_adm2)
                         OR (p.declared_adm2 IS NULL AND p.declared_adm1 IS NOT NULL
                             AND p.u1 IS DISTINCT FROM p.declared_adm1)
                         OR (p.declared_adm3 IS NOT NULL AND p.u3 IS DISTINCT FROM p.declared_adm3))
                          THEN 'declared_differs_from_spatial' END,
                     CASE WHEN p.unresolved THEN 'unresolved_declared_name' END,
                     CASE WHEN p.duplicated THEN 'duplicate_id' END,
                     CASE WHEN p.location_id IS NULL THEN 'missing_id' END,
                     CASE WHEN 'negative' = ANY(p.issues) THEN 'negative_count' END,
                     CASE WHEN 'non_numeric' = ANY(p.issues) THEN 'non_numeric_count' END,
                     CASE WHEN p.families IS NOT NULL AND p.individuals IS NOT NULL AND {mismatch}
                          THEN 'individuals_mismatch' END
                   ], NULL)
                   -- the parser's other row issues (bad_date, non_integer, ...) as they are
                   || CASE WHEN cardinality(p.issues) = 0 THEN '{{}}'::text[] ELSE ARRAY(
                        SELECT DISTINCT i FROM unnest(p.issues) i
                        WHERE i NOT IN ('negative', 'non_numeric', 'bad_coordinate', 'missing_id', 'duplicate_id')) END
            FROM (
              SELECT s.location_id, s.source_row, s.name_en, s.name_ar, s.families, s.individuals, s.origin,
                     s.shelter, s.period, s.extra, s.lat, s.lon, s.gov_name, s.dist_name, s.issues,
                     d.declared_adm1, d.declared_adm2, d.declared_adm3, coalesce(d.unresolved, false) AS unresolved,
                     di.location_id IS NOT NULL AS duplicated, pu.pcode AS sp_leaf,
                         coalesce({_HAS_POINT}, false) AS has_pt,
                     coalesce(m.swapped, false) AS swapped,
                     {_POINT_USED} AS pt_used,
                     CASE WHEN m.source_row IS NULL THEN c.p1 ELSE m.u1 END AS u1,
                     CASE WHEN m.source_row IS NULL THEN c.p2 ELSE m.u2 END AS u2,
                     CASE WHEN m.source_row IS NULL THEN c.p3 ELSE m.u3 END AS u3,
                     m.nearest2, m.nearest3, m.nearest2_3
              FROM {STAGE} s
              {_DECLARED_JOIN}
              LEFT JOIN {DUPLICATE_IDS} di ON di.location_id = s.location_id
              LEFT JOIN {POINT_UNITS} pu ON pu.source_row = s.source_row
              LEFT JOIN {LEAF_CHAIN} c ON c.leaf = pu.pcode
              LEFT JOIN {OFF_DECLARED} m ON m.source_row = s.source_row
            ) p
            LEFT JOIN admin_unit d2 ON d2.boundary_set_id = :s AND d2.pcode = p.declared_adm2
            CROSS JOIN LATERAL (
              SELECT (:spatial OR (p.declared_adm1 IS NULL AND p.declared_adm2 IS NULL)) AS by_point,
                     p.declared_adm2 IS NOT NULL AS by_district
            ) how
            CROSS JOIN LATERAL (
              SELECT
                CASE WHEN how.by_point THEN p.u1 WHEN how.by_district THEN d2.parent_pcode
                    ELSE p.declared_adm1 END AS adm1,
                CASE WHEN how.by_point THEN p.u2 WHEN how.by_district THEN p.declared_adm2
                     WHEN p.u1 = p.declared_adm1 THEN p.u2 ELSE p.nearest2 END AS adm2,
                CASE WHEN how.by_point THEN p.u3
                     WHEN p.declared_adm3 IS NOT NULL THEN p.declared_adm3
                     WHEN how.by_district THEN CASE WHEN p.u2 = p.declared_adm2 THEN p.u3 ELSE p.nearest3 END
                     WHEN p.u1 = p.declared_adm1 THEN p.u3 ELSE p.nearest2_3 END AS adm3,
                CASE WHEN how.by_point THEN CASE WHEN p.u1 IS NULL THEN 'unassigned' ELSE 'spatial' END
                     WHEN p.declared_adm3 IS NOT NULL THEN 'declared'
                     WHEN how.by_district AND p.u2 = p.declared_adm2 THEN 'declared'
                     WHEN NOT how.by_district AND p.u1 = p.declared_adm1 THEN 'declared'
                     WHEN coalesce(p.nearest3, p.nearest2) IS NOT NULL THEN 'declared+nearest'
                     ELSE 'declared' END AS method
            ) x
            """.replace("__round_table__", round_table(round_id))
        ),
        params,
    )


_HAS_POINT = "(s.lat BETWEEN -90 AND 90 AND s.lon BETWEEN -180 AND 180)"
_POINT = "ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)"
_HAS_SWAPPED = "(s.lon BETWEEN -90 AND 90 AND s.lat BETWEEN -180 AND 180)"
_SWAPPED = "ST_SetSRID(ST_MakePoint(s.lat, s.lon), 4326)"
# the point a stage row ``s`` is placed by: its own, or the corrected one of ``OFF_DECLARED`` ``m``
_POINT_USED = f"CASE WHEN m.source_row IS NULL THEN CASE WHEN {_HAS_POINT} THEN {_POINT} END ELSE m.pt_used END"
# the declared units of a stage row ``s`` (hash join on the few distinct declared names)
_DECLARED_JOIN = f"""LEFT JOIN {DECLARED} d
              ON coalesce(d.gov_name, '') = coalesce(s.gov_name, '')
                  AND coalesce(d.dist_name, '') = coalesce(s.dist_name, '')
             AND coalesce(d.adm1_code, '') = coalesce(s.adm1_code, '')
                 AND coalesce(d.adm2_code, '') = coalesce(s.adm2_code, '')
                 AND coalesce(d.adm3_code, '') = coalesce(s.adm3_code, '')"""


def round_table(round_id: int) -> str:
    """The table holding one round's rows: a partition of ``location_figure`` (migration 0006)."""
    return f"location_figure_r{int(round_id)}"


def create_round_table(conn: Connection, round_id: int) -> None:
    """A new, empty table for the round's rows, not yet attached: the rows go in without
    index upkeep (``index_round_table`` builds the indexes once).

    Its columns are written out from the catalog rather than copied with ``LIKE
    location_figure``: ``LIKE`` would hold a lock on ``location_figure`` until the commit, and
    an import that replaces a round (dropping its table takes ``location_figure`` whole, in
    its turn: ``lock_partitions``) would then wait for every import still placing its rows,
    while they wait for their turn after it."""
    name = round_table(round_id)
    columns = conn.execute(
        text(
            """
            SELECT string_agg(format('%I %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                     ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid),
                                     CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END), ', ' ORDER BY a.attnum)
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = 'location_figure'::regclass AND a.attnum > 0 AND NOT a.attisdropped
            """
        )
    ).scalar_one()
    conn.execute(text(f"CREATE TABLE {name} ({columns})"))
    # implies the partition bound, so attaching need not scan the rows to check it
    conn.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_round CHECK (round_id = {int(round_id)})"))


def index_round_table(conn: Connection, round_id: int) -> None:
    """Index the loaded rows once and take their statistics (before the round's turn:
    ``lock_partitions``)."""
    name = round_table(round_id)
    # one round trip; ANALYZE reads the columns queries filter, join or sort on (not the names
    # and breakdown documents, whose statistics no plan uses and which cost most of the
    # sampling); they stay on attach
    conn.execute(
        text(
            f"CREATE INDEX {name}_geom_idx ON {name} USING gist (geom); "
            f"CREATE INDEX {name}_loc_idx ON {name} (country, location_id); "
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY (round_id, id); "
            f"ANALYZE {name} (round_id, id, country, location_id, adm1, adm2, adm3, flags, geom, placement, source_row)"
        )
    )


def attach_round_table(conn: Connection, round_id: int) -> None:
    """Attach the indexed rows as the round's partition, in the import's turn
    (``lock_partitions``). Their CHECK on ``round_id`` implies the partition bound: no scan."""
    name = round_table(round_id)
    conn.execute(text(f"ALTER TABLE location_figure ATTACH PARTITION {name} FOR VALUES IN ({int(round_id)})"))


def lock_partitions(conn: Connection) -> None:
    """Take turns (until the transaction ends) with everyone who adds partitions to
    ``location_figure``, drops them or writes ``location`` (``upsert_locations``): two imports
    doing so at once could deadlock, and two plain inserts of the same new location would
    collide. Imports stage, place and aggregate their rounds side by side and take this turn
    only for the short end of their transaction (``service.ingest.rounds``)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('dtm-atlas:location_figure partitions'))"))


#: Session advisory lock held while a block of ids is taken from ``location_figure``'s
#: sequence (two statements: a ``nextval`` in between would take an id inside the block).
ID_BLOCK_LOCK = "dtm-atlas:location_figure id block"


def add_round_partition(conn: Connection, round_id: int) -> None:
    """An empty partition for a round whose rows are written directly (tests, benchmarks);
    imports use ``create_round_table`` + ``attach_round_table`` instead. The writer then
    takes turns with imports until it commits (``lock_partitions``)."""
    lock_partitions(conn)
    name = round_table(round_id)
    conn.execute(text(f"CREATE TABLE {name} PARTITION OF location_figure FOR VALUES IN ({int(round_id)})"))


def drop_round_table(conn: Connection, round_id: int) -> None:
    """Drop a replaced round's table (at the end of the import: it locks ``location_figure``
    until the commit, after in-flight reads finish)."""
    conn.execute(text(f"DROP TABLE IF EXISTS {round_table(round_id)}"))


def upsert_locations(conn: Connection, *, country: str, reporting_date) -> None:
    """Locations take names and point from the newest round that reports them.

    One statement: the round's locations joined once to ``location``, then an update of the
    known ids the round changes and a plain insert of the new ones: cheaper than INSERT ...
    ON CONFLICT row by row. Safe because imports take turns here (``lock_partitions``) and
    nothing else writes locations. Of an id the file gives twice or more, its first row."""
    source = f"""
        SELECT s.location_id, s.place_id, s.name_en, s.name_ar, {_POINT_USED} AS geom
        FROM {STAGE} s LEFT JOIN {OFF_DECLARED} m ON m.source_row = s.source_row
        WHERE s.location_id IS NOT NULL  -- (an anti-join: the planner counts its rows right)
          AND NOT EXISTS (SELECT FROM {DUPLICATE_IDS} di WHERE di.location_id = s.location_id
              AND di.first_row <> s.source_row)
    """
    conn.execute(
        text(
            f"""
            WITH j AS MATERIALIZED (
              SELECT s.*, l.ctid AS known,
                     (l.reporting_date IS NULL OR l.reporting_date <= :d)
                     -- a location the round leaves as it was is not rewritten (updated_at: last change)
                     AND (l.place_id, l.name_en, l.name_ar, l.geom, l.reporting_date)
                         IS DISTINCT FROM (s.place_id, s.name_en, s.name_ar, s.geom, CAST(:d AS date)) AS changes
              FROM ({source}) s LEFT JOIN location l ON l.country = :c AND l.location_id = s.location_id
            ),
            changed AS (  -- known ids whose names or point the round changes
              UPDATE location l SET place_id = j.place_id, name_en = j.name_en, name_ar = j.name_ar, geom = j.geom,
                                    reporting_date = :d, updated_at = now()
              FROM j WHERE j.known IS NOT NULL AND j.changes AND l.ctid = j.known
            )
            INSERT INTO location (country, location_id, place_id, name_en, name_ar, geom, reporting_date, updated_at)
            SELECT :c, j.location_id, j.place_id, j.name_en, j.name_ar, j.geom, :d, now()
            FROM j WHERE j.known IS NULL
            """
        ),
        {"c": country, "d": reporting_date},
    )
