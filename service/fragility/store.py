"""Owner of ``fragility_run``, ``fragility_result`` and ``fragility_overlay`` (migration 0007).

Writes happen in one transaction per run (``save_run``): the old run of the same (country,
round number, method id, version) is replaced whole, so a reader sees the old results or
the new ones, never a half-written run. Reads for publishing (GeoJSON, overlay, method card)
only read these tables.
"""

from __future__ import annotations

import json
import math

import numpy as np
from sqlalchemy import Connection, text

from service.core.bulk import copy_rows

UNASSIGNED = "UNASSIGNED"
LOCK_KEY = 7_201_200  # pg_advisory_xact_lock key of fragility runs: one computes at a time


def lock(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def _num(v):
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    f = float(v)
    return None if math.isnan(f) else round(f, 6)


def find_run(conn: Connection, country: str, round_number: int, method_id: str, method_version: str) -> dict | None:
    row = (
        conn.execute(
            text(
                "SELECT * FROM fragility_run WHERE country = :c AND round_number = :n AND method_id = :m "
                "AND method_version = :v"
            ),
            {"c": country, "n": round_number, "m": method_id, "v": method_version},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def latest_run(conn: Connection, run_id: int) -> dict | None:
    row = conn.execute(text("SELECT * FROM fragility_run WHERE id = :i"), {"i": run_id}).mappings().first()
    return dict(row) if row else None


def list_runs(conn: Connection) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            text(
                "SELECT id, country, round_number, method_id, method_version, fingerprint, stale, computed_at, "
                "summary->'class_counts' AS class_counts FROM fragility_run ORDER BY country, round_number, method_id"
            )
        ).mappings()
    ]


def set_stale(conn: Connection, run_ids: list[int]) -> int:
    if not run_ids:
        return 0
    return conn.execute(
        text("UPDATE fragility_run SET stale = true WHERE id = ANY(:i) AND NOT stale"), {"i": run_ids}
    ).rowcount


def save_run(conn: Connection, *, run: dict, results: list[dict]) -> int:
    """Replace the run of the same key with ``run`` and its per-unit ``results`` (dicts with
    the columns of ``fragility_result``), then the overlay from the round's locations. In the
    caller's transaction."""
    conn.execute(
        text(
            "DELETE FROM fragility_run WHERE country = :country AND round_number = :round_number "
            "AND method_id = :method_id AND method_version = :method_version"
        ),
        run,
    )
    run_id = conn.execute(
        text(
            """
            INSERT INTO fragility_run (country, round_number, method_id, method_version, method_sha256, method,
                                       idp_round_id, returnee_round_id, boundary_set_id, fingerprint, inputs, summary,
                                       import_id)
            VALUES (:country, :round_number, :method_id, :method_version, :method_sha256, CAST(:method AS jsonb),
                    :idp_round_id, :returnee_round_id, :boundary_set_id, :fingerprint, CAST(:inputs AS jsonb),
                    CAST(:summary AS jsonb), :import_id)
            RETURNING id
            """
        ),
        {
            **run,
            "method": json.dumps(run["method"], ensure_ascii=False),
            "inputs": json.dumps(run["inputs"], ensure_ascii=False, default=str),
            "summary": json.dumps(run["summary"], ensure_ascii=False, default=str),
        },
    ).scalar_one()
    cols = [
        "run_id",
        "level",
        "pcode",
        "status",
        "index",
        "class",
        "completeness",
        "dimensions",
        "indicators",
        "rank_p5",
        "rank_p50",
        "rank_p95",
        "p_high",
        "hotspot",
        "hotspot_units",
        "idps",
        "returnees",
        "residents",
    ]
    copy_rows(
        conn,
        "fragility_result",
        cols,
        (
            [
                run_id,
                r["level"],
                r["pcode"],
                r["status"],
                _num(r["index"]),
                (int(r["class"]) or None),
                _num(r["completeness"]),
                json.dumps(r["dimensions"]),
                json.dumps(r["indicators"]),
                _num(r["rank_p5"]),
                _num(r["rank_p50"]),
                _num(r["rank_p95"]),
                _num(r["p_high"]),
                bool(r["hotspot"]),
                r.get("hotspot_units"),
                None if r.get("idps") is None else int(r["idps"]),
                None if r.get("returnees") is None else int(r["returnees"]),
                _num(r.get("residents")),
            ]
            for r in results
        ),
    )
    write_overlay(conn, run_id, run["idp_round_id"], run["returnee_round_id"], run["national_pcode"])
    return run_id


def write_overlay(
    conn: Connection, run_id: int, idp_round_id: int, returnee_round_id: int | None, national: str
) -> None:
    """IDPs, returnees and locations per fragility class of their sub-district, per
    governorate and nationally: one pass over the round's location rows, so the classes add
    up to the round's national totals (the unplaced rows are class 'unassigned')."""
    conn.execute(
        text(
            """
            WITH cls AS (
              SELECT pcode, CASE WHEN status = 'insufficient_data' THEN 'insufficient_data'
                            ELSE (ARRAY['very_low','low','medium','high','very_high'])[class] END AS class_key
              FROM fragility_result WHERE run_id = :run AND level = 3
            ), rows AS (
              SELECT f.adm1, f.adm3, coalesce(f.individuals, 0) AS idps, 0 AS returnees, 1 AS idp_loc, 0 AS ret_loc
              FROM location_figure f WHERE f.round_id = :idp
              UNION ALL
              SELECT f.adm1, f.adm3, 0, coalesce(f.individuals, 0), 0, 1
              FROM location_figure f WHERE f.round_id = :ret
            )
            INSERT INTO fragility_overlay (run_id, adm1, class_key, idps, returnees, idp_locations, returnee_locations)
            SELECT :run, CASE WHEN GROUPING(r.adm1) = 1 THEN :n ELSE r.adm1 END,
                   coalesce(c.class_key, CASE WHEN r.adm3 = :u THEN 'unassigned' ELSE 'insufficient_data' END) AS k,
                   sum(r.idps), sum(r.returnees), sum(r.idp_loc), sum(r.ret_loc)
            FROM rows r LEFT JOIN cls c ON c.pcode = r.adm3
            GROUP BY GROUPING SETS ((r.adm1, k), (k))
            """
        ),
        {
            "run": run_id,
            "idp": idp_round_id,
            "ret": returnee_round_id if returnee_round_id is not None else -1,
            "n": national,
            "u": UNASSIGNED,
        },
    )


# ------------------------------------------------------------------------------ reads
def overlay(conn: Connection, run_id: int) -> list[dict]:
    """Overlay rows, the national ones first, then per governorate (with its names)."""
    return [
        dict(r)
        for r in conn.execute(
            text(
                """
            SELECT o.adm1 AS pcode, (o.adm1 = run.national) AS national, u.name_en, u.name_ar, o.class_key,
                   o.idps, o.returnees, o.idp_locations, o.returnee_locations
            FROM fragility_overlay o
            CROSS JOIN LATERAL (SELECT r.boundary_set_id,
                                       (SELECT pcode FROM admin_unit WHERE boundary_set_id = r.boundary_set_id
                                           AND level = 0
                                        LIMIT 1) AS national FROM fragility_run r WHERE r.id = o.run_id) run
            LEFT JOIN admin_unit u ON u.boundary_set_id = run.boundary_set_id AND u.level = 1 AND u.pcode = o.adm1
            WHERE o.run_id = :r
            ORDER BY (o.adm1 <> run.national), o.adm1,
                     array_position(ARRAY['very_high','high','medium','low','very_low','insufficient_data','unassigned'],
                                    o.class_key)
            """
            ),
            {"r": run_id},
        ).mappings()
    ]


def results(conn: Connection, run_id: int, level: int) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            text("SELECT * FROM fragility_result WHERE run_id = :r AND level = :l ORDER BY pcode"),
            {"r": run_id, "l": level},
        ).mappings()
    ]


def unit(conn: Connection, run_id: int, pcode: str) -> dict | None:
    """One unit's stored result with its names."""
    row = (
        conn.execute(
            text(
                "SELECT f.*, u.name_en, u.name_ar FROM fragility_result f JOIN fragility_run r ON r.id = f.run_id "
                "LEFT JOIN admin_unit u ON u.boundary_set_id = r.boundary_set_id AND u.pcode = f.pcode "
                "WHERE f.run_id = :r AND f.pcode = :p"
            ),
            {"r": run_id, "p": pcode},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def ranked_units(conn: Connection, run_id: int, level: int) -> int:
    """Units of the level with an index (the ranks run from 1 to this)."""
    return conn.execute(
        text("SELECT count(*) FROM fragility_result WHERE run_id = :r AND level = :l AND status = 'ok'"),
        {"r": run_id, "l": level},
    ).scalar_one()


def geojson(
    conn: Connection,
    *,
    run: dict,
    level: int,
    zband: int | None,
    decimals: int,
    legend_json: str,
    meta_json: str,
    class_keys: list[str],
    class_labels: list[str],
    colors: list[str],
    no_data_color: str,
) -> str:
    """Every unit of the run's boundary set at ``level`` as a Feature with its stored result
    (a unit without a result row is 'insufficient_data')."""
    geom = (
        "JOIN admin_unit_generalised g ON g.boundary_set_id = u.boundary_set_id AND g.level = u.level "
        "AND g.pcode = u.pcode AND g.zband = :zband"
        if zband is not None
        else "CROSS JOIN LATERAL (SELECT u.geom) g"
    )
    sql = f"""
        SELECT '{{"type":"FeatureCollection","legend":' || :legend || ',"run":' || :meta || ',"features":['
               || coalesce(string_agg(
                    '{{"type":"Feature","id":' || to_json(u.pcode) || ',"geometry":'
                    || ST_AsGeoJSON(CASE WHEN ST_NumGeometries(g.geom) = 1 THEN ST_GeometryN(g.geom, 1)
                        ELSE g.geom END, :d)
                    || ',"properties":' || json_build_object(
                        'pcode', u.pcode, 'name_en', u.name_en, 'name_ar', u.name_ar,
                        'status', coalesce(f.status, 'insufficient_data'),
                        'index', f.index, 'class', f.class,
                        'class_key', CASE WHEN f.class IS NULL THEN 'insufficient_data'
                                          ELSE (CAST(:keys AS text[]))[f.class] END,
                        'class_label', CASE WHEN f.class IS NULL THEN 'Insufficient data'
                                            ELSE (CAST(:labels AS text[]))[f.class] END,
                        'color', CASE WHEN f.class IS NULL THEN :nodata ELSE (CAST(:colors AS text[]))[f.class] END,
                        'completeness', round(f.completeness::numeric, 4)::float8, 'dimensions', f.dimensions,
                        'indicators', CASE WHEN :level = 3 THEN f.indicators END,
                        'rank_p5', f.rank_p5, 'rank_p50', f.rank_p50, 'rank_p95', f.rank_p95,
                        'p_high', round(f.p_high::numeric, 4)::float8,
                        'hotspot', coalesce(f.hotspot, false), 'hotspot_units', f.hotspot_units,
                        'idps', f.idps, 'returnees', f.returnees, 'residents', f.residents)::text
                    || '}}', ',' ORDER BY u.pcode), '')
               || ']}}'
        FROM admin_unit u {geom}
        LEFT JOIN fragility_result f ON f.run_id = :run AND f.level = u.level AND f.pcode = u.pcode
        WHERE u.boundary_set_id = :s AND u.level = :level
    """
    return conn.execute(
        text(sql),
        {
            "legend": legend_json,
            "meta": meta_json,
            "zband": zband,
            "d": decimals,
            "run": run["id"],
            "s": run["boundary_set_id"],
            "level": level,
            "keys": class_keys,
            "labels": class_labels,
            "colors": colors,
            "nodata": no_data_color,
        },
    ).scalar_one()


# ------------------------------------------------------------------------------ for other readers
DEFAULT_METHOD_ID = "dtm-atlas-default"


def run_of_round_sql(round_sql: str, method_id_sql: str = f"'{DEFAULT_METHOD_ID}'") -> str:
    """SQL of the id of the newest stored run of a method that used the round ``round_sql``
    (an IDP or returnee round id): the tile layer, the locations and the exports read the
    stored fragility through it (NULL when none was computed: nothing is computed there)."""
    return (
        f"(SELECT fr_run.id FROM fragility_run fr_run WHERE fr_run.method_id = {method_id_sql} "
        f"AND ({round_sql} IN (fr_run.idp_round_id, fr_run.returnee_round_id)) "
        "ORDER BY fr_run.computed_at DESC, fr_run.id DESC LIMIT 1)"
    )


def class_key_sql(alias: str) -> str:
    """The class key of a ``fragility_result`` row ``alias`` (NULL when there is no row)."""
    return (
        f"CASE WHEN {alias}.status IS NULL THEN NULL WHEN {alias}.status = 'insufficient_data' "
        f"THEN 'insufficient_data' ELSE (ARRAY['very_low','low','medium','high','very_high'])[{alias}.class] END"
    )


def location_class_sql(round_sql: str, adm3_sql: str) -> str:
    """The class key of the sub-district ``adm3_sql`` in the stored default run of the round
    ``round_sql`` (the view ``fragility_round_result``, migration 0009, which the tile layers
    read too). NULL when no run is stored or the location is unassigned."""
    return (
        f"(SELECT fx.class_key FROM fragility_round_result fx WHERE fx.round_id = {round_sql} "
        f"AND fx.level = 3 AND fx.pcode = {adm3_sql})"
    )
