"""Access control: roles, countries, expiry of API tokens; the audit of restricted reads (owner: service.auth).

``api_token`` gains the roles of the access policy (``service/core/access.py``: partner,
analyst, editor, admin), the countries a token holds its role for (``NULL``: every country),
an expiry and the reason of a revocation. The old ``reader`` role granted nothing (every read
was public): its tokens become revoked partner tokens rather than partners of every country.
``access_audit``: one row per read of restricted data (who, what, when, which filter).

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-05
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE api_token DROP CONSTRAINT api_token_role_check;
        ALTER TABLE api_token ADD COLUMN countries text[];
        ALTER TABLE api_token ADD COLUMN expires_at timestamptz;
        ALTER TABLE api_token ADD COLUMN revoked_reason text;
        UPDATE api_token SET role = 'partner', revoked_at = coalesce(revoked_at, now()),
            revoked_reason = 'the reader role was retired (migration 0015)'
        WHERE role = 'reader';
        ALTER TABLE api_token ADD CONSTRAINT api_token_role_check
            CHECK (role IN ('partner', 'analyst', 'editor', 'admin'));

        CREATE TABLE access_audit (
            id          bigserial PRIMARY KEY,
            at          timestamptz NOT NULL DEFAULT now(),
            subject     text NOT NULL,
            role        text NOT NULL,
            countries   text[],
            via         text NOT NULL,
            token_id    integer,
            issuer      text,
            method      text NOT NULL,
            path        text NOT NULL,
            query       text,
            resource    text NOT NULL,
            country     text,
            filter      jsonb NOT NULL DEFAULT '{}'::jsonb,
            rows        integer
        );
        CREATE INDEX access_audit_at_idx ON access_audit (at);
        CREATE INDEX access_audit_subject_idx ON access_audit (subject, at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE access_audit;
        ALTER TABLE api_token DROP CONSTRAINT api_token_role_check;
        UPDATE api_token SET role = 'reader' WHERE role IN ('partner', 'analyst');
        ALTER TABLE api_token DROP COLUMN countries, DROP COLUMN expires_at, DROP COLUMN revoked_reason;
        ALTER TABLE api_token ADD CONSTRAINT api_token_role_check CHECK (role IN ('editor', 'admin', 'reader'));
        """
    )
