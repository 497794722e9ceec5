"""The quality report of a round: flagged locations (reads ``location_figure``)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import Connection, text

from service.figures.placement import FLAG_DESCRIPTIONS

REPORT_COLUMNS = [
    "source_row", "location_id", "name_en", "name_ar", "declared_adm1_name", "declared_adm2_name",
    "reported_lat", "reported_lon", "declared_adm1", "declared_adm2", "spatial_adm1", "spatial_adm2",
    "spatial_adm3", "adm1", "adm2", "adm3", "placement", "families", "individuals", "flags",
]


def quality_report(conn: Connection, round_id: int, flag: str | None = None, limit: int | None = None,
                   offset: int = 0) -> dict:
    summary = conn.execute(
        text(
            """
            SELECT count(*) AS rows,
                   count(*) FILTER (WHERE cardinality(flags) > 0) AS flagged_rows,
                   count(*) FILTER (WHERE adm1 = 'UNASSIGNED') AS unassigned_adm1,
                   count(*) FILTER (WHERE adm2 = 'UNASSIGNED') AS unassigned_adm2,
                   count(*) FILTER (WHERE adm3 = 'UNASSIGNED') AS unassigned_adm3
            FROM location_figure WHERE round_id = :r
            """
        ),
        {"r": round_id},
    ).mappings().one()
    counts = dict(
        conn.execute(
            text("SELECT f, count(*) FROM location_figure, unnest(flags) f WHERE round_id = :r GROUP BY f ORDER BY f"),
            {"r": round_id},
        ).all()
    )
    cols = ", ".join(REPORT_COLUMNS)
    rows = conn.execute(
        text(
            f"""
            SELECT {cols} FROM location_figure
            WHERE round_id = :r AND cardinality(flags) > 0 AND (CAST(:flag AS text) IS NULL OR :flag = ANY(flags))
            ORDER BY source_row LIMIT :limit OFFSET :offset
            """
        ),
        {"r": round_id, "flag": flag, "limit": limit, "offset": offset},
    ).mappings()
    return {
        "round_id": round_id,
        **dict(summary),
        "flags": {k: {"count": v, "meaning": FLAG_DESCRIPTIONS.get(k, k)} for k, v in counts.items()},
        "locations": [dict(r) for r in rows],
    }


def report_csv(report: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(REPORT_COLUMNS)
    for row in report["locations"]:
        w.writerow([";".join(row[c]) if c == "flags" else row[c] for c in REPORT_COLUMNS])
    return buf.getvalue()
