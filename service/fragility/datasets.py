"""The fragility datasets, registered through the layer registry (``service.fragility.kind``):
``fragility-adm1`` .. ``fragility-adm3``, the stored default run of a round per unit, on the
unit's polygon. OGC collections (``idp-r120-fragility-adm3``) and exports (GeoPackage, CSV
with HXL, ...) read them like any dataset. They read what a run stored; a round without a
stored run has no rows (compute it with ``dtm-atlas fragility compute`` or any
``/fragility`` request).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from service.core.datasets import LEVEL_NAMES, Dataset, Field, Filter, ancestor_filters, ancestor_joins, unit_fields
from service.fragility.store import DEFAULT_METHOD_ID, class_key_sql, run_of_round_sql


def _dataset(level: int) -> Dataset:
    fields = unit_fields(level)
    fields += [
        Field(
            "status",
            "fres.status",
            "str",
            "status",
            "#status+fragility",
            "ok, or insufficient_data (too few indicators)",
        ),
        Field(
            "fragility_index",
            "round(fres.index::numeric, 3)::float8",
            "float",
            "frag_index",
            "#indicator+fragility+index",
            "Fragility index, 0 (least) to 100 (most fragile)",
        ),
        Field(
            "fragility_class",
            class_key_sql("fres"),
            "str",
            "frag_class",
            "#indicator+fragility+class",
            "very_low, low, medium, high, very_high or insufficient_data",
        ),
        Field(
            "class_number",
            "fres.class",
            "int",
            "class_num",
            "#indicator+fragility+class+num",
            "Class 1 (very low) .. 5 (very high)",
        ),
        Field(
            "completeness",
            "round(fres.completeness::numeric, 4)::float8",
            "float",
            "complete",
            "#meta+completeness+pct",
            "Indicators available, a fraction (0-1)",
        ),
        Field(
            "dimensions",
            "fres.dimensions::text",
            "str",
            "dimensions",
            "#indicator+fragility+dimensions",
            "Dimension scores (0-100), JSON",
        ),
        Field(
            "rank_p5",
            "fres.rank_p5",
            "float",
            "rank_p5",
            "#indicator+rank+p5",
            "Rank (1 = most fragile), 5th percentile of the draws",
        ),
        Field("rank_p50", "fres.rank_p50", "float", "rank_p50", "#indicator+rank+p50", "Rank, median of the draws"),
        Field(
            "rank_p95",
            "fres.rank_p95",
            "float",
            "rank_p95",
            "#indicator+rank+p95",
            "Rank, 95th percentile of the draws",
        ),
        Field(
            "p_high",
            "round(fres.p_high::numeric, 4)::float8",
            "float",
            "p_high",
            "#indicator+fragility+p_high",
            "Share of the draws in a high class, a fraction (0-1)",
        ),
        Field(
            "hotspot",
            "CASE WHEN fres.hotspot THEN 1 ELSE 0 END",
            "int",
            "hotspot",
            "#indicator+hotspot",
            "1 when the unit meets the method's hotspot rule"
            + (" (a district/governorate: any of its sub-districts)" if level < 3 else ""),
        ),
        Field("idps", "fres.idps", "int", "idps", "#affected+idps+ind", "IDP individuals"),
        Field("returnees", "fres.returnees", "int", "returnees", "#affected+returnees+ind", "Returnee individuals"),
        Field(
            "residents",
            "round(fres.residents::numeric)::bigint",
            "int",
            "residents",
            "#population+total",
            "Residents (the method's population source)",
        ),
        Field(
            "method",
            "frun.method_id || ' ' || frun.method_version",
            "str",
            "method",
            "#meta+method",
            "Method id and version",
        ),
        Field("round_number", "frun.round_number", "int", "round_num", "#round+code", "DTM round number"),
    ]
    return Dataset(
        key=f"fragility-adm{level}",
        kind="fragility",
        level=level,
        per_round=True,
        title=f"Fragility per {LEVEL_NAMES[level]} (admin {level})",
        description=(
            f"Fragility index, class, dimension scores, completeness, uncertainty (rank p5/p50/p95, "
            f"P(high class)) and hotspot flag per {LEVEL_NAMES[level]}, from the stored run of the default "
            f"method ({DEFAULT_METHOD_ID}) for the round"
            + ("; districts and governorates are residents-weighted means of their sub-districts" if level < 3 else "")
            + ". The method card: /fragility/method?round=N."
        ),
        geometry_type="MultiPolygon",
        geom_sql="u.geom",
        id_sql="fres.pcode",
        id_type="str",
        from_sql="fragility_result fres JOIN fragility_run frun ON frun.id = fres.run_id\n"
        "JOIN admin_unit u ON u.boundary_set_id = frun.boundary_set_id AND u.pcode = fres.pcode\n"
        + ancestor_joins(level),
        where_sql=f"fres.run_id = {run_of_round_sql('CAST(:round_id AS int)')} AND fres.level = {level}",
        order_sql="fres.pcode",
        fields=tuple(fields),
        filters=(
            Filter("pcode", "fres.pcode = :v", "pcode", "this unit (P-code, any form)"),
            Filter("fragility_class", f"{class_key_sql('fres')} = :v", "text", "units of this class"),
            *ancestor_filters(level),
        ),
        temporal_sql=None,
    )


def datasets() -> list[Dataset]:
    """``fragility-adm1`` .. ``fragility-adm3``."""
    return [_dataset(lvl) for lvl in (1, 2, 3)]


def rounds_with_runs(conn: Connection) -> set[int]:
    """Ids of the IDP rounds a default run is stored for (their OGC collections are listed)."""
    return set(
        conn.execute(
            text("SELECT idp_round_id FROM fragility_run WHERE method_id = :m AND idp_round_id IS NOT NULL"),
            {"m": DEFAULT_METHOD_ID},
        ).scalars()
    )


def method_card_markdown(conn: Connection, round_id: int) -> str | None:
    """The Markdown method card of the round's stored default run (for export READMEs)."""
    from service.fragility.card import markdown

    row = (
        conn.execute(
            text(f"SELECT * FROM fragility_run WHERE id = {run_of_round_sql('CAST(:r AS int)')}"), {"r": round_id}
        )
        .mappings()
        .first()
    )
    return markdown(dict(row)) if row else None
