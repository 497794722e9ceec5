"""CQL2 filters (OGC API - Features Part 3) on a dataset, as SQL with bound parameters.

The ``cql2`` library parses and validates both encodings (``cql2-text``, ``cql2-json``); this
module walks the CQL2-JSON tree it returns and writes a boolean SQL expression in which
every property is the SQL of one of the dataset's *queryables* (its fields and its geometry,
``service.core.datasets``) and every literal is a bound parameter -- nothing of the request
is ever pasted into the SQL. An unknown property, operator or a literal of the wrong type is
a :class:`CqlError` (a 400 naming what to change).

Supported: ``and or not``, ``= <> < <= > >=``, ``like``, ``between``, ``in``, ``isNull``,
``casei``, property-property comparisons, the spatial functions ``s_intersects s_disjoint
s_equals s_within s_contains s_touches s_crosses s_overlaps`` (geometry literals in CRS84:
points, lines, polygons, their multi forms, ``BBOX``) and the temporal functions on instants
(``t_after t_before t_equals t_disjoint t_intersects``) and intervals (``t_during``...).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cql2

from service.core.datasets import Dataset, Field

GEOMETRY = "geometry"
LANGS = ("cql2-text", "cql2-json", "cql-text")  # cql-text: the draft's name (GDAL <= 3.6), read as cql2-text
MAX_FILTER_CHARS = 20_000  # a bound on what one request may ask the parser to read
MAX_NODES = 500  # and on the size of the tree it becomes

COMPARE = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_disjoint": "ST_Disjoint",
    "s_equals": "ST_Equals",
    "s_within": "ST_Within",
    "s_contains": "ST_Contains",
    "s_touches": "ST_Touches",
    "s_crosses": "ST_Crosses",
    "s_overlaps": "ST_Overlaps",
}
# temporal functions over [start, end] of each side (an instant: start = end), inclusive days
TEMPORAL = {
    "t_after": "{a0} > {b1}",
    "t_before": "{a1} < {b0}",
    "t_equals": "{a0} = {b0} AND {a1} = {b1}",
    "t_disjoint": "({a1} < {b0} OR {a0} > {b1})",
    "t_intersects": "({a0} <= {b1} AND {a1} >= {b0})",
    "t_during": "({a0} > {b0} AND {a1} < {b1})",
    "t_contains": "({a0} < {b0} AND {a1} > {b1})",
    "t_starts": "({a0} = {b0} AND {a1} < {b1})",
    "t_startedby": "({a0} = {b0} AND {a1} > {b1})",
    "t_finishes": "({a1} = {b1} AND {a0} > {b0})",
    "t_finishedby": "({a1} = {b1} AND {a0} < {b0})",
    "t_meets": "{a1} = {b0}",
    "t_metby": "{a0} = {b1}",
    "t_overlaps": "({a0} < {b0} AND {a1} > {b0} AND {a1} < {b1})",
    "t_overlappedby": "({a0} > {b0} AND {a0} < {b1} AND {a1} > {b1})",
}
SQL_TYPE = {"int": "bigint", "float": "float8", "str": "text", "date": "date"}
JSON_TYPE = {"int": "integer", "float": "number", "str": "string", "date": "string"}


class CqlError(ValueError):
    """A filter that cannot be run: the message says what to change."""


@dataclass(frozen=True)
class Queryables:
    """What a filter may name: the dataset's fields and its geometry."""

    fields: Mapping[str, Field]
    geom_sql: str

    @classmethod
    def of(cls, ds: Dataset) -> Queryables:
        return cls({f.name: f for f in ds.fields}, ds.geom_sql)

    def names(self) -> str:
        return ", ".join([GEOMETRY, *self.fields])


def queryables_schema(ds: Dataset, url: str, title: str) -> dict:
    """The JSON Schema of a collection's queryables (``/collections/{id}/queryables``)."""
    geom = {
        "Point": "https://geojson.org/schema/Point.json",
        "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
    }
    props: dict[str, dict] = {GEOMETRY: {"title": "Geometry", "format": f"geometry-{ds.geometry_type.lower()}"}}
    props[GEOMETRY]["$ref"] = geom[ds.geometry_type]
    for f in ds.fields:
        p: dict[str, Any] = {"title": f.name, "description": f.description, "type": JSON_TYPE[f.type]}
        if f.type == "date":
            p["format"] = "date"
        props[f.name] = p
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": title,
        "properties": props,
        "additionalProperties": False,
        # the list of the Part 3 drafts, which GDAL's OAPIF driver up to 3.6 reads (a JSON Schema annotation)
        "queryables": [{"id": name, "type": p.get("type", "geometry")} for name, p in props.items()],
    }


def parse(text: str, lang: str | None) -> dict:
    """The CQL2-JSON tree of a ``filter`` in ``lang`` (``cql2-text`` by default).

    cql2-text is checked by the library's grammar (arity, literals, WKT); cql2-JSON, whose
    deserialiser takes any ``{"op", "args"}``, is also validated against the CQL2 JSON Schema
    (``Expr.validate``: it compiles the schema on every call, 15-100 ms, so it is kept for the
    form that needs it). Either way only what ``_Writer`` knows becomes SQL. The last trees are
    kept (GDAL sends the same filter with every page)."""
    lang = (lang or "cql2-text").strip().lower()
    lang = "cql2-text" if lang == "cql-text" else lang
    if lang not in LANGS:
        raise CqlError(f"filter-lang {lang!r} is not supported: use cql2-text or cql2-json")
    if len(text) > MAX_FILTER_CHARS:
        raise CqlError(f"the filter has {len(text)} characters; at most {MAX_FILTER_CHARS} are read")
    return json.loads(_parsed(text, lang))


@functools.lru_cache(maxsize=256)
def _parsed(text: str, lang: str) -> str:
    try:
        if lang == "cql2-text":
            expr = cql2.parse_text(text)
        else:
            expr = cql2.parse_json(text)
            expr.validate()
        return json.dumps(expr.to_json())
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        msg = " ".join(str(exc).split())[:300]
        raise CqlError(f"the filter is not valid {lang}: {msg}") from None


class _Writer:
    def __init__(self, q: Queryables):
        self.q = q
        self.params: dict[str, Any] = {}
        self.nodes = 0

    def bind(self, value: Any, sql_type: str) -> str:
        name = f"cql{len(self.params)}"
        self.params[name] = value
        return f"CAST(:{name} AS {sql_type})"

    # -- operands
    def prop(self, node: Any) -> Field | None:
        if isinstance(node, dict) and set(node) == {"property"}:
            name = node["property"]
            if name == GEOMETRY:
                return None
            if name not in self.q.fields:
                raise CqlError(f"{name!r} is not a queryable of this collection; queryables: {self.q.names()}")
            return self.q.fields[name]
        raise CqlError("expected a property")

    def is_prop(self, node: Any) -> bool:
        return isinstance(node, dict) and set(node) == {"property"}

    def value(self, node: Any, want: str | None) -> tuple[str, str]:
        """SQL of an operand and its type (int, float, str, date, bool); ``want``: the other side's type."""
        if self.is_prop(node):
            f = self.prop(node)
            if f is None:
                raise CqlError("the geometry can only be used in a spatial function (S_INTERSECTS ...)")
            return f.sql, f.type
        if isinstance(node, dict) and node.get("op") in ("casei",):
            sql, t = self.value(node["args"][0], want)
            if t != "str":
                raise CqlError("CASEI applies to text")
            return f"lower({sql})", "str"
        if isinstance(node, dict) and node.get("op") == "accenti":
            raise CqlError("ACCENTI (accent-insensitive comparison) is not supported")
        if isinstance(node, bool):
            raise CqlError("no queryable of this collection is boolean")
        if isinstance(node, int | float):
            if want in ("str", "date"):
                raise CqlError(f"a number is compared with a {'text' if want == 'str' else 'date'} property")
            if want == "int" and float(node).is_integer():
                return self.bind(int(node), "bigint"), "int"
            return self.bind(float(node), "float8"), "float"
        if isinstance(node, str):
            if want == "date":
                return self.bind(_day(node), "date"), "date"
            if want in ("int", "float"):
                raise CqlError(f"the text {node!r} is compared with a numeric property")
            return self.bind(node, "text"), "str"
        if isinstance(node, dict) and ("date" in node or "timestamp" in node):
            return self.bind(_day(node.get("date") or node.get("timestamp")), "date"), "date"
        raise CqlError(f"unsupported operand {json.dumps(node)[:80]}")

    def interval(self, node: Any) -> tuple[str, str]:
        """[start, end] SQL of a temporal operand (a date property, an instant or an interval)."""
        if self.is_prop(node):
            f = self.prop(node)
            if f is None or f.type != "date":
                raise CqlError("temporal functions apply to date properties (reporting_date ...)")
            return f.sql, f.sql
        if isinstance(node, dict) and "interval" in node:
            ends = []
            for i, v in enumerate(node["interval"][:2]):
                if v == ".." or v is None:
                    ends.append(self.bind(dt.date.min if i == 0 else dt.date.max, "date"))
                elif self.is_prop(v):
                    ends.append(self.interval(v)[i])
                else:
                    ends.append(
                        self.bind(_day(v.get("date") or v.get("timestamp") if isinstance(v, dict) else v), "date")
                    )
            return ends[0], ends[1]
        if isinstance(node, dict) and ("date" in node or "timestamp" in node):
            sql = self.bind(_day(node.get("date") or node.get("timestamp")), "date")
            return sql, sql
        raise CqlError(
            f"a temporal function needs a date property, DATE, TIMESTAMP or INTERVAL, not {json.dumps(node)[:80]}"
        )

    def geometry(self, node: Any) -> str:
        if self.is_prop(node):
            if self.prop(node) is not None:
                raise CqlError(f"{node['property']!r} is not a geometry; spatial functions apply to {GEOMETRY!r}")
            return self.q.geom_sql
        if isinstance(node, dict) and "bbox" in node:
            b = node["bbox"]
            if len(b) == 6:
                b = [b[0], b[1], b[3], b[4]]
            if len(b) != 4:
                raise CqlError("BBOX takes 4 numbers: minLon, minLat, maxLon, maxLat")
            p = [self.bind(float(v), "float8") for v in b]
            return f"ST_MakeEnvelope({p[0]}, {p[1]}, {p[2]}, {p[3]}, 4326)"
        if isinstance(node, dict) and "type" in node:
            return f"ST_SetSRID(ST_GeomFromGeoJSON({self.bind(json.dumps(node), 'text')}), 4326)"
        raise CqlError(f"a spatial function needs the geometry and a geometry literal, not {json.dumps(node)[:80]}")

    # -- predicates
    def pred(self, node: Any) -> str:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise CqlError(f"the filter has more than {MAX_NODES} terms")
        if isinstance(node, bool):
            return "true" if node else "false"
        if not isinstance(node, dict) or "op" not in node:
            raise CqlError(f"expected a predicate, not {json.dumps(node)[:80]}")
        op, args = node["op"].lower(), node.get("args", [])
        if op in ("and", "or"):
            return "(" + f" {op.upper()} ".join(self.pred(a) for a in args) + ")"
        if op == "not":
            return f"NOT ({self.pred(args[0])})"
        if op in COMPARE:
            left, right = args
            if self.is_prop(right) and not self.is_prop(left):
                left, right = right, left
                op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            lsql, lt = self.value(left, None)
            rsql, rt = self.value(right, lt)
            _same(lt, rt)
            return f"({lsql} {COMPARE[op]} {rsql})"
        if op == "like":
            lsql, lt = self.value(args[0], None)
            if lt != "str" or not isinstance(args[1], str | dict):
                raise CqlError("LIKE compares a text property with a pattern ('Mos%')")
            rsql, _ = self.value(args[1], "str")
            return f"({lsql} LIKE {rsql})"
        if op == "between":
            vsql, vt = self.value(args[0], None)
            lo, lt = self.value(args[1], vt)
            hi, ht = self.value(args[2], vt)
            _same(vt, lt)
            _same(vt, ht)
            return f"({vsql} BETWEEN {lo} AND {hi})"
        if op == "in":
            vsql, vt = self.value(args[0], None)
            items = args[1]
            if not isinstance(items, list) or not items:
                raise CqlError("IN needs a list of values")
            sqls = []
            for it in items:
                s, t = self.value(it, vt)
                _same(vt, t)
                sqls.append(s)
            return f"({vsql} IN ({', '.join(sqls)}))"
        if op == "isnull":
            if self.is_prop(args[0]) and self.prop(args[0]) is None:
                return f"({self.q.geom_sql} IS NULL)"
            return f"({self.value(args[0], None)[0]} IS NULL)"
        if op in SPATIAL:
            return f"{SPATIAL[op]}({self.geometry(args[0])}, {self.geometry(args[1])})"
        if op in TEMPORAL:
            a0, a1 = self.interval(args[0])
            b0, b1 = self.interval(args[1])
            return "(" + TEMPORAL[op].format(a0=a0, a1=a1, b0=b0, b1=b1) + ")"
        raise CqlError(f"the operator {op!r} is not supported")


def _same(a: str, b: str) -> None:
    numeric = {"int", "float"}
    if a == b or (a in numeric and b in numeric):
        return
    raise CqlError(f"a {a} is compared with a {b}")


def _day(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise CqlError(f"{value!r} is not a date")
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        t = dt.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise CqlError(f"{value!r} is not an RFC 3339 date or timestamp") from None
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc)
    return t.date()


def to_sql(tree: dict, q: Queryables) -> tuple[str, dict[str, Any]]:
    """The boolean SQL of a CQL2-JSON tree over ``q`` and its parameters (``:cql0``..)."""
    w = _Writer(q)
    try:
        sql = w.pred(tree)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        if isinstance(exc, CqlError):
            raise
        raise CqlError(f"the filter is malformed: {exc.__class__.__name__} {exc}"[:300]) from None
    return sql, w.params


def compile_filter(text: str, lang: str | None, ds: Dataset) -> tuple[str, dict[str, Any]]:
    """``filter`` + ``filter-lang`` -> (SQL, parameters) over the dataset's queryables."""
    return to_sql(parse(text, lang), Queryables.of(ds))


def parse_sortby(value: str, ds: Dataset) -> tuple[tuple[str, bool], ...]:
    """``sortby=-individuals,pcode`` -> ((field name, descending), ...); fields only."""
    out = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in {f.name for f in ds.fields}:
            raise CqlError(
                f"sortby {name!r} is not a property of this collection; properties: "
                + ", ".join(f.name for f in ds.fields)
            )
        out.append((name, desc))
    if len(out) > 8:
        raise CqlError("sortby takes at most 8 properties")
    return tuple(out)


def parse_properties(value: str, ds: Dataset) -> tuple[str, ...]:
    """``properties=pcode,individuals`` -> the field names to return, in the dataset's order."""
    wanted = {p.strip() for p in value.split(",") if p.strip()}
    names = [f.name for f in ds.fields]
    unknown = sorted(wanted - set(names))
    if unknown:
        raise CqlError(f"properties {', '.join(unknown)} not in this collection; properties: {', '.join(names)}")
    return tuple(n for n in names if n in wanted)
