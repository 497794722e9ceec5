"""Reads from streaming replicas, never stale and never mixed (docs/deploy.md).

``DATABASE_URL`` is the primary: writes, and the LISTEN of the data-version watcher. With
``DTM_ATLAS_READ_DATABASE_URLS`` (one or more replicas, directly or through PgBouncer in
transaction mode) reads go to a replica. The rules:

* A version is usable for reads once the read side has replayed it. :meth:`ReadRoute.version`
  turns the primary's newest version (the watcher's) into the newest version the chosen replica
  has, so nothing is cached under a version the replica cannot show yet: a worker that hears of
  version 8 while its replica still shows 7 keeps answering (and caching) 7, and answers 8 once
  the replica has replayed it.
* A replica that is more than ``replica_max_lag_s`` behind (it has not replayed a version the
  primary made that long ago) or cannot be reached is taken out of reads; reads then go to
  another replica, or to the primary. It comes back by itself once it has caught up.
* Every answer is made in one snapshot; the answer names the version of that snapshot
  (``X-Data-Version``), which is the version its cache key carries.

Replica connections never use server-side prepared statements (PgBouncer in transaction mode
cannot keep them across transactions).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

PROBE_EVERY_S = 0.05  # the fastest a replica's version is asked again while it is behind


@dataclass(frozen=True)
class Read:
    """Where one answer is read: the engine, the data version it shows, and which server
    (``primary`` or ``replica-N``: what the ``X-Read-From`` header says; never a URL)."""

    engine: Engine
    version: int | None
    source: str = "primary"

    @property
    def replica(self) -> bool:
        return self.source != "primary"


@dataclass
class Replica:
    url: str
    engine: Engine
    name: str = "replica"
    version: int | None = None  # the data version it has replayed (last probe)
    probed: float = 0.0
    reachable: bool = True
    behind_since: float | None = None  # when the primary made the oldest version it does not have yet


@dataclass
class ReadRoute:
    """Where a worker reads: its replicas (in turn) or the primary, and the version it may use."""

    primary: Engine
    replicas: list[Replica] = field(default_factory=list)
    max_lag_s: float = 30.0
    _seen: dict[int, float] = field(default_factory=dict)  # primary version -> when this worker heard of it
    _turn: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def split(self) -> bool:
        return bool(self.replicas)

    # -- what the primary has ------------------------------------------------------------------
    def heard(self, version: int) -> None:
        """The primary's version ``version`` is known (NOTIFY or a read of the primary)."""
        with self._lock:
            self._seen.setdefault(version, time.monotonic())
            if len(self._seen) > 64:
                for old in sorted(self._seen)[:-64]:
                    del self._seen[old]

    # -- what a replica has ----------------------------------------------------------------------
    def probe(self, replica: Replica) -> int | None:
        from service.core.importlog import data_version

        try:
            with replica.engine.connect() as conn:
                replica.version = data_version(conn)
            replica.reachable = True
        except Exception:  # noqa: BLE001  (down, or PgBouncer without a server): out of reads
            replica.reachable = False
        replica.probed = time.monotonic()
        return replica.version

    def _lag(self, replica: Replica, primary_version: int | None, now: float) -> float:
        if primary_version is None or replica.version is None or replica.version >= primary_version:
            return 0.0
        waiting = [t for v, t in self._seen.items() if v > replica.version]
        return now - min(waiting) if waiting else 0.0

    def due(self, primary_version: int | None) -> list[Replica]:
        """The replicas whose version should be asked again before choosing: behind the primary
        (at most every PROBE_EVERY_S), or unreachable (at most every second)."""
        now = time.monotonic()
        out = []
        for r in self.replicas:
            behind = primary_version is not None and (r.version is None or r.version < primary_version)
            if (r.reachable and behind and now - r.probed >= PROBE_EVERY_S) or (
                not r.reachable and now - r.probed >= 1.0
            ):
                out.append(r)
        return out

    def choose(self, primary_version: int | None) -> Read:
        """Where one answer is read: a replica in turn that is reachable and within the lag
        limit, showing the version it has replayed; else the primary (at ``primary_version``).
        Replicas due for a probe are asked first (a query each: async callers probe ``due()``
        in a thread beforehand, then nothing is due here)."""
        if not self.replicas:
            return Read(self.primary, primary_version)
        for replica in self.due(primary_version):
            self.probe(replica)
        now = time.monotonic()
        n = len(self.replicas)
        with self._lock:
            start = self._turn
            self._turn = (self._turn + 1) % n
        for i in range(n):
            replica = self.replicas[(start + i) % n]
            if not replica.reachable or replica.version is None:
                continue
            if self._lag(replica, primary_version, now) > self.max_lag_s:
                continue
            return Read(replica.engine, replica.version, replica.name)
        return Read(self.primary, primary_version)

    def status(self, primary_version: int | None) -> list[dict]:
        now = time.monotonic()
        return [
            {
                "replica": r.name,
                "reachable": r.reachable,
                "version": r.version,
                "lag_s": round(self._lag(r, primary_version, now), 3),
                "in_reads": r.reachable and self._lag(r, primary_version, now) <= self.max_lag_s,
            }
            for r in self.replicas
        ]

    def dispose(self) -> None:
        for r in self.replicas:
            r.engine.dispose()


def replica_lsn_replayed(engine: Engine) -> str | None:
    """The WAL position a replica has replayed (None on a primary): for diagnostics."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_last_wal_replay_lsn()::text")).scalar()
