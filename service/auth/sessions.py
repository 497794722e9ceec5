"""Owner of ``auth_session``: the web map's sign-in sessions (migration 0020).

The web map signs in once with a token (``POST /auth/session`` with ``Authorization: Bearer``:
an API token or an OpenID Connect access token, resolved by the same code as every bearer
token); the answer sets a cookie holding an opaque session id (256 random bits), never the
token, so nothing a page script can read holds a secret. The session row keeps the principal
the token signed in as, the SHA-256 of the id (a stolen table gives no cookie), its expiry
(``DTM_ATLAS_AUTH_SESSION_TTL``; an OIDC session ends with its token's ``exp``) and its
revocation (signing out; an API token revoked or expired ends every session made from it, read
at every use).

A session signs in reads only: the request's principal is resolved from the cookie on GET and
HEAD (``service.auth.principal``), never on writes, which need ``Authorization: Bearer``; with
``SameSite=Strict`` this is the service's CSRF defence. The principal is the same
:class:`~service.core.access.Principal` a bearer token gives (``session=True``), so the policy,
the audit and every cache key treat both alike.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, and_, delete, func, or_, select, update

from service.auth.tables import api_token, auth_session
from service.core.access import Principal, Role, parse_countries

COOKIE = "dtm_atlas_session"
"""The cookie's name (HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS)."""


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def create_session(engine: Engine, who: Principal, ttl: timedelta) -> tuple[str, datetime]:
    """A session for ``who`` (a signed-in principal); returns its id (only the cookie holds it)
    and its expiry: ``ttl`` from now, or the OIDC token's expiry if sooner. Sessions expired
    for a day are purged on the way."""
    if who.anonymous:
        raise ValueError("an anonymous principal has nothing to keep in a session")
    now = datetime.now(timezone.utc)
    expires = now + ttl
    if who.expires_at is not None:
        expires = min(expires, datetime.fromtimestamp(who.expires_at, timezone.utc))
    session_id = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(delete(auth_session).where(auth_session.c.expires_at < func.now() - timedelta(days=1)))
        conn.execute(
            auth_session.insert().values(
                id_sha256=_hash(session_id),
                subject=who.subject,
                role=who.role.label,
                countries=None if who.countries is None else sorted(who.countries),
                via=who.via,
                token_id=who.token_id,
                issuer=who.issuer,
                expires_at=expires,
            )
        )
    return session_id, expires


def check_session(engine: Engine, session_id: str) -> Principal | None:
    """The principal of a live session (None: unknown, signed out, expired, or its API token
    revoked or expired)."""
    if not session_id or len(session_id) > 200:
        return None
    s, t = auth_session.c, api_token.c
    with engine.begin() as conn:
        row = (
            conn.execute(
                select(s.id, s.subject, s.role, s.countries, s.via, s.token_id, s.issuer, s.expires_at)
                .select_from(auth_session.outerjoin(api_token, t.id == s.token_id))
                .where(
                    s.id_sha256 == _hash(session_id),
                    s.revoked_at.is_(None),
                    s.expires_at > func.now(),
                    or_(
                        s.token_id.is_(None),
                        and_(t.revoked_at.is_(None), or_(t.expires_at.is_(None), t.expires_at > func.now())),
                    ),
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        conn.execute(
            update(auth_session)
            .where(
                s.id == row["id"],
                or_(s.last_seen_at.is_(None), s.last_seen_at < func.now() - timedelta(minutes=1)),
            )
            .values(last_seen_at=func.now())
        )
    return Principal(
        role=Role.parse(row["role"]),
        subject=row["subject"],
        countries=parse_countries(row["countries"]),
        via=row["via"],
        token_id=row["token_id"],
        issuer=row["issuer"],
        session=True,
        expires_at=int(row["expires_at"].timestamp()),
    )


def end_session(engine: Engine, session_id: str) -> bool:
    """Sign out: the session is revoked (kept for the record until it expires)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(auth_session)
            .where(auth_session.c.id_sha256 == _hash(session_id), auth_session.c.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )
        return result.rowcount == 1
