"""Owner of ``api_token``: bearer tokens for HTTP writes. Reads are public.

Tokens are issued by the CLI (``dtm-atlas token create``), shown once, stored as SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import CheckConstraint, Column, Connection, DateTime, Engine, Integer, Table, Text, text

from service.core.schema import metadata

ROLES = ("reader", "editor", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}

#: Declared as migration 0002 creates it (tests/service/test_schema_drift.py).
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
    CheckConstraint("role IN ('editor', 'admin', 'reader')", name="api_token_role_check"),
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, role: str, label: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    token = "dtma_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO api_token (token_sha256, role, label) VALUES (:h, :r, :l)"),
            {"h": _hash(token), "r": role, "l": label},
        )
    return token


def list_tokens(conn: Connection) -> list[dict]:
    return [
        dict(r)
        for r in conn.execute(
            text("SELECT id, role, label, created_at, last_used_at, revoked_at FROM api_token ORDER BY id")
        ).mappings()
    ]


def revoke_token(engine: Engine, token_id: int) -> bool:
    with engine.begin() as conn:
        return (
            conn.execute(
                text("UPDATE api_token SET revoked_at = now() WHERE id = :i AND revoked_at IS NULL"), {"i": token_id}
            ).rowcount
            == 1
        )


def check_token(engine: Engine, token: str) -> dict | None:
    with engine.begin() as conn:
        row = (
            conn.execute(
                text(
                    "UPDATE api_token SET last_used_at = now() WHERE token_sha256 = :h AND revoked_at IS NULL "
                    "RETURNING id, role, label"
                ),
                {"h": _hash(token)},
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def require_role(role: str):
    """FastAPI dependency: a valid bearer token with at least ``role``."""

    def dependency(request: Request) -> dict:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401,
                f"this endpoint needs a bearer token with the {role} role "
                "(Authorization: Bearer <token>; issue one with `dtm-atlas token create`)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        found = check_token(request.app.state.engine, token.strip())
        if found is None:
            raise HTTPException(401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"})
        if RANK[found["role"]] < RANK[role]:
            raise HTTPException(403, f"token '{found['label']}' has role {found['role']}; this needs {role}")
        return found

    return dependency


Editor = Annotated[dict, Depends(require_role("editor"))]
