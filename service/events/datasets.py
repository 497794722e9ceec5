"""The Emergency Tracking datasets, registered through the layer registry (``service.events.kind``):
``events-locations`` (one row per location and day, on its point) and ``events-adm1`` ..
``events-adm3`` (a unit's figures per day, on its polygon). OGC collections take ``datetime``
(the day) and ``crisis=``; exports (GeoPackage, CSV with HXL, ...) read them like any dataset.
UNASSIGNED rows and rows without a point are left out of spatial outputs and kept in tables.
"""

from __future__ import annotations

from service.core.constants import UNASSIGNED
from service.core.datasets import LEVEL_NAMES, Dataset, Field, Filter

COUNTS = [
    ("idp_hh", "idp_hh", "#affected+hh+idps+new", "IDP families newly displaced on the day"),
    ("idp_ind", "idp_ind", "#affected+ind+idps+new", "IDPs (individuals) newly displaced on the day"),
    ("ret_hh", "ret_hh", "#affected+hh+returnees+new", "Returnee families on the day"),
    ("ret_ind", "ret_ind", "#affected+ind+returnees+new", "Returnees (individuals) on the day"),
]


def _counts(alias: str) -> list[Field]:
    return [Field(n, f"{alias}.{n}::bigint", "int", s, h, d) for n, s, h, d in COUNTS]


def locations() -> Dataset:
    fields = [
        Field("crisis_id", "e.crisis_id", "str", "crisis", "#crisis+code", "Crisis id"),
        Field("day", "e.day", "date", "day", "#date", "Day of the report"),
        Field("loc_code", "e.loc_code", "str", "loc_code", "#loc+code", "Location or site code"),
        Field("loc_name", "e.loc_name", "str", "loc_name", "#loc+name", "Location or site name"),
        Field("adm1_pcode", "e.adm1", "str", "adm1_pcode", "#adm1+code", "Governorate (placed)"),
        Field("adm2_pcode", "e.adm2", "str", "adm2_pcode", "#adm2+code", "District (placed)"),
        Field("adm3_pcode", "e.adm3", "str", "adm3_pcode", "#adm3+code", "Sub-district (placed)"),
        Field("name_en", "u3.name_en", "str", "name_en", "#adm3+name+i_en", "English name of the sub-district"),
        Field("name_ar", "u3.name_ar", "str", "name_ar", "#adm3+name+i_ar", "Arabic name of the sub-district"),
        Field("placement", "e.placement", "str", "placement", "#meta+placement", "declared, point or unassigned"),
        Field("flag", "e.flag", "str", "flag", "#meta+flag", "Quality flag of the placement"),
        *_counts("e"),
        Field("origin_adm1", "e.origin_adm1", "str", "orig_adm1", "#adm1+code+origin", "Governorate of origin"),
        Field("origin_adm2", "e.origin_adm2", "str", "orig_adm2", "#adm2+code+origin", "District of origin"),
        Field("shelter", "e.shelter", "str", "shelter", "#indicator+shelter", "Shelter"),
        Field("cause", "e.cause", "str", "cause", "#cause", "Cause of displacement"),
    ]
    return Dataset(
        key="events-locations",
        kind="events",
        title="Emergency Tracking: locations per day",
        description="Emergency Tracking reports: one row per location (or site) and day, with the newly displaced "
        "and returning families and individuals, as imported and placed.",
        per_round=False,
        geometry_type="Point",
        geom_sql="e.geom",
        id_sql="e.crisis_id || ':' || e.day || ':' || e.loc_code",
        id_type="str",
        from_sql="event_row e JOIN event_crisis c ON c.crisis_id = e.crisis_id LEFT JOIN admin_unit u3 "
        "ON u3.boundary_set_id = c.boundary_set_id AND u3.level = 3 AND u3.pcode = e.adm3",
        where_sql="true",
        order_sql="e.crisis_id, e.day, e.loc_code",
        fields=tuple(fields),
        filters=(
            Filter("crisis", "e.crisis_id = :v", "text", "rows of this crisis"),
            Filter("adm1", "e.adm1 = :v", "pcode", "rows placed in this governorate"),
            Filter("adm2", "e.adm2 = :v", "pcode", "rows placed in this district"),
        ),
        temporal_sql="e.day",
        bucket_sql="e.geom IS NULL",
        country_sql="c.country",
    )


def units(level: int) -> Dataset:
    fields = [
        Field("crisis_id", "d.crisis_id", "str", "crisis", "#crisis+code", "Crisis id"),
        Field("day", "d.day", "date", "day", "#date", "Day"),
        Field("pcode", "d.pcode", "str", "pcode", f"#adm{level}+code", f"P-code of the {LEVEL_NAMES[level]}"),
        Field("name_en", "u.name_en", "str", "name_en", f"#adm{level}+name+i_en", "English name"),
        Field("name_ar", "u.name_ar", "str", "name_ar", f"#adm{level}+name+i_ar", "Arabic name"),
        *_counts("d"),
        Field("locations", "d.locations", "int", "locations", "#loc+count", "Locations reporting on the day"),
    ]
    return Dataset(
        key=f"events-adm{level}",
        kind="events",
        level=level,
        title=f"Emergency Tracking: {LEVEL_NAMES[level]} figures per day",
        description=f"New displacement and returns per {LEVEL_NAMES[level]} and day of each Emergency Tracking crisis "
        "(sums of the day's reports; cumulative and rolling figures at /events/{crisis}/figures).",
        per_round=False,
        geometry_type="MultiPolygon",
        geom_sql="u.geom",
        id_sql="d.crisis_id || ':' || d.pcode || ':' || d.day",
        id_type="str",
        from_sql="event_unit_day d JOIN event_crisis c ON c.crisis_id = d.crisis_id "
        "LEFT JOIN admin_unit u ON u.boundary_set_id = c.boundary_set_id AND u.level = d.level AND u.pcode = d.pcode",
        where_sql=f"d.level = {level}",
        order_sql="d.crisis_id, d.day, d.pcode",
        fields=tuple(fields),
        filters=(
            Filter("crisis", "d.crisis_id = :v", "text", "rows of this crisis"),
            Filter("pcode", "d.pcode = :v", "pcode", "this unit"),
        ),
        temporal_sql="d.day",
        bucket_sql=f"d.pcode = '{UNASSIGNED}'",
        country_sql="c.country",
    )


def datasets() -> list[Dataset]:
    return [locations(), units(1), units(2), units(3)]
