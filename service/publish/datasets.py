"""The one registry of the datasets DTM Atlas publishes, and their set-based SQL.

Every dataset is defined once here -- its fields (name, type, SQL expression, shapefile name,
HXL hashtag, description), its geometry, its row identifier, its property filters and its
``FROM`` clause -- and both the OGC API - Features collections (``service.api.ogc``) and the
file exports (``service.publish.exports``) read through a :class:`Selection` of it. Rows are
streamed from PostgreSQL through a server-side cursor, a batch at a time.

Datasets:

* ``admin0`` .. ``admin3``: the admin units of a level in the current boundary set(s), polygons.
* ``locations``: the locations of a round (``location_figure``) with their figures, points.
* ``sites``: camps, informal settlements, collective centres (``site``), points.
* ``figures-adm1`` .. ``figures-adm3``: the aggregates of a round per unit of a level
  (``unit_figure``) with the unit's names and polygon.

The ``UNASSIGNED`` bucket of ``figures-admN`` (locations that could not be placed in a unit of
that level) has no polygon. Spatial outputs (OGC items, GeoPackage, Shapefile, KML, GeoJSON,
FlatGeobuf) leave it out and report its totals in their metadata / README; tabular outputs (CSV,
XLSX) keep it as a row with ``pcode = UNASSIGNED`` and no coordinates, so that the rows sum to
the national total.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import Connection, text

from service.core.constants import UNASSIGNED
from service.core.importlog import data_version

GEOJSON_DECIMALS = 7  # ~1 cm; GeoJSON and OGC items
BATCH_ROWS = 10_000  # rows per server-side cursor fetch

FieldType = Literal["str", "int", "float", "date"]
POPULATION_HXL = {"idp": "idps", "returnee": "returnees"}
POPULATION_LABEL = {"idp": "IDPs", "returnee": "returnees"}


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
    kind: Literal["admin", "locations", "figures", "sites", "fragility", "indicators"]
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


# ------------------------------------------------------------------------------ SQL pieces
def _dtm_pcode(a: str) -> str:
    """COD-AB P-code of ``a`` -> DTM API form (IQG07Q02 -> IRQ-G07Q02), as boundaries.pcode.to_dtm_pcode."""
    return (
        f"CASE WHEN {a}.pcode IS NULL THEN NULL "
        f"WHEN left({a}.pcode, 3) = {a}.country "
        f"THEN {a}.country || CASE WHEN length({a}.pcode) > 3 THEN '-' || substr({a}.pcode, 4) ELSE '' END "
        f"ELSE {a}.country || CASE WHEN length({a}.pcode) > 2 THEN '-' || substr({a}.pcode, 3) ELSE '' END END"
    )


def _ancestor_joins(level: int, child: str = "u") -> str:
    """LEFT JOINs p{k} = the level-k ancestor of ``child`` (a level-``level`` admin_unit), k < level, k >= 1."""
    joins, below = [], child
    for k in range(level - 1, 0, -1):
        joins.append(
            f"LEFT JOIN admin_unit p{k} ON p{k}.boundary_set_id = {child}.boundary_set_id "
            f"AND p{k}.pcode = {below}.parent_pcode"
        )
        below = f"p{k}"
    return "\n".join(joins)


LEVEL_NAMES = {0: "country", 1: "governorate", 2: "district", 3: "sub-district"}


def ancestor_fields(level: int) -> list[Field]:
    """P-code and English name of each ancestor of a level-``level`` unit ``u`` (the tables
    ``p1``.. that ``_ancestor_joins`` joins)."""
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


def _unit_tag(level: int) -> str:
    return "#country" if level == 0 else f"#adm{level}"


def _admin(level: int) -> Dataset:
    tag = _unit_tag(level)
    fields = [
        Field("pcode", "u.pcode", "str", "pcode", f"{tag}+code", "P-code (OCHA COD-AB form, e.g. IQG07Q02)"),
        Field(
            "dtm_pcode",
            _dtm_pcode("u"),
            "str",
            "dtm_pcode",
            f"{tag}+code+dtm",
            "P-code in the DTM API form (IRQ-G07Q02)",
        ),
        Field("name_en", "u.name_en", "str", "name_en", f"{tag}+name+i_en", "English name"),
        Field("name_ar", "u.name_ar", "str", "name_ar", f"{tag}+name+i_ar", "Arabic name"),
    ]
    if level >= 1:
        fields.append(
            Field(
                "parent_pcode",
                "u.parent_pcode",
                "str",
                "parent_pc",
                f"{_unit_tag(level - 1)}+code",
                "P-code of the parent unit",
            )
        )
    fields += [
        Field("level", "u.level", "int", "level", "#meta+level", "Admin level (0 country .. 3 sub-district)"),
        Field(
            "valid_on",
            "u.valid_on",
            "date",
            "valid_on",
            "#date+valid_on",
            "Date the boundaries are valid from (COD-AB validOn)",
        ),
        Field(
            "area_km2",
            "round(u.area_km2::numeric, 3)::float8",
            "float",
            "area_km2",
            "#meta+area+km2",
            "Area in km² (geodesic)",
        ),
    ]
    filters = [
        Filter("pcode", "u.pcode = :v", "pcode", "this unit (P-code, any form)"),
        Filter("country", "u.country = :v", "country", "ISO3 country code"),
    ]
    if level >= 1:
        filters.append(Filter("parent", "u.parent_pcode = :v", "pcode", "units whose parent is this P-code"))
    filters += ancestor_filters(level)
    return Dataset(
        key=f"admin{level}",
        kind="admin",
        level=level,
        per_round=False,
        title=f"Admin level {level} ({LEVEL_NAMES[level]}) boundaries",
        description=f"Admin level {level} units ({LEVEL_NAMES[level]}) of the current boundary set (OCHA COD-AB), "
        "with English and Arabic names and P-codes.",
        geometry_type="MultiPolygon",
        geom_sql="u.geom",
        id_sql="u.pcode",
        id_type="str",
        from_sql="admin_unit u JOIN boundary_set bs ON bs.id = u.boundary_set_id AND bs.is_current\n"
        + _ancestor_joins(level),
        where_sql=f"u.level = {level}",
        order_sql="u.country, u.pcode",
        fields=tuple(fields),
        filters=tuple(filters),
        temporal_sql="u.valid_on",
        country_sql="u.country",
    )


def _figures(level: int) -> Dataset:
    tag = _unit_tag(level)
    fields = [
        Field(
            "pcode",
            "uf.pcode",
            "str",
            "pcode",
            f"{tag}+code",
            f"P-code of the {LEVEL_NAMES[level]} ({UNASSIGNED}: locations not placed in one)",
        ),
        Field("dtm_pcode", _dtm_pcode("u"), "str", "dtm_pcode", f"{tag}+code+dtm", "P-code in the DTM API form"),
        Field(
            "name_en",
            f"coalesce(u.name_en, CASE WHEN uf.pcode = '{UNASSIGNED}' THEN 'Unassigned' END)",
            "str",
            "name_en",
            f"{tag}+name+i_en",
            "English name",
        ),
        Field("name_ar", "u.name_ar", "str", "name_ar", f"{tag}+name+i_ar", "Arabic name"),
    ]
    fields += ancestor_fields(level)
    fields += [
        Field("families", "uf.families", "int", "families", "#affected+{pop}+hh", "Families (households)"),
        Field(
            "individuals",
            "uf.individuals",
            "int",
            "indiv",
            "#affected+{pop}+ind",
            "Individuals as the master list counts them (its own Individuals column summed)",
        ),
        Field(
            "published_individuals",
            "uf.published_individuals",
            "int",
            "pub_ind",
            "#affected+{pop}+ind+published",
            "Individuals as DTM publishes them (household size per shelter, e.g. 5 in camps from 31 Aug 2020; "
            "the DTM API's numPresentIdpInd)",
        ),
        Field("locations", "uf.locations", "int", "locations", "#meta+locations+num", "Locations reporting"),
        Field(
            "change_individuals",
            "uf.change_individuals",
            "int",
            "chg_ind",
            "#affected+{pop}+ind+change",
            "Change in individuals since the previous round of the population",
        ),
        Field(
            "change_pct",
            "uf.change_pct",
            "float",
            "change_pct",
            "#affected+{pop}+ind+change+pct",
            "Change in individuals since the previous round, percent",
        ),
        Field(
            "change_12m_individuals",
            "uf.change_12m_individuals",
            "int",
            "chg12_ind",
            "#affected+{pop}+ind+change+12m",
            "Change in individuals over 12 months (against the round closest to one year earlier)",
        ),
        Field(
            "change_12m_pct",
            "uf.change_12m_pct",
            "float",
            "chg12_pct",
            "#affected+{pop}+ind+change+pct+12m",
            "Change in individuals over 12 months, percent",
        ),
        Field(
            "share_national",
            "uf.share_national",
            "float",
            "share_nat",
            "#affected+{pop}+ind+pct+national",
            "Share of the national total of individuals (0-1)",
        ),
        Field("round_number", "r.round_number", "int", "round_num", "#round+code", "DTM round number"),
        Field("population", "r.population", "str", "population", "#meta+population", "idp or returnee"),
        Field(
            "reporting_date", "r.reporting_date", "date", "rep_date", "#date+reported", "Reporting date of the round"
        ),
    ]
    filters = [Filter("pcode", "uf.pcode = :v", "pcode", "this unit (P-code, any form)")]
    filters += ancestor_filters(level)
    return Dataset(
        key=f"figures-adm{level}",
        kind="figures",
        level=level,
        per_round=True,
        title=f"Displacement figures per {LEVEL_NAMES[level]} (admin {level})",
        description=f"Families, individuals and locations of a round per admin level {level} unit "
        f"({LEVEL_NAMES[level]}), "
        "with the change since the previous round and the share of the national total, on the unit's polygon.",
        geometry_type="MultiPolygon",
        geom_sql="u.geom",
        id_sql="uf.pcode",
        id_type="str",
        from_sql="unit_figure uf JOIN round r ON r.id = uf.round_id\n"
        "LEFT JOIN admin_unit u ON u.boundary_set_id = r.boundary_set_id AND u.pcode = uf.pcode\n"
        + _ancestor_joins(level),
        where_sql=f"uf.round_id = :round_id AND uf.level = {level}",
        order_sql=f"uf.pcode = '{UNASSIGNED}', uf.pcode",
        fields=tuple(fields),
        filters=tuple(filters),
        temporal_sql="r.reporting_date",
        bucket_sql=f"uf.pcode = '{UNASSIGNED}'",
    )


def _adm_fields(alias: str) -> list[Field]:
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


def _adm_joins(alias: str, set_id_sql: str) -> str:
    """The units a1..a3 named by ``_adm_fields``, in the boundary set ``set_id_sql``."""
    return "".join(
        f"\n        LEFT JOIN admin_unit a{k} ON a{k}.boundary_set_id = {set_id_sql} AND a{k}.pcode = {alias}.adm{k}"
        for k in (1, 2, 3)
    )


def _lonlat_fields(alias: str) -> list[Field]:
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


def _adm_filters(alias: str) -> list[Filter]:
    return [
        Filter("pcode", f":v IN ({alias}.adm1, {alias}.adm2, {alias}.adm3)", "pcode", "within this unit of any level"),
        *(Filter(f"adm{k}", f"{alias}.adm{k} = :v", "pcode", f"within this {LEVEL_NAMES[k]}") for k in (1, 2, 3)),
    ]


def _location_fragility_class() -> str:
    from service.fragility.store import location_class_sql

    return location_class_sql("CAST(:round_id AS int)", "f.adm3")


LOCATIONS = Dataset(
    key="locations",
    kind="locations",
    per_round=True,
    title="Locations",
    description="The locations of a round (villages, neighbourhoods, camps) with their families and individuals, "
    "the units they were placed in, how they were placed and their quality flags. Duplicated location IDs "
    "are kept (and flagged), as in the master list.",
    geometry_type="Point",
    geom_sql="f.geom",
    id_sql="f.id",
    id_type="int",
    from_sql="""location_figure f JOIN round r ON r.id = f.round_id
        LEFT JOIN location l ON l.country = f.country AND l.location_id = f.location_id"""
    + _adm_joins("f", "r.boundary_set_id"),
    where_sql="f.round_id = :round_id",
    order_sql="f.id",
    fields=(
        Field("location_id", "f.location_id", "str", "loc_id", "#loc+code", "DTM location ID"),
        Field("place_id", "l.place_id", "str", "place_id", "#loc+code+place", "DTM place ID"),
        Field("name_en", "f.name_en", "str", "name_en", "#loc+name+i_en", "Location name, English"),
        Field("name_ar", "f.name_ar", "str", "name_ar", "#loc+name+i_ar", "Location name, Arabic"),
        Field("families", "f.families", "int", "families", "#affected+{pop}+hh", "Families (households)"),
        Field("individuals", "f.individuals", "int", "indiv", "#affected+{pop}+ind", "Individuals"),
        *_adm_fields("f"),
        *_lonlat_fields("f"),
        Field(
            "placement",
            "f.placement",
            "str",
            "placement",
            "#meta+placement",
            "How the location was placed in units: declared (DTM's governorate/district) or spatial (point in polygon)",
        ),
        Field(
            "flags",
            "nullif(array_to_string(f.flags, ';'), '')",
            "str",
            "flags",
            "#meta+flags",
            "Quality flags, ';'-separated",
        ),
        Field(
            "fragility_class",
            _location_fragility_class(),
            "str",
            "frag_class",
            "#indicator+fragility+class",
            "Fragility class of the location's sub-district (stored default run of the round; empty when none)",
        ),
        Field("round_number", "r.round_number", "int", "round_num", "#round+code", "DTM round number"),
        Field("population", "r.population", "str", "population", "#meta+population", "idp or returnee"),
        Field(
            "reporting_date", "r.reporting_date", "date", "rep_date", "#date+reported", "Reporting date of the round"
        ),
    ),
    filters=(
        Filter("location_id", "f.location_id = :v", "text", "DTM location ID"),
        *_adm_filters("f"),
        Filter("placement", "f.placement = :v", "text", "declared or spatial"),
        Filter("flag", ":v = ANY(f.flags)", "text", "locations carrying this quality flag"),
    ),
    temporal_sql="r.reporting_date",
)

SITES = Dataset(
    key="sites",
    kind="sites",
    per_round=False,
    title="Sites",
    description="Camps, informal settlements and collective centres, with households and individuals and the units "
    "(current boundaries) they lie in.",
    geometry_type="Point",
    geom_sql="s.geom",
    id_sql="s.site_id",
    id_type="str",
    from_sql="site s LEFT JOIN boundary_set bs ON bs.country = s.country AND bs.is_current" + _adm_joins("s", "bs.id"),
    where_sql="true",
    order_sql="s.country, s.site_id",
    fields=(
        Field("site_id", "s.site_id", "str", "site_id", "#loc+code", "Site ID"),
        Field("name_en", "s.name_en", "str", "name_en", "#loc+name+i_en", "Site name, English"),
        Field("name_ar", "s.name_ar", "str", "name_ar", "#loc+name+i_ar", "Site name, Arabic"),
        Field(
            "site_type",
            "s.site_type",
            "str",
            "site_type",
            "#loc+type",
            "Camp, informal settlement, collective centre ...",
        ),
        Field("status", "s.status", "str", "status", "#status", "Site status"),
        Field("households", "s.households", "int", "households", "#affected+hh", "Households"),
        Field("individuals", "s.individuals", "int", "indiv", "#affected+ind", "Individuals"),
        *_adm_fields("s"),
        *_lonlat_fields("s"),
    ),
    filters=(
        Filter("site_id", "s.site_id = :v", "text", "Site ID"),
        Filter("site_type", "s.site_type = :v", "text", "Site type"),
        Filter("status", "s.status = :v", "text", "Site status"),
        Filter("country", "s.country = :v", "country", "ISO3 country code"),
        *_adm_filters("s"),
    ),
    country_sql="s.country",
)

DATASETS: dict[str, Dataset] = {
    ds.key: ds for ds in (*(_admin(lvl) for lvl in range(4)), LOCATIONS, SITES, *(_figures(lvl) for lvl in (1, 2, 3)))
}


def _check_registry() -> None:
    for ds in DATASETS.values():
        names = [f.name for f in ds.fields]
        shorts = [f.short for f in ds.fields]
        assert len(set(names)) == len(names), ds.key
        assert len(set(s.lower() for s in shorts)) == len(shorts), ds.key
        assert all(len(s) <= 10 for s in shorts), ds.key
        assert not set(f.name for f in ds.filters) & {"bbox", "datetime", "limit", "offset", "f", "crs", "bbox-crs"}


_check_registry()
from service.fragility import datasets as _fragility  # noqa: E402  (registered here, defined there)

DATASETS.update(_fragility.datasets())
_check_registry()


def get_dataset(key: str) -> Dataset | None:
    return DATASETS.get(key)


# ------------------------------------------------------------------------------ selections
@dataclass(frozen=True)
class Selection:
    """Rows of a dataset: a round (for per-round datasets) and optional bbox / dates / property filters.

    ``spatial=True`` (maps, spatial file formats, OGC) leaves the UNASSIGNED bucket out;
    ``spatial=False`` (CSV, XLSX) keeps it. ``country`` (ISO3) keeps the rows of one country in
    datasets not of a round (admin units, sites); a round is of one country already.
    """

    dataset: Dataset
    round: dict | None = None
    spatial: bool = True
    bbox: tuple[float, float, float, float] | None = None
    dates: tuple[dt.date | None, dt.date | None] | None = None  # inclusive; None = open end
    filters: tuple[tuple[str, str], ...] = ()
    fid: Any = None
    country: str | None = None

    def __post_init__(self):
        if self.dataset.per_round and self.round is None:
            raise ValueError(f"dataset {self.dataset.key} needs a round")

    def with_(self, **kw) -> "Selection":
        return replace(self, **kw)

    # -- SQL
    def where(self) -> tuple[str, dict]:
        ds = self.dataset
        conds, params = [ds.where_sql], {}
        if ds.per_round:
            params["round_id"] = self.round["id"]
        if self.spatial and ds.bucket_sql:
            conds.append(f"NOT ({ds.bucket_sql})")
        if self.country is not None and ds.country_sql is not None:
            conds.append(f"{ds.country_sql} = :country")
            params["country"] = self.country
        if self.bbox is not None:
            conds.append(f"ST_Intersects({ds.geom_sql}, ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4326))")
            params.update(bx0=self.bbox[0], by0=self.bbox[1], bx1=self.bbox[2], by1=self.bbox[3])
        if self.dates is not None:
            if ds.temporal_sql is None:
                pass  # no temporal property: the datetime parameter does not restrict
            else:
                d0, d1 = self.dates
                if d0 is not None:
                    conds.append(f"{ds.temporal_sql} >= :d0")
                    params["d0"] = d0
                if d1 is not None:
                    conds.append(f"{ds.temporal_sql} <= :d1")
                    params["d1"] = d1
        for i, (name, value) in enumerate(self.filters):
            flt = ds.filter(name)
            if flt is None:
                raise KeyError(name)
            conds.append("(" + flt.sql.replace(":v", f":fv{i}") + ")")
            params[f"fv{i}"] = value
        if self.fid is not None:
            conds.append(f"{ds.id_sql} = :fid")
            params["fid"] = self.fid
        return " AND ".join(conds), params

    def sql(
        self, mode: Literal["values", "table", "geojson", "kml"], limit: int | None = None, offset: int = 0
    ) -> tuple[str, dict]:
        """``values``: id, fields..., WKB; ``table``: id, fields...; ``geojson``: one Feature text per row;
        ``kml``: id, fields..., KML geometry."""
        ds = self.dataset
        where, params = self.where()
        cols = [f"{ds.id_sql} AS fid"] + [f'{f.sql} AS "{f.name}"' for f in ds.fields]
        if mode == "values":
            cols.append(f"ST_AsBinary({ds.geom_sql}) AS wkb")
        elif mode == "kml":
            cols.append(f"ST_AsKML({ds.geom_sql}, {GEOJSON_DECIMALS}) AS kml")
        elif mode == "geojson":
            # row_to_json keeps the field order and writes compact JSON (json_build_object adds spaces)
            props = ", ".join(f'{f.sql} AS "{f.name}"' for f in ds.fields)
            cols = [
                '\'{"type":"Feature","id":\' || to_json(' + ds.id_sql + ")::text"
                f" || ',\"geometry\":' || coalesce(ST_AsGeoJSON({ds.geom_sql}, {GEOJSON_DECIMALS}), 'null')"
                f" || ',\"properties\":' || (SELECT row_to_json(p) FROM (SELECT {props}) p)::text || '}}' AS feature"
            ]
        if limit is not None:
            # page on the row ids first, so that the projection (GeoJSON, names) is computed for the page only
            where += (
                f" AND {ds.id_sql} IN (SELECT {ds.id_sql} FROM {ds.from_sql} WHERE {where} "
                f"ORDER BY {ds.order_sql} LIMIT :limit OFFSET :offset)"
            )
            params.update(limit=limit, offset=offset)
        return f"SELECT {', '.join(cols)} FROM {ds.from_sql} WHERE {where} ORDER BY {ds.order_sql}", params

    def count(self, conn: Connection) -> int:
        where, params = self.where()
        return conn.execute(text(f"SELECT count(*) FROM {self.dataset.from_sql} WHERE {where}"), params).scalar_one()

    def count_without_geometry(self, conn: Connection) -> int:
        where, params = self.where()
        return conn.execute(
            text(f"SELECT count(*) FROM {self.dataset.from_sql} WHERE {where} AND {self.dataset.geom_sql} IS NULL"),
            params,
        ).scalar_one()

    def extent(self, conn: Connection) -> list[float] | None:
        where, params = self.where()
        row = conn.execute(
            text(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                f"(SELECT ST_Extent({self.dataset.geom_sql}) AS e FROM {self.dataset.from_sql} WHERE {where}) x"
            ),
            params,
        ).one()
        return None if row[0] is None else [round(v, 6) for v in row]

    def temporal_extent(self, conn: Connection) -> list[str | None] | None:
        ds = self.dataset
        if ds.temporal_sql is None:
            return None
        if ds.per_round:
            d = self.round["reporting_date"].isoformat()
            return [d, d]
        where, params = self.where()
        lo, hi = conn.execute(
            text(f"SELECT min({ds.temporal_sql}), max({ds.temporal_sql}) FROM {ds.from_sql} WHERE {where}"), params
        ).one()
        return None if lo is None else [lo.isoformat(), hi.isoformat()]

    def batches(
        self,
        conn: Connection,
        mode: Literal["values", "table", "geojson", "kml"],
        *,
        limit: int | None = None,
        offset: int = 0,
        batch: int = BATCH_ROWS,
    ) -> Iterator[Sequence]:
        """Rows in batches from a server-side cursor (memory stays at one batch)."""
        sql, params = self.sql(mode, limit, offset)
        # a cursor's plan favours the first rows (cursor_tuple_fraction 0.1: nested loops); we read them all
        conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        result = conn.execute(text(sql).execution_options(yield_per=batch), params)
        try:
            for part in result.partitions(batch):
                yield part
        finally:
            result.close()


# ------------------------------------------------------------------------------ metadata
def bucket_totals(conn: Connection, round_id: int, level: int) -> dict | None:
    row = (
        conn.execute(
            text(
                "SELECT families, individuals, locations FROM unit_figure "
                "WHERE round_id = :r AND level = :l AND pcode = :u"
            ),
            {"r": round_id, "l": level, "u": UNASSIGNED},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def boundary_info(conn: Connection, boundary_set_id: int | None = None, country: str | None = None) -> list[dict]:
    """Source and validity of the boundary set(s): a round's, or the current ones (of ``country``)."""
    rows = conn.execute(
        text(
            "SELECT id, country, source, valid_on FROM boundary_set "
            "WHERE (CAST(:s AS int) IS NULL AND is_current AND (CAST(:c AS text) IS NULL OR country = :c)) "
            "OR id = :s ORDER BY country"
        ),
        {"s": boundary_set_id, "c": country},
    ).mappings()
    return [dict(r) for r in rows]


def sites_date(conn: Connection) -> dt.date | None:
    return conn.execute(
        text("SELECT max(l.finished_at)::date FROM import_log l WHERE l.id IN (SELECT DISTINCT import_id FROM site)")
    ).scalar()


def main_country(conn: Connection, sel: Selection) -> str:
    if sel.round is not None:
        return sel.round["country"]
    if sel.country is not None:
        return sel.country
    countries = conn.execute(text("SELECT country FROM boundary_set WHERE is_current ORDER BY country")).scalars().all()
    return countries[0] if len(countries) == 1 else ("mul" if countries else "xxx")


class VersionedCache:
    """Values (extents, counts) cached per database and data version; any import invalidates them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._data: dict[tuple, tuple[int, Any]] = {}

    def get(self, conn: Connection, key: tuple, compute) -> Any:
        version = data_version(conn)
        full = (str(conn.engine.url), *key)
        with self._lock:
            hit = self._data.get(full)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = compute()
        with self._lock:
            if len(self._data) > 2000:
                self._data.clear()
            self._data[full] = (version, value)
        return value


CACHE = VersionedCache()


def round_label(round_row: dict) -> str:
    who = POPULATION_LABEL.get(round_row["population"], round_row["population"])
    if round_row["round_number"] is None:  # a round DTM's calendar does not number
        return f"{who}, {round_row['reporting_date'].isoformat()}"
    return f"round {round_row['round_number']} {who}, {round_row['reporting_date'].isoformat()}"


__all__ = [
    "DATASETS",
    "Dataset",
    "Field",
    "Filter",
    "Selection",
    "UNASSIGNED",
    "get_dataset",
    "CACHE",
    "bucket_totals",
    "boundary_info",
    "data_version",
]
