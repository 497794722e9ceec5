"""The embedded PostgreSQL/PostGIS cluster used when no DATABASE_URL is configured.

The cluster lives in ``<data_dir>/pg`` (git-ignored), listens on 127.0.0.1 only, on a port
chosen free at first start and remembered in ``<data_dir>/pg.json``. PostgreSQL refuses to
run as root, so when we are root the server binaries run as the ``postgres`` system user and
the cluster folder belongs to it (mode 700).
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DB_NAME = "dtm_atlas"
DB_USER = "atlas"


class EmbeddedPostgresError(RuntimeError):
    pass


def find_pg_bindir(preferred: Path | None = None) -> Path:
    """Locate initdb/pg_ctl: ``preferred`` (the setting ``pg_bindir``, DTM_ATLAS_PG_BINDIR), the
    newest /usr/lib/postgresql/N/bin, PATH."""
    candidates: list[Path] = [Path(preferred)] if preferred else []
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted(
            (p for p in root.iterdir() if p.name.split(".")[0].isdigit()),
            key=lambda p: int(p.name.split(".")[0]),
            reverse=True,
        )
        candidates += [v / "bin" for v in versions]
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(Path(which).resolve().parent)
    for c in candidates:
        if (c / "initdb").exists() and (c / "pg_ctl").exists():
            return c
    raise EmbeddedPostgresError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found. On Debian/Ubuntu run "
        "`apt-get install postgresql-15-postgis-3` (the README's first command does it); elsewhere "
        "install PostgreSQL >= 13 with PostGIS >= 3.1, or set DATABASE_URL to an existing server."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    recovery: str | None = None  # set by start() when it recovered a server that had died
    bindir: Path | None = None  # the setting ``pg_bindir``: where initdb/pg_ctl are, before the usual places

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "pg.json"

    @property
    def log_file(self) -> Path:
        return self.pgdata / "server.log"

    # -- running binaries as the right user -------------------------------------------------
    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(a) for a in args]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise EmbeddedPostgresError(
                f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    # -- state -------------------------------------------------------------------------------
    def _state(self) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {}

    def _save_state(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state))
        self.state_file.chmod(0o600)

    @property
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists() and self.state_file.exists()

    def url(self, driver: str = "postgresql+psycopg") -> str:
        st = self._state()
        if not st:
            raise EmbeddedPostgresError(f"embedded cluster not initialised in {self.pgdata}")
        return f"{driver}://{DB_USER}:{st['password']}@127.0.0.1:{st['port']}/{DB_NAME}"

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> None:
        bindir = find_pg_bindir(self.bindir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.pgdata.exists() and not (self.pgdata / "PG_VERSION").exists():
            shutil.rmtree(self.pgdata)  # a half-made cluster from an interrupted first start
        self.pgdata.mkdir(mode=0o700)
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)
            self._check_traversable()
        password = secrets.token_urlsafe(18)
        with tempfile.NamedTemporaryFile("w", delete=False, suffix=".pw") as f:
            f.write(password + "\n")
        try:
            os.chmod(f.name, 0o644)
            self._run(
                # text sorts in byte order: the same order as C.UTF-8 (code points) for UTF-8
                # text, but PostgreSQL compares with memcmp and abbreviated keys, not strcoll
                # (index builds over location ids take half the time); character classes
                # and case mapping stay C.UTF-8's
                [
                    bindir / "initdb",
                    "-D",
                    self.pgdata,
                    "-U",
                    DB_USER,
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--lc-collate=C",
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={f.name}",
                ]
            )
        finally:
            os.unlink(f.name)
        conf = self.pgdata / "postgresql.conf"
        extra = (
            "\n# dtm-atlas embedded cluster\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.pgdata}'\n"
            "shared_buffers = '256MB'\nwork_mem = '32MB'\nmaintenance_work_mem = '256MB'\n"
            # commits are durable when reported: fsync and synchronous_commit stay on
            "fsync = on\nmax_connections = 100\n"
            "logging_collector = off\n"
            # a local store with no replicas nor WAL archive: tables made and filled in one
            # transaction (a round's partition, its indexes, the import's raw table) skip the WAL
            # and are synced at commit, still durable and crash-safe
            "wal_level = minimal\nmax_wal_senders = 0\n"
        )
        if self._as_root:
            self._run(["sh", "-c", f"cat >> '{conf}' <<'EOF'\n{extra}\nEOF"])
        else:
            with open(conf, "a") as fh:
                fh.write(extra)
        self._save_state({"port": _free_port(), "password": password, "bindir": str(bindir)})

    def _check_traversable(self) -> None:
        probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(self.pgdata)])
        if probe.returncode != 0:
            raise EmbeddedPostgresError(
                f"the postgres user cannot reach {self.pgdata}; a parent folder is not traversable. "
                "Set DTM_ATLAS_DATA_DIR to a folder the postgres user can reach, or use DATABASE_URL."
            )

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        bindir = Path(self._state().get("bindir") or find_pg_bindir(self.bindir))
        if self._run([bindir / "pg_ctl", "status", "-D", self.pgdata], check=False).returncode != 0:
            return False
        return not self._postmaster_is_zombie()

    def _postmaster_is_zombie(self) -> bool:
        """A killed postmaster nobody has reaped yet still answers kill(pid, 0): not running."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return False
        return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")

    def start(self) -> str:
        """Create the cluster on first use, start it if stopped, make sure the database exists."""
        if not self.initialised:
            self.init()
        st = self._state()
        bindir = Path(st["bindir"]) if Path(st["bindir"]).exists() else find_pg_bindir(self.bindir)
        self.recovery = None
        if not self.is_running():
            crashed = self._wait_for_dead_server()
            if _port_in_use(st["port"]):
                st["port"] = _free_port()
                self._save_state(st)
            log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            # synchronous_commit on whatever an older postgresql.conf says (clusters made before
            # it was removed there): a commit the CLI or the API reports is on disk
            self._run(
                [
                    bindir / "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    "120",
                    "-D",
                    self.pgdata,
                    "-l",
                    self.log_file,
                    "-o",
                    f"-p {st['port']} -c synchronous_commit=on",
                ]
            )
            if crashed:
                self.recovery = self._recovery_report(log_offset)
        self._ensure_database()
        return self.url()

    # -- after a crash -----------------------------------------------------------------------
    def _server_processes(self) -> list[int]:
        """Processes whose working directory is this cluster's folder: the server's (a
        postmaster and its backends chdir there), alive or left behind by a killed postmaster."""
        target = os.path.realpath(self.pgdata)
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "cwd") == target:
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def _wait_for_dead_server(self, grace_s: float = 10.0) -> bool:
        """A server that is not running but left ``postmaster.pid`` died (killed, crashed):
        wait for its backends to notice and exit (they hold its shared memory, and a new
        postmaster refuses to start while they do), SIGKILL the ones still there after
        ``grace_s``. True when the server had died (the start then runs crash recovery)."""
        import signal

        if not (self.pgdata / "postmaster.pid").exists():
            return False
        deadline = time.monotonic() + grace_s
        while (pids := self._server_processes()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in pids:  # still running a query the dead postmaster cannot end: they go
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while self._server_processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._server_processes():
            raise EmbeddedPostgresError(
                f"processes of the stopped server still run in {self.pgdata}: {self._server_processes()}"
            )
        # a killed postmaster that nobody reaps (no init in a container) stays a zombie, and
        # PostgreSQL takes the lock file of a pid that exists for a server that runs: the file
        # is stale now that none of the server's processes is left
        pid_file = self.pgdata / "postmaster.pid"
        if self._postmaster_is_zombie() or not self._pid_alive(pid_file):
            pid_file.unlink(missing_ok=True)
            # the same for the socket's lock file (the sockets live in the cluster's folder)
            for stale in self.pgdata.glob(".s.PGSQL.*"):
                stale.unlink(missing_ok=True)
        return True

    @staticmethod
    def _pid_alive(pid_file: Path) -> bool:
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (OSError, ValueError):
            return False
        return True

    def _recovery_report(self, log_offset: int) -> str:
        """What the server logged about its crash recovery during this start."""
        try:
            with open(self.log_file, "rb") as fh:
                fh.seek(log_offset)
                lines = fh.read().decode("utf-8", "replace").splitlines()
        except OSError:
            lines = []
        keep = [
            ln.split("LOG:", 1)[-1].strip()
            for ln in lines
            if any(
                k in ln
                for k in (
                    "not properly shut down",
                    "redo done",
                    "redo starts",
                    "interrupted",
                    "automatic recovery",
                    "checkpoint complete",
                )
            )
        ]
        return (
            "the server had stopped without a shutdown (killed or crashed); PostgreSQL recovered "
            "from its write-ahead log: only committed transactions are kept"
            + (": " + "; ".join(keep[:4]) if keep else "")
        )

    def _ensure_database(self) -> None:
        import psycopg

        st = self._state()
        dsn = f"host=127.0.0.1 port={st['port']} user={DB_USER} password={st['password']} dbname=postgres"
        for attempt in range(50):
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
                    if not exists:
                        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
                return
            except psycopg.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def stop(self) -> bool:
        if not self.is_running():
            return False
        bindir = Path(self._state().get("bindir") or find_pg_bindir(self.bindir))
        self._run([bindir / "pg_ctl", "stop", "-w", "-m", "fast", "-D", self.pgdata])
        return True

    def status(self) -> dict:
        st = self._state()
        return {
            "pgdata": str(self.pgdata),
            "initialised": self.initialised,
            "running": self.is_running(),
            "port": st.get("port"),
        }
