"""What the service publishes of indicator datasets: the catalogue, choropleths per level and
indicator, and the datasets behind the OGC collections and exports. Reads only.

Who sees what is the house's access policy (``service/core/access.py``), fed with the
dataset's stored ``access`` and its columns' ``sensitivity``: :func:`resource` is a dataset as
the policy sees it, and every reader here takes the principal (``who``, anonymous by default)
and gives only the datasets that exist for it (:func:`~service.core.access.decide`) and, of
them, the columns it may see (:func:`~service.core.access.visible_columns`). A new dataset is
``restricted`` until an editor publishes it.

Public answers are aggregates with small cells suppressed (``service/core/disclosure.py``): what
a principal who may not read the country's partner data reads of a dataset's aggregates (the
choropleth of every level and indicator, the OGC ``-admN`` collections and their exports) is one
:class:`PublicTable` per dataset and data version: units of fewer than the rule's households
suppressed, complementary suppression over every level at once (the country, each unit within
its parent), the same pattern in every column; the legend and the export README name the rule.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

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


ADDITIVE = ("sum", "count")
"""Aggregations whose units add up to their parent's figure: their tables publish equations."""


@dataclass(frozen=True)
class PublicTable:
    """Every aggregate of a dataset as it is published (``public_table``): the published value
    of each (level, P-code, column) (``None``: suppressed), the suppressed cells (level, P-code:
    a unit is suppressed in every column at once) and the rule's basis."""

    values: dict[tuple[int, str, str], float | None]
    hidden: frozenset[tuple[int, str]]
    basis: str
    rule: Rule

    def level(self, level: int, column: str) -> dict[str, float | None]:
        return {p: v for (lvl, p, c), v in self.values.items() if lvl == level and c == column}

    def hidden_at(self, level: int) -> set[str]:
        return {p for lvl, p in self.hidden if lvl == level}


_TABLES: OrderedDict = OrderedDict()
_TABLES_LOCK = threading.Lock()
_TABLES_MAX = 64


def public_table(conn: Connection, ds_id: int, rule: Rule) -> PublicTable:
    """The published aggregates of a dataset, one table for every public path (the choropleth of
    each level and indicator, the OGC ``-admN`` collections, their exports): kept per data
    version, so every path publishes the same suppression (two patterns side by side would give
    cells back)."""
    from service.core.importlog import data_version

    key = (str(conn.engine.url), data_version(conn), ds_id, rule)
    with _TABLES_LOCK:
        if key in _TABLES:
            _TABLES.move_to_end(key)
            return _TABLES[key]
    table = compute_public_table(conn, ds_id, rule)
    with _TABLES_LOCK:
        _TABLES[key] = table
        while len(_TABLES) > _TABLES_MAX:
            _TABLES.popitem(last=False)
    return table


def compute_public_table(conn: Connection, ds_id: int, rule: Rule) -> PublicTable:
    """Small-cell and complementary suppression over every level of a dataset at once.

    A cell is a unit of a level (the national row, every unit, each level's UNASSIGNED bucket);
    its households are the dataset's ``households`` column (without one: the sites or locations
    it counts). Cells of fewer than ``rule.min_households`` households are suppressed. Every
    additive column (sum, count, the observation count) publishes equations: the country is the
    sum of its level-1 cells, each unit the sum of its children one level down (the children the
    observations place in it; an equation that does not hold exactly, as when some of a unit's
    sites are unassigned one level down, is not one a reader can use). Complementary suppression
    (``service.core.disclosure.suppress``) runs per additive column with the pattern found so far
    forced, until the pattern is the same for every column: a suppressed unit is suppressed in
    every column, and no suppressed value solves out of any column's published table."""
    from service.core.disclosure import suppress

    rows = conn.execute(
        text("SELECT level, pcode, column_id, value, n FROM indicator_aggregate WHERE dataset_id = :d"),
        {"d": ds_id},
    ).all()
    aggregation = dict(
        conn.execute(
            text("SELECT column_id, aggregation FROM indicator_column WHERE dataset_id = :d"), {"d": ds_id}
        ).all()
    )
    aggregation[OBSERVATIONS] = "count"
    cells = {(lvl, p) for lvl, p, *_ in rows}
    by_col: dict[str, dict[tuple[int, str], float]] = {}
    counts: dict[tuple[int, str], int] = {}
    for lvl, p, c, v, n in rows:
        by_col.setdefault(c, {})[(lvl, p)] = v
        if c == OBSERVATIONS:
            counts[(lvl, p)] = n
    basis = HOUSEHOLDS if HOUSEHOLDS in aggregation else OBSERVATIONS
    if basis == HOUSEHOLDS:
        households = {cell: float(by_col.get(HOUSEHOLDS, {}).get(cell) or 0) for cell in cells}
    else:
        households = {cell: float(counts.get(cell, 0)) for cell in cells}
    # the hierarchy the observations give: each cell's children one level down
    levels = sorted({lvl for lvl, _ in cells if lvl > 0})
    national = next(((0, p) for lvl, p in cells if lvl == 0), None)
    children: dict[tuple[int, str], set[tuple[int, str]]] = {}
    for codes in conn.execute(
        text(
            "SELECT DISTINCT coalesce(adm1, :u), coalesce(adm2, :u), coalesce(adm3, :u) "
            "FROM indicator_observation WHERE dataset_id = :d"
        ),
        {"d": ds_id, "u": UNASSIGNED},
    ):
        parent = national
        for lvl in levels:
            cell = (lvl, codes[lvl - 1])
            if parent is not None and cell in cells:
                children.setdefault(parent, set()).add(cell)
            parent = cell
    additive = [c for c in by_col if aggregation.get(c) in ADDITIVE]
    equations: dict[str, list] = {}
    for c in additive:
        vals = by_col[c]
        eqs = []
        for parent, kids in children.items():
            total = float(vals.get(parent) or 0)
            parts = sum(float(vals.get(k) or 0) for k in kids)
            if abs(total - parts) <= 1e-6 * max(1.0, abs(total)):
                eqs.append((parent, sorted(kids)))
        equations[c] = eqs
    pattern = {cell for cell, h in households.items() if 0 < h < rule.min_households}
    try:
        for _ in range(len(additive) + 2):
            before = len(pattern)
            for c in additive:
                vals = {cell: float(by_col[c].get(cell) or 0) for cell in cells}
                pattern |= suppress(vals, households, equations[c], rule, forced=pattern).suppressed
            if len(pattern) == before:
                break
        else:
            raise ValueError("the suppression pattern did not settle")
    except ValueError:  # a table that cannot be protected is not published at all (fail closed)
        pattern = {cell for cell in cells if cell[0] > 0}
    values: dict[tuple[int, str, str], float | None] = {}
    for lvl, p, c, v, _ in rows:
        if (lvl, p) in pattern or v is None:
            values[(lvl, p, c)] = None
        else:
            values[(lvl, p, c)] = round_count(v, rule.round_to) if aggregation.get(c) in ADDITIVE else v
    return PublicTable(values, frozenset(pattern), basis, rule)


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
        table = public_table(conn, ds_id, rule)
        published = table.level(level, indicator)
        hidden = table.hidden_at(level) & {p for p, _, _ in values}
        values = [(p, published.get(p), n) for p, _, n in values]
        national = next((v for (lvl, _, c), v in table.values.items() if lvl == 0 and c == indicator), None)
        disclosure = {"rule": rule.text(), "basis": table.basis, "suppressed": len(hidden)}
    spatial = [(p, v, n) for p, v, n in values if p != UNASSIGNED]
    upper = breaks([v for p, v, _ in spatial if p not in hidden])
    unassigned = next(
        (
            {"value": v, "n": None if p in hidden else n, **({"suppressed": True} if p in hidden else {})}
            for p, v, n in values
            if p == UNASSIGNED
        ),
        None,
    )
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
