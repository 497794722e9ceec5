"""Web map sessions (owner: service.auth.sessions): the server side of the sign-in cookie.

The web map signs in by POSTing a token (an API token or an OpenID Connect access token) once;
the answer sets an HttpOnly cookie holding an opaque session id, never the token. A row here is
that session: the SHA-256 of the id (never the id), who it signs in (role, countries, subject,
how: token or oidc, the API token it came from), its expiry (an OIDC session ends with its
token) and its revocation (signing out; revoking the API token ends its sessions too).

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-05
"""

from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE auth_session (
            id           bigserial PRIMARY KEY,
            id_sha256    text NOT NULL UNIQUE,
            subject      text NOT NULL,
            role         text NOT NULL CHECK (role IN ('partner', 'analyst', 'editor', 'admin')),
            countries    text[],
            via          text NOT NULL CHECK (via IN ('token', 'oidc')),
            token_id     integer REFERENCES api_token (id) ON DELETE CASCADE,
            issuer       text,
            created_at   timestamptz NOT NULL DEFAULT now(),
            expires_at   timestamptz NOT NULL,
            last_seen_at timestamptz,
            revoked_at   timestamptz
        );
        CREATE INDEX auth_session_expires_idx ON auth_session (expires_at);
        CREATE INDEX auth_session_token_idx ON auth_session (token_id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE auth_session")
