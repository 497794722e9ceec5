"""Checks that hold a suspicious import instead of publishing it (``service.ingest.versions``).

A careless upload must not replace a good round: a list whose rows fall by more than a share
(``DTM_ATLAS_MAX_SHRINK``) against the round it replaces, or the round before it, and a CSV
that ends in the middle of a row or of a quoted field (a cut download, a full disk) are
stored as a *held* version, not published, until an editor confirms them
(``--accept-shrink``; ``POST /rounds/{ref}/confirm``). The messages say why.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import Connection, text

#: how much of the end of a file is read to find its last row
_TAIL = 1 << 16


def truncation(path: Path) -> str | None:
    """Why a CSV looks cut short, or None (``scan`` without a line limit)."""
    return scan(path)


def scan(path: Path, name: str | None = None, max_line: int | None = None) -> str | None:
    """One pass over a CSV's bytes, in blocks (numpy: fast on any size). Raises
    MasterlistError when a line is longer than ``max_line`` bytes (a 10 MB header is not a
    master list: refused before any parsing). Returns why the file looks cut short, or None:
    it ends inside a quoted field (an odd number of quote characters: CSV doubles the quotes
    inside a field), or its last line has no line break and fewer fields than the header."""
    import numpy as np

    from service.ingest.masterlist import MasterlistError

    path = Path(path)
    if path.suffix.lower() != ".csv":
        return None
    name = name or path.name
    quotes = 0
    size = 0
    last_nl = -1  # offset of the last line break seen
    lines = 0
    with open(path, "rb") as fh:
        head = fh.read(4)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return None  # UTF-16: not checked byte-wise
        fh.seek(0)
        while block := fh.read(1 << 22):
            quotes += block.count(b'"')
            if max_line is not None:
                breaks = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + size
                if breaks.size:
                    gaps = np.diff(breaks, prepend=last_nl)
                    worst = int(gaps.argmax())
                    if gaps[worst] - 1 > max_line:
                        raise MasterlistError(
                            name,
                            f"line {lines + worst + 1:,} is {int(gaps[worst]) - 1:,} bytes long, over the limit of "
                            f"{max_line:,} (DTM_ATLAS_MAX_ROW_KB): not a master list row",
                            row=lines + worst + 1,
                        )
                    lines += breaks.size
                    last_nl = int(breaks[-1])
                size += len(block)
                if size - last_nl - 1 > max_line:
                    raise MasterlistError(
                        name,
                        f"line {lines + 1:,} is over {max_line:,} bytes long (DTM_ATLAS_MAX_ROW_KB): "
                        "not a master list row",
                        row=lines + 1,
                    )
            else:
                size += len(block)
        if size == 0:
            return None
        fh.seek(0)
        header_line = fh.readline(1 << 20)
        fh.seek(max(0, size - _TAIL))
        tail = fh.read()
    if quotes % 2:
        return (
            "the file ends inside a quoted field (an odd number of quote characters): it looks cut short; "
            "nothing after the last complete row can be trusted"
        )
    if tail.endswith((b"\n", b"\r")):
        return None
    last = tail.rsplit(b"\n", 1)[-1]
    if not last.strip():
        return None
    try:
        header = next(csv.reader(io.StringIO(header_line.decode("utf-8", "replace").lstrip("\ufeff"))))
        fields = next(csv.reader(io.StringIO(last.decode("utf-8", "replace"))))
    except (csv.Error, StopIteration):
        return None
    if len(fields) < len(header):
        return (
            f"the file ends in the middle of a row (its last line has {len(fields)} of the header's "
            f"{len(header)} fields and no line break): it looks cut short"
        )
    return None


def reference_rows(
    conn: Connection, country: str, population: str, date: dt.date, replaced: int | None
) -> tuple[int, str] | None:
    """The locations of the round a new one is measured against, and what it is: the round it
    replaces, else the published round just before it (same country and population)."""
    if replaced is not None:
        n = conn.execute(
            text("SELECT locations FROM unit_figure WHERE round_id = :r AND level = 0 AND pcode <> 'UNASSIGNED'"),
            {"r": replaced},
        ).scalar()
        if n:
            return int(n), "the round it replaces"
    row = conn.execute(
        text(
            """
            SELECT r.reporting_date, u.locations FROM round r
            JOIN unit_figure u ON u.round_id = r.id AND u.level = 0 AND u.pcode <> 'UNASSIGNED'
            WHERE r.country = :c AND r.population = :p AND r.reporting_date < :d
            ORDER BY r.reporting_date DESC LIMIT 1
            """
        ),
        {"c": country, "p": population, "d": date},
    ).first()
    if row and row.locations:
        return int(row.locations), f"the round before it ({row.reporting_date.isoformat()})"
    return None


def shrink(
    conn: Connection,
    *,
    country: str,
    population: str,
    date: dt.date,
    replaced: int | None,
    rows: int,
    max_share: float,
) -> str | None:
    """Why the new round's rows look too few, or None."""
    ref = reference_rows(conn, country, population, date, replaced)
    if ref is None or max_share >= 1:
        return None
    before, what = ref
    if rows < before * (1 - max_share):
        fall = 1 - rows / before
        return (
            f"{rows:,} locations against {before:,} in {what}: {fall:.0%} fewer, more than the "
            f"{max_share:.0%} allowed (DTM_ATLAS_MAX_SHRINK)"
        )
    return None
