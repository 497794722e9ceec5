"""Several master lists in one go (a history): each file its own round and transaction.

A file that fails is reported and the others go on; a file whose list (its bytes, once
decompressed) is already the source of a round is ``unchanged`` and not imported again; each
file is opened, decompressed and hashed once (``sources.open_list``), for that check and the import;
two files of one date in one batch: the second is rejected, as it would replace the first.
The aggregates' planner statistics are refreshed once, when the batch ends, not after each file.

Files are imported side by side (``workers`` connections, default ``core.constants.IMPORT_JOBS``):
each stages, places and aggregates its round on its own and takes turns with the others only for the end of its
transaction (``service.ingest.rounds``). The outcomes come back in the order of ``paths``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from service.core.constants import IMPORT_JOBS
from service.core.importlog import ImportRecord, log_rejection
from service.core.settings import ImportRules
from service.figures import aggregate
from service.ingest.masterlist import MasterlistError
from service.ingest.rounds import (
    DateClaims,
    DateTaken,
    ImportRejected,
    RoundImportResult,
    import_masterlist,
    imported_round,
)
from service.ingest.sources import Opened, open_list

logger = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    file: str
    outcome: str  # 'imported' | 'held' (stored, not published: ``message`` says why) | 'unchanged' | 'rejected'
    message: str | None = None
    result: RoundImportResult | None = None
    round_number: int | None = None
    reporting_date: dt.date | None = None

    @property
    def ok(self) -> bool:
        return self.outcome != "rejected"


@contextmanager
def _open(engine: Engine, path: Path, max_bytes: int, username: str | None) -> Iterator[Opened]:
    """The list in ``path``, decompressed and hashed once for the whole import (the unchanged
    check and ``import_masterlist``); a file that cannot be opened is logged as rejected, as
    ``import_masterlist`` logs it."""
    with ExitStack() as files:
        try:
            opened = files.enter_context(open_list(path, path.name, max_bytes))
        except MasterlistError as exc:
            rec = ImportRecord(kind="masterlist", file_name=path.name, sha256=None)
            if username:
                rec.username = username
            log_rejection(engine, rec, str(exc))
            raise
        yield opened


def import_many(
    engine: Engine,
    paths: Sequence[Path],
    *,
    population: str,
    replace: bool = False,
    on_file: Callable[[Path, FileOutcome], None] | None = None,
    workers: int = IMPORT_JOBS,
    **options,
) -> list[FileOutcome]:
    """Import ``paths`` (``options``: those of ``rounds.import_masterlist``), ``workers`` files
    at a time. ``replace``: import a file again even when its list is already imported.
    ``on_file`` is called as each file ends (from one thread at a time)."""
    # PostgreSQL's parallel workers for a file imported alone; not for files side by side
    parallel_query = options.pop("parallel_query", not (workers > 1 and len(paths) > 1))
    rules = options.get("rules") or ImportRules()
    # the one decompressed-size limit of the CLI and the API; who the import is logged as
    max_bytes = options.get("max_bytes") or rules.max_bytes
    username = options.get("username") or rules.user
    batch = len(paths) > 1  # unit_figure's statistics refreshed once, at the end (_analyze_once)
    taken = DateClaims()
    report = threading.Lock()
    sums: dict[str, str] = {}  # file name -> checksum of its list (each key written by its own thread)

    def one(index: int, path: Path) -> FileOutcome:
        name = path.name
        ticket = taken.ticket(index)
        try:
            with _open(engine, path, max_bytes, username) as opened:
                known = None
                if not replace:
                    sums[name] = opened.sha256
                    with engine.connect() as conn:
                        known = imported_round(conn, sums[name], population)
                if known is not None and ticket.claim(known["reporting_date"], name) is None:
                    out = FileOutcome(
                        name,
                        "unchanged",
                        "already imported",
                        round_number=known["round_number"],
                        reporting_date=known["reporting_date"],
                    )
                else:
                    res = import_masterlist(
                        engine,
                        path,
                        population=population,
                        taken_dates=ticket,
                        parallel_query=parallel_query,
                        opened=opened,
                        analyze=not batch,
                        **options,
                    )
                    out = FileOutcome(
                        name,
                        "held" if res.held else "imported",
                        res.held_reason,
                        result=res,
                        round_number=res.round_number,
                        reporting_date=res.reporting_date,
                    )
        except DateTaken as exc:
            if sums.get(exc.other) is not None and sums.get(exc.other) == sums.get(name):
                # the same list twice in one command (a history folder and a copy of one of its
                # files): as if it were already imported
                out = FileOutcome(name, "unchanged", f"the same list as {exc.other}")
            else:
                out = FileOutcome(name, "rejected", str(exc))
        except (MasterlistError, ImportRejected) as exc:
            out = FileOutcome(name, "rejected", str(exc))
        finally:
            ticket.settle()
        if on_file is not None:
            with report:
                on_file(path, out)
        return out

    if workers <= 1 or len(paths) <= 1:
        outcomes = [one(i, p) for i, p in enumerate(paths)]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool:
            futures = [pool.submit(one, i, p) for i, p in enumerate(paths)]
            try:
                outcomes = [f.result() for f in futures]
            except BaseException:  # an unexpected failure (database gone, interrupt): no file starts after it
                for i, f in enumerate(futures):
                    if f.cancel():
                        taken.ticket(i).settle()  # (the files in flight do not wait for a file that never starts)
                raise
    if batch and any(o.outcome == "imported" for o in outcomes):
        _analyze_once(engine)
    return outcomes


def _analyze_once(engine: Engine) -> None:
    """``unit_figure``'s planner statistics once for the whole batch, when they are stale (a
    file imported alone refreshes them after its commit: ``import_masterlist(analyze=True)``)."""
    try:
        with engine.connect() as conn:
            if aggregate.unit_figure_stats_stale(conn):
                aggregate.analyze_unit_figure(conn)
            conn.commit()
    except Exception:  # the rounds are committed: statistics are autovacuum's to take then
        logger.warning("ANALYZE unit_figure after a batch import failed", exc_info=True)
