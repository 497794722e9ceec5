"""Roles and identities: API tokens (role, countries, expiry, revocation), OpenID Connect bearer
tokens signed by a key pair made here, the policy's decisions at the HTTP edge, failed sign-ins
rate-limited, the audit of restricted reads, caches that never hand one role's bytes to another."""

from __future__ import annotations

import json
import time
from base64 import urlsafe_b64encode
from datetime import timedelta

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from sqlalchemy import text

from service.core.access import (
    ANONYMOUS,
    Decision,
    Principal,
    Resource,
    Role,
    Scope,
    Sensitivity,
    answer_scope,
    decide,
    visible_columns,
)
from service.core.settings import AuthSettings
from tests.conftest import settings_for

ISSUER = "https://id.example.org/realms/dtm"
AUDIENCE = "dtm-atlas"

# what the test routes below serve: a partner dataset of Nigeria, a restricted one of Nigeria
NGA_PARTNER = Resource("nga_partner_sites", "NGA", Sensitivity.PARTNER)
NGA_RESTRICTED = Resource("nga_safety_audit", "NGA", Sensitivity.RESTRICTED)
CANARY = "CANARY-7731-restricted"


# ------------------------------------------------------------------------------ the policy itself
def test_policy_decisions():
    nga_partner = Principal(Role.PARTNER, "p", frozenset({"NGA"}), "token")
    mwi_partner = Principal(Role.PARTNER, "p", frozenset({"MWI"}), "token")
    analyst = Principal(Role.ANALYST, "a", None, "oidc")
    mwi_analyst = Principal(Role.ANALYST, "a", frozenset({"MWI"}), "oidc")
    public = Resource("irq_idp", "IRQ")
    assert all(decide(p, public) is Decision.ALLOW for p in (ANONYMOUS, nga_partner, analyst))
    assert decide(ANONYMOUS, NGA_PARTNER) is Decision.SIGN_IN
    assert decide(nga_partner, NGA_PARTNER) is Decision.ALLOW
    assert decide(mwi_partner, NGA_PARTNER) is Decision.FORBIDDEN
    assert decide(analyst, NGA_PARTNER) is Decision.ALLOW
    # restricted data does not exist for those who may not read it
    assert decide(ANONYMOUS, NGA_RESTRICTED) is Decision.HIDDEN
    assert decide(nga_partner, NGA_RESTRICTED) is Decision.HIDDEN
    assert decide(mwi_analyst, NGA_RESTRICTED) is Decision.HIDDEN
    assert decide(analyst, NGA_RESTRICTED) is Decision.ALLOW
    # a dataset no editor has published is restricted whatever its declared level
    draft = Resource("draft", "NGA", Sensitivity.PUBLIC, published=False)
    assert decide(ANONYMOUS, draft) is Decision.HIDDEN and decide(nga_partner, draft) is Decision.HIDDEN
    assert decide(analyst, draft) is Decision.ALLOW
    # columns: never looser than their dataset, stricter ones stay stricter
    cols = Resource(
        "sites", "NGA", Sensitivity.PUBLIC, columns={"gbv_risk": Sensitivity.RESTRICTED, "hh": Sensitivity.PARTNER}
    )
    assert visible_columns(ANONYMOUS, cols, ["name", "hh", "gbv_risk"]) == ["name"]
    assert visible_columns(nga_partner, cols, ["name", "hh", "gbv_risk"]) == ["name", "hh"]
    assert visible_columns(mwi_partner, cols, ["name", "hh", "gbv_risk"]) == ["name"]
    assert visible_columns(analyst, cols, ["name", "hh", "gbv_risk"]) == ["name", "hh", "gbv_risk"]
    assert visible_columns(analyst, NGA_PARTNER, ["x"]) == ["x"]
    assert answer_scope([]) is Scope.PUBLIC
    assert answer_scope([Sensitivity.PUBLIC, Sensitivity.RESTRICTED]) is Scope.RESTRICTED
    assert Scope.RESTRICTED.cache_control == "private, no-store"


# ------------------------------------------------------------------------------ an app with test routes
def _jwks(tmp_path, *keys):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [k.as_dict(private=False) for k in keys]}))
    return path


@pytest.fixture(scope="module")
def keys():
    return {
        "rsa": RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256", "use": "sig"}),
        "ec": ECKey.generate_key("P-256", parameters={"kid": "ec-1", "alg": "ES256", "use": "sig"}),
        "stranger": RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256", "use": "sig"}),
    }


def sign(key, alg="RS256", **claims):
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300, **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, body, key)


def build_app(engine, tmp_path, keys, **auth):
    """The real app (every route, the real dependency and middleware) plus three routes that do
    what the layer registry does for a partner and a restricted dataset."""
    from service.api.access import authorize
    from service.api.httpcache import cached
    from service.app import create_app

    jwks = _jwks(tmp_path, keys["rsa"], keys["ec"])
    settings = settings_for(
        engine,
        auth=AuthSettings(
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            oidc_jwks_file=jwks,
            oidc_roles_claim="realm_access.roles",
            **auth,
        ),
    )
    app = create_app(settings, engine)

    @app.get("/_test/partner")
    async def partner_data(request: Request):
        await authorize(request, NGA_PARTNER)
        return {"households": 12}

    @app.get("/_test/restricted")
    async def restricted_data(request: Request, site: str = "S1"):
        await authorize(request, NGA_RESTRICTED, {"site": site})
        return {"site": site, "gbv_risk": CANARY}

    @app.get("/_test/mixed")
    async def mixed(request: Request):
        """One URL whose answer depends on who asks, through the shared cache."""
        from service.api.access import current
        from service.core.access import can_read

        who = current(request)
        sees = can_read(who, Sensitivity.RESTRICTED, "NGA")
        scope = Scope.RESTRICTED if sees else Scope.PUBLIC
        body = json.dumps({"rows": ["public row"] + ([CANARY] if sees else [])}).encode()
        return await cached(request, "mixed", (), "application/json", lambda: body, scope)

    return app


@pytest.fixture(scope="module")
def env(pg_server, template_db, tmp_path_factory, keys):
    from service.auth import create_token
    from tests.conftest import cloned_engine

    tmp = tmp_path_factory.mktemp("oidc")
    with cloned_engine(pg_server, template_db, "dtm_atlas_test_access") as engine:
        tokens = {
            "partner_nga": create_token(engine, "partner", "nga partner", countries=["NGA"]),
            "partner_mwi": create_token(engine, "partner", "mwi partner", countries="mwi"),
            "analyst": create_token(engine, "analyst", "analyst"),
            "editor": create_token(engine, "editor", "editor", countries=["IRQ"]),
            "revoked": create_token(engine, "analyst", "gone"),
            "expiring": create_token(engine, "analyst", "short", expires_in=timedelta(seconds=1)),
        }
        with engine.begin() as c:
            c.execute(text("UPDATE api_token SET revoked_at = now() WHERE label = 'gone'"))
        with TestClient(build_app(engine, tmp, keys, failed_signins=1000)) as client:
            yield {"engine": engine, "client": client, "tokens": tokens, "tmp": tmp}


def bearer(value):
    return {"Authorization": f"Bearer {value}"}


def test_api_tokens_roles_countries_expiry_revocation(env):
    c, t = env["client"], env["tokens"]
    assert c.get("/_test/partner").status_code == 401
    assert c.get("/_test/partner", headers=bearer(t["partner_nga"])).json() == {"households": 12}
    r = c.get("/_test/partner", headers=bearer(t["partner_mwi"]))
    assert r.status_code == 403 and "NGA" in r.json()["detail"]
    assert c.get("/_test/partner", headers=bearer(t["analyst"])).status_code == 200
    # restricted: does not exist below analyst
    for who in (None, "partner_nga", "partner_mwi"):
        r = c.get("/_test/restricted", headers=bearer(t[who]) if who else {})
        assert r.status_code == 404 and CANARY not in r.text
    r = c.get("/_test/restricted", headers=bearer(t["analyst"]))
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    # an editor of Iraq is no reader of Nigeria's restricted data
    assert c.get("/_test/restricted", headers=bearer(t["editor"])).status_code == 404
    # refused tokens: 401 on every route, public ones too, with the reason
    time.sleep(1.1)
    for name, reason in (("revoked", "revoked"), ("expiring", "expired")):
        for path in ("/health", "/_test/partner", "/v3/displacement/admin0"):
            r = c.get(path, headers=bearer(t[name]))
            assert r.status_code == 401, (name, path, r.text)
            assert reason in r.text and r.headers["www-authenticate"].startswith("Bearer")
    assert c.get("/health", headers=bearer("dtma_" + "x" * 43)).status_code == 401
    assert c.get("/health", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401


def test_cli_token_create_list_revoke(env, monkeypatch):
    from typer.testing import CliRunner

    from service.cli import tokens as cli
    from service.cli.common import console

    monkeypatch.setattr(console, "width", 200)  # the table whole, whatever width the console was made with

    monkeypatch.setattr(cli, "open_engine", lambda: env["engine"])
    runner = CliRunner()
    r = runner.invoke(
        cli.app, ["create", "--label", "cli partner", "--role", "partner", "--country", "NGA", "--expires-days", "30"]
    )
    assert r.exit_code == 0, r.output
    value = r.output.strip().replace("\n", "")
    assert env["client"].get("/_test/partner", headers=bearer(value)).status_code == 200
    r = runner.invoke(cli.app, ["list"], env={"COLUMNS": "200"})
    assert "cli partner" in r.output and "NGA" in r.output and value not in r.output
    with env["engine"].connect() as conn:
        token_id = conn.execute(text("SELECT id FROM api_token WHERE label = 'cli partner'")).scalar()
    r = runner.invoke(cli.app, ["revoke", str(token_id), "--reason", "left the project"])
    assert r.exit_code == 0, r.output
    assert env["client"].get("/_test/partner", headers=bearer(value)).status_code == 401
    assert runner.invoke(cli.app, ["create", "--label", "x", "--role", "reader"]).exit_code != 0
    assert runner.invoke(cli.app, ["create", "--label", "x", "--role", "partner", "--country", "NG"]).exit_code != 0


def test_oidc_tokens(env, keys):
    c = env["client"]
    partner = sign(keys["rsa"], realm_access={"roles": ["offline_access", "partner"]}, country="NGA")
    r = c.get("/_test/partner", headers=bearer(partner))
    assert r.status_code == 200, r.text
    assert c.get("/_test/restricted", headers=bearer(partner)).status_code == 404
    ec_analyst = sign(keys["ec"], alg="ES256", realm_access={"roles": ["analyst"]})
    assert c.get("/_test/restricted", headers=bearer(ec_analyst)).json()["gbv_risk"] == CANARY
    mwi = sign(keys["rsa"], realm_access={"roles": ["partner"]}, country=["MWI"])
    assert c.get("/_test/partner", headers=bearer(mwi)).status_code == 403
    # signed in without a recognised role: reads what anonymous reads
    nobody = sign(keys["rsa"], realm_access={"roles": ["uma_authorization"]})
    assert c.get("/health", headers=bearer(nobody)).status_code == 200
    assert c.get("/_test/partner", headers=bearer(nobody)).status_code == 403
    now = int(time.time())
    refused = {
        "expired": sign(keys["rsa"], iat=now - 4000, exp=now - 3600, realm_access={"roles": ["analyst"]}),
        "signature": sign(keys["stranger"], realm_access={"roles": ["analyst"]}),
        "iss": sign(keys["rsa"], iss="https://evil.example.org", realm_access={"roles": ["analyst"]}),
        "aud": sign(keys["rsa"], aud="another-service", realm_access={"roles": ["analyst"]}),
        "exp": sign(keys["rsa"], exp=None, realm_access={"roles": ["analyst"]}),
    }
    for why, token in refused.items():
        r = c.get("/_test/restricted", headers=bearer(token))
        assert r.status_code == 401, (why, r.text)
        assert why in r.json()["detail"] or why == "expired" and "expired" in r.json()["detail"], (why, r.text)
        assert CANARY not in r.text
    # alg none and HMAC with the public key as secret: refused
    hmac = jwt.encode(
        {"alg": "HS256", "kid": "rsa-1"},
        {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "realm_access": {"roles": ["analyst"]}},
        OctKey.import_key(b"k" * 32),
    )
    assert c.get("/_test/restricted", headers=bearer(hmac)).status_code == 401
    _, body, _ = sign(keys["rsa"], realm_access={"roles": ["analyst"]}).split(".")
    none = urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=").decode()
    unsigned = f"{none}.{body}."
    assert c.get("/_test/restricted", headers=bearer(unsigned)).status_code == 401


def test_oidc_role_map_and_jwks_url(pg_server, template_db, tmp_path, keys):
    """The keys from the issuer's discovery document over HTTP; provider role names mapped."""
    import http.server
    import threading

    from tests.conftest import cloned_engine

    jwks = {"keys": [keys["rsa"].as_dict(private=False)]}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            port = self.server.server_address[1]
            doc = (
                {"issuer": ISSUER, "jwks_uri": f"http://127.0.0.1:{port}/certs"}
                if self.path.endswith("openid-configuration")
                else jwks
            )
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    issuer = f"http://127.0.0.1:{server.server_address[1]}/realms/dtm"
    try:
        from service.app import create_app

        with cloned_engine(pg_server, template_db) as engine:
            settings = settings_for(
                engine,
                auth=AuthSettings(
                    oidc_issuer=issuer,
                    oidc_audience=AUDIENCE,
                    oidc_role_map="dtm-analysts=analyst",
                    oidc_roles_claim="groups",
                ),
            )
            app = create_app(settings, engine)
            from service.api.access import authorize

            @app.get("/_test/restricted")
            async def restricted_data(request: Request):
                await authorize(request, NGA_RESTRICTED)
                return {"ok": CANARY}

            with TestClient(app) as c:
                token = sign(keys["rsa"], iss=issuer, groups=["dtm-analysts"])
                assert c.get("/_test/restricted", headers=bearer(token)).status_code == 200
                plain = sign(keys["rsa"], iss=issuer, groups=["analysts"])
                assert c.get("/_test/restricted", headers=bearer(plain)).status_code == 404
    finally:
        server.shutdown()


def test_failed_signins_rate_limited(pg_server, template_db, tmp_path, keys):
    from tests.conftest import cloned_engine

    with cloned_engine(pg_server, template_db) as engine:
        app = build_app(engine, tmp_path, keys, failed_signins=3, failed_signin_window=60)
        with TestClient(app) as c:
            for _ in range(3):
                assert c.get("/health", headers=bearer("dtma_wrong")).status_code == 401
            r = c.get("/health", headers=bearer("dtma_wrong"))
            assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
            # a good token from that address waits too (no guessing through); no token: public reads go on
            assert c.get("/health", headers=bearer(sign(keys["rsa"]))).status_code == 429
            assert c.get("/health").status_code == 200
            # the DTM-compatible routes keep the header in their envelope
            r = c.get("/v3/displacement/admin0", headers=bearer("dtma_wrong"))
            assert r.status_code == 429 and r.headers["retry-after"] and r.json()["statusCode"] == 429


def test_restricted_reads_are_audited(env):
    c, t = env["client"], env["tokens"]
    with env["engine"].connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM access_audit")).scalar()
    assert c.get("/_test/restricted?site=S77", headers=bearer(t["analyst"])).status_code == 200
    assert c.get("/_test/partner", headers=bearer(t["analyst"])).status_code == 200  # partner data: not audited
    assert c.get("/_test/restricted?site=S78", headers=bearer(t["partner_nga"])).status_code == 404
    with env["engine"].connect() as conn:
        rows = conn.execute(text("SELECT * FROM access_audit ORDER BY id")).mappings().all()[before:]
    assert len(rows) == 1
    row = rows[0]
    assert row["subject"] == "token:analyst" and row["role"] == "analyst" and row["via"] == "token"
    assert row["resource"] == "nga_safety_audit" and row["country"] == "NGA"
    assert row["filter"] == {"site": "S77"} and row["path"] == "/_test/restricted" and row["at"] is not None


def test_cache_never_hands_one_roles_bytes_to_another(env):
    c, t = env["client"], env["tokens"]
    r = c.get("/_test/mixed", headers=bearer(t["analyst"]))
    assert CANARY in r.text and r.headers["cache-control"] == "private, no-store" and r.headers["x-cache"] == "off"
    assert "authorization" in r.headers["vary"].lower()
    for _ in range(2):
        r = c.get("/_test/mixed")
        assert CANARY not in r.text and r.json()["rows"] == ["public row"]
        assert r.headers["cache-control"].startswith("public") and "authorization" in r.headers["vary"].lower()
    assert r.headers["x-cache"] == "hit"
    r = c.get("/_test/mixed", headers=bearer(t["analyst"]))
    assert CANARY in r.text and r.headers["x-cache"] == "off"
    r = c.get("/_test/mixed", headers=bearer(t["partner_nga"]))
    assert CANARY not in r.text


def test_readable_levels_for_stored_access_columns():
    from service.core.access import readable_levels

    nga_partner = Principal(Role.PARTNER, "p", frozenset({"NGA"}), "token")
    assert readable_levels(ANONYMOUS, "NGA") == ("public",)
    assert readable_levels(nga_partner, "NGA") == ("public", "partner")
    assert readable_levels(nga_partner, "MWI") == ("public",)
    assert readable_levels(Principal(Role.ANALYST, "a"), "MWI") == ("public", "partner", "restricted")
