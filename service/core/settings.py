"""Configuration: pydantic-settings classes, env vars prefixed ``DTM_ATLAS_`` (the tiles' ``DTM_ATLAS_TILE_``).

``DATABASE_URL`` (unprefixed, the usual convention) is also honoured; when neither it nor
``DTM_ATLAS_DATABASE_URL`` is set, the CLI runs its own embedded PostgreSQL cluster.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class TileSettings(BaseSettings):
    """The tiles' cache and database connections: ``DTM_ATLAS_TILE_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="DTM_ATLAS_TILE_", env_file=".env", extra="ignore")

    cache_mb: float = Field(default=256, description="in-process LRU size of tiles and GeoJSON; 0 = no cache")
    cache_ttl: int = Field(default=7 * 24 * 3600, description="Redis entry lifetime, seconds")
    max_age: int = Field(default=0, description="Cache-Control max-age of tiles (0: revalidate, 304)")
    db_connections: int = Field(
        default=10, description="size of each tile connection pool (a process has two: generic and custom plans)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DTM_ATLAS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DTM_ATLAS_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL/PostGIS URL; unset = embedded cluster in data_dir",
    )
    data_dir: Path = Field(default=PROJECT_ROOT / ".data", description="embedded cluster, caches")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    shared_data_dir: Path = Field(
        default=PROJECT_ROOT.parent / "shared" / "data",
        description="where the real demo data lives (COD-AB, master lists)",
    )
    max_upload_mb: int = 50
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DTM_ATLAS_REDIS_URL", "REDIS_URL"),
        description="tile/GeoJSON cache in Redis (shared by workers); unset = in-process LRU",
    )
    user: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DTM_ATLAS_USER"),
        description="who imports are logged as (unset: the operating-system user)",
    )
    pg_bindir: Path | None = Field(
        default=None, description="PostgreSQL's bin folder for the embedded cluster (unset: found on the machine)"
    )
    round_calendar: Path | None = Field(
        default=None, description="a CSV of more DTM round numbers (country, population, round_number, reporting_date)"
    )
    round_calendar_days: int = Field(
        default=3,
        ge=0,
        le=15,
        description="a reporting date this many days or fewer from a date of DTM's round calendar gets that round's "
        "number (the nearest; 0: exact dates only; calendar dates on the first of a month match exactly only)",
    )
    household_sizes: Path | None = Field(
        default=None,
        description="a CSV of more household-size rules (country, population, shelter, first_date, last_date, "
        "persons_per_family), read after service/data/household_sizes.csv",
    )
    fragility_methods_dir: Path | None = Field(
        default=None, description="folder of extra fragility method files (YAML/JSON) that ?method=ID may name"
    )
    tiles: TileSettings = Field(default_factory=lambda: TileSettings(), description="vector tiles and their cache")
    cors_origins: str = Field(
        default="*",
        description="origins allowed to read cross-origin (GET/HEAD): * or a "
        "comma-separated list; empty: none. Writes never",
    )

    @property
    def embedded(self) -> bool:
        return not self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
