"""Configuration: pydantic-settings classes, env vars prefixed ``DTM_ATLAS_`` (the tiles' ``DTM_ATLAS_TILE_``).

``DATABASE_URL`` (unprefixed, the usual convention) is also honoured; when neither it nor
``DTM_ATLAS_DATABASE_URL`` is set, the CLI runs its own embedded PostgreSQL cluster.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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


class AuthSettings(BaseSettings):
    """Sign-in: OpenID Connect bearer tokens and the limit on failed sign-ins: ``DTM_ATLAS_AUTH_*``."""

    model_config = SettingsConfigDict(env_prefix="DTM_ATLAS_AUTH_", env_file=".env", extra="ignore")

    oidc_issuer: str | None = Field(
        default=None, description="the identity provider's issuer (the tokens' iss); unset: OIDC sign-in off"
    )
    oidc_audience: str | None = Field(default=None, description="the aud the tokens must name (this service's id)")
    oidc_jwks_url: str | None = Field(
        default=None, description="the issuer's JWKS URL; unset with no file: found by OIDC discovery"
    )
    oidc_jwks_file: Path | None = Field(default=None, description="the issuer's JWKS as a file (instead of a URL)")
    oidc_roles_claim: str = Field(
        default="roles", description="claim holding the roles (dotted path: realm_access.roles)"
    )
    oidc_country_claim: str = Field(default="country", description="claim holding the ISO3 countries (absent: all)")
    oidc_role_map: str = Field(
        default="", description="provider role = atlas role, comma-separated (dtm-analyst=analyst); unset: same names"
    )
    oidc_algorithms: str = Field(default="RS256,ES256,PS256,EdDSA", description="accepted signature algorithms")
    oidc_leeway: int = Field(default=30, ge=0, le=600, description="clock skew allowed on exp/nbf/iat, seconds")
    oidc_jwks_ttl: int = Field(default=3600, ge=0, description="how long a fetched JWKS is kept, seconds")
    failed_signins: int = Field(
        default=10, ge=1, description="failed sign-ins per client address and window before 429"
    )
    failed_signin_window: int = Field(default=60, ge=1, description="the window of failed_signins, seconds")
    session_ttl: int = Field(
        default=8 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="a web map sign-in session's lifetime, seconds (an OIDC session ends with its token sooner)",
    )

    @model_validator(mode="after")
    def _audience_with_issuer(self):
        if self.oidc_issuer and not self.oidc_audience:
            raise ValueError("DTM_ATLAS_AUTH_OIDC_AUDIENCE is required with DTM_ATLAS_AUTH_OIDC_ISSUER")
        return self

    @property
    def oidc(self) -> bool:
        return bool(self.oidc_issuer)


class DisclosureSettings(BaseSettings):
    """Disclosure control of public outputs of indicator datasets: ``DTM_ATLAS_DISCLOSURE_*``."""

    model_config = SettingsConfigDict(env_prefix="DTM_ATLAS_DISCLOSURE_", env_file=".env", extra="ignore")

    min_households: int = Field(
        default=5, ge=1, description="public cells (units, breakdown cells) below this many households are suppressed"
    )
    round_to: int = Field(default=0, ge=0, description="round public counts to a multiple of this (0: no rounding)")


class MapSettings(BaseSettings):
    """The static maps and the information package: ``DTM_ATLAS_MAP_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="DTM_ATLAS_MAP_", env_file=".env", extra="ignore")

    logo: Path | None = Field(
        default=None, description="image (PNG or JPEG) in the logo slot at the right of every map's header; unset: none"
    )

    @field_validator("logo", mode="before")
    @classmethod
    def _blank_is_none(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("logo")
    @classmethod
    def _logo_is_an_image(cls, v: Path | None) -> Path | None:
        if v is None:
            return v
        if not v.is_file():
            raise ValueError(f"DTM_ATLAS_MAP_LOGO: {v} is not a file")
        with v.open("rb") as fh:
            head = fh.read(8)
        if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
            raise ValueError(f"DTM_ATLAS_MAP_LOGO: {v} is neither a PNG nor a JPEG image")
        return v


class RenderSettings(BaseSettings):
    """On-demand maps and packages (service/api/queue.py, service/api/renderpool.py): ``DTM_ATLAS_RENDER_*``."""

    model_config = SettingsConfigDict(env_prefix="DTM_ATLAS_RENDER_", env_file=".env", extra="ignore")

    workers: int = Field(default=2, ge=1, le=64, description="static maps and packages made at once per process")
    queue: int = Field(default=8, ge=0, le=10_000, description="maps and packages waiting their turn; beyond: 429")
    timeout_s: float = Field(
        default=300, gt=0, le=24 * 3600, description="a render running longer is stopped (its worker killed): 503"
    )
    nice: int = Field(
        default=10, ge=0, le=19, description="how much lower the render workers' CPU priority is than the server's"
    )
    isolation: Literal["process", "thread"] = Field(
        default="process",
        description="process: renders run in worker processes (off the server's GIL and CPU share); "
        "thread: in the server's threads (debugging)",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DTM_ATLAS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DTM_ATLAS_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL/PostGIS URL; unset = embedded cluster in data_dir",
    )
    read_database_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="streaming replicas for reads (GET), comma-separated, directly or through PgBouncer in "
        "transaction mode; unset: every read goes to DATABASE_URL (docs/deploy.md)",
    )
    replica_max_lag_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="a replica that has not replayed a version the primary made this many seconds ago is out of reads",
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
    package_dpi: int = Field(default=300, ge=30, le=600, description="resolution of the maps of GET /packages")
    package_extents: list[str] | None = Field(
        default=None,
        description="governorate P-codes that get a map in GET /packages (JSON list); unset: every governorate",
    )
    package_workers: int | None = Field(
        default=None, ge=1, description="processes drawing the maps of GET /packages; unset: the machine's CPUs"
    )
    maps: MapSettings = Field(default_factory=lambda: MapSettings(), description="static maps (the logo slot)")
    render: RenderSettings = Field(
        default_factory=lambda: RenderSettings(), description="on-demand maps and packages: pool, queue, time bound"
    )
    auth: AuthSettings = Field(default_factory=lambda: AuthSettings(), description="sign-in (API tokens, OIDC)")
    disclosure: DisclosureSettings = Field(
        default_factory=lambda: DisclosureSettings(), description="small-cell suppression of public outputs"
    )
    cors_origins: str = Field(
        default="*",
        description="origins allowed to read cross-origin (GET/HEAD): * or a "
        "comma-separated list; empty: none. Writes never",
    )

    published_origins: str = Field(
        default="",
        description="origins of object storage or a CDN holding published rounds (dtm-atlas publish) that the "
        "web map may read (/?published=URL): comma-separated https://host[:port]; empty: none",
    )

    max_list_mb: int = Field(
        default=1024,
        ge=1,
        description="largest master list, decompressed (CLI and API; a .zip or .gz is refused as soon as it passes it)",
    )
    max_row_kb: int = Field(
        default=256, ge=1, description="longest line of a CSV master list (CLI and API): a longer one is refused"
    )
    anon_renders_per_minute: int = Field(
        default=30, ge=0, description="maps and packages a client without a token may start per minute (0: no limit)"
    )
    max_shrink: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="share of locations a list may lose against the round it replaces (or the one before) "
        "before its import is held for an editor's confirmation; 1 = never held",
    )

    @field_validator("published_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        """Comma-separated origins (``https://host[:port]``, no path)."""
        origins = [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        for origin in origins:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
                raise ValueError(
                    f"DTM_ATLAS_PUBLISHED_ORIGINS: {origin!r} is not an origin (https://host or https://host:port)"
                )
        return ",".join(origins)

    @field_validator("read_database_urls", mode="before")
    @classmethod
    def _split_read_urls(cls, value):
        """``url1,url2`` (or a JSON list, or a list): each a PostgreSQL URL, none twice."""
        if isinstance(value, str):
            value = value.strip()
            value = json.loads(value) if value.startswith("[") else [u for u in value.replace(" ", ",").split(",")]
        urls = [str(u).strip() for u in value or [] if str(u).strip()]
        for url in urls:
            if not url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
                raise ValueError(
                    f"DTM_ATLAS_READ_DATABASE_URLS: {url.split('@')[-1]!r} is not a PostgreSQL URL "
                    "(postgresql://user:password@host:port/database)"
                )
        if len(set(urls)) != len(urls):
            raise ValueError("DTM_ATLAS_READ_DATABASE_URLS names a replica twice")
        return urls

    @model_validator(mode="after")
    def _replicas_need_a_primary(self):
        if self.read_database_urls and not self.database_url:
            raise ValueError(
                "DTM_ATLAS_READ_DATABASE_URLS needs DATABASE_URL (the primary the replicas stream from): "
                "the embedded cluster has no replicas"
            )
        return self

    @property
    def embedded(self) -> bool:
        return not self.database_url

    @property
    def imports(self) -> ImportRules:
        """What an import of these settings is bound by and reads beside its file."""
        return ImportRules(
            max_bytes=self.max_list_mb * 1024 * 1024,
            max_row_bytes=self.max_row_kb * 1024,
            max_shrink=self.max_shrink,
            round_calendar=str(self.round_calendar) if self.round_calendar else None,
            round_calendar_days=self.round_calendar_days,
            household_sizes=str(self.household_sizes) if self.household_sizes else None,
            user=self.user,
        )


def _default(name: str):
    return Settings.model_fields[name].default


#: the setting ``shared_data_dir``'s default (what a caller that hands none down reads)
DEFAULT_SHARED_DIR: Path = _default("shared_data_dir")


@dataclass(frozen=True)
class ImportRules:
    """The settings an import runs under (``Settings.imports``), handed down from the CLI or
    ``create_app``; the default instance holds the settings' defaults (no environment read)."""

    max_bytes: int = _default("max_list_mb") * 1024 * 1024
    max_row_bytes: int = _default("max_row_kb") * 1024
    max_shrink: float = _default("max_shrink")
    round_calendar: str | None = None  # a CSV of more DTM round numbers
    round_calendar_days: int = _default("round_calendar_days")
    household_sizes: str | None = None  # a CSV of more household-size rules
    user: str | None = None  # who imports are logged as (else the OS user)


@lru_cache
def get_settings() -> Settings:
    return Settings()
