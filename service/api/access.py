"""The access policy at the HTTP edge: the one call a route (or the layer registry) makes before it
reads data, and the headers every answer gets from it.

* :func:`authorize` - ``decide`` (``service/core/access.py``) for the request's principal and a
  resource: the refusal as an HTTP error (401 sign in, 403, 404 "does not exist for you"), or the
  principal; it records the answer's scope on the request and audits reads of restricted data.
* :func:`mark` - record that an answer holds data of a scope (a route that mixes resources).
* :class:`AccessHeaders` - pure ASGI middleware (it also sets the disclosure rule of the app's
  settings for the request: ``service.core.disclosure.RULE``): ``Vary: Authorization, Cookie``
  (a bearer token or the web map's session) on every answer (a shared cache keeps one variant
  for anonymous callers and never hands it to a signed-in one, nor the other way round), and
  the scope's ``Cache-Control`` (``private, no-store`` for restricted answers, ``private,
  no-cache`` for partner data) whatever the route set.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from service.auth.sessions import COOKIE, create_session, end_session
from service.core.access import ANONYMOUS, Decision, Principal, Resource, Scope, answer_scope, decide
from service.core.disclosure import RULE, Rule

STATE_KEY = "answer_scope"


def current(request: Request) -> Principal:
    """The request's principal (set by ``service.auth.principal`` on every route)."""
    return getattr(request.state, "principal", ANONYMOUS)


def mark(request: Request, scope: Scope) -> None:
    """Record that the answer holds data of ``scope`` (the strictest recorded wins)."""
    state = request.scope.setdefault("state", {})
    state[STATE_KEY] = max(state.get(STATE_KEY, Scope.PUBLIC), scope)


def answer_scope_of(request: Request) -> Scope:
    return request.scope.get("state", {}).get(STATE_KEY, Scope.PUBLIC)


REFUSALS = {
    Decision.SIGN_IN: "{name} is partner data: sign in (Authorization: Bearer <token>) as a partner of {country}",
    Decision.FORBIDDEN: "{name} belongs to {country}; {subject} ({role}) may not read it",
    Decision.HIDDEN: "no such dataset: {name}",
}


async def authorize(request: Request, resource: Resource, filter: dict | None = None) -> Principal:
    """The principal, if it may read ``resource``; else the refusal as an HTTP error. A read of
    restricted data is audited (who, what, when, which filter) before any byte is made."""
    who = current(request)
    decision = decide(who, resource)
    if not decision.allowed:
        detail = REFUSALS[decision].format(
            name=resource.name, country=resource.country or "its country", subject=who.subject, role=who.role.label
        )
        headers = {"WWW-Authenticate": "Bearer"} if decision is Decision.SIGN_IN else None
        raise HTTPException(decision.value, detail, headers=headers)
    scope = answer_scope([resource.level])
    mark(request, scope)
    if scope is Scope.RESTRICTED:
        from service.auth import audit

        await run_in_threadpool(
            audit.record,
            request.app.state.engine,  # the primary: the audit is a write, on a GET too
            who,
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            resource=resource.name,
            country=resource.country,
            filter=filter if filter is not None else dict(request.query_params),
        )
    return who


def dataset_resource(dataset_key, country: str | None = None) -> Resource:
    """A dataset of the layer registry as the policy sees it: its kind's access level (the admin
    units, no kind: public). ``dataset_key`` may be the Dataset itself: one a kind built for its
    reader (``DataCollections``: an indicator dataset) carries its own level (``Dataset.access``)."""
    from service.core.access import Sensitivity
    from service.core.registry import registry

    if not isinstance(dataset_key, str):
        if dataset_key.access is not None:
            return Resource(dataset_key.key, country, Sensitivity.parse(dataset_key.access))
        dataset_key = dataset_key.key
    kind = registry().kind_of(dataset_key)
    level = Sensitivity.parse(getattr(kind, "access", "public")) if kind is not None else Sensitivity.PUBLIC
    return Resource(dataset_key, country, level)


def layer_resource(layer) -> Resource:
    """A tile layer as the policy sees it: the access level of the kind that adds it (the base
    layers: admin units, master-list locations and sites are public)."""
    from service.core.access import Sensitivity
    from service.core.registry import registry

    if getattr(layer, "access", None) is not None:  # the layer's own level (tiles.layers.Layer.access)
        return Resource(f"tiles:{layer.id}", None, Sensitivity.parse(layer.access))
    kind = registry().kind(layer.kind)
    level = Sensitivity.parse(getattr(kind, "access", "public")) if kind is not None else Sensitivity.PUBLIC
    return Resource(f"tiles:{layer.id}", None, level)


def dataset_visible(request: Request, dataset_key, country: str | None = None) -> bool:
    """Whether the dataset exists for the request's principal (listings: OGC collections, exports)."""
    return decide(current(request), dataset_resource(dataset_key, country)).allowed


def authorize_sync(request: Request, resource: Resource, filter: dict | None = None) -> Principal:
    """:func:`authorize` from a synchronous route (run in the threadpool)."""
    who = current(request)
    decision = decide(who, resource)
    if not decision.allowed:
        detail = REFUSALS[decision].format(
            name=resource.name, country=resource.country or "its country", subject=who.subject, role=who.role.label
        )
        headers = {"WWW-Authenticate": "Bearer"} if decision is Decision.SIGN_IN else None
        raise HTTPException(decision.value, detail, headers=headers)
    scope = answer_scope([resource.level])
    mark(request, scope)
    if scope is Scope.RESTRICTED:
        from service.auth import audit

        audit.record(
            request.app.state.engine,  # the primary: the audit is a write, on a GET too
            who,
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            resource=resource.name,
            country=resource.country,
            filter=filter if filter is not None else dict(request.query_params),
        )
    return who


def authorize_dataset_sync(request: Request, dataset_key, country: str | None = None) -> Principal:
    """:func:`authorize` for a registry dataset, from a synchronous route (run in the threadpool)."""
    return authorize_sync(request, dataset_resource(dataset_key, country))


class AccessHeaders:
    """``Vary: Authorization, Cookie`` everywhere; the Cache-Control of the answer's scope."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        app_state = scope["app"].state if "app" in scope else None
        rule = getattr(app_state, "disclosure_rule", None)
        if rule is None and app_state is not None and hasattr(app_state, "settings"):
            rule = app_state.disclosure_rule = Rule.from_settings(app_state.settings)
        if rule is not None:
            RULE.set(rule)  # the disclosure rule of every public output made for this request

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"vary"]
                vary = [v for k, v in message.get("headers", []) if k.lower() == b"vary"]
                vary_values = {p.strip().lower() for v in vary for p in v.split(b",") if p.strip()}
                for name in (b"Authorization", b"Cookie"):  # a bearer token or the web map's session
                    if name.lower() not in vary_values:
                        vary.append(name)
                headers.append((b"vary", b", ".join(vary)))
                control = Scope(state.get(STATE_KEY, Scope.PUBLIC)).cache_control
                if control is not None:
                    headers = [(k, v) for k, v in headers if k.lower() not in (b"cache-control", b"expires")]
                    headers.append((b"cache-control", control.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapper)


router = APIRouter(tags=["access"])


def _whoami(who: Principal) -> dict:
    return {
        "signed_in": not who.anonymous,
        "role": who.role.label,
        "countries": None if who.countries is None else sorted(who.countries),
        "via": who.via,
        "session": who.session,
    }


@router.get("/auth/whoami", summary="Who the request signs in as: role and countries (the web map's sign-in)")
def whoami(request: Request) -> dict:
    """The principal's role, countries, how it signed in and whether by the web map's session
    cookie; anonymous without a token or session, 401 for a refused token. The subject (a
    token's label, a user id) is not echoed: it is the audit's."""
    who = current(request)
    if not who.anonymous:
        mark(request, Scope.SHARED)  # differs by who asks: never a shared cache's
    return _whoami(who)


def _set_cookie(response: Response, request: Request, value: str, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=max_age,
        path="/",
        httponly=True,  # no page script reads it
        secure=request.url.scheme == "https",
        samesite="strict",  # never sent on a request another site starts (CSRF)
    )


@router.post(
    "/auth/session",
    summary="Sign the web map in: a token in, an HttpOnly session cookie out (the token is not kept in the page)",
    responses={
        401: {"description": "No token, or a token that signs no one in"},
        403: {"description": "A valid OpenID Connect token that grants no role of this service"},
        429: {"description": "Too many failed sign-ins from this address (Retry-After)"},
    },
)
async def sign_in(request: Request, response: Response) -> dict:
    """Send the token once as ``Authorization: Bearer`` (an API token or an OpenID Connect access
    token); the answer sets the ``dtm_atlas_session`` cookie (HttpOnly, SameSite=Strict, Secure
    over HTTPS) holding an opaque session id, never the token. The cookie signs in GET and HEAD
    requests only: writes still need ``Authorization``. Failed sign-ins count towards the
    address's limit (429)."""
    who = current(request)
    mark(request, Scope.RESTRICTED)  # private, no-store: a sign-in answer is no cache's
    if who.anonymous or who.session:
        detail = (
            "the token grants no role of this service"
            if request.headers.get("authorization")
            else "send the token as Authorization: Bearer <token> (an API token or an OpenID Connect access token)"
        )
        raise HTTPException(403 if request.headers.get("authorization") else 401, detail,
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    ttl = timedelta(seconds=request.app.state.settings.auth.session_ttl)
    session_id, expires = await run_in_threadpool(create_session, request.app.state.engine, who, ttl)
    max_age = max(1, int((expires - datetime.now(timezone.utc)).total_seconds()))
    _set_cookie(response, request, session_id, max_age)
    return {**_whoami(replace(who, session=True)), "expires_at": expires.isoformat()}


@router.delete(
    "/auth/session",
    status_code=204,
    summary="Sign the web map out: its session ends on the server and the cookie is cleared",
)
async def sign_out(request: Request) -> Response:
    mark(request, Scope.RESTRICTED)
    session_id = request.cookies.get(COOKIE)
    if session_id:
        await run_in_threadpool(end_session, request.app.state.engine, session_id)
    response = Response(status_code=204)
    _set_cookie(response, request, "", 0)
    return response
