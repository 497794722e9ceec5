"""The admin units as published datasets: ``admin0`` .. ``admin3``, the units of a level in
the current boundary set(s), polygons (OGC API - Features and every export read them through
``service.publish.datasets``). Their rows are the tables ``boundaries.store`` owns.
"""

from __future__ import annotations

from service.core.datasets import (
    LEVEL_NAMES,
    Dataset,
    Field,
    Filter,
    ancestor_filters,
    ancestor_joins,
    dtm_pcode_sql,
    unit_tag,
)


def _admin(level: int) -> Dataset:
    tag = unit_tag(level)
    fields = [
        Field("pcode", "u.pcode", "str", "pcode", f"{tag}+code", "P-code (OCHA COD-AB form, e.g. IQG07Q02)"),
        Field(
            "dtm_pcode",
            dtm_pcode_sql("u"),
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
                f"{unit_tag(level - 1)}+code",
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
        + ancestor_joins(level),
        where_sql=f"u.level = {level}",
        order_sql="u.country, u.pcode",
        fields=tuple(fields),
        filters=tuple(filters),
        temporal_sql="u.valid_on",
        country_sql="u.country",
    )


ADMIN_DATASETS: dict[str, Dataset] = {ds.key: ds for ds in (_admin(lvl) for lvl in range(4))}
