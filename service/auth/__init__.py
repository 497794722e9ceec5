"""Identities: the service's API tokens, OpenID Connect bearer tokens, the principal of a
request, the audit of restricted reads. What a principal may read is decided by the policy
(``service/core/access.py``), never here.

Owner of ``api_token`` and ``access_audit`` (``service/auth/tables.py``, migrations 0002, 0015).
"""

from service.auth.principal import CurrentPrincipal, Editor, principal, require_role
from service.auth.tokens import check_token, create_token, list_tokens, revoke_token

__all__ = [
    "CurrentPrincipal",
    "Editor",
    "check_token",
    "create_token",
    "list_tokens",
    "principal",
    "require_role",
    "revoke_token",
]
