"""Several master lists in one go (a history): each file its own round and transaction.

A file that fails is reported and the others go on; a file whose list (its bytes, once
decompressed) is already the source of a round is ``unchanged`` and not imported again;
two files of one date in one batch: the second is rejected, as it would replace the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from service.ingest.masterlist import MasterlistError
from service.ingest.rounds import ImportRejected, RoundImportResult, import_masterlist, imported_round
from service.ingest.sources import open_list


@dataclass
class FileOutcome:
    file: str
    outcome: str  # 'imported' | 'unchanged' | 'rejected'
    message: str | None = None
    result: RoundImportResult | None = None
    round_number: int | None = None
    reporting_date: dt.date | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "rejected"


def _checksum(path: Path) -> str:
    with open_list(path) as opened:
        return opened.sha256


def import_many(
    engine: Engine,
    paths: Sequence[Path],
    *,
    population: str,
    replace: bool = False,
    on_file: Callable[[Path, FileOutcome], None] | None = None,
    **options,
) -> list[FileOutcome]:
    """Import ``paths`` one by one (``options``: those of ``rounds.import_masterlist``).
    ``replace``: import a file again even when its list is already imported."""
    outcomes: list[FileOutcome] = []
    taken: dict[dt.date, str] = {}
    for path in paths:
        name = path.name
        try:
            known = None
            if not replace:
                with engine.connect() as conn:
                    known = imported_round(conn, _checksum(path), population)
            if known is not None and known["reporting_date"] not in taken:
                out = FileOutcome(
                    name,
                    "unchanged",
                    "already imported",
                    round_number=known["round_number"],
                    reporting_date=known["reporting_date"],
                )
            else:
                res = import_masterlist(engine, path, population=population, taken_dates=taken, **options)
                out = FileOutcome(
                    name, "imported", result=res, round_number=res.round_number, reporting_date=res.reporting_date
                )
        except (MasterlistError, ImportRejected) as exc:
            out = FileOutcome(name, "rejected", str(exc))
        if out.reporting_date is not None:
            taken.setdefault(out.reporting_date, name)
        outcomes.append(out)
        if on_file is not None:
            on_file(path, out)
    return outcomes
