"""The tables ``service.auth`` owns, declared against the one MetaData (migrations 0002, 0015, 0020)."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from service.core.schema import metadata

api_token = Table(
    "api_token",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_sha256", Text, nullable=False, unique=True),
    Column("role", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("countries", ARRAY(Text)),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_reason", Text),
    CheckConstraint("role IN ('partner', 'analyst', 'editor', 'admin')", name="api_token_role_check"),
)

access_audit = Table(
    "access_audit",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("subject", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("countries", ARRAY(Text)),
    Column("via", Text, nullable=False),
    Column("token_id", Integer),
    Column("issuer", Text),
    Column("method", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text),
    Column("resource", Text, nullable=False),
    Column("country", Text),
    Column("filter", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("rows", Integer),
    Index("access_audit_at_idx", "at"),
    Index("access_audit_subject_idx", "subject", "at"),
)

auth_session = Table(
    "auth_session",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("id_sha256", Text, nullable=False, unique=True),
    Column("subject", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("countries", ARRAY(Text)),
    Column("via", Text, nullable=False),
    Column("token_id", Integer, ForeignKey("api_token.id", ondelete="CASCADE")),
    Column("issuer", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint("role IN ('partner', 'analyst', 'editor', 'admin')", name="auth_session_role_check"),
    CheckConstraint("via IN ('token', 'oidc')", name="auth_session_via_check"),
    Index("auth_session_expires_idx", "expires_at"),
    Index("auth_session_token_idx", "token_id"),
)
