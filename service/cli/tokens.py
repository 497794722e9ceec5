"""``dtm-atlas token ...``: the service's API tokens (role, countries, expiry; stored hashed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from service.cli.common import console, fail, open_engine

app = typer.Typer(
    help="API tokens: a role (partner, analyst, editor, admin), the countries it holds for, an expiry (stored hashed).",
    no_args_is_help=True,
)


@app.command("create")
def token_create(
    label: Annotated[str, typer.Option(help="Who or what the token is for (written in the import log and audit)")],
    role: Annotated[
        str, typer.Option(help="partner (partner data), analyst (restricted data), editor (writes), admin")
    ] = "editor",
    country: Annotated[
        list[str] | None,
        typer.Option(help="ISO3 country the role holds for (repeat for several; none: every country)"),
    ] = None,
    expires_days: Annotated[
        float | None, typer.Option(min=0.001, help="days until the token expires (none: until revoked)")
    ] = None,
):
    """Issue a token (printed once; only its hash is stored)."""
    from service.auth import create_token

    try:
        token = create_token(
            open_engine(),
            role,
            label,
            countries=country or None,
            expires_in=timedelta(days=expires_days) if expires_days else None,
        )
    except ValueError as exc:
        fail(str(exc))
    console.print(token, highlight=False, soft_wrap=True)


@app.command("list")
def token_list():
    """List tokens (never their values)."""
    from service.auth import list_tokens

    with open_engine().connect() as conn:
        rows = list_tokens(conn)
    t = Table("id", "role", "countries", "label", "created", "expires", "last used", "revoked")
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["role"],
            ", ".join(r["countries"] or []) or "all",
            r["label"],
            str(r["created_at"])[:19],
            str(r["expires_at"] or "")[:19],
            str(r["last_used_at"] or "")[:19],
            (str(r["revoked_at"])[:19] + (f" ({r['revoked_reason']})" if r["revoked_reason"] else ""))
            if r["revoked_at"]
            else "",
        )
    console.print(t)


@app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id")],
    reason: Annotated[str | None, typer.Option(help="why (kept with the token)")] = None,
):
    """Revoke a token (at once: every request checks the table)."""
    from service.auth import revoke_token

    if not revoke_token(open_engine(), token_id, reason):
        fail(f"no active token with id {token_id}")
    console.print(f"token {token_id} revoked")
