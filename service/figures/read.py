"""Reads of the aggregates for publishing: choropleth GeoJSON, time series, locations, sites.

Publishing reads what aggregation stored; it never recomputes figures.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from service.core.constants import UNASSIGNED
from service.core.registry import registry
from styles.classify import Classification, get_indicator


def choropleth_geojson(
    conn: Connection,
    *,
    round_row: dict,
    level: int,
    indicator: str,
    classification: Classification,
    values: list[tuple[str, float | None]],
    zband: int | None,
    decimals: int,
    legend_json: str,
    meta_json: str,
) -> str:
    pcodes = [p for p, _ in values]
    classes = [classification.class_of(v) for _, v in values]
    ind = get_indicator(indicator)
    # a share is a fraction rounded to 4 decimals in data (docs/exports.md, one convention)
    value = f"round(f.{ind.field}::numeric, 4)" if ind.number_format == "percent" else f"f.{ind.field}"
    geom = (
        "JOIN admin_unit_generalised g ON g.boundary_set_id = u.boundary_set_id AND g.level = u.level "
        "AND g.pcode = u.pcode AND g.zband = :zband"
        if zband is not None
        else "CROSS JOIN LATERAL (SELECT u.geom) g"
    )
    sql = f"""
        WITH cls AS (SELECT * FROM unnest(CAST(:pcodes AS text[]), CAST(:classes AS int[])) AS c(pcode, class))
        SELECT '{{"type":"FeatureCollection","legend":' || :legend || ',"round":' || :meta || ',"features":['
               || coalesce(string_agg(
                    '{{"type":"Feature","geometry":'
                    || ST_AsGeoJSON(CASE WHEN ST_NumGeometries(g.geom) = 1 THEN ST_GeometryN(g.geom, 1)
                        ELSE g.geom END, :d)
                    -- compact properties (no spaces): this collection must stay light for field connections
                    || ',"properties":{{"pcode":' || to_json(u.pcode)
                        || ',"name_en":' || coalesce(to_json(u.name_en)::text, 'null')
                    || ',"name_ar":' || coalesce(to_json(u.name_ar)::text, 'null')
                    || ',"value":' || coalesce(to_json({value})::text, 'null')
                    || ',"class":' || coalesce(cls.class::text, 'null')
                    || ',"individuals":' || coalesce(f.individuals::text, 'null')
                    || ',"families":' || coalesce(f.families::text, 'null') || '}}'
                    || '}}', ',' ORDER BY u.pcode), '')
               || ']}}'
        FROM admin_unit u {geom}
        LEFT JOIN unit_figure f ON f.round_id = :r AND f.level = u.level AND f.pcode = u.pcode
        LEFT JOIN cls ON cls.pcode = u.pcode
        WHERE u.boundary_set_id = :s AND u.level = :level
    """
    return conn.execute(
        text(sql),
        {
            "pcodes": pcodes,
            "classes": classes,
            "legend": legend_json,
            "meta": meta_json,
            "zband": zband,
            "d": decimals,
            "r": round_row["id"],
            "s": round_row["boundary_set_id"],
            "level": level,
        },
    ).scalar_one()


def bucket(conn: Connection, round_id: int, level: int) -> dict | None:
    row = (
        conn.execute(
            text(
                "SELECT families, individuals, published_individuals, locations FROM unit_figure "
                "WHERE round_id = :r AND level = :l AND pcode = :u"
            ),
            {"r": round_id, "l": level, "u": UNASSIGNED},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def timeseries(conn: Connection, pcode: str, population: str | None) -> list[dict]:
    rows = conn.execute(
        text(
            """
            SELECT r.id AS round_id, r.population, r.round_number, r.reporting_date, f.families, f.individuals,
                   f.published_individuals, f.locations, f.change_individuals,
                   round(f.change_share::numeric, 4)::float8 AS change_share, f.change_12m_individuals,
                   round(f.change_12m_share::numeric, 4)::float8 AS change_12m_share,
                   round(f.share_national::numeric, 4)::float8 AS share_national
            FROM unit_figure f JOIN round r ON r.id = f.round_id
            WHERE f.pcode = :p AND (CAST(:pop AS text) IS NULL OR r.population = :pop)
            ORDER BY r.population, r.reporting_date, r.round_number
            """
        ),
        {"p": pcode, "pop": population},
    ).mappings()
    return [dict(r) for r in rows]


def breakdowns(conn: Connection, round_id: int, level: int, pcode: str) -> dict:
    out: dict[str, dict[str, int]] = {}
    for dim, cat, fam in conn.execute(
        text(
            "SELECT dimension, category, families FROM unit_breakdown "
            "WHERE round_id = :r AND level = :l AND pcode = :p "
            "ORDER BY dimension, families DESC"
        ),
        {"r": round_id, "l": level, "p": pcode},
    ).all():
        out.setdefault(dim, {})[cat] = fam
    return out


def flows(conn: Connection, round_id: int) -> list[dict]:
    rows = conn.execute(
        text(
            """
            SELECT o.origin_name, o.origin_adm1, a1.name_en AS origin_name_en, o.adm2, a2.name_en AS adm2_name_en,
                   o.families
            FROM origin_flow o JOIN round r ON r.id = o.round_id
            LEFT JOIN admin_unit a1 ON a1.boundary_set_id = r.boundary_set_id AND a1.pcode = o.origin_adm1
            LEFT JOIN admin_unit a2 ON a2.boundary_set_id = r.boundary_set_id AND a2.pcode = o.adm2
            WHERE o.round_id = :r ORDER BY o.families DESC, o.origin_name, o.adm2
            """
        ),
        {"r": round_id},
    ).mappings()
    return [dict(r) for r in rows]


def locations_geojson(
    conn: Connection, *, round_id: int, bbox: tuple | None, limit: int, offset: int, pcode: str | None = None
) -> tuple[int, str]:
    params = {
        "r": round_id,
        "limit": limit,
        "offset": offset,
        "pcode": pcode,
        "bbox": bbox is not None,
        "x0": bbox[0] if bbox else 0,
        "y0": bbox[1] if bbox else 0,
        "x1": bbox[2] if bbox else 0,
        "y1": bbox[3] if bbox else 0,
    }
    where = """f.round_id = :r
        AND (NOT :bbox OR f.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))
        AND (CAST(:pcode AS text) IS NULL OR :pcode IN (f.adm1, f.adm2, f.adm3))"""
    total = conn.execute(text(f"SELECT count(*) FROM location_figure f WHERE {where}"), params).scalar_one()
    extra = "".join(  # the kinds' location columns (service.core.registry), e.g. the fragility class
        f", '{c.name}', {c.sql('CAST(:r AS int)', 'f.adm3')}" for c in registry().location_columns()
    )
    body = conn.execute(
        text(
            f"""
            SELECT coalesce(string_agg(
                     '{{"type":"Feature","id":' || f.id
                     || ',"geometry":' || coalesce(ST_AsGeoJSON(f.geom, 6), 'null')
                     || ',"properties":' || json_build_object(
                          'location_id', f.location_id, 'name_en', f.name_en, 'name_ar', f.name_ar,
                          'families', f.families, 'individuals', f.individuals,
                          'adm1', f.adm1, 'adm2', f.adm2, 'adm3', f.adm3, 'placement', f.placement,
                          'flags', f.flags{extra}
                          )::text || '}}', ',' ORDER BY f.id), '')
            FROM (SELECT * FROM location_figure f WHERE {where} ORDER BY f.id LIMIT :limit OFFSET :offset) f
            """
        ),
        params,
    ).scalar_one()
    return total, body


def sites_geojson(
    conn: Connection, *, country: str | None, bbox: tuple | None, limit: int, offset: int
) -> tuple[int, str]:
    params = {
        "c": country,
        "limit": limit,
        "offset": offset,
        "bbox": bbox is not None,
        "x0": bbox[0] if bbox else 0,
        "y0": bbox[1] if bbox else 0,
        "x1": bbox[2] if bbox else 0,
        "y1": bbox[3] if bbox else 0,
    }
    where = """(CAST(:c AS text) IS NULL OR s.country = :c)
        AND (NOT :bbox OR s.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))"""
    total = conn.execute(text(f"SELECT count(*) FROM site s WHERE {where}"), params).scalar_one()
    body = conn.execute(
        text(
            f"""
            SELECT coalesce(string_agg(
                     '{{"type":"Feature","id":' || to_json(s.site_id)::text
                     || ',"geometry":' || coalesce(ST_AsGeoJSON(s.geom, 6), 'null')
                     || ',"properties":' || json_build_object(
                          'site_id', s.site_id, 'name_en', s.name_en, 'name_ar', s.name_ar, 'site_type', s.site_type,
                          'status', s.status, 'households', s.households, 'individuals', s.individuals,
                          'adm1', s.adm1, 'adm2', s.adm2, 'adm3', s.adm3)::text || '}}', ',' ORDER BY s.site_id), '')
            FROM (SELECT * FROM site s WHERE {where} ORDER BY s.site_id LIMIT :limit OFFSET :offset) s
            """
        ),
        params,
    ).scalar_one()
    return total, body


def unit_counts(conn: Connection, round_id: int, level: int) -> list:
    """(pcode, individuals, families) of a round's units of a level, the UNASSIGNED bucket left out."""
    return conn.execute(
        text(
            "SELECT pcode, individuals, families FROM unit_figure WHERE round_id = :r AND level = :l "
            f"AND pcode <> '{UNASSIGNED}' ORDER BY pcode"
        ),
        {"r": round_id, "l": level},
    ).all()


def national_totals(conn: Connection, round_id: int) -> dict | None:
    """Individuals and locations of a round, nationally (level 0)."""
    row = (
        conn.execute(
            text("SELECT individuals, locations FROM unit_figure WHERE round_id = :r AND level = 0"), {"r": round_id}
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
