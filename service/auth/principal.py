"""THE FastAPI dependency that turns a request into a :class:`~service.core.access.Principal`.

``create_app`` installs it on every route (``dependencies=[Depends(principal)]``): a request
without ``Authorization`` is anonymous at no cost, or, a GET or HEAD with the web map's
session cookie, the principal its session holds (``service.auth.sessions``: never on writes).
A bearer token is either the service's own (``dtma_...``, ``service.auth.tokens``) or a JWT of
the configured OpenID Connect issuer (``service.auth.oidc``). A token that does not sign anyone
in (unknown, revoked, expired, badly signed, another issuer or audience) is a 401 on every
route, public ones included (RFC 6750: the client learns its token is bad instead of silently
reading public data). Failed sign-ins
are counted per client address: past ``DTM_ATLAS_AUTH_FAILED_SIGNINS`` in
``..._FAILED_SIGNIN_WINDOW`` seconds the address gets 429 with ``Retry-After`` (per process).
The principal is kept on ``request.state.principal`` for the registry and the audit.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from service.auth.oidc import OIDCVerifier, SignInError, looks_like_jwt
from service.auth.sessions import COOKIE, check_session
from service.auth.tokens import PREFIX, check_token
from service.core.access import ANONYMOUS, Principal, Role

MAX_ADDRESSES = 10_000  # the limiter's memory bound: the addresses seen last are kept


class SignInLimiter:
    """Failed sign-ins per client address in a sliding window."""

    def __init__(self, limit: int, window_s: float):
        self.limit, self.window = limit, window_s
        self._failures: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again (0: now)."""
        with self._lock:
            q = self._failures.get(address)
            if not q:
                return 0
            now = time.monotonic()
            while q and now - q[0] > self.window:
                q.popleft()
            return int(self.window - (now - q[0])) + 1 if len(q) >= self.limit else 0

    def failed(self, address: str) -> None:
        with self._lock:
            q = self._failures.pop(address, None) or deque(maxlen=self.limit)
            q.append(time.monotonic())
            self._failures[address] = q
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)


def _state(app):
    """The app's limiter and OIDC verifier, made once from its settings."""
    st = getattr(app.state, "auth", None)
    if st is None:
        settings = app.state.settings.auth
        st = app.state.auth = {
            "limiter": SignInLimiter(settings.failed_signins, settings.failed_signin_window),
            "oidc": OIDCVerifier(settings) if settings.oidc else None,
        }
    return st


def _refuse(status: int, detail: str, headers: dict | None = None) -> HTTPException:
    return HTTPException(status, detail, headers=headers)


def _bearer_error(detail: str) -> HTTPException:
    return _refuse(401, detail, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _resolve(app, token: str) -> Principal:
    """The principal of a bearer token (blocking: database or key fetch); SignInError if none."""
    if token.startswith(PREFIX):
        found = check_token(app.state.engine, token)
        if found.principal is None:
            raise SignInError(found.refusal)
        return found.principal
    if looks_like_jwt(token):
        verifier = _state(app)["oidc"]
        if verifier is None:
            raise SignInError("this service accepts no OpenID Connect tokens (no issuer is configured)")
        return verifier.verify(token)
    raise SignInError("not a token of this service")


READ_METHODS = ("GET", "HEAD")
"""The only requests a session cookie signs in (CSRF: a write needs ``Authorization``)."""


async def principal(request: Request) -> Principal:
    """Who asks (anonymous without ``Authorization`` or a live session cookie on a read); 401
    for a token that signs no one in, 429 for an address with too many failed sign-ins. A
    session cookie that is not live (signed out, expired, its token revoked) is anonymous: the
    page goes on with public data and its sign-in shows signed out."""
    header = request.headers.get("authorization")
    if not header:
        session_id = request.cookies.get(COOKIE)
        if session_id and request.method in READ_METHODS:
            who = await run_in_threadpool(check_session, request.app.state.engine, session_id)
            if who is not None:
                request.state.principal = who
                return who
        request.state.principal = ANONYMOUS
        return ANONYMOUS
    st = _state(request.app)
    address = request.client.host if request.client else "?"
    wait = st["limiter"].retry_after(address)
    if wait:
        raise _refuse(
            429, f"too many failed sign-ins from this address; try again in {wait} s", {"Retry-After": str(wait)}
        )
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        st["limiter"].failed(address)
        raise _bearer_error("Authorization must be 'Bearer <token>' (a dtm-atlas token or an OpenID Connect token)")
    try:
        who = await run_in_threadpool(_resolve, request.app, token)
    except SignInError as exc:
        st["limiter"].failed(address)
        raise _bearer_error(str(exc)) from None
    request.state.principal = who
    return who


CurrentPrincipal = Annotated[Principal, Depends(principal)]
"""A route's parameter: who asks."""


def require_role(role: str | Role):
    """FastAPI dependency: a principal with at least ``role`` (401 anonymous, 403 too low)."""
    need = role if isinstance(role, Role) else Role.parse(role)

    def dependency(request: Request, who: CurrentPrincipal) -> Principal:
        if who.anonymous:
            cookie = (
                " (the web map's session cookie signs in reads only)"
                if COOKIE in request.cookies and request.method not in READ_METHODS
                else ""
            )
            raise _refuse(
                401,
                f"this endpoint needs the {need.label} role: sign in with a bearer token "
                "(Authorization: Bearer <token>; issue one with `dtm-atlas token create`, or use the "
                f"identity provider's token){cookie}",
                {"WWW-Authenticate": "Bearer"},
            )
        if who.role < need:
            raise _refuse(403, f"{who.subject} has the {who.role.label} role; this needs {need.label}")
        return who

    return dependency


Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]
