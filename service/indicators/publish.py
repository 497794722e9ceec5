"""What the service publishes of indicator datasets: the catalogue, choropleths per level and
indicator, and the datasets behind the OGC collections and exports. Reads only.

Who sees what is the house's access policy (``service/core/access.py``), fed with the
dataset's stored ``access`` and its columns' ``sensitivity``: :func:`resource` is a dataset as
the policy sees it, and every reader here takes the principal (``who``, anonymous by default)
and gives only the datasets that exist for it (:func:`~service.core.access.decide`) and, of
them, the columns it may see (:func:`~service.core.access.visible_columns`). A new dataset is
``restricted`` until an editor publishes it.

Public answers are aggregates with small cells suppressed (``service/core/disclosure.py``): a
choropleth made for a principal who may not read the country's partner data suppresses the
units of fewer than the rule's households (complementary suppression against the national
figure for additive indicators) and says so in its legend.
"""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import Connection, text

from service.core.access import (
    ANONYMOUS,
    Principal,
    Resource,
    Sensitivity,
    can_read,
    decide,
    visible_columns,
)
from service.core.constants import UNASSIGNED
from service.core.disclosure import Rule, round_count
from service.indicators.store import OBSERVATIONS

HOUSEHOLDS = "households"  # the column whose sum per unit is the disclosure rule's household count


class DatasetNotFound(LookupError):
    pass


def resources(conn: Connection, ids: list[int] | None = None) -> dict[int, Resource]:
    """Datasets (all, or ``ids``) as the access policy sees them: their level and country, and
    their columns' levels. A dataset still ``restricted`` is one no editor has published."""
    rows = conn.execute(
        text(
            "SELECT d.id, d.country, d.access, coalesce(jsonb_object_agg(c.column_id, c.sensitivity) "
            "FILTER (WHERE c.column_id IS NOT NULL), '{}') AS cols FROM indicator_dataset d "
            "LEFT JOIN indicator_column c ON c.dataset_id = d.id "
            "WHERE (CAST(:ids AS int[]) IS NULL OR d.id = ANY(CAST(:ids AS int[]))) GROUP BY d.id ORDER BY d.id"
        ),
        {"ids": ids},
    ).all()
    return {
        ds_id: Resource(
            f"dataset{ds_id}",
            country.strip(),
            Sensitivity.parse(access),
            columns={k: Sensitivity.parse(v) for k, v in cols.items()},
        )
        for ds_id, country, access, cols in rows
    }


def resource(conn: Connection, ds_id: int) -> Resource | None:
    """One dataset as the policy sees it (None: no such dataset)."""
    return resources(conn, [ds_id]).get(ds_id)


def datasets(conn: Connection, who: Principal = ANONYMOUS) -> list[dict]:
    """The datasets that exist for ``who``."""
    ids = [i for i, r in resources(conn).items() if decide(who, r).allowed]
    rows = conn.execute(
        text(
            "SELECT d.id, d.country, d.component, d.round_label, d.reporting_date, d.unit, d.title, d.access, "
            "d.file_name, d.created_at, (SELECT count(*) FROM indicator_observation o WHERE o.dataset_id = d.id) "
            "AS observations FROM indicator_dataset d WHERE d.id = ANY(:ids) ORDER BY d.country, d.id"
        ),
        {"ids": ids},
    ).mappings()
    return [_jsonable(dict(r)) for r in rows]


def dataset(conn: Connection, ds_id: int, who: Principal = ANONYMOUS) -> dict:
    found = [d for d in datasets(conn, who) if d["id"] == ds_id]
    if not found:
        raise DatasetNotFound(f"no dataset {ds_id}; see /datasets")
    return found[0]


def catalogue(conn: Connection, ds_id: int, who: Principal = ANONYMOUS) -> list[dict]:
    """The catalogue entries of the columns ``who`` may see (none of a dataset it may not read)."""
    res = resource(conn, ds_id)
    if res is None or not decide(who, res).allowed:
        return []
    rows = conn.execute(
        text(
            "SELECT column_id AS id, header, label_en, label_ar, type, unit, hxl, aggregation, weight, share_of, "
            "sensitivity, source, description FROM indicator_column WHERE dataset_id = :d ORDER BY position"
        ),
        {"d": ds_id},
    ).mappings()
    cat = [dict(r) for r in rows]
    seen = set(visible_columns(who, res, [c["id"] for c in cat]))
    return [c for c in cat if c["id"] in seen]


def indicators(conn: Connection, ds_id: int, who: Principal = ANONYMOUS) -> list[dict]:
    """The columns a map can show: aggregated ones (the observation count first)."""
    cat = [c for c in catalogue(conn, ds_id, who) if c["aggregation"] != "none"]
    return sorted(cat, key=lambda c: c["id"] != OBSERVATIONS)


def answer_level(res: Resource, columns) -> Sensitivity:
    """The level of an answer that holds ``columns`` of the dataset ``res`` (the strictest)."""
    return max([res.level, *(res.column_level(c) for c in columns)])


def describe(conn: Connection, ds_id: int, who: Principal = ANONYMOUS) -> dict:
    d = dataset(conn, ds_id, who)
    d["levels"] = (
        conn.execute(
            text("SELECT DISTINCT level FROM indicator_aggregate WHERE dataset_id = :d AND level > 0 ORDER BY level"),
            {"d": ds_id},
        )
        .scalars()
        .all()
    )
    d["catalogue"] = catalogue(conn, ds_id, who)
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


def public_view(who: Principal, res: Resource) -> bool:
    """Whether what ``who`` reads of ``res`` is a public output (disclosure control applies):
    those who may not read the country's partner data read public outputs."""
    return not can_read(who, Sensitivity.PARTNER, res.country)


def disclose(
    conn: Connection, ds_id: int, level: int, col: dict, values: list[tuple[str, float | None, int]], rule: Rule
) -> tuple[dict[str, float | None], set[str], str]:
    """The published value of each unit of a public choropleth, the suppressed units and the
    basis of the rule (``households``: the dataset's households column per unit; without one,
    ``observations``: the sites or locations counted). Additive indicators (sum, count) publish
    a national total, so their suppression is complementary against it (``suppress``)."""
    from service.core.disclosure import suppress

    have = {
        c for (c,) in conn.execute(text("SELECT column_id FROM indicator_column WHERE dataset_id = :d"), {"d": ds_id})
    }
    basis = HOUSEHOLDS if HOUSEHOLDS in have else OBSERVATIONS
    if basis == HOUSEHOLDS:
        counts = {p: (v or 0) for p, v, _ in unit_values(conn, ds_id, level, HOUSEHOLDS)}
    else:
        counts = {p: n for p, _, n in values}
    known = {p: v for p, v, _ in values if v is not None}
    households = {p: counts.get(p, 0) for p in known}
    additive = col["aggregation"] in ("sum", "count")
    if additive and len(known) > 1:
        total = ("national",)
        cells = {**known, total: sum(known.values())}
        result = suppress(cells, {**households, total: sum(households.values())}, [(total, list(known))], rule)
        hidden = {k for k in result.suppressed if k != total}
    else:  # a mean or share (no published equation), or a lone unit
        hidden = {p for p, h in households.items() if 0 < h < rule.min_households}
    published: dict[str, float | None] = {}
    for p, v in known.items():
        published[p] = None if p in hidden else (round_count(v, rule.round_to) if additive else v)
    return published, hidden, basis


def dataset_boundary_set(conn: Connection, ds_id: int) -> int:
    """The boundary set the dataset's rows are placed on."""
    return conn.execute(text("SELECT boundary_set_id FROM indicator_dataset WHERE id = :d"), {"d": ds_id}).scalar_one()


def choropleth_values(
    conn: Connection, ds_id: int, level: int, indicator: str, who: Principal = ANONYMOUS, rule: Rule = Rule()
) -> tuple[list[tuple[str, float | None, int]], list[int | None], set[str], dict]:
    """What a choropleth of the indicator per unit of ``level`` publishes to ``who``: the
    (pcode, value, count) of the placed units, their classes, the suppressed units (a public
    answer, ``public_view``: small cells suppressed by ``rule``), and the column, national value,
    disclosure note, UNASSIGNED bucket and class breaks. The GeoJSON choropleth and the
    ``dataset-adm{N}`` tile layers answer from it. LookupError for an indicator ``who`` may not read."""
    res = resource(conn, ds_id)
    col = next((c for c in indicators(conn, ds_id, who) if c["id"] == indicator), None)
    if col is None:
        names = ", ".join(c["id"] for c in indicators(conn, ds_id, who))
        raise LookupError(f"dataset {ds_id} has no indicator {indicator!r} you may read; indicators: {names}")
    values = unit_values(conn, ds_id, level, indicator)
    national = conn.execute(
        text("SELECT value FROM indicator_aggregate WHERE dataset_id = :d AND level = 0 AND column_id = :c"),
        {"d": ds_id, "c": indicator},
    ).scalar()
    hidden: set[str] = set()
    disclosure = None
    if public_view(who, res):
        published, hidden, basis = disclose(conn, ds_id, level, col, values, rule)
        values = [(p, published.get(p), n) for p, _, n in values]
        if col["aggregation"] in ("sum", "count"):
            national = None if national is None else round_count(national, rule.round_to)
        disclosure = {"rule": rule.text(), "basis": basis, "suppressed": len(hidden)}
    spatial = [(p, v, n) for p, v, n in values if p != UNASSIGNED]
    upper = breaks([v for p, v, _ in spatial if p not in hidden])
    unassigned = next(({"value": v, "n": None if p in hidden else n} for p, v, n in values if p == UNASSIGNED), None)
    classes = [
        int(np.searchsorted(upper, v, side="left")) if v is not None and p not in hidden else None
        for p, v, _ in spatial
    ]
    found = {"column": col, "national": national, "disclosure": disclosure, "unassigned": unassigned, "breaks": upper}
    return spatial, classes, hidden, found


def choropleth_geojson(
    conn: Connection,
    ds_id: int,
    level: int,
    indicator: str,
    zband: int | None,
    decimals: int,
    who: Principal = ANONYMOUS,
    rule: Rule = Rule(),
) -> str:
    """An indicator of a dataset per unit of ``level``, classified, as ``who`` may read it: a
    public output (``public_view``) has small cells suppressed (``"suppressed": true``, value,
    class and count null) and its legend names the rule."""
    d = dataset(conn, ds_id, who)
    spatial, classes, hidden, found = choropleth_values(conn, ds_id, level, indicator, who, rule)
    col, national, disclosure, unassigned, upper = (
        found[k] for k in ("column", "national", "disclosure", "unassigned", "breaks")
    )
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
        **({"disclosure": disclosure} if disclosure else {}),
    }
    meta = {k: d[k] for k in ("id", "country", "component", "round_label", "reporting_date", "unit", "title")}
    meta["level"] = level
    geom = (
        "JOIN admin_unit_generalised g ON g.boundary_set_id = u.boundary_set_id AND g.level = u.level "
        "AND g.pcode = u.pcode AND g.zband = :zband"
        if zband is not None
        else "CROSS JOIN LATERAL (SELECT u.geom) g"
    )
    sql = f"""
        WITH v AS (SELECT * FROM unnest(CAST(:pcodes AS text[]), CAST(:vals AS float8[]), CAST(:ns AS int[]),
                                        CAST(:classes AS int[]), CAST(:hidden AS bool[]))
                                 AS v(pcode, value, n, class, hidden))
        SELECT '{{"type":"FeatureCollection","legend":' || :legend || ',"dataset":' || :meta || ',"features":['
               || coalesce(string_agg(
                    '{{"type":"Feature","geometry":' || ST_AsGeoJSON(g.geom, :dec)
                    || ',"properties":{{"pcode":' || to_json(u.pcode)
                    || ',"name_en":' || coalesce(to_json(u.name_en)::text, 'null')
                    || ',"name_ar":' || coalesce(to_json(u.name_ar)::text, 'null')
                    || ',"value":' || coalesce(to_json(v.value)::text, 'null')
                    || ',"n":' || CASE WHEN v.hidden THEN 'null' ELSE coalesce(v.n::text, '0') END
                    || ',"class":' || coalesce(v.class::text, 'null')
                    || CASE WHEN v.hidden THEN ',"suppressed":' || 'true' ELSE '' END || '}}}}',
                    ',' ORDER BY u.pcode), '')
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
            "hidden": [p in hidden for p, _, _ in spatial],
            "legend": json.dumps(legend, ensure_ascii=False, default=str),
            "meta": json.dumps(meta, ensure_ascii=False, default=str),
            "zband": zband,
            "dec": decimals,
            "d": ds_id,
            "level": level,
        },
    ).scalar_one()
