"""The Flow Monitoring datasets, registered through the layer registry (``service.flows.kind``):
``flow-points`` (the registry, on the points) and ``flow-months`` (monthly counts per point,
direction, origin and destination, on the point). OGC collections take ``datetime`` (the month's
first day); exports read them like any dataset. The flow lines are at /flows/lines and
the registry's tile layers /tiles/flows, /tiles/flow-routes (lines are not a geometry type of the dataset registry)."""

from __future__ import annotations

from service.core.datasets import Dataset, Field, Filter

# the district the point lies in, where its country's boundaries are loaded
POINT_UNIT = (
    "LEFT JOIN boundary_set pb ON pb.country = p.country AND pb.is_current "
    "LEFT JOIN admin_unit pu ON pu.boundary_set_id = pb.id AND pu.level = 2 AND pu.pcode = p.adm2"
)
POINT_FIELDS = [
    Field("fmp_id", "p.fmp_id", "str", "fmp_id", "#loc+code", "Flow monitoring point id"),
    Field("name", "p.name", "str", "name", "#loc+name", "Point name"),
    Field("point_type", "p.point_type", "str", "point_type", "#loc+type", "bus station, border crossing, ..."),
    Field("country", "p.country", "str", "country", "#country+code", "ISO3 code of the point's country"),
    Field("adm1_pcode", "p.adm1", "str", "adm1_pcode", "#adm1+code", "First-level unit (P-code)"),
    Field("adm2_pcode", "p.adm2", "str", "adm2_pcode", "#adm2+code", "Second-level unit (P-code)"),
    Field("name_en", "pu.name_en", "str", "name_en", "#adm2+name+i_en", "English name of the point's unit (adm2)"),
    Field("name_ar", "pu.name_ar", "str", "name_ar", "#adm2+name+i_ar", "Arabic name of the point's unit (adm2)"),
    Field("placement", "p.placement", "str", "placement", "#meta+placement", "declared, point, unchecked, unassigned"),
]


def points() -> Dataset:
    return Dataset(
        key="flow-points",
        kind="flows",
        title="Flow monitoring points",
        description="The flow monitoring points (bus stations, border crossings, transit hubs) of the point registry.",
        per_round=False,
        geometry_type="Point",
        geom_sql="p.geom",
        id_sql="p.fmp_id",
        id_type="str",
        from_sql="flow_point p " + POINT_UNIT,
        where_sql="true",
        order_sql="p.fmp_id",
        fields=tuple(POINT_FIELDS),
        filters=(Filter("country", "p.country = :v", "country", "ISO3 country code"),),
        bucket_sql="p.geom IS NULL",
        country_sql="p.country",
    )


def months() -> Dataset:
    fields = [
        POINT_FIELDS[0],
        *POINT_FIELDS[6:8],
        Field("month", "m.month", "date", "month", "#date+month", "Month (its first day)"),
        Field("direction", "m.direction", "str", "direction", "#indicator+movement", "incoming, outgoing or empty"),
        Field("origin", "m.origin", "str", "origin", "#country+code+origin", "Origin (ISO3 or P-code)"),
        Field("destination", "m.final", "str", "dest", "#country+code+destination", "Destination (ISO3 or P-code)"),
        Field("n", "m.n", "int", "n", "#affected+ind", "People counted in the month"),
    ]
    return Dataset(
        key="flow-months",
        kind="flows",
        title="Flow Monitoring: monthly counts per point",
        description="People counted at each flow monitoring point per month, direction, origin and destination.",
        per_round=False,
        geometry_type="Point",
        geom_sql="p.geom",
        id_sql="m.fmp_id || ':' || m.month || ':' || m.direction || ':' || m.origin || ':' || m.final",
        id_type="str",
        from_sql="flow_month m JOIN flow_point p ON p.fmp_id = m.fmp_id " + POINT_UNIT,
        where_sql="true",
        order_sql="m.month, m.fmp_id, m.n DESC",
        fields=tuple(fields),
        filters=(
            Filter("fmp", "m.fmp_id = :v", "text", "this point"),
            Filter("origin", "m.origin = :v", "text", "this origin"),
            Filter("destination", "m.final = :v", "text", "this destination"),
        ),
        temporal_sql="m.month",
        bucket_sql="p.geom IS NULL",
        country_sql="p.country",
    )


def datasets() -> list[Dataset]:
    return [points(), months()]
