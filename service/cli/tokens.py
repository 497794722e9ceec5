"""``dtm-atlas token ...``: API tokens for HTTP writes (stored hashed)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from service.cli.common import console, fail, open_engine

app = typer.Typer(help="API tokens for HTTP writes (stored hashed).", no_args_is_help=True)


@app.command("create")
def token_create(
    label: Annotated[str, typer.Option(help="Who or what the token is for")],
    role: Annotated[str, typer.Option(help="reader, editor or admin")] = "editor",
):
    """Issue a token (printed once; only its hash is stored)."""
    from service.auth import create_token

    try:
        token = create_token(open_engine(), role, label)
    except ValueError as exc:
        fail(str(exc))
    console.print(token, highlight=False, soft_wrap=True)


@app.command("list")
def token_list():
    """List tokens (never their values)."""
    from service.auth import list_tokens

    with open_engine().connect() as conn:
        rows = list_tokens(conn)
    t = Table("id", "role", "label", "created", "last used", "revoked")
    for r in rows:
        t.add_row(
            str(r["id"]),
            r["role"],
            r["label"],
            str(r["created_at"])[:19],
            str(r["last_used_at"] or "")[:19],
            str(r["revoked_at"] or "")[:19],
        )
    console.print(t)


@app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="Token id")]):
    """Revoke a token."""
    from service.auth import revoke_token

    if not revoke_token(open_engine(), token_id):
        fail(f"no active token with id {token_id}")
    console.print(f"token {token_id} revoked")
