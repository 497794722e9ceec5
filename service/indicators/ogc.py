"""Indicator datasets in the publishing registry (``service.publish.datasets``): per dataset
that exists for the reader (the access policy, ``publish.resource``), its sites or locations
(points, with the columns the reader may see) and its aggregates per level (the unit's
polygon). Each Dataset is built for its reader and says what it holds (``Dataset.access``: the
strictest level of the dataset and of its columns), which the policy's ``authorize`` reads.
OGC collections ``dataset{ID}-sites`` / ``-locations`` /
``-adm{N}`` and every export format read them through a ``Selection`` like any dataset.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import Connection, text

from service.core.access import ANONYMOUS, Principal, decide
from service.core.disclosure import current_rule
from service.indicators.publish import answer_level, catalogue, public_table, public_view, resource

COLLECTION_ID = re.compile(r"dataset([0-9]{1,9})-(sites|locations|adm[123])")
_TYPE = {"integer": "int", "number": "float", "area": "float", "date": "date"}


def _value_field(Field, c: dict, alias: str, used: set[str]):
    t = _TYPE.get(c["type"], "str")
    key = c["id"].replace("'", "''")
    value = f"{alias}.\"values\" -> '{key}'"
    number = f"CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::text"
    if t == "int":
        sql = f"{number}::numeric::bigint END"
    elif t == "float":
        sql = f"{number}::float8 END"
    elif t == "date":
        sql = f"({alias}.\"values\" ->> '{key}')::date"
    elif c["type"] == "select_multiple":
        sql = f"(SELECT string_agg(x, ' ') FROM jsonb_array_elements_text({alias}.\"values\" -> '{key}') x)"
    else:
        sql = f"({alias}.\"values\" ->> '{key}')"
    short = re.sub(r"[^a-z0-9]", "", c["id"].lower())[:8] or "col"
    base, i = short, 1
    while short.lower() in used:
        short = f"{base[:7]}{i}"[:10]
        i += 1
    used.add(short.lower())
    return Field(c["id"], sql, t, short, c["hxl"] or "", c["label_en"])


def who_reads_names(conn: Connection, ds_id: int, res, who: Principal) -> bool:
    """Whether ``who`` may see the sites' or locations' names: the name is the catalogue column
    that holds it (found by its values); the level of that column decides (without one found,
    the strictest of the dataset's text columns)."""
    from service.core.access import can_read

    cols = (
        conn.execute(
            text(
                'SELECT c.column_id FROM indicator_column c CROSS JOIN LATERAL (SELECT o.name, o."values" '
                "FROM indicator_observation o WHERE o.dataset_id = c.dataset_id AND o.name IS NOT NULL LIMIT 1) o "
                'WHERE c.dataset_id = :d AND o."values" ->> c.column_id = o.name'
            ),
            {"d": ds_id},
        )
        .scalars()
        .all()
    )
    if not cols:
        cols = (
            conn.execute(
                text("SELECT column_id FROM indicator_column WHERE dataset_id = :d AND type = 'text'"), {"d": ds_id}
            )
            .scalars()
            .all()
        )
    return all(can_read(who, res.column_level(c), res.country) for c in cols)


def dataset_for(conn: Connection, ds_id: int, part: str, who: Principal = ANONYMOUS):
    """The registry Dataset of one part (``sites``/``locations`` or ``adm1``..``adm3``) of a
    dataset, as ``who`` may read it (None: the dataset does not exist for ``who``)."""
    from service.core.datasets import Dataset, Field, Filter, adm_fields, adm_joins, lonlat_fields

    res = resource(conn, ds_id)
    if res is None or not decide(who, res).allowed:
        return None
    row = (
        conn.execute(text("SELECT id, title, unit, country FROM indicator_dataset WHERE id = :d"), {"d": ds_id})
        .mappings()
        .first()
    )
    cols = [c for c in catalogue(conn, ds_id, who) if c["id"] != "observations"]
    if part in ("sites", "locations"):
        if part != row["unit"] + "s":
            return None
        named = who_reads_names(conn, ds_id, res, who)
        fields = [
            Field("obs_id", "o.obs_id", "str", "obs_id", "#loc+code", "Site or location ID"),
            *([Field("name", "o.name", "str", "name", "#loc+name", "Name")] if named else []),
            *adm_fields("o"),
            *lonlat_fields("o"),
            Field(
                "placement",
                "o.placement",
                "str",
                "placement",
                "#meta+placement",
                "declared (P-codes of the file), point (placed by its point), declared_partly",
            ),
        ]
        names = {f.name for f in fields}
        used = {f.short.lower() for f in fields}
        fields += [  # (derived columns, as the indices' hotspots, are per unit only)
            _value_field(Field, c, "o", used) for c in cols if c["id"] not in names and c["source"] != "derived"
        ]
        return Dataset(
            key=f"dataset{ds_id}-{part}",
            kind="indicators",
            title=f"{row['title']}: {part}",
            description=f"The {part} of {row['title']}, with the public columns of its catalogue (/datasets/{ds_id}).",
            per_round=False,
            geometry_type="Point",
            geom_sql="o.geom",
            id_sql="o.obs_id",
            id_type="str",
            from_sql="indicator_observation o JOIN indicator_dataset d ON d.id = o.dataset_id"
            + adm_joins("o", "d.boundary_set_id"),
            where_sql=f"o.dataset_id = {int(ds_id)}",
            order_sql="o.row_number",
            fields=tuple(fields),
            filters=(Filter("obs_id", "o.obs_id = :v", "text", "Site or location ID"),),
            country_sql="d.country",
            access=answer_level(res, [c["id"] for c in cols]).label,
        )
    level = int(part[3:])
    agg = [c for c in cols if c["aggregation"] != "none"]
    public = public_view(who, res)
    if public:  # a public output: the dataset's published table (small cells suppressed), as a literal
        rule = current_rule()
        table = public_table(conn, ds_id, rule)
        per_unit: dict[str, dict] = {}
        shown = {"observations", *(c["id"] for c in agg)}  # only what the reader may see goes into the SQL
        for (lvl, p, c), v in table.values.items():
            if lvl == level and c in shown:
                per_unit.setdefault(p, {})[c] = v
        for p in table.hidden_at(level):
            per_unit.setdefault(p, {})["suppressed"] = True
        rows_sql = ", ".join(
            f"('{_quote(p)}', CAST('{_quote(json.dumps(v))}' AS jsonb))" for p, v in sorted(per_unit.items())
        )
        published = (
            f" LEFT JOIN (VALUES {rows_sql}) AS pub(pcode, v) ON pub.pcode = u.pcode"
            if rows_sql
            else " LEFT JOIN (SELECT NULL::text AS pcode, NULL::jsonb AS v WHERE false) pub ON pub.pcode = u.pcode"
        )

    def value_sql(key: str, cast: str) -> str:
        if public:
            return f"CASE WHEN jsonb_typeof(pub.v -> '{key}') = 'number' THEN (pub.v ->> '{key}')::numeric::{cast} END"
        return (
            f"(SELECT a.value FROM indicator_aggregate a WHERE a.dataset_id = d.id AND a.level = u.level "
            f"AND a.pcode = u.pcode AND a.column_id = '{key}')::{cast}"
        )

    fields = [
        Field("pcode", "u.pcode", "str", "pcode", f"#adm{level}+code", "P-code"),
        Field("name_en", "u.name_en", "str", "name_en", f"#adm{level}+name", "English name"),
        Field("name_ar", "u.name_ar", "str", "name_ar", f"#adm{level}+name+i_ar", "Arabic name"),
        Field("observations", value_sql("observations", "bigint"), "int", "obs", "#meta+count",
              "Sites or locations assessed"),
    ]  # fmt: skip
    used = {"pcode", "name_en", "name_ar", "obs"}
    if public:
        used.add("suppressed")
        fields.append(
            Field(
                "suppressed",
                "CASE WHEN (pub.v ->> 'suppressed') = 'true' THEN 1 ELSE 0 END",
                "int",
                "suppressed",
                "#meta+suppressed",
                f"1: the unit's figures are suppressed (disclosure control; null values), 0: published. {rule.text()}",
            )
        )
    for c in agg:
        f = _value_field(Field, c, "x", used)
        key = c["id"].replace("'", "''")
        fields.append(Field(f.name, value_sql(key, "float8"), "float", f.short, f.hxl,
                            f"{c['label_en']} ({c['aggregation']})"))  # fmt: skip
    return Dataset(
        key=f"dataset{ds_id}-adm{level}",
        kind="indicators",
        title=f"{row['title']}: per admin {level}",
        description=f"The aggregates of {row['title']} per unit of admin level {level} (each column by its rule)."
        + (f" {rule.text()}" if public else ""),
        per_round=False,
        geometry_type="MultiPolygon",
        geom_sql="u.geom",
        id_sql="u.pcode",
        id_type="str",
        from_sql="admin_unit u JOIN indicator_dataset d ON d.boundary_set_id = u.boundary_set_id"
        + (published if public else ""),
        where_sql=f"d.id = {int(ds_id)} AND u.level = {level} AND EXISTS (SELECT 1 FROM indicator_aggregate a "
        f"WHERE a.dataset_id = d.id AND a.level = u.level AND a.pcode = u.pcode)",
        order_sql="u.pcode",
        fields=tuple(fields),
        filters=(Filter("pcode", "u.pcode = :v", "pcode", "P-code"),),
        level=level,
        country_sql="d.country",
        access=answer_level(res, [c["id"] for c in agg]).label,
        disclosure=rule.text() if public else None,
    )


def _quote(value: str) -> str:
    """A string inside a SQL literal (the published table is written into the collection's SQL)."""
    return str(value).replace("'", "''")


def collections(conn: Connection, who: Principal = ANONYMOUS) -> list[tuple[str, object, str]]:
    """(collection id, Dataset, country) of every dataset that exists for ``who``."""
    out = []
    rows = conn.execute(
        text(
            "SELECT d.id, d.unit, d.country, array(SELECT DISTINCT a.level FROM indicator_aggregate a "
            "WHERE a.dataset_id = d.id AND a.level > 0 ORDER BY 1) AS levels FROM indicator_dataset d "
            "ORDER BY d.id"
        )
    ).all()
    for ds_id, unit, country, levels in rows:
        for part in (f"{unit}s", *(f"adm{lvl}" for lvl in levels)):
            ds = dataset_for(conn, ds_id, part, who)
            if ds is not None:
                out.append((ds.key, ds, country.strip()))
    return out


def get(conn: Connection, cid: str, who: Principal = ANONYMOUS):
    m = COLLECTION_ID.fullmatch(cid)
    if not m:
        return None
    ds = dataset_for(conn, int(m.group(1)), m.group(2), who)
    if ds is None:
        return None
    country = conn.execute(text("SELECT country FROM indicator_dataset WHERE id = :d"), {"d": int(m.group(1))}).scalar()
    return ds, country.strip()
