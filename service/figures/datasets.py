"""The master lists' published datasets (the tables ``service.figures`` and
``service.ingest.sites`` own), for the layer registry (``service.figures.kind``):

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

from service.core.constants import UNASSIGNED
from service.core.datasets import (
    LEVEL_NAMES,
    Dataset,
    Field,
    Filter,
    adm_fields,
    adm_filters,
    adm_joins,
    ancestor_fields,
    ancestor_filters,
    ancestor_joins,
    dtm_pcode_sql,
    lonlat_fields,
    unit_tag,
)

#: the round of a row (the table ``r``: ``round``), last in every per-round dataset
ROUND_FIELDS = (
    Field("round_number", "r.round_number", "int", "round_num", "#round+code", "DTM round number"),
    Field("population", "r.population", "str", "population", "#meta+population", "idp or returnee"),
    Field("reporting_date", "r.reporting_date", "date", "rep_date", "#date+reported", "Reporting date of the round"),
)


def _point_names(alias: str, what: str) -> list[Field]:
    """The English and Arabic names of a point row ``alias`` (a location, a site)."""
    return [
        Field(
            f"name_{lang}", f"{alias}.name_{lang}", "str", f"name_{lang}", f"#loc+name+i_{lang}", f"{what} name, {word}"
        )
        for lang, word in (("en", "English"), ("ar", "Arabic"))
    ]


def _point_place(alias: str) -> list[Field]:
    """Where a point row ``alias`` is: the units it lies in (``adm_joins``), its latitude and longitude."""
    return [*adm_fields(alias), *lonlat_fields(alias)]


def _figures(level: int) -> Dataset:
    tag = unit_tag(level)
    fields = [
        Field(
            "pcode",
            "k.pcode",
            "str",
            "pcode",
            f"{tag}+code",
            f"P-code of the {LEVEL_NAMES[level]} ({UNASSIGNED}: locations not placed in one)",
        ),
        Field("dtm_pcode", dtm_pcode_sql("u"), "str", "dtm_pcode", f"{tag}+code+dtm", "P-code in the DTM API form"),
        Field(
            "name_en",
            f"coalesce(u.name_en, CASE WHEN k.pcode = '{UNASSIGNED}' THEN 'Unassigned' END)",
            "str",
            "name_en",
            f"{tag}+name+i_en",
            "English name",
        ),
        Field("name_ar", "u.name_ar", "str", "name_ar", f"{tag}+name+i_ar", "Arabic name"),
    ]
    fields += ancestor_fields(level)
    fields += [
        Field("families", "coalesce(uf.families, 0)", "int", "families", "#affected+{pop}+hh", "Families (households)"),
        Field(
            "individuals",
            "coalesce(uf.individuals, 0)",
            "int",
            "indiv",
            "#affected+{pop}+ind",
            "Individuals as the master list counts them (its own Individuals column summed)",
        ),
        Field(
            "published_individuals",
            "coalesce(uf.published_individuals, 0)",
            "int",
            "pub_ind",
            "#affected+{pop}+ind+published",
            "Individuals as DTM publishes them (household size per shelter, e.g. 5 in camps from 31 Aug 2020; "
            "the DTM API's numPresentIdpInd)",
        ),
        Field(
            "locations", "coalesce(uf.locations, 0)", "int", "locations", "#meta+locations+num", "Locations reporting"
        ),
        Field(
            "change_individuals",
            "uf.change_individuals",
            "int",
            "chg_ind",
            "#affected+{pop}+ind+change",
            "Change in individuals since the previous round of the population",
        ),
        Field(
            "change_share",
            "round(uf.change_share::numeric, 4)::float",
            "float",
            "chg_share",
            "#affected+{pop}+ind+change+pct",
            "Change in individuals since the previous round, a fraction (0.125 = +12.5 %; -1 = all left)",
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
            "change_12m_share",
            "round(uf.change_12m_share::numeric, 4)::float",
            "float",
            "chg12_shr",
            "#affected+{pop}+ind+change+pct+12m",
            "Change in individuals over 12 months, a fraction (0.125 = +12.5 %)",
        ),
        Field(
            "share_national",
            "round(coalesce(uf.share_national, 0)::numeric, 4)::float",
            "float",
            "share_nat",
            "#affected+{pop}+ind+pct+national",
            "Share of the national total of individuals, a fraction (0-1)",
        ),
        *ROUND_FIELDS,
    ]
    filters = [Filter("pcode", "k.pcode = :v", "pcode", "this unit (P-code, any form)")]
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
        id_sql="k.pcode",
        id_type="str",
        # every unit of the level in the round's boundary set, with or without figures (a unit
        # without locations counts 0; its changes stay empty: unknown), and the unassigned bucket
        from_sql=f"""round r
        CROSS JOIN LATERAL (
            SELECT a.pcode FROM admin_unit a WHERE a.boundary_set_id = r.boundary_set_id AND a.level = {level}
            UNION SELECT f.pcode FROM unit_figure f WHERE f.round_id = r.id AND f.level = {level}) k
        LEFT JOIN unit_figure uf ON uf.round_id = r.id AND uf.level = {level} AND uf.pcode = k.pcode
        LEFT JOIN admin_unit u ON u.boundary_set_id = r.boundary_set_id AND u.pcode = k.pcode
        """
        + ancestor_joins(level),
        where_sql="r.id = :round_id",
        order_sql=f"k.pcode = '{UNASSIGNED}', k.pcode",
        fields=tuple(fields),
        filters=tuple(filters),
        temporal_sql="r.reporting_date",
        bucket_sql=f"k.pcode = '{UNASSIGNED}'",
    )


def _locations(extra: list[Field]) -> Dataset:
    return Dataset(
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
        + adm_joins("f", "r.boundary_set_id"),
        where_sql="f.round_id = :round_id",
        order_sql="f.id",
        fields=(
            Field("location_id", "f.location_id", "str", "loc_id", "#loc+code", "DTM location ID"),
            Field("place_id", "l.place_id", "str", "place_id", "#loc+code+place", "DTM place ID"),
            *_point_names("f", "Location"),
            Field("families", "f.families", "int", "families", "#affected+{pop}+hh", "Families (households)"),
            Field("individuals", "f.individuals", "int", "indiv", "#affected+{pop}+ind", "Individuals"),
            *_point_place("f"),
            Field(
                "placement",
                "f.placement",
                "str",
                "placement",
                "#meta+placement",
                "How the location was placed in units: declared (DTM's governorate/district) or spatial "
                "(point in polygon)",
            ),
            Field(
                "flags",
                "nullif(array_to_string(f.flags, ';'), '')",
                "str",
                "flags",
                "#meta+flags",
                "Quality flags, ';'-separated",
            ),
            *extra,  # the kinds' location columns (service.core.registry.LocationColumn)
            *ROUND_FIELDS,
        ),
        filters=(
            Filter("location_id", "f.location_id = :v", "text", "DTM location ID"),
            *adm_filters("f"),
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
    from_sql="site s LEFT JOIN boundary_set bs ON bs.country = s.country AND bs.is_current" + adm_joins("s", "bs.id"),
    where_sql="true",
    order_sql="s.country, s.site_id",
    fields=(
        Field("site_id", "s.site_id", "str", "site_id", "#loc+code", "Site ID"),
        *_point_names("s", "Site"),
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
        *_point_place("s"),
    ),
    filters=(
        Filter("site_id", "s.site_id = :v", "text", "Site ID"),
        Filter("site_type", "s.site_type = :v", "text", "Site type"),
        Filter("status", "s.status = :v", "text", "Site status"),
        Filter("country", "s.country = :v", "country", "ISO3 country code"),
        *adm_filters("s"),
    ),
    country_sql="s.country",
)


def datasets(location_columns: list[Field]) -> list[Dataset]:
    """``locations`` (with the kinds' ``location_columns``), ``sites``, ``figures-adm1..3``."""
    return [_locations(location_columns), SITES, *(_figures(lvl) for lvl in (1, 2, 3))]
