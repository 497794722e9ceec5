"""The quality report of a round: flagged locations (reads ``location_figure``; its totals
``unit_figure``'s through ``aggregate.round_totals``)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import Connection, text

from service.figures.aggregate import round_totals
from service.figures.placement import FLAG_DESCRIPTIONS, round_table

REPORT_COLUMNS = [
    "source_row",
    "location_id",
    "name_en",
    "name_ar",
    "declared_adm1_name",
    "declared_adm2_name",
    "reported_lat",
    "reported_lon",
    "declared_adm1",
    "declared_adm2",
    "spatial_adm1",
    "spatial_adm2",
    "spatial_adm3",
    "adm1",
    "adm2",
    "adm3",
    "placement",
    "families",
    "individuals",
    "flags",
]


def flag_counts(conn: Connection, round_id: int, own_table: bool = False) -> tuple[int, dict[str, int]]:
    """The round's flagged rows, and its rows per flag by flag name (one pass; only flagged
    rows opened). ``own_table``: read the round's own table (an import counts before it
    attaches the table to ``location_figure``)."""
    rows = round_table(round_id) if own_table else "location_figure"
    counts = conn.execute(
        text(
            f"""
            WITH flagged AS MATERIALIZED (
              SELECT flags FROM {rows} WHERE round_id = :r AND cardinality(flags) > 0
            )
            SELECT NULL AS flag, count(*) FROM flagged
            UNION ALL SELECT flag, count(*) FROM flagged, unnest(flags) AS flag GROUP BY flag
            """
        ),
        {"r": round_id},
    ).all()
    return next(n for f, n in counts if f is None), dict(sorted((f, n) for f, n in counts if f is not None))


def quality_report(
    conn: Connection, round_id: int, flag: str | None = None, limit: int | None = None, offset: int = 0
) -> dict:
    flagged, counts = flag_counts(conn, round_id)
    totals = round_totals(conn, round_id)
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
        "rows": totals["rows"],
        "flagged_rows": flagged,
        **{f"unassigned_adm{level}": totals[f"u{level}"] for level in (1, 2, 3)},
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
