"""Import a master list as one round: parse -> stage (COPY) -> place (SQL) -> aggregate (SQL).

One transaction per round. A round is (country, population, reporting date); DTM's round
number is an attribute (``--round``, or the round calendar: ``service.ingest.calendar``).
Re-importing a round (same country, population and date) replaces it; a failed import leaves
the previous state untouched and is logged as rejected. Compressed lists (``.csv.gz``, a
``.zip`` holding one list) are read as the list they hold (``service.ingest.sources``).
Every row of the file lands in ``location_figure`` (flawed rows are flagged, never dropped)
and in exactly one unit per level or in that level's ``UNASSIGNED`` bucket.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select, text

from boundaries.tables import boundary_set
from service.core.bulk import copy_rows
from service.core.errors import Unprocessable
from service.core.importlog import ImportRecord, bump_data_version, log_import, log_rejection
from service.core.settings import ImportRules
from service.core.tables import import_log
from service.figures import aggregate, placement, quality
from service.figures.household import HouseholdSizeError, sizes_for
from service.ingest import declared, fast_stage, guards, versions
from service.ingest.calendar import NearRound, near_round, round_number_for
from service.ingest.fast_stage import FastStageUnavailable
from service.ingest.masterlist import MasterlistError, ParsedMasterlist, parse_masterlist
from service.ingest.sources import Opened, open_list
from service.ingest.stage import STAGE_COLUMNS, CodeColumn, RowIssue, create_stage_table
from service.ingest.tables import round_

logger = logging.getLogger("dtm_atlas.ingest")
#: DTM began in 2004: an earlier reporting date is a mistake in the file.
EARLIEST_DATE = dt.date(2004, 1, 1)


class ImportRejected(Unprocessable):
    """The file cannot be imported as a round; nothing was changed."""


class RoundBusy(ImportRejected):
    """Another import of the same round is in progress (asked not to wait: ``wait_for_round``)."""


class DateTaken(ImportRejected):
    """Another file of the same command has the file's reporting date (``other``)."""

    def __init__(self, message: str, other: str) -> None:
        super().__init__(message)
        self.other = other


class DateClaims:
    """The reporting dates the files of one command take. Files are imported side by side,
    yet the outcome is that of importing them one by one: of two files with one date the
    first in the command's order is imported and the other rejected. A file's claim
    (``ticket(i).claim``) waits until every file before it has claimed its date or ended;
    a file that is not imported gives its date back."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._by_date: dict[dt.date, str] = {}
        self._settled: set[int] = set()
        self._low = 0  # every file before this index has claimed or ended

    def ticket(self, index: int) -> DateClaim:
        return DateClaim(self, index)

    def _settle(self, index: int) -> None:
        with self._cond:
            self._settled.add(index)
            while self._low in self._settled:
                self._low += 1
            self._cond.notify_all()

    def _claim(self, index: int, date: dt.date, name: str) -> str | None:
        with self._cond:
            self._cond.wait_for(lambda: self._low >= index)
            other = self._by_date.setdefault(date, name)
        self._settle(index)
        return None if other == name else other

    def _release(self, date: dt.date, name: str) -> None:
        with self._cond:
            if self._by_date.get(date) == name:
                del self._by_date[date]


@dataclass
class DateClaim:
    """One file's part in ``DateClaims``: ``claim`` once its date is known, ``settle`` when it
    ends (whatever happened; a no-op after a claim)."""

    claims: DateClaims
    index: int

    def claim(self, date: dt.date, name: str) -> str | None:
        """Take ``date`` for file ``name``; the name of the earlier file that has it, if any."""
        return self.claims._claim(self.index, date, name)

    def release(self, date: dt.date, name: str) -> None:
        self.claims._release(date, name)

    def settle(self) -> None:
        self.claims._settle(self.index)


@dataclass
class RoundImportResult:
    round_id: int
    country: str
    population: str
    round_number: int | None
    reporting_date: dt.date
    file: str
    rows: int
    flagged_rows: int
    flag_counts: dict[str, int]
    unassigned: dict[int, int]
    families: int
    individuals: int
    import_id: int
    data_version: int
    placement: str
    swap_corrected: bool
    timings: dict[str, float] = field(default_factory=dict)
    parser_issues: list = field(default_factory=list)
    staging: str = "python"  # 'fast' (COPY + SQL casts) or 'python' (parser records), see rounds.import_masterlist
    version: int | None = None  # of the round (service.ingest.versions)
    held: bool = False  # stored, not published: see held_reason; confirm with --accept-shrink or POST .../confirm
    held_reason: str | None = None
    superseded_version: int | None = None  # the version this import replaced (kept)
    calendar_note: str | None = None  # a round number taken from a calendar date near the reporting date
    warnings: list[str] = field(default_factory=list)  # declared P-code columns read as another level, unknown codes


@dataclass
class _Staged:
    """What the rest of the import needs from either staging path."""

    file: str
    population: str
    format: str
    sheet: str | None
    reporting_date: dt.date | None
    rows: int
    issues: list[RowIssue]  # all of them (Python path) or the first fast_stage.ISSUE_LIMIT
    issue_count: int
    staging: str
    code_columns: list[CodeColumn] = field(default_factory=list)  # declared P-code columns (declared.py)
    # the keys the breakdown documents may hold, when the staging knows them (fast path)
    categories: dict[str, list[str]] | None = None


def imported_round(conn: Connection, sha256: str, population: str | None = None) -> dict | None:
    """The round whose source file had these bytes (of ``population``, when given), if any."""
    query = (
        select(round_.c.id, round_.c.population, round_.c.round_number, round_.c.reporting_date)
        .join(import_log, import_log.c.id == round_.c.import_id)
        .where(import_log.c.sha256 == sha256)
        .order_by(round_.c.id.desc())
        .limit(1)
    )
    if population is not None:
        query = query.where(round_.c.population == population)
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def check_date(name: str, date: dt.date, allow_future: bool = False, today: dt.date | None = None) -> None:
    """A reporting date before DTM began (2004) or in the future is a mistake in the file."""
    today = today or dt.date.today()
    if date < EARLIEST_DATE:
        raise ImportRejected(
            f"{name}: reporting date {date.isoformat()} is before 2004, when DTM began; "
            "fix the date column or give --date"
        )
    if date > today and not allow_future:
        raise ImportRejected(
            f"{name}: reporting date {date.isoformat()} is in the future (today is "
            f"{today.isoformat()}); fix the date column, give --date, or --allow-future-date"
        )


def _stage_rows(parsed: ParsedMasterlist):
    issues_by_row: dict[int, list[str]] = {}
    for issue in parsed.issues:
        issues_by_row.setdefault(issue.row, []).append(issue.code)
    dumps = json.dumps
    for r in parsed.records:
        yield (
            r["row"],
            r.get("location_id"),
            r.get("place_id"),
            r.get("name_en"),
            r.get("name_ar"),
            r.get("lat"),
            r.get("lon"),
            r.get("families"),
            r.get("individuals"),
            dumps(r.get("origin") or {}, ensure_ascii=False),
            dumps(r.get("shelter") or {}, ensure_ascii=False),
            dumps(r.get("period") or {}, ensure_ascii=False),
            dumps(r.get("extra") or {}, ensure_ascii=False),
            r.get("governorate"),
            r.get("district"),
            r.get("admin1_pcode"),
            r.get("admin2_pcode"),
            r.get("admin3_pcode"),
            sorted(set(issues_by_row.get(r["row"], []))),
        )


def import_masterlist(
    engine: Engine,
    path: str | Path,
    *,
    population: str,
    round_number: int | None = None,
    reporting_date: dt.date | None = None,
    country: str = "IRQ",
    placement_mode: str = "declared",
    correct_swapped: bool = True,
    sheet: str | None = None,
    encoding: str | None = None,
    max_bytes: int | None = None,
    username: str | None = None,
    file_name: str | None = None,
    fast: bool | None = None,
    allow_future_date: bool = False,
    taken_dates: DateClaim | None = None,
    parallel_query: bool = True,
    accept_shrink: bool = False,
    max_shrink: float | None = None,
    wait_for_round: bool = True,
    opened: Opened | None = None,
    rules: ImportRules = ImportRules(),
    analyze: bool = True,
) -> RoundImportResult:
    """Import one master-list file as a round. Raises MasterlistError / ImportRejected on bad
    input (database unchanged, rejection logged).

    ``fast``: how the file is staged. ``None`` (default): CSV files go through
    ``fast_stage`` (COPY of the file + casts in SQL) and anything it cannot take exactly
    falls back to the Python parser; ``False``: always the Python parser; ``True``: the
    fast path or ImportRejected. Both paths build the same stage, so the figures are the same.

    ``taken_dates``: reporting dates already used by other files of the same command: a file
    of the same date is rejected, as it would replace the other.

    Imports of different rounds run side by side (each in its own connection); each takes a
    turn only for the end of its transaction (``placement.lock_partitions``).
    ``parallel_query``: let PostgreSQL run the bulk statements with parallel workers (a file
    imported alone; imports side by side turn it off, as the CPUs are busy already: a
    history import is 5-25 % faster so).

    A list that looks wrong -- its rows fall by more than ``max_shrink`` (default: the setting
    ``max_shrink``) against the round it replaces or the round before it, or a CSV that ends
    mid-row or mid-quote -- is *held* (``service.ingest.guards``): stored as a version of the
    round but not published; ``result.held`` and ``held_reason`` say so. ``accept_shrink``
    publishes it anyway. A replaced round is kept as a superseded version
    (``service.ingest.versions``). ``wait_for_round=False``: raise RoundBusy at once when
    another import of the same round is in progress (the API answers 409).

    ``rules``: the settings the import runs under (``Settings.imports``: size limits, the
    shrink share, the round calendar, household sizes, the user it is logged as); ``max_bytes``,
    ``max_shrink`` and ``username`` override theirs.

    ``opened``: ``path`` already opened by the caller (``sources.open_list``: decompressed and
    hashed), so that a file is decompressed and hashed once (``batch.import_many``).

    ``analyze``: refresh ``unit_figure``'s planner statistics after the commit when they are
    stale; a batch of files (``batch.import_many``) passes False and refreshes them once, at its end.
    """
    path = Path(path)
    name = file_name = file_name or path.name  # (a compressed list is read from a copy: its name stays)
    rec = ImportRecord(kind="masterlist", file_name=name, sha256=None)
    if username or rules.user:
        rec.username = username or rules.user
    if placement_mode not in ("declared", "spatial"):
        raise ImportRejected(f"placement must be 'declared' or 'spatial', not {placement_mode!r}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    claimed = None

    def release() -> None:  # a file that is not imported leaves its date to the others
        if claimed is not None:
            taken_dates.release(claimed, name)

    if max_bytes is None:  # the one decompressed-size limit of the CLI and the API
        max_bytes = rules.max_bytes
    files = ExitStack()  # the decompressed copy of a compressed list, removed at the end
    try:
        if opened is None:
            opened = files.enter_context(open_list(path, name, max_bytes))
        path = opened.path
        rec.sha256 = opened.sha256
        # one pass over the bytes: a line over the row limit is refused, a file cut short held
        cut = guards.scan(path, name, rules.max_row_bytes)
        suspicious = [] if accept_shrink or cut is None else [cut]
        try_fast = fast is not False and path.suffix.lower() == ".csv"
        parsed = None
        if not try_fast:  # parse before the transaction, as a file error needs no database
            parsed = _parse(path, population, sheet, encoding, max_bytes, file_name, timings)
        if max_shrink is None:
            max_shrink = rules.max_shrink
        with engine.begin() as conn:
            # bulk statements: JIT compilation costs more than it saves here; sorts and hashes in memory
            conn.execute(text("SET LOCAL jit = off; SET LOCAL work_mem = '256MB'"))
            if not parallel_query:  # imports side by side already keep the CPUs busy: workers only cost
                conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
            t = time.perf_counter()
            staged = None
            if try_fast:
                try:
                    res = fast_stage.stage_csv(
                        conn, path, population, encoding=encoding, max_bytes=max_bytes, file_name=file_name
                    )
                except FastStageUnavailable as exc:
                    if fast:
                        raise ImportRejected(f"{name}: fast staging not possible: {exc}") from None
                    fallback = f"python (fast path: {exc})"
                except Exception as exc:  # a fault in the fast path must not cost the import
                    if fast:
                        raise
                    logger.warning("fast staging of %s failed, using the parser", name, exc_info=True)
                    fallback = f"python (fast path failed: {type(exc).__name__}: {exc})"
                else:
                    timings.update({f"fast_{k}": v for k, v in res.timings.items()})
                    timings["parse_s"] = res.timings.get("header_s", 0.0)
                    staged = _Staged(
                        res.file,
                        res.population,
                        res.format,
                        res.sheet,
                        res.reporting_date,
                        res.rows,
                        res.issues,
                        res.issue_count,
                        "fast",
                        res.code_columns,
                        res.categories,
                    )
            if staged is None:
                if parsed is None:
                    timings["fast_attempt_s"] = time.perf_counter() - t  # spent before falling back
                    parsed = _parse(path, population, sheet, encoding, max_bytes, file_name, timings)
                    t = time.perf_counter()
                create_stage_table(conn)
                copy_rows(conn, "stage", STAGE_COLUMNS, _stage_rows(parsed))
                staged = _Staged(
                    parsed.file,
                    parsed.population,
                    parsed.format,
                    parsed.sheet,
                    parsed.reporting_date,
                    len(parsed.records),
                    parsed.issues,
                    len(parsed.issues),
                    fallback if try_fast else "python",
                    parsed.code_columns,
                )
            # the row count, and the columns placement joins and filters on (the names and the
            # breakdown documents are most of the sampling and no plan reads their statistics)
            conn.execute(
                text(
                    "ANALYZE stage (source_row, location_id, gov_name, dist_name, adm1_code, adm2_code, adm3_code, "
                    "lat, lon)"
                )
            )
            timings["stage_s"] = time.perf_counter() - t

            population = staged.population
            date = reporting_date or staged.reporting_date
            if date is None:
                raise ImportRejected(
                    f"{name}: no reporting date in the file (no date column); give one (--date YYYY-MM-DD)"
                )
            check_date(name, date, allow_future_date)
            if taken_dates is not None:
                other = taken_dates.claim(date, name)
                if other is not None:
                    raise DateTaken(
                        f"{name}: reporting date {date.isoformat()} is also the date of "
                        f"{other} in this import; one {population} round per date",
                        other,
                    )
                claimed = date
            number = (
                round_number
                if round_number is not None
                else round_number_for(country, population, date, rules.round_calendar)
            )
            near = (
                near_round(country, population, date, rules.round_calendar_days, rules.round_calendar)
                if number is None
                else None
            )
            if near is not None:  # a calendar date a few days off (DTM_ATLAS_ROUND_CALENDAR_DAYS)
                number = near.round_number
            # one import of a round (its date, and its DTM number) at a time; imports of other
            # rounds go on side by side until their turn at the end (_import_in_transaction)
            for key in [f"round:{country}:{population}:{date.isoformat()}"] + (
                [f"round:{country}:{population}:#{number}"] if number is not None else []
            ):
                if wait_for_round:
                    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
                elif not conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": key}).scalar():
                    raise RoundBusy(
                        f"{name}: another import of the {population} round of {date.isoformat()} is in progress; "
                        "try again when it has ended (GET /rounds shows the round that stands)"
                    )
            rec.rows_read = staged.rows
            rec.details = {
                "population": population,
                "round_number": number,
                "reporting_date": date.isoformat(),
                "format": staged.format,
                "sheet": staged.sheet,
                "parser_issues": staged.issue_count,
                "staging": staged.staging,
            }
            if near is not None:
                rec.details["round_number_from"] = near.note(date)
            result, stats_stale = _import_in_transaction(
                conn,
                staged,
                rec,
                country=country,
                population=population,
                number=number,
                near=near,
                date=date,
                placement_mode=placement_mode,
                correct_swapped=correct_swapped,
                timings=timings,
                suspicious=suspicious,
                max_shrink=None if accept_shrink else max_shrink,
                household_sizes=rules.household_sizes,
            )
            t = time.perf_counter()
        timings["turn_commit_s"] = time.perf_counter() - t
        timings["turn_s"] += timings["turn_commit_s"]  # (the commit, durable, ends the turn)
        if stats_stale and analyze:
            try:
                with engine.connect() as conn:
                    aggregate.analyze_unit_figure(conn)
                    conn.commit()
            except Exception:  # the round is committed: statistics are autovacuum's to take then
                logger.warning("ANALYZE unit_figure after importing %s failed", name, exc_info=True)
        timings["total_s"] = time.perf_counter() - t0
        return result
    except HouseholdSizeError as exc:  # the rules, not the file: say so, as a rejection of this file
        release()
        message = f"{name}: not imported: the household sizes cannot be read: {exc}"
        log_rejection(engine, rec, message)
        raise ImportRejected(message) from None
    except (MasterlistError, ImportRejected) as exc:
        release()
        log_rejection(engine, rec, str(exc))
        raise
    except BaseException as exc:
        release()
        if isinstance(exc, Exception):
            log_rejection(engine, rec, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        files.close()


def _parse(
    path: Path,
    population: str,
    sheet: str | None,
    encoding: str | None,
    max_bytes: int | None,
    file_name: str | None,
    timings: dict,
) -> ParsedMasterlist:
    t = time.perf_counter()
    parsed = parse_masterlist(path, population, sheet=sheet, encoding=encoding, max_bytes=max_bytes)
    if file_name:
        parsed.file = file_name
    timings["parse_s"] = time.perf_counter() - t
    return parsed


def _current_boundary_set(conn: Connection, country: str) -> int:
    set_id = conn.execute(
        select(boundary_set.c.id).where(boundary_set.c.country == country, boundary_set.c.is_current)
    ).scalar()
    if set_id is None:
        raise ImportRejected(f"no admin boundaries for {country}: import them first (dtm-atlas boundaries import ...)")
    return set_id


def _import_in_transaction(
    conn: Connection,
    staged: _Staged,
    rec: ImportRecord,
    *,
    country: str,
    population: str,
    number: int | None,
    date: dt.date,
    placement_mode: str,
    correct_swapped: bool,
    timings: dict,
    suspicious: list[str],
    max_shrink: float | None,
    near: NearRound | None = None,
    household_sizes: str | None = None,
) -> tuple[RoundImportResult, bool]:
    """Everything after staging: the round row, placement, aggregation (``stage`` exists)."""
    set_id = _current_boundary_set(conn, country)
    # the declared P-code columns against the country's codes: a column of another level is
    # read as that level (a warning), a column of no level is an error (service.ingest.declared)
    warnings = declared.check_code_columns(conn, set_id, country, staged.file, staged.code_columns)
    for line in warnings:
        logger.warning("%s", line)
    if warnings:
        rec.details["warnings"] = warnings
    # A re-import adds the new round next to the old one (the round key is checked at commit)
    # and removes the old one last, so readers see the old round, unlocked, until the commit.
    conn.execute(text("SET CONSTRAINTS round_country_population_date_key DEFERRED"))
    of_population = (round_.c.country == country, round_.c.population == population)
    replaced = conn.execute(select(round_.c.id).where(*of_population, round_.c.reporting_date == date)).scalar()
    calendar_note = near.note(date) if near is not None else None
    if number is not None:
        other = conn.execute(
            select(round_.c.reporting_date).where(
                *of_population, round_.c.round_number == number, round_.c.reporting_date != date
            )
        ).scalar()
        if other is not None and near is not None:  # a near calendar date is no claim: the round stays numberless
            calendar_note = (
                f"{near.note(date)}: not used, round {number} is already the {population} round of {other.isoformat()}"
            )
            rec.details["round_number_from"] = calendar_note
            number = None
        elif other is not None:
            raise ImportRejected(
                f"{staged.file}: round number {number} is already the {population} round of "
                f"{other.isoformat()}; a round number names one round (check --round)"
            )
    import_id = log_import(conn, rec, "committed")
    round_id = conn.execute(
        insert(round_)
        .values(
            country=country,
            population=population,
            round_number=number,
            reporting_date=date,
            boundary_set_id=set_id,
            import_id=import_id,
            placement=placement_mode,
            swap_corrected=correct_swapped,
            source_file=staged.file,
        )
        .returning(round_.c.id)
    ).scalar_one()

    t = time.perf_counter()
    sizes = sizes_for(
        country, population, date, household_sizes
    )  # the household sizes: the mismatch flag and the published count
    crosswalk = placement.crosswalk_for(conn, country, set_id)
    placement.resolve_declared(conn, crosswalk, set_id)
    placement.create_round_table(conn, round_id)
    placement.place(
        conn,
        round_id=round_id,
        country=country,
        set_id=set_id,
        mode=placement_mode,
        correct_swapped=correct_swapped,
        sizes=sizes,
    )
    placement.index_round_table(conn, round_id)
    timings["place_s"] = time.perf_counter() - t

    t = time.perf_counter()
    aggregate.aggregate_round(conn, round_id, crosswalk, sizes, staged.categories)
    flagged, flags = quality.flag_counts(conn, round_id, own_table=True)
    totals = aggregate.round_totals(conn, round_id)
    conn.execute(
        text(
            "UPDATE import_log SET rows_accepted = :a, rows_flagged = :f, details = details || CAST(:d AS jsonb) "
            "WHERE id = :i"
        ),
        {"a": totals["rows"], "f": flagged, "i": import_id, "d": json.dumps({"round_id": round_id, "flags": flags})},
    )
    # planner statistics of the aggregates right after the commit (import_masterlist), not at
    # autovacuum's next pass, while the table is small or has grown by a tenth since they were
    # taken: tiles and choropleths read it with generic plans right after an import (one round
    # more in a long history changes nothing)
    stats_stale = aggregate.unit_figure_stats_stale(conn)
    timings["aggregate_s"] = time.perf_counter() - t
    if max_shrink is not None:
        fell = guards.shrink(
            conn,
            country=country,
            population=population,
            date=date,
            replaced=replaced,
            rows=int(totals["rows"] or 0),
            max_share=max_shrink,
        )
        if fell:
            suspicious = [*suspicious, fell]
    key = versions.RoundKey(country, population, date)

    # Up to here imports of other rounds run side by side; from here on they take turns
    # (whatever the population), to the commit: each attaches a partition of location_figure
    # and may drop one, writes locations, and refreshes the changes of its population's rounds
    # (which must see the rounds committed before it).
    t = time.perf_counter()
    placement.lock_partitions(conn)
    timings["wait_turn_s"] = time.perf_counter() - t
    t = time.perf_counter()
    held_reason = "; ".join(suspicious) or None
    superseded = None
    if held_reason:  # stored as a held version, unpublished: the round that stands is untouched
        number_of = versions.record_new(
            conn,
            key,
            round_id,
            import_id,
            state="held",
            rows=int(totals["rows"] or 0),
            individuals=int(totals["individuals"] or 0),
            reason=held_reason,
        )
        versions.archive(conn, round_id, "held", held_reason)
        conn.execute(
            text(
                "UPDATE import_log SET outcome = 'held', message = :m, details = details || CAST(:d AS jsonb) "
                "WHERE id = :i"
            ),
            {
                "m": f"{staged.file}: held, not published: {held_reason}",
                "i": import_id,
                "d": json.dumps({"version": number_of, "held": True}),
            },
        )
        timings["turn_attach_s"] = 0.0
        timings["turn_locations_s"] = time.perf_counter() - t
        timings["turn_changes_s"] = 0.0
        version = conn.execute(text("SELECT version FROM data_version")).scalar_one()  # (unchanged: nothing published)
    else:
        placement.attach_round_table(conn, round_id)
        timings["turn_attach_s"] = time.perf_counter() - t
        placement.upsert_locations(conn, country=country, reporting_date=date)
        if replaced is not None:  # the old round is kept, superseded: its table detached, its row archived
            superseded = versions.archive(conn, replaced, "superseded")
        number_of = versions.record_new(
            conn,
            key,
            round_id,
            import_id,
            state="current",
            rows=int(totals["rows"] or 0),
            individuals=int(totals["individuals"] or 0),
        )
        conn.execute(
            text("UPDATE import_log SET details = details || CAST(:d AS jsonb) WHERE id = :i"),
            {"i": import_id, "d": json.dumps({"version": number_of, "superseded_version": superseded})},
        )
        timings["turn_locations_s"] = time.perf_counter() - t - timings["turn_attach_s"]
        t1 = time.perf_counter()
        aggregate.refresh_changes(conn, country, population)
        timings["turn_changes_s"] = time.perf_counter() - t1
        version = bump_data_version(conn)
    timings["turn_s"] = time.perf_counter() - t
    result = RoundImportResult(
        round_id=round_id,
        country=country,
        population=population,
        round_number=number,
        reporting_date=date,
        file=staged.file,
        rows=totals["rows"],
        flagged_rows=flagged,
        flag_counts=flags,
        unassigned={1: totals["u1"], 2: totals["u2"], 3: totals["u3"]},
        families=int(totals["families"]),
        individuals=int(totals["individuals"]),
        import_id=import_id,
        data_version=version,
        placement=placement_mode,
        swap_corrected=correct_swapped,
        timings=timings,
        parser_issues=staged.issues,
        staging=staged.staging,
        version=number_of,
        held=bool(held_reason),
        held_reason=held_reason,
        superseded_version=superseded,
        calendar_note=calendar_note,
        warnings=warnings,
    )
    return result, stats_stale and not held_reason
