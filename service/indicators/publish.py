"""What the service publishes of indicator datasets: the catalogue, choropleths per level and
indicator, and the datasets behind the OGC collections and exports. Reads only.

Who sees what: anonymous reads see datasets whose ``access`` is ``public`` and, of them, the
columns whose ``sensitivity`` is ``public`` (``VISIBLE``); the access policy of the house
widens this for partners. A new dataset is ``restricted`` until an editor publishes it.
"""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import Connection, text

from service.core.constants import UNASSIGNED
from service.indicators.store import OBSERVATIONS

VISIBLE = ("public",)
MIN_CELL = 1  # aggregates of fewer observations than this are suppressed in public outputs


class DatasetNotFound(LookupError):
    pass


def datasets(conn: Connection, access: tuple[str, ...] = VISIBLE) -> list[dict]:
    rows = conn.execute(
        text(
            "SELECT d.id, d.country, d.component, d.round_label, d.reporting_date, d.unit, d.title, d.access, "
            "d.file_name, d.created_at, (SELECT count(*) FROM indicator_observation o WHERE o.dataset_id = d.id) "
            "AS observations FROM indicator_dataset d WHERE d.access = ANY(:a) ORDER BY d.country, d.id"
        ),
        {"a": list(access)},
    ).mappings()
    return [_jsonable(dict(r)) for r in rows]


def dataset(conn: Connection, ds_id: int, access: tuple[str, ...] = VISIBLE) -> dict:
    found = [d for d in datasets(conn, access) if d["id"] == ds_id]
    if not found:
        raise DatasetNotFound(f"no dataset {ds_id}; see /datasets")
    return found[0]


def catalogue(conn: Connection, ds_id: int, sensitivity: tuple[str, ...] = VISIBLE) -> list[dict]:
    rows = conn.execute(
        text(
            "SELECT column_id AS id, header, label_en, label_ar, type, unit, hxl, aggregation, weight, share_of, "
            "sensitivity, source, description FROM indicator_column WHERE dataset_id = :d "
            "AND sensitivity = ANY(:s) ORDER BY position"
        ),
        {"d": ds_id, "s": list(sensitivity)},
    ).mappings()
    return [dict(r) for r in rows]


def indicators(conn: Connection, ds_id: int, sensitivity: tuple[str, ...] = VISIBLE) -> list[dict]:
    """The columns a map can show: aggregated ones (the observation count first)."""
    cat = [c for c in catalogue(conn, ds_id, sensitivity) if c["aggregation"] != "none"]
    return sorted(cat, key=lambda c: c["id"] != OBSERVATIONS)


def describe(conn: Connection, ds_id: int, access: tuple[str, ...] = VISIBLE) -> dict:
    d = dataset(conn, ds_id, access)
    d["levels"] = (
        conn.execute(
            text("SELECT DISTINCT level FROM indicator_aggregate WHERE dataset_id = :d AND level > 0 ORDER BY level"),
            {"d": ds_id},
        )
        .scalars()
        .all()
    )
    d["catalogue"] = catalogue(conn, ds_id)
    d["links"] = {
        "choropleth": [f"/choropleth/{lvl}.geojson?dataset={ds_id}&indicator=..." for lvl in d["levels"]],
        "ogc": [f"/ogc/collections/{cid}" for cid in collection_ids(d)],
    }
    return d


def collection_ids(d: dict) -> list[str]:
    base = f"dataset{d['id']}"
    return [f"{base}-{d['unit']}s", *(f"{base}-adm{lvl}" for lvl in d.get("levels", (1, 2, 3)))]


def _jsonable(row: dict) -> dict:
    for k, v in row.items():
        if hasattr(v, "isoformat"):
            row[k] = v.isoformat()
    return row


# ------------------------------------------------------------------------------ choropleth
def unit_values(conn: Connection, ds_id: int, level: int, indicator: str) -> list[tuple[str, float | None, int]]:
    return [
        tuple(r)
        for r in conn.execute(
            text(
                "SELECT pcode, value, n FROM indicator_aggregate WHERE dataset_id = :d AND level = :l "
                "AND column_id = :c ORDER BY pcode"
            ),
            {"d": ds_id, "l": level, "c": indicator},
        ).all()
    ]


def breaks(values: list[float], k: int = 5) -> list[float]:
    """Quantile class breaks (upper bounds) of the values (distinct, ascending)."""
    vals = np.asarray([v for v in values if v is not None], dtype=float)
    if vals.size == 0:
        return []
    qs = np.quantile(vals, np.linspace(0, 1, k + 1)[1:])
    return sorted({round(float(q), 6) for q in qs})


def choropleth_geojson(
    conn: Connection, ds_id: int, level: int, indicator: str, zband: int | None, decimals: int
) -> str:
    d = dataset(conn, ds_id)
    col = next((c for c in indicators(conn, ds_id) if c["id"] == indicator), None)
    if col is None:
        names = ", ".join(c["id"] for c in indicators(conn, ds_id))
        raise LookupError(f"dataset {ds_id} has no public indicator {indicator!r}; indicators: {names}")
    values = unit_values(conn, ds_id, level, indicator)
    spatial = [(p, v, n) for p, v, n in values if p != UNASSIGNED and n >= MIN_CELL]
    upper = breaks([v for _, v, _ in spatial])
    unassigned = next(({"value": v, "n": n} for p, v, n in values if p == UNASSIGNED), None)
    national = conn.execute(
        text("SELECT value FROM indicator_aggregate WHERE dataset_id = :d AND level = 0 AND column_id = :c"),
        {"d": ds_id, "c": indicator},
    ).scalar()
    legend = {
        "indicator": indicator,
        "label_en": col["label_en"],
        "label_ar": col["label_ar"],
        "unit": col["unit"],
        "aggregation": col["aggregation"],
        "method": "quantiles",
        "breaks": upper,
        "national": national,
        "unassigned": unassigned,
    }
    meta = {k: d[k] for k in ("id", "country", "component", "round_label", "reporting_date", "unit", "title")}
    meta["level"] = level
    classes = [int(np.searchsorted(upper, v, side="left")) if v is not None else None for _, v, _ in spatial]
    geom = (
        "JOIN admin_unit_generalised g ON g.boundary_set_id = u.boundary_set_id AND g.level = u.level "
        "AND g.pcode = u.pcode AND g.zband = :zband"
        if zband is not None
        else "CROSS JOIN LATERAL (SELECT u.geom) g"
    )
    sql = f"""
        WITH v AS (SELECT * FROM unnest(CAST(:pcodes AS text[]), CAST(:vals AS float8[]), CAST(:ns AS int[]),
                                        CAST(:classes AS int[])) AS v(pcode, value, n, class))
        SELECT '{{"type":"FeatureCollection","legend":' || :legend || ',"dataset":' || :meta || ',"features":['
               || coalesce(string_agg(
                    '{{"type":"Feature","geometry":' || ST_AsGeoJSON(g.geom, :dec)
                    || ',"properties":{{"pcode":' || to_json(u.pcode)
                    || ',"name_en":' || coalesce(to_json(u.name_en)::text, 'null')
                    || ',"name_ar":' || coalesce(to_json(u.name_ar)::text, 'null')
                    || ',"value":' || coalesce(to_json(v.value)::text, 'null')
                    || ',"n":' || coalesce(v.n::text, '0')
                    || ',"class":' || coalesce(v.class::text, 'null') || '}}}}', ',' ORDER BY u.pcode), '')
               || ']}}'
        FROM admin_unit u {geom}
        LEFT JOIN v ON v.pcode = u.pcode
        WHERE u.boundary_set_id = (SELECT boundary_set_id FROM indicator_dataset WHERE id = :d) AND u.level = :level
    """
    return conn.execute(
        text(sql),
        {
            "pcodes": [p for p, _, _ in spatial],
            "vals": [v for _, v, _ in spatial],
            "ns": [n for _, _, n in spatial],
            "classes": classes,
            "legend": json.dumps(legend, ensure_ascii=False, default=str),
            "meta": json.dumps(meta, ensure_ascii=False, default=str),
            "zband": zband,
            "dec": decimals,
            "d": ds_id,
            "level": level,
        },
    ).scalar_one()
