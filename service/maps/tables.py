"""Summary tables of the information package, read from the export datasets
(``service.publish.datasets``: the stored ``unit_figure`` rows, as the CSV/XLSX exports give them):

* totals per governorate and per district, with the change since the previous round (stored)
  and the change over 12 months (this round's stored individuals minus those of the round of
  the same population reported 11-13 months earlier, when there is one; empty otherwise);
* the top districts by individuals.

Rows are sorted by size (individuals, largest first; the UNASSIGNED bucket last). The XLSX
sheets end with a "Total" row; the CSVs do not (their rows are units, for machines).

Written as CSV (UTF-8 with BOM, an HXL hashtag row after the header) and as one XLSX workbook.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from service.core.rounds import list_rounds
from service.maps.naming import round_label, round_tag
from service.publish.datasets import DATASETS, Selection

TWELVE_MONTHS = (dt.timedelta(days=335), dt.timedelta(days=395))
TOP = 10


@dataclass
class Table:
    name: str  # file base name
    title: str
    columns: list[str]
    hxl: list[str]
    rows: list[list]
    note: str = ""


def _rows(conn: Connection, rnd: dict, level: int) -> tuple[list[str], list[str], list[list]]:
    ds = DATASETS[f"figures-adm{level}"]
    sel = Selection(ds, round=rnd, spatial=False)
    rows: list[list] = []
    for part in sel.batches(conn, "table"):
        rows.extend(list(r[1:]) for r in part)
    return [f.name for f in ds.fields], [f.hxl_for(rnd["population"]) for f in ds.fields], rows


def round_12_months_before(conn: Connection, rnd: dict) -> dict | None:
    """The round of the same population reported 11-13 months before ``rnd`` (nearest to 12)."""
    lo, hi = rnd["reporting_date"] - TWELVE_MONTHS[1], rnd["reporting_date"] - TWELVE_MONTHS[0]
    target = rnd["reporting_date"] - dt.timedelta(days=365)
    cands = [r for r in list_rounds(conn, rnd["country"], rnd["population"]) if lo <= r["reporting_date"] <= hi]
    return min(cands, key=lambda r: abs((r["reporting_date"] - target).days), default=None)


KEEP = (
    "pcode",
    "name_en",
    "name_ar",
    "adm1_pcode",
    "adm1_name",
    "families",
    "individuals",
    "published_individuals",
    "locations",
    "change_individuals",
    "change_share",
    "share_national",
)


def unit_tables(conn: Connection, rnd: dict, base: str) -> list[Table]:
    """Governorate and district totals and the top districts of one round (``base``: e.g.
    ``irq_dtm_idp`` ... the round part is added)."""
    pop = rnd["population"]
    tag = f"{round_tag(rnd['round_number'], rnd['reporting_date'])}_{rnd['reporting_date'].strftime('%Y%m%d')}"
    year_ago = round_12_months_before(conn, rnd)
    out = []
    for level, what in ((1, "governorates"), (2, "districts")):
        cols, hxl, rows = _rows(conn, rnd, level)
        idx = [cols.index(c) for c in KEEP if c in cols]
        keep_cols = [cols[i] for i in idx]
        keep_hxl = [hxl[i] for i in idx]
        old: dict[str, int] = {}
        if year_ago is not None:
            ocols, _, orows = _rows(conn, year_ago, level)
            p, v = ocols.index("pcode"), ocols.index("individuals")
            old = {r[p]: r[v] for r in orows}
        p, v = cols.index("pcode"), cols.index("individuals")
        table_rows = []
        for r in rows:
            change12 = (r[v] - old[r[p]]) if r[p] in old and r[v] is not None and old[r[p]] is not None else None
            table_rows.append([r[i] for i in idx] + [change12])
        table_rows = by_size(table_rows, keep_cols)
        note = (
            f"change_12_months: against {round_label(year_ago)} ({year_ago['reporting_date'].isoformat()})"
            if year_ago
            else "change_12_months: no round of this population was reported 11-13 months earlier"
        )
        out.append(
            Table(
                f"{base}_{what}_{tag}",
                f"{pop} totals per {what[:-1]}, {round_label(rnd)}",
                keep_cols + ["change_12_months"],
                keep_hxl + [f"#affected+{pop}s+ind+change+12m"],
                table_rows,
                note,
            )
        )
        if level == 2:
            i = keep_cols.index("individuals")
            top = sorted((r for r in table_rows if r[0] != "UNASSIGNED" and r[i]), key=lambda r: -r[i])[:TOP]
            out.append(
                Table(
                    f"{base}_top_districts_{tag}",
                    f"top {TOP} districts by {pop} individuals, {round_label(rnd)}",
                    out[-1].columns,
                    out[-1].hxl,
                    top,
                    note,
                )
            )
    return out


def by_size(rows: list[list], columns: list[str]) -> list[list]:
    """Rows sorted by individuals, largest first (ties by P-code); the UNASSIGNED bucket last."""
    i, p = columns.index("individuals"), columns.index("pcode")
    return sorted(rows, key=lambda r: (r[p] == "UNASSIGNED", -(r[i] or 0), r[p]))


def total_row(table: Table) -> list:
    """A "Total" row: the sum of every count column (families, individuals, published individuals,
    locations, changes); other cells empty. Added to the XLSX sheets and the summary, never to the
    CSV (a data file whose rows are units, for machines)."""
    summed = {"families", "individuals", "published_individuals", "locations", "change_individuals", "change_12_months"}
    row: list = []
    for k, col in enumerate(table.columns):
        if col in summed:
            vals = [r[k] for r in table.rows if r[k] is not None]
            row.append(sum(vals) if vals else None)
        else:
            row.append(None)
    row[0] = "Total"
    return row


def write_csv(table: Table, folder: Path) -> Path:
    path = Path(folder) / f"{table.name}.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(table.columns)
        w.writerow(table.hxl)
        w.writerows(table.rows)
    return path


def write_xlsx(tables: list[Table], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for t in tables:
        ws = wb.create_sheet(t.name[-31:] if len(t.name) > 31 else t.name)
        ws.title = _sheet_title(t, wb)
        ws.append([t.title])
        ws["A1"].font = Font(bold=True)
        ws.append(t.columns)
        ws.append(t.hxl)
        for r in t.rows:
            ws.append(r)
        if t.rows and "_top_districts_" not in t.name:
            ws.append(total_row(t))
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)
        if t.note:
            ws.append([])
            ws.append([t.note])
    wb.save(path)
    return path


def _sheet_title(t: Table, wb) -> str:
    parts = t.name.split("_")
    # irq_dtm_idp_governorates_r120_20210228 -> idp governorates r120
    core = " ".join(p for p in parts[2:-1])[:31]
    title, n = core, 2
    while title in wb.sheetnames:
        title = f"{core[:28]} {n}"
        n += 1
    return title
