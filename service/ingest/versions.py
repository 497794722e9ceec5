"""Versions of a round: nothing an import replaces is lost (owner of ``round_version``).

A round is (country, population, reporting date). Each import of it makes a new version
(1, 2, ...). One version is ``current``: the round in ``round``, published. A version a later
import replaced is ``superseded``; an import that looked wrong (``service.ingest.guards``) is
``held``: stored whole but never published until an editor confirms it. Both are kept until
pruned: the round's row and its aggregates (``unit_figure``, ``unit_breakdown``,
``origin_flow``) as JSON in ``round_version``, its rows in its own table
``location_figure_r{round_id}``, detached from ``location_figure`` (the rows are not copied:
detaching and attaching are catalogue changes). Restoring a version puts these back as they
were -- the same round id, rows, ids and aggregates -- and keeps the version it displaces
(superseded), so a restore can itself be undone.

Everything here runs in the importer's turn (``placement.lock_partitions``): attaching and
detaching partitions and writing ``location`` take turns with imports.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from service.core.importlog import ImportRecord, bump_data_version, current_user, log_import
from service.figures import aggregate, placement

#: The tables holding a round's aggregates, archived with its row (``unit_figure`` and
#: ``origin_flow`` go with the row by ON DELETE CASCADE, ``unit_breakdown`` by hand).
AGGREGATE_TABLES = ("unit_figure", "unit_breakdown", "origin_flow")


class VersionError(Exception):
    """A version that cannot be restored, confirmed or found (the message says why)."""


class VersionNotFound(VersionError):
    pass


@dataclass(frozen=True)
class RoundKey:
    country: str
    population: str
    reporting_date: dt.date

    def label(self) -> str:
        return f"{self.country} {self.population} round of {self.reporting_date.isoformat()}"


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def resolve_key(conn: Connection, ref: str, population: str, country: str | None = None) -> RoundKey:
    """The round ``ref`` names: DTM's round number (``120``) or a reporting date
    (``2021-02-28``), of ``population`` (and ``country``, needed only when several countries
    have such a round). Held and superseded versions count, so a round with no current version
    (its only import held) is found too."""
    ref = (ref or "").strip()
    if len(ref) > 12:
        raise VersionNotFound(f"{ref[:40]!r} is not a round: give DTM's round number (120) or a date (2021-02-28)")
    params: dict = {"p": population, "c": country.upper() if country else None}
    if _DATE.match(ref):
        try:
            params["d"] = dt.date.fromisoformat(ref)
        except ValueError:
            raise VersionNotFound(f"{ref!r} is not a valid date (YYYY-MM-DD)") from None
        where = "reporting_date = :d"
    elif ref.isdigit() and int(ref) <= 2_147_483_647:
        params["n"] = int(ref)
        where = "round_number = :n"
    else:
        raise VersionNotFound(f"{ref!r} is not a round: give DTM's round number (120) or a date (2021-02-28)")
    # the current rounds, then the archived versions' rows (a round number lives in its row)
    rows = conn.execute(
        text(
            f"""
            SELECT DISTINCT country, population, reporting_date FROM (
              SELECT country, population, reporting_date, round_number FROM round
              UNION ALL
              SELECT country, population, reporting_date, CAST(round_row ->> 'round_number' AS integer)
              FROM round_version WHERE round_row IS NOT NULL
            ) r
            WHERE population = :p AND (CAST(:c AS text) IS NULL OR country = :c) AND {where}
            """
        ),
        params,
    ).all()
    if not rows:
        raise VersionNotFound(f"no {population} round {ref} (see `dtm-atlas rounds list` or GET /rounds)")
    if len(rows) > 1:
        countries = ", ".join(sorted(r.country.strip() for r in rows))
        raise VersionError(f"{population} round {ref} exists for several countries ({countries}): name the country")
    r = rows[0]
    return RoundKey(r.country.strip(), r.population, r.reporting_date)


def history(conn: Connection, key: RoundKey) -> list[dict]:
    """Every version of the round, oldest first: version, state, round id, rows, individuals,
    the import (file, user, time) and why a version was held."""
    rows = (
        conn.execute(
            text(
                """
                SELECT v.version, v.state, v.round_id, v.rows, v.individuals, v.reason, v.import_id,
                       v.created_at, v.changed_at, l.file_name, l.sha256, l.username, l.outcome,
                       coalesce(r.round_number, CAST(v.round_row ->> 'round_number' AS integer)) AS round_number
                FROM round_version v
                LEFT JOIN import_log l ON l.id = v.import_id
                LEFT JOIN round r ON r.id = v.round_id
                WHERE v.country = :c AND v.population = :p AND v.reporting_date = :d
                ORDER BY v.version
                """
            ),
            _key_params(key),
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def _key_params(key: RoundKey) -> dict:
    return {"c": key.country, "p": key.population, "d": key.reporting_date}


def _next_version(conn: Connection, key: RoundKey) -> int:
    return conn.execute(
        text(
            "SELECT coalesce(max(version), 0) + 1 FROM round_version "
            "WHERE country = :c AND population = :p AND reporting_date = :d"
        ),
        _key_params(key),
    ).scalar_one()


def _ensure_version_row(conn: Connection, round_id: int) -> None:
    """A round written before versions existed, or by a direct writer: record it as the
    current version (the next number)."""
    exists = conn.execute(text("SELECT 1 FROM round_version WHERE round_id = :r"), {"r": round_id}).scalar()
    if exists:
        return
    r = conn.execute(
        text("SELECT country, population, reporting_date, import_id FROM round WHERE id = :r"), {"r": round_id}
    ).one()
    key = RoundKey(r.country.strip(), r.population, r.reporting_date)
    totals = aggregate.round_totals(conn, round_id)
    conn.execute(
        text(
            "INSERT INTO round_version (country, population, reporting_date, version, round_id, import_id, state, "
            "rows, individuals) VALUES (:c, :p, :d, :v, :r, :i, 'current', :n, :ind)"
        ),
        {
            **_key_params(key),
            "v": _next_version(conn, key),
            "r": round_id,
            "i": r.import_id,
            "n": totals["rows"],
            "ind": totals["individuals"],
        },
    )


def record_new(
    conn: Connection,
    key: RoundKey,
    round_id: int,
    import_id: int,
    *,
    state: str,
    rows: int,
    individuals: int,
    reason: str | None = None,
) -> int:
    """The version an import made (``current`` or ``held``); its number."""
    version = _next_version(conn, key)
    conn.execute(
        text(
            "INSERT INTO round_version (country, population, reporting_date, version, round_id, import_id, state, "
            "reason, rows, individuals) VALUES (:c, :p, :d, :v, :r, :i, :s, :why, :n, :ind)"
        ),
        {
            **_key_params(key),
            "v": version,
            "r": round_id,
            "i": import_id,
            "s": state,
            "why": reason,
            "n": rows,
            "ind": individuals,
        },
    )
    return version


def _is_attached(conn: Connection, round_id: int) -> bool:
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT FROM pg_inherits WHERE inhparent = 'location_figure'::regclass "
                "AND inhrelid = to_regclass(:t))"
            ),
            {"t": placement.round_table(round_id)},
        ).scalar()
    )


def archive(conn: Connection, round_id: int, state: str, reason: str | None = None) -> int:
    """Take round ``round_id`` out of publication, whole: its row and aggregates into its
    version's JSON, its rows' table detached (kept). ``state``: 'superseded' or 'held'.
    The caller holds the turn (``placement.lock_partitions``). Returns the version's number."""
    _ensure_version_row(conn, round_id)
    aggregates = {}
    for table in AGGREGATE_TABLES:
        aggregates[table] = conn.execute(
            text(f"SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) FROM {table} t WHERE round_id = :r"),
            {"r": round_id},
        ).scalar_one()
    row = conn.execute(text("SELECT to_jsonb(r) FROM round r WHERE id = :r"), {"r": round_id}).scalar_one()
    conn.execute(
        text(
            "UPDATE round_version SET state = :s, reason = coalesce(:why, reason), round_row = CAST(:row AS jsonb), "
            "aggregates = CAST(:agg AS jsonb), changed_at = now() WHERE round_id = :r"
        ),
        {
            "s": state,
            "why": reason,
            "row": json.dumps(row),
            "agg": json.dumps(aggregates),
            "r": round_id,
        },
    )
    if _is_attached(conn, round_id):
        conn.execute(text(f"ALTER TABLE location_figure DETACH PARTITION {placement.round_table(round_id)}"))
    aggregate.delete_round_aggregates(conn, round_id)
    conn.execute(text("DELETE FROM round WHERE id = :r"), {"r": round_id})
    return _version_of(conn, round_id)


def _publish(conn: Connection, version: dict) -> None:
    """Put an archived version back in publication exactly as it was archived."""
    round_id = version["round_id"]
    if conn.execute(text("SELECT to_regclass(:t)"), {"t": placement.round_table(round_id)}).scalar() is None:
        raise VersionError(f"version {version['version']}: its rows are gone (pruned); it cannot be restored")
    row = version["round_row"]
    set_ok = conn.execute(
        text("SELECT EXISTS (SELECT FROM boundary_set WHERE id = :s)"), {"s": row["boundary_set_id"]}
    ).scalar()
    if not set_ok:
        raise VersionError(
            f"version {version['version']}: its boundary set ({row['boundary_set_id']}) was deleted; "
            "import the list again instead"
        )
    conn.execute(
        text("INSERT INTO round SELECT * FROM jsonb_populate_record(NULL::round, CAST(:row AS jsonb))"),
        {"row": json.dumps(row)},
    )
    aggregates = version["aggregates"] or {}
    for table in AGGREGATE_TABLES:
        conn.execute(
            text(f"INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, CAST(:rows AS jsonb))"),
            {"rows": json.dumps(aggregates.get(table) or [])},
        )
    # a compared round that is gone now: refresh_changes compares again
    conn.execute(
        text(
            "UPDATE unit_figure u SET prev_round_id = NULL WHERE round_id = :r AND prev_round_id IS NOT NULL "
            "AND NOT EXISTS (SELECT FROM round o WHERE o.id = u.prev_round_id)"
        ),
        {"r": round_id},
    )
    conn.execute(
        text(
            "UPDATE unit_figure u SET ref12_round_id = NULL WHERE round_id = :r AND ref12_round_id IS NOT NULL "
            "AND NOT EXISTS (SELECT FROM round o WHERE o.id = u.ref12_round_id)"
        ),
        {"r": round_id},
    )
    placement.attach_round_table(conn, round_id)
    conn.execute(
        text(
            "UPDATE round_version SET state = 'current', round_row = NULL, aggregates = NULL, changed_at = now() "
            "WHERE round_id = :r"
        ),
        {"r": round_id},
    )
    _locations_from(conn, round_id, row["country"], dt.date.fromisoformat(row["reporting_date"]))


def _locations_from(conn: Connection, round_id: int, country: str, date: dt.date) -> None:
    """Locations take names and point from the newest round that reports them
    (``placement.upsert_locations`` at import): the restored round's rows, read from its table."""
    source = f"""
        SELECT DISTINCT ON (location_id) location_id, name_en, name_ar, geom
        FROM {placement.round_table(round_id)} WHERE location_id IS NOT NULL ORDER BY location_id, source_row
    """
    conn.execute(
        text(
            f"""
            UPDATE location l SET name_en = s.name_en, name_ar = s.name_ar, geom = s.geom,
                                  reporting_date = :d, updated_at = now()
            FROM ({source}) s
            WHERE l.country = :c AND l.location_id = s.location_id
              AND (l.reporting_date IS NULL OR l.reporting_date <= :d)
              AND (l.name_en, l.name_ar, l.geom, l.reporting_date)
                  IS DISTINCT FROM (s.name_en, s.name_ar, s.geom, CAST(:d AS date))
            """
        ),
        {"c": country, "d": date},
    )
    conn.execute(
        text(
            f"""
            INSERT INTO location (country, location_id, name_en, name_ar, geom, reporting_date, updated_at)
            SELECT :c, s.location_id, s.name_en, s.name_ar, s.geom, :d, now() FROM ({source}) s
            WHERE NOT EXISTS (SELECT FROM location l WHERE l.country = :c AND l.location_id = s.location_id)
            """
        ),
        {"c": country, "d": date},
    )


@dataclass
class Restored:
    key: RoundKey
    version: int
    round_id: int
    round_number: int | None
    superseded: int | None  # the version it displaced, kept
    import_id: int
    data_version: int


def restore(
    engine: Engine,
    key: RoundKey,
    version: int | None = None,
    *,
    username: str | None = None,
    held_only: bool = False,
) -> Restored:
    """Publish version ``version`` of the round (``None``: the newest held version, i.e.
    confirm a held import). The version it displaces is kept, superseded. One transaction;
    logged in ``import_log`` (kind ``restore``) with both versions."""
    with engine.begin() as conn:
        conn.execute(text("SET CONSTRAINTS round_country_population_date_key DEFERRED"))
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
            {"k": f"round:{key.country}:{key.population}:{key.reporting_date.isoformat()}"},
        )
        placement.lock_partitions(conn)
        versions = {v["version"]: v for v in _versions_full(conn, key)}
        if not versions:
            raise VersionNotFound(f"{key.label()}: no versions recorded")
        if version is None:
            held = [v for v in versions.values() if v["state"] == "held"]
            if not held:
                raise VersionError(f"{key.label()}: no held import to confirm")
            target = held[-1]
        else:
            target = versions.get(version)
            if target is None:
                raise VersionNotFound(
                    f"{key.label()}: no version {version} (versions: {', '.join(map(str, versions))})"
                )
        if held_only and target["state"] != "held":
            raise VersionError(f"{key.label()}: version {target['version']} is {target['state']}, not held")
        if target["state"] == "current":
            raise VersionError(f"{key.label()}: version {target['version']} is already the current one")
        number = (target["round_row"] or {}).get("round_number")
        if number is not None:
            other = conn.execute(
                text(
                    "SELECT reporting_date FROM round WHERE country = :c AND population = :p AND round_number = :n "
                    "AND reporting_date <> :d"
                ),
                {**_key_params(key), "n": number},
            ).scalar()
            if other is not None:
                raise VersionError(
                    f"{key.label()}: version {target['version']} is round {number}, which is now the round of "
                    f"{other.isoformat()}"
                )
        current = next((v for v in versions.values() if v["state"] == "current"), None)
        if current is None:  # a round that is published without a version row (older writers)
            rid = conn.execute(
                text("SELECT id FROM round WHERE country = :c AND population = :p AND reporting_date = :d"),
                _key_params(key),
            ).scalar()
            if rid is not None:
                _ensure_version_row(conn, rid)
                current = {"round_id": rid, "version": _version_of(conn, rid)}
        if current is not None:
            archive(conn, current["round_id"], "superseded")
        _publish(conn, target)
        aggregate.refresh_changes(conn, key.country, key.population)
        confirm = target["state"] == "held"
        rec = ImportRecord(
            kind="restore",
            file_name=None,
            sha256=None,
            username=username or current_user(),
            rows_read=target["rows"],
            rows_accepted=target["rows"],
            details={
                "population": key.population,
                "reporting_date": key.reporting_date.isoformat(),
                "country": key.country,
                "restored_version": target["version"],
                "restored_round_id": target["round_id"],
                "restored_import_id": target["import_id"],
                "superseded_version": current["version"] if current else None,
                "confirmed_held": confirm,
            },
        )
        what = "confirmed held" if confirm else "restored"
        import_id = log_import(
            conn,
            rec,
            "committed",
            f"{key.label()}: version {target['version']} {what}"
            + (f"; version {current['version']} superseded (kept)" if current else ""),
        )
        data_version = bump_data_version(conn)
    with engine.connect() as conn:
        aggregate.analyze_unit_figure(conn)
        conn.commit()
    return Restored(
        key,
        target["version"],
        target["round_id"],
        number,
        current["version"] if current else None,
        import_id,
        data_version,
    )


def _version_of(conn: Connection, round_id: int) -> int:
    return conn.execute(text("SELECT version FROM round_version WHERE round_id = :r"), {"r": round_id}).scalar_one()


def _versions_full(conn: Connection, key: RoundKey) -> list[dict]:
    rows = (
        conn.execute(
            text(
                "SELECT version, state, round_id, import_id, rows, round_row, aggregates FROM round_version "
                "WHERE country = :c AND population = :p AND reporting_date = :d ORDER BY version FOR UPDATE"
            ),
            _key_params(key),
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


def prune(engine: Engine, *, keep: int = 0, key: RoundKey | None = None) -> int:
    """Delete archived versions (superseded, never held ones) beyond the ``keep`` newest of
    each round (of ``key``, or every round): their JSON and their rows' tables. Returns how
    many were deleted."""
    with engine.begin() as conn:
        placement.lock_partitions(conn)
        where = "state = 'superseded'"
        params: dict = {"k": keep}
        if key is not None:
            where += " AND country = :c AND population = :p AND reporting_date = :d"
            params.update(_key_params(key))
        doomed = conn.execute(
            text(
                f"""
                SELECT id, round_id FROM (
                  SELECT id, round_id, row_number() OVER (PARTITION BY country, population, reporting_date
                                                          ORDER BY version DESC) AS n
                  FROM round_version WHERE {where}) v
                WHERE n > :k
                """
            ),
            params,
        ).all()
        for d in doomed:
            conn.execute(text(f"DROP TABLE IF EXISTS {placement.round_table(d.round_id)}"))
            conn.execute(text("DELETE FROM round_version WHERE id = :i"), {"i": d.id})
    return len(doomed)
