"""Database access: URL resolution (embedded or external), engines, migrations.

SQLAlchemy Core with the psycopg 3 driver; set-based SQL lives in each table's owner module.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from service.core.settings import Settings
from service.pgembed import EmbeddedPostgres

MIN_POSTGIS = (3, 1)
_lock = threading.Lock()


class DatabaseError(RuntimeError):
    pass


def normalise_url(url: str) -> str:
    """Accept postgres://, postgresql:// and driver-qualified URLs; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def embedded(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(Path(settings.data_dir), bindir=settings.pg_bindir)


def database_url(settings: Settings, start: bool = True) -> str:
    """The URL to use: DATABASE_URL when set, else the embedded cluster (started if asked)."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    pg = embedded(settings)
    return pg.start() if start else pg.url()


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, future=True)


def get_engine(settings: Settings, start: bool = True) -> Engine:
    with _lock:
        return _engine_for(database_url(settings, start=start))


def postgis_version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT postgis_lib_version()")).scalar()
        except Exception:
            return None


def check_postgis_available(engine: Engine) -> None:
    """Fail with an actionable message if the server cannot provide PostGIS >= 3.1."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")
        ).fetchone()
    if row is None:
        raise DatabaseError(
            "PostGIS is not installed on the database server. On Debian/Ubuntu: "
            "`apt-get install postgresql-15-postgis-3` (match your PostgreSQL version)."
        )
    version = tuple(int(x) for x in row[0].split(".")[:2])
    if version < MIN_POSTGIS:
        raise DatabaseError(f"PostGIS {row[0]} is too old; DTM Atlas needs PostGIS >= 3.1")


def alembic_config(engine: Engine):
    from alembic.config import Config

    import migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> str | None:
    """Apply Alembic migrations up to ``revision``; returns the resulting head."""
    from alembic import command

    check_postgis_available(engine)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        # one migrator at a time, even with several processes starting together
        conn.execute(text("SELECT pg_advisory_xact_lock(7262016)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:
            return None


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def read_route(primary: Engine, urls: list[str], max_lag_s: float = 30.0, pool_size: int = 10):
    """Reads through the replicas at ``urls`` (directly or through PgBouncer in transaction mode:
    no server-side prepared statements), the primary when there are none (service/core/replicas.py)."""
    from service.core.replicas import ReadRoute, Replica

    replicas = [
        Replica(
            url,
            create_engine(
                normalise_url(url),
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                connect_args={"prepare_threshold": None, "connect_timeout": 3},
            ),
            name=f"replica-{i}",
        )
        for i, url in enumerate(urls, start=1)
    ]
    return ReadRoute(primary, replicas, max_lag_s)
