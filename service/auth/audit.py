"""Owner of ``access_audit``: every read of restricted data, who read what, when, with which filter."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, select

from service.auth.tables import access_audit
from service.core.access import Principal


def record(
    engine: Engine,
    who: Principal,
    *,
    method: str,
    path: str,
    query: str | None,
    resource: str,
    country: str | None,
    filter: dict | None = None,
    rows: int | None = None,
) -> int:
    """Write one audit row (its own transaction: the read is logged even if the answer fails later)."""
    with engine.begin() as conn:
        return conn.execute(
            access_audit.insert()
            .values(
                subject=who.subject,
                role=who.role.label,
                countries=None if who.countries is None else sorted(who.countries),
                via=who.via,
                token_id=who.token_id,
                issuer=who.issuer,
                method=method,
                path=path,
                query=query or None,
                resource=resource,
                country=country,
                filter=filter or {},
                rows=rows,
            )
            .returning(access_audit.c.id)
        ).scalar_one()


def recent(conn: Connection, limit: int = 100, subject: str | None = None) -> list[dict]:
    q = select(access_audit).order_by(access_audit.c.id.desc()).limit(limit)
    if subject:
        q = q.where(access_audit.c.subject == subject)
    return [dict(r) for r in conn.execute(q).mappings()]
