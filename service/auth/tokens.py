"""Owner of ``api_token``: the service's own bearer tokens (``dtm-atlas token create``).

A token carries a role of the access policy (partner, analyst, editor, admin), the countries
it holds it for (none named: every country), an optional expiry, and can be revoked. It is
shown once and stored as SHA-256; ``last_used_at`` is written at most once a minute per token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, func, or_, select, update

from service.auth.tables import api_token
from service.core.access import TOKEN_ROLES, Principal, Role, parse_countries

PREFIX = "dtma_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    engine: Engine,
    role: str,
    label: str,
    countries: str | list[str] | None = None,
    expires_in: timedelta | None = None,
) -> str:
    """Issue a token; returns its value (never stored)."""
    if role not in TOKEN_ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(TOKEN_ROLES)}")
    codes = parse_countries(countries)
    if codes is not None:
        bad = sorted(c for c in codes if len(c) != 3 or not c.isalpha())
        if bad:
            raise ValueError(f"not ISO3 country codes: {', '.join(bad)}")
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("the expiry must be in the future")
    token = PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            api_token.insert().values(
                token_sha256=_hash(token),
                role=role,
                label=label,
                countries=sorted(codes) if codes is not None else None,
                expires_at=datetime.now(timezone.utc) + expires_in if expires_in is not None else None,
            )
        )
    return token


def list_tokens(conn: Connection) -> list[dict]:
    cols = [c for c in api_token.c if c.name != "token_sha256"]
    return [dict(r) for r in conn.execute(select(*cols).order_by(api_token.c.id)).mappings()]


def revoke_token(engine: Engine, token_id: int, reason: str | None = None) -> bool:
    with engine.begin() as conn:
        result = conn.execute(
            update(api_token)
            .where(api_token.c.id == token_id, api_token.c.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoked_reason=reason)
        )
        return result.rowcount == 1


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of looking a token up: a principal, or why it is refused."""

    principal: Principal | None
    refusal: str | None = None


def check_token(engine: Engine, token: str) -> TokenCheck:
    """The principal a token stands for, or the reason it is refused (unknown, revoked, expired)."""
    with engine.begin() as conn:
        row = (
            conn.execute(
                select(
                    api_token.c.id,
                    api_token.c.role,
                    api_token.c.label,
                    api_token.c.countries,
                    api_token.c.revoked_at,
                    (api_token.c.expires_at <= func.now()).label("expired"),
                ).where(api_token.c.token_sha256 == _hash(token))
            )
            .mappings()
            .first()
        )
        if row is None:
            return TokenCheck(None, "unknown token")
        if row["revoked_at"] is not None:
            return TokenCheck(None, "this token was revoked")
        if row["expired"]:
            return TokenCheck(None, "this token has expired")
        conn.execute(
            update(api_token)
            .where(
                api_token.c.id == row["id"],
                or_(api_token.c.last_used_at.is_(None), api_token.c.last_used_at < func.now() - timedelta(minutes=1)),
            )
            .values(last_used_at=func.now())
        )
    return TokenCheck(
        Principal(
            role=Role.parse(row["role"]),
            subject=f"token:{row['label']}",
            countries=parse_countries(row["countries"]),
            via="token",
            token_id=row["id"],
        )
    )
