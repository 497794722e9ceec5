"""A local scale-out topology on loopback, from Debian's packages (``./dev cluster up|down|status``).

What it starts, each on a free port of 127.0.0.1, all under ``<data dir>/cluster/``:

* the primary: the embedded PostgreSQL cluster (``<data dir>/pg``, the one ``dtm-atlas`` uses
  without ``DATABASE_URL``), switched to ``wal_level = replica`` so it can stream (``ALTER
  SYSTEM``; ``down`` puts it back to ``minimal``, the fast single-node setting);
* one streaming replica made with ``pg_basebackup -R`` (``--delay S`` sets
  ``recovery_min_apply_delay``, a replica late on purpose);
* PgBouncer in transaction mode in front of both (databases ``dtm_atlas`` -> primary,
  ``dtm_atlas_replica`` -> replica);
* two service workers (``dtm-atlas serve``): writes to the primary, reads from the replica through
  PgBouncer (``DTM_ATLAS_READ_DATABASE_URLS``);
* nginx as the HTTP cache in front of the workers (``proxy_cache``; ``X-Cache-Status`` says HIT or
  MISS), which also serves ``<cluster>/static`` as plain files (the peer of the cache bench).

``up`` prints the URLs and writes them to ``<cluster>/cluster.json``; ``down`` stops what ``up``
started and checks that no process of it is left. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.pgembed import DB_NAME, DB_USER, EmbeddedPostgres, find_pg_bindir  # noqa: E402
from service.pgembed import _free_port as free_port  # noqa: E402  (the embedded cluster's own port picker)

REPLICA_DB = "dtm_atlas_replica"


def wait_port(port: int, timeout: float = 30.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"cluster: {what or 'a server'} did not open port {port} within {timeout:.0f} s")


def as_postgres(cmd: list, **kw) -> subprocess.CompletedProcess:
    """Run a PostgreSQL or PgBouncer binary as the postgres user when we are root (both refuse root)."""
    cmd = [str(c) for c in cmd]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


class Cluster:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir.resolve()
        self.dir = self.data_dir / "cluster"
        self.state_file = self.dir / "cluster.json"
        self.primary = EmbeddedPostgres(self.data_dir)

    # -- state --------------------------------------------------------------------------------
    def state(self) -> dict:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def save(self, state: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))

    # -- the primary ----------------------------------------------------------------------------
    def primary_sql(self, sql: str) -> list[tuple]:
        import psycopg

        st = self.primary._state()
        dsn = f"host=127.0.0.1 port={st['port']} user={DB_USER} password={st['password']} dbname={DB_NAME}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def start_primary(self) -> bool:
        """Start the embedded cluster able to stream; returns whether it was running before."""
        was_running = self.primary.is_running()
        self.primary.start()
        if self.primary_sql("SHOW wal_level")[0][0] != "replica":
            for setting in ("wal_level = 'replica'", "max_wal_senders = 8", "wal_keep_size = '512MB'"):
                self.primary_sql(f"ALTER SYSTEM SET {setting}")
            self.primary.stop()
            self.primary.start()
        from sqlalchemy import create_engine

        from service import db

        engine = create_engine(self.primary.url())
        db.migrate(engine)
        engine.dispose()
        return was_running

    def reset_primary(self, keep_running: bool) -> None:
        if not self.primary.is_running():
            return
        for name in ("wal_level", "max_wal_senders", "wal_keep_size"):
            self.primary_sql(f"ALTER SYSTEM RESET {name}")
        self.primary.stop()
        if keep_running:
            self.primary.start()

    # -- the replica ----------------------------------------------------------------------------
    def start_replica(self, delay_s: float) -> dict:
        bindir = find_pg_bindir()
        pst = self.primary._state()
        rdir = self.dir / "replica"
        if rdir.exists():
            shutil.rmtree(rdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        chown_postgres(self.dir)
        passfile = self.dir / "pgpass"
        passfile.write_text(f"127.0.0.1:{pst['port']}:*:{DB_USER}:{pst['password']}\n")
        passfile.chmod(0o600)
        chown_postgres(passfile)
        env = dict(os.environ, PGPASSFILE=str(passfile))
        proc = as_postgres(
            [bindir / "pg_basebackup", "-h", "127.0.0.1", "-p", pst["port"], "-U", DB_USER, "-D", rdir,
             "-R", "-X", "stream", "-c", "fast", "-w"],
            env=env,
        )  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(f"cluster: pg_basebackup failed: {proc.stderr.strip()}")
        port = free_port()
        conf = (
            f"\n# dtm-atlas cluster replica\nport = {port}\nunix_socket_directories = '{rdir}'\n"
            f"hot_standby = on\nhot_standby_feedback = on\nrecovery_min_apply_delay = '{int(delay_s * 1000)}ms'\n"
            f"primary_conninfo = 'host=127.0.0.1 port={pst['port']} user={DB_USER} "
            f"password={pst['password']} application_name=dtm_atlas_replica'\n"
        )
        with open(rdir / "postgresql.auto.conf", "a") as fh:
            fh.write(conf)
        proc = as_postgres([bindir / "pg_ctl", "start", "-w", "-t", "60", "-D", rdir, "-l", rdir / "server.log"])
        if proc.returncode != 0:
            raise SystemExit(f"cluster: the replica did not start: {proc.stderr.strip() or proc.stdout.strip()}")
        return {"port": port, "pgdata": str(rdir), "delay_s": delay_s}

    def stop_replica(self, st: dict) -> None:
        rdir = st.get("replica", {}).get("pgdata")
        if rdir and Path(rdir, "PG_VERSION").exists():
            as_postgres([find_pg_bindir() / "pg_ctl", "stop", "-w", "-m", "fast", "-D", rdir])

    # -- PgBouncer -------------------------------------------------------------------------------
    def start_pgbouncer(self, replica_port: int) -> dict:
        pst = self.primary._state()
        bdir = self.dir / "pgbouncer"
        bdir.mkdir(parents=True, exist_ok=True)
        chown_postgres(bdir)
        port = free_port()
        (bdir / "userlist.txt").write_text(f'"{DB_USER}" "{pst["password"]}"\n')
        (bdir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{DB_NAME} = host=127.0.0.1 port={pst['port']} dbname={DB_NAME}\n"
            f"{REPLICA_DB} = host=127.0.0.1 port={replica_port} dbname={DB_NAME}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = scram-sha-256\nauth_file = {bdir / 'userlist.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 400\ndefault_pool_size = 20\n"
            "ignore_startup_parameters = extra_float_digits,options,application_name\n"
            f"logfile = {bdir / 'pgbouncer.log'}\npidfile = {bdir / 'pgbouncer.pid'}\n"
        )
        for f in bdir.iterdir():
            chown_postgres(f)
            f.chmod(0o600)
        proc = as_postgres(["pgbouncer", "-d", bdir / "pgbouncer.ini"])
        if proc.returncode != 0:
            raise SystemExit(f"cluster: PgBouncer did not start: {proc.stderr.strip()}")
        wait_port(port, what="PgBouncer")
        return {"port": port, "pidfile": str(bdir / "pgbouncer.pid")}

    # -- the service workers ----------------------------------------------------------------------
    def start_worker(self, n: int, pgbouncer_port: int, max_lag_s: float | None = None) -> dict:
        pst = self.primary._state()
        port = free_port()
        log = self.dir / f"worker{n}.log"
        read_url = f"postgresql://{DB_USER}:{pst['password']}@127.0.0.1:{pgbouncer_port}/{REPLICA_DB}"
        env = dict(
            os.environ,
            DATABASE_URL=self.primary.url(),
            DTM_ATLAS_READ_DATABASE_URLS=read_url,
            **({"DTM_ATLAS_REPLICA_MAX_LAG_S": str(max_lag_s)} if max_lag_s else {}),
            DTM_ATLAS_DATA_DIR=str(self.data_dir),
            PYTHONPATH=str(ROOT),
        )
        cmd = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        with open(log, "ab") as fh:
            proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        return {"port": port, "pid": proc.pid, "log": str(log)}

    # -- nginx ------------------------------------------------------------------------------------
    def start_nginx(self, worker_ports: list[int]) -> dict:
        ndir = self.dir / "nginx"
        for sub in ("cache", "tmp", "logs"):
            (ndir / sub).mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(ndir / sub, "nobody", "nogroup")
        static = self.dir / "static"
        static.mkdir(parents=True, exist_ok=True)
        port, static_port = free_port(), free_port()
        template = (ROOT / "deploy" / "nginx.conf").read_text()
        conf = template.format(
            prefix=ndir,
            user="user nobody nogroup;" if os.geteuid() == 0 else "",
            upstreams="\n".join(f"        server 127.0.0.1:{p};" for p in worker_ports),
            port=port,
            static_port=static_port,
            static_root=static,
        )
        (ndir / "nginx.conf").write_text(conf)
        cmd = ["nginx", "-p", str(ndir), "-c", str(ndir / "nginx.conf")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"cluster: nginx did not start: {proc.stderr.strip()}")
        wait_port(port, what="nginx")
        return {"port": port, "static_port": static_port, "pidfile": str(ndir / "nginx.pid"), "static": str(static)}

    def nginx_static_headers(self, st: dict, lines: str, probe_path: str) -> None:
        """The static peer's extra ``add_header`` lines (the cache bench gives it the headers the cache's
        answers carry), then a reload; returns once nginx's new workers answer ``probe_path`` with them."""
        ndir = Path(st["nginx"]["pidfile"]).parent
        (ndir / "static-headers.conf").write_text(lines)
        proc = subprocess.run(["nginx", "-p", str(ndir), "-c", str(ndir / "nginx.conf"), "-s", "reload"],
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(f"cluster: nginx did not reload: {proc.stderr.strip()}")
        probe = lines.split()[1].lower() if lines.strip() else None
        end = time.monotonic() + 10
        while probe and time.monotonic() < end:
            req = urllib.request.Request(st["urls"]["static"] + probe_path, method="HEAD")
            with urllib.request.urlopen(req, timeout=2) as r:
                if probe in {k.lower() for k in r.headers}:
                    return
            time.sleep(0.1)
        if probe:
            raise SystemExit("cluster: nginx's static server did not take the new headers within 10 s")

    # -- up / down --------------------------------------------------------------------------------
    def up(self, delay_s: float = 0.0, workers: int = 2, max_lag_s: float | None = None) -> dict:
        if self.state().get("up"):
            self.down(quiet=True)
        for tool in ("pgbouncer", "nginx"):
            if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
                raise SystemExit(f"cluster: {tool} is not installed (./dev installs it)")
        st: dict = {"up": True, "data_dir": str(self.data_dir)}
        st["primary_was_running"] = self.start_primary()
        st["primary"] = {"port": self.primary._state()["port"]}
        self.save(st)
        st["replica"] = self.start_replica(delay_s)
        self.save(st)
        st["pgbouncer"] = self.start_pgbouncer(st["replica"]["port"])
        self.save(st)
        st["workers"] = [self.start_worker(n, st["pgbouncer"]["port"], max_lag_s) for n in range(workers)]
        self.save(st)
        for w in st["workers"]:
            wait_port(w["port"], timeout=60, what=f"worker on {w['port']}")
        st["nginx"] = self.start_nginx([w["port"] for w in st["workers"]])
        st["urls"] = {
            "cache": f"http://127.0.0.1:{st['nginx']['port']}",
            "static": f"http://127.0.0.1:{st['nginx']['static_port']}",
            "workers": [f"http://127.0.0.1:{w['port']}" for w in st["workers"]],
            "primary": f"postgresql://{DB_USER}@127.0.0.1:{st['primary']['port']}/{DB_NAME}",
            "replica": f"postgresql://{DB_USER}@127.0.0.1:{st['replica']['port']}/{DB_NAME}",
            "pgbouncer": f"postgresql://{DB_USER}@127.0.0.1:{st['pgbouncer']['port']}/{REPLICA_DB}",
        }
        self.save(st)
        for w in st["urls"]["workers"]:
            self.wait_health(w)
        return st

    @staticmethod
    def wait_health(url: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(url + "/health", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"cluster: {url}/health did not answer 200 within {timeout:.0f} s")

    @staticmethod
    def _kill_pidfile(pidfile: str | None, sig=signal.SIGTERM) -> int | None:
        if not pidfile or not Path(pidfile).exists():
            return None
        try:
            pid = int(Path(pidfile).read_text().split()[0])
            os.kill(pid, sig)
            return pid
        except (ValueError, ProcessLookupError):
            return None

    @staticmethod
    def _wait_gone(pids: list[int], timeout: float = 15.0) -> list[int]:
        end = time.monotonic() + timeout
        left = pids
        while left and time.monotonic() < end:
            left = [p for p in left if Path(f"/proc/{p}").exists() and not _zombie(p)]
            time.sleep(0.1)
        return left

    def down(self, quiet: bool = False) -> list[int]:
        st = self.state()
        if not st:
            return []
        pids: list[int] = []
        if "nginx" in st:
            pid = self._kill_pidfile(st["nginx"]["pidfile"], signal.SIGQUIT)
            pids += [pid] if pid else []
        for w in st.get("workers", []):
            try:
                os.killpg(w["pid"], signal.SIGTERM)
                pids.append(w["pid"])
            except ProcessLookupError:
                pass
        if "pgbouncer" in st:
            pid = self._kill_pidfile(st["pgbouncer"]["pidfile"])
            pids += [pid] if pid else []
        left = self._wait_gone(pids)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.stop_replica(st)
        self.reset_primary(keep_running=bool(st.get("primary_was_running")))
        self.state_file.unlink(missing_ok=True)
        return self._wait_gone(left, timeout=5)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] in ("Z", "X")
    except OSError:
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--delay", type=float, default=0.0, help="replica apply delay, seconds (up)")
    parser.add_argument(
        "--max-lag", type=float, default=None, help="the workers' DTM_ATLAS_REPLICA_MAX_LAG_S, seconds (up)"
    )
    parser.add_argument("--workers", type=int, default=2, choices=range(1, 9), metavar="N", help="service workers (up)")
    args = parser.parse_args(argv)
    data_dir = Path(os.environ.get("DTM_ATLAS_DATA_DIR", ROOT / ".data"))
    cluster = Cluster(data_dir)
    if args.action == "up":
        st = cluster.up(delay_s=args.delay, workers=args.workers, max_lag_s=args.max_lag)
        print(json.dumps(st["urls"], indent=2))
    elif args.action == "down":
        left = cluster.down()
        if left:
            print(f"cluster: processes still running: {left}", file=sys.stderr)
            return 1
        print("cluster: down")
    else:
        print(json.dumps(cluster.state().get("urls", {"up": False}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
