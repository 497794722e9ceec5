"""What a published dataset is, and the SQL pieces datasets share.

A kind of data (``service/kinds.py``) defines its datasets with these classes; the
publishers (``service.publish``: OGC API - Features, file exports) read them from the layer
registry (``service.core.registry``) and never the other way round. A :class:`Dataset` holds
its fields (name, type, SQL expression, shapefile name, HXL hashtag, description), its
geometry, its row identifier, its property filters and its ``FROM`` clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GEOJSON_DECIMALS = 7  # ~1 cm; GeoJSON and OGC items

FieldType = Literal["str", "int", "float", "date"]
POPULATION_HXL = {"idp": "idps", "returnee": "returnees"}
POPULATION_LABEL = {"idp": "IDPs", "returnee": "returnees"}
LEVEL_NAMES = {0: "country", 1: "governorate", 2: "district", 3: "sub-district"}
# query parameters of OGC items and exports: no property filter may be named like one
RESERVED_PARAMETERS = {
    "bbox", "datetime", "limit", "offset", "f", "crs", "bbox-crs",
    "filter", "filter-lang", "filter-crs", "sortby", "properties", "round",
}  # fmt: skip


@dataclass(frozen=True)
class Field:
    name: str
    sql: str
    type: FieldType
    short: str  # ESRI Shapefile field name, <= 10 characters
    hxl: str = ""  # '{pop}' becomes idps / returnees
    description: str = ""

    def hxl_for(self, population: str | None) -> str:
        return self.hxl.replace("{pop}", POPULATION_HXL.get(population or "", "affected"))


@dataclass(frozen=True)
class Filter:
    """A property filter (OGC ``?name=value``): ``sql`` is a boolean expression of ``:v``."""

    name: str
    sql: str
    kind: Literal["pcode", "text", "country"] = "text"
    description: str = ""


@dataclass(frozen=True)
class Dataset:
    key: str
    kind: str  # "admin", "locations", "figures", "sites", or the name of the kind that defines it
    title: str
    description: str
    per_round: bool
    geometry_type: Literal["Point", "MultiPolygon"]
    geom_sql: str
    id_sql: str
    id_type: Literal["int", "str"]
    from_sql: str
    where_sql: str
    order_sql: str
    fields: tuple[Field, ...]
    filters: tuple[Filter, ...]
    temporal_sql: str | None = None
    bucket_sql: str | None = None  # rows without a polygon (the UNASSIGNED bucket)
    level: int | None = None
    country_sql: str | None = None  # the row's country (datasets not of a round: Selection.country)
    access: str | None = None  # what a dataset built for one reader holds (public/partner/restricted); None: its kind's
    disclosure: str | None = None  # a public output with small cells suppressed: the rule (export README)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def filter(self, name: str) -> Filter | None:
        return next((f for f in self.filters if f.name == name), None)

    @property
    def is_point(self) -> bool:
        return self.geometry_type == "Point"

    def check(self) -> None:
        """Field names unique, shapefile names unique (case-blind) and <= 10 characters, no
        filter named like a query parameter."""
        names = [f.name for f in self.fields]
        shorts = [f.short for f in self.fields]
        assert len(set(names)) == len(names), self.key
        assert len(set(s.lower() for s in shorts)) == len(shorts), self.key
        assert all(len(s) <= 10 for s in shorts), self.key
        assert not set(f.name for f in self.filters) & RESERVED_PARAMETERS, self.key


# ------------------------------------------------------------------------------ SQL pieces
def dtm_pcode_sql(a: str) -> str:
    """COD-AB P-code of ``a`` -> DTM API form (IQG07Q02 -> IRQ-G07Q02), as boundaries.pcode.to_dtm_pcode."""
    return (
        f"CASE WHEN {a}.pcode IS NULL THEN NULL "
        f"WHEN left({a}.pcode, 3) = {a}.country "
        f"THEN {a}.country || CASE WHEN length({a}.pcode) > 3 THEN '-' || substr({a}.pcode, 4) ELSE '' END "
        f"ELSE {a}.country || CASE WHEN length({a}.pcode) > 2 THEN '-' || substr({a}.pcode, 3) ELSE '' END END"
    )


def ancestor_joins(level: int, child: str = "u") -> str:
    """LEFT JOINs p{k} = the level-k ancestor of ``child`` (a level-``level`` admin_unit), k < level, k >= 1."""
    joins, below = [], child
    for k in range(level - 1, 0, -1):
        joins.append(
            f"LEFT JOIN admin_unit p{k} ON p{k}.boundary_set_id = {child}.boundary_set_id "
            f"AND p{k}.pcode = {below}.parent_pcode"
        )
        below = f"p{k}"
    return "\n".join(joins)


def ancestor_fields(level: int) -> list[Field]:
    """P-code and English name of each ancestor of a level-``level`` unit ``u`` (the tables
    ``p1``.. that ``ancestor_joins`` joins)."""
    out = []
    for k in range(1, level):
        out += [
            Field(
                f"adm{k}_pcode",
                f"p{k}.pcode",
                "str",
                f"adm{k}_pcode",
                f"#adm{k}+code",
                f"P-code of the {LEVEL_NAMES[k]}",
            ),
            Field(
                f"adm{k}_name",
                f"p{k}.name_en",
                "str",
                f"adm{k}_name",
                f"#adm{k}+name",
                f"English name of the {LEVEL_NAMES[k]}",
            ),
        ]
    return out


def ancestor_filters(level: int) -> list[Filter]:
    """``?adm1=``.. : the units within one ancestor (see ``ancestor_fields``)."""
    return [
        Filter(f"adm{k}", f"p{k}.pcode = :v", "pcode", f"units within this level-{k} unit") for k in range(1, level)
    ]


def unit_tag(level: int) -> str:
    """The HXL hashtag of a unit of ``level``."""
    return "#country" if level == 0 else f"#adm{level}"


def unit_fields(level: int) -> list[Field]:
    """P-code (both forms), English and Arabic name of a unit ``u`` of ``level``, then its
    ancestors: the first columns of a dataset of values per unit."""
    tag = unit_tag(level)
    return [
        Field("pcode", "u.pcode", "str", "pcode", f"{tag}+code", f"P-code of the {LEVEL_NAMES[level]}"),
        Field("dtm_pcode", dtm_pcode_sql("u"), "str", "dtm_pcode", f"{tag}+code+dtm", "P-code in the DTM API form"),
        Field("name_en", "u.name_en", "str", "name_en", f"{tag}+name+i_en", "English name"),
        Field("name_ar", "u.name_ar", "str", "name_ar", f"{tag}+name+i_ar", "Arabic name"),
        *ancestor_fields(level),
    ]


def adm_fields(alias: str) -> list[Field]:
    """P-code and English name of the level 1-3 units a point row ``alias`` lies in (the
    tables ``a1``.. that ``adm_joins`` joins)."""
    out = []
    for k in (1, 2, 3):
        out += [
            Field(
                f"adm{k}_pcode",
                f"{alias}.adm{k}",
                "str",
                f"adm{k}_pcode",
                f"#adm{k}+code",
                f"P-code of the {LEVEL_NAMES[k]}",
            ),
            Field(
                f"adm{k}_name",
                f"a{k}.name_en",
                "str",
                f"adm{k}_name",
                f"#adm{k}+name",
                f"English name of the {LEVEL_NAMES[k]}",
            ),
        ]
    return out


def adm_joins(alias: str, set_id_sql: str) -> str:
    """The units a1..a3 named by ``adm_fields``, in the boundary set ``set_id_sql``."""
    return "".join(
        f"\n        LEFT JOIN admin_unit a{k} ON a{k}.boundary_set_id = {set_id_sql} AND a{k}.pcode = {alias}.adm{k}"
        for k in (1, 2, 3)
    )


def lonlat_fields(alias: str) -> list[Field]:
    return [
        Field(
            name,
            f"round(ST_{axis}({alias}.geom)::numeric, {GEOJSON_DECIMALS})::float8",
            "float",
            name,
            f"#geo+{name[:3]}",
            f"{name.capitalize()} (WGS 84)",
        )
        for name, axis in (("latitude", "Y"), ("longitude", "X"))
    ]


def adm_filters(alias: str) -> list[Filter]:
    return [
        Filter("pcode", f":v IN ({alias}.adm1, {alias}.adm2, {alias}.adm3)", "pcode", "within this unit of any level"),
        *(Filter(f"adm{k}", f"{alias}.adm{k} = :v", "pcode", f"within this {LEVEL_NAMES[k]}") for k in (1, 2, 3)),
    ]
