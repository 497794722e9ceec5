"""The web map's sign-in session (``service/auth/sessions.py``, ``POST``/``DELETE /auth/session``):
a token in, an HttpOnly SameSite=Strict cookie out holding an opaque id (stored hashed, never the
token); the cookie signs in reads only, as the same principal the token gives (the policy and
the caches treat both alike); it ends on sign-out, at expiry and when its API token is revoked;
failed sign-ins are rate-limited."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import text

from service.auth.sessions import COOKIE
from service.core.settings import AuthSettings
from tests.conftest import settings_for
from tests.fixtures import safety_audit

ISSUER = "https://id.example.org/realms/dtm"
AUDIENCE = "dtm-atlas"
CANARY = "CANARY-SESSION-SITE-6d02"


@pytest.fixture(scope="module")
def env(pg_server, iraq_template, tmp_path_factory):
    from service.app import create_app
    from service.auth import create_token
    from tests.conftest import cloned_engine

    key = RSAKey.generate_key(2048, parameters={"kid": "s", "alg": "RS256", "use": "sig"})
    jwks = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))

    def oidc(**claims):
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "s", "iat": now, "exp": now + 600, **claims}
        return jwt.encode({"alg": "RS256", "kid": "s"}, body, key)

    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_sessions") as engine:
        audit = safety_audit.import_on_iraq(engine, tmp_path_factory.mktemp("audit"), canary=CANARY)
        partner_data = safety_audit.import_on_iraq(engine, tmp_path_factory.mktemp("partner"), access="partner")
        tokens = {
            "analyst": create_token(engine, "analyst", "session analyst", countries=["IRQ"]),
            "editor": create_token(engine, "editor", "session editor"),
            "partner": create_token(engine, "partner", "session partner", countries=["IRQ"]),
        }
        settings = settings_for(
            engine,
            log_level="error",
            auth=AuthSettings(oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_file=jwks, failed_signins=4),
        )
        with TestClient(create_app(settings, engine)) as client:
            yield {
                "client": client,
                "engine": engine,
                "tokens": tokens,
                "audit": audit,
                "partner_data": partner_data,
                "oidc": oidc,
            }


def sign_in(client, token) -> str:
    r = client.post("/auth/session", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    sid = r.cookies[COOKIE]
    client.cookies.clear()  # the test sends the cookie itself, to the requests it names
    return sid


def cookie(sid):
    return {"Cookie": f"{COOKIE}={sid}"}


def test_sign_in_sets_an_opaque_httponly_cookie(env):
    client, engine, token = env["client"], env["engine"], env["tokens"]["analyst"]
    r = client.post("/auth/session", headers={"Authorization": f"Bearer {token}"})
    client.cookies.clear()
    assert r.status_code == 200 and r.json()["session"] is True and r.json()["role"] == "analyst"
    assert r.headers["cache-control"] == "private, no-store"
    set_cookie = r.headers["set-cookie"]
    attrs = {a.strip().split("=")[0].lower() for a in set_cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attrs and "samesite=strict" in set_cookie.lower()
    assert "secure" not in attrs  # plain http (the test client); over https it is Secure (below)
    sid = r.cookies[COOKIE]
    assert token not in set_cookie and len(sid) >= 40
    with engine.connect() as c:
        rows = [dict(x) for x in c.execute(text("SELECT * FROM auth_session")).mappings()]
    stored = json.dumps(rows, default=str)
    assert sid not in stored and token not in stored  # the table holds neither secret
    assert hashlib.sha256(sid.encode()).hexdigest() in stored
    with TestClient(client.app, base_url="https://testserver") as tls:
        r = tls.post("/auth/session", headers={"Authorization": f"Bearer {token}"})
        assert "secure" in {a.strip().lower() for a in r.headers["set-cookie"].split(";")}
    # no token: 401; the cookie itself is not a way to make another session
    assert client.post("/auth/session").status_code == 401
    assert client.post("/auth/session", headers=cookie(sid)).status_code == 401


def test_the_cookie_reads_as_its_principal_and_caches_stay_role_safe(env):
    client, audit = env["client"], env["audit"]
    sid = sign_in(client, env["tokens"]["analyst"])
    me = client.get("/auth/whoami", headers=cookie(sid)).json()
    assert me == {"signed_in": True, "role": "analyst", "countries": ["IRQ"], "via": "token", "session": True}
    for url in ("/datasets?f=json", f"/ogc/collections/dataset{audit}-sites/items?f=json&limit=100"):
        r = client.get(url, headers=cookie(sid))  # the analyst first, then anonymous: the same URL
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store", url
        assert CANARY in r.text if "items" in url else audit in [d["id"] for d in r.json()["datasets"]]
        anon = client.get(url)
        assert CANARY not in anon.text and "private" not in anon.headers.get("cache-control", ""), url
        assert anon.status_code == 404 if "items" in url else audit not in [d["id"] for d in anon.json()["datasets"]]
    assert "cookie" in client.get("/datasets?f=json").headers["vary"].lower()
    # a site map (rendered through the HTTP cache): the analyst's is never kept, anonymous gets none
    r = client.get(f"/datasets/{audit}/map.png", headers=cookie(sid))
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store" and r.headers["x-cache"] == "off"
    assert client.get(f"/datasets/{audit}/map.png").status_code == 404
    partner = env["partner_data"]
    r = client.get(f"/datasets/{partner}/map.png", headers=cookie(sid))  # partner data: kept per role and countries
    assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
    assert client.get(f"/datasets/{partner}/map.png").status_code == 401


def test_the_cookie_never_signs_a_write(env):
    client = env["client"]
    sid = sign_in(client, env["tokens"]["editor"])
    r = client.post("/rounds", headers=cookie(sid))
    assert r.status_code == 401 and "reads only" in r.json()["detail"]
    r = client.post("/rounds", headers={"Authorization": f"Bearer {env['tokens']['editor']}"})
    assert r.status_code == 400  # the bearer token signs the write in: the missing file is the problem


def test_sign_out_expiry_and_revocation_end_a_session(env):
    from service.auth import create_token, revoke_token

    client, engine = env["client"], env["engine"]
    sid = sign_in(client, env["tokens"]["analyst"])
    r = client.delete("/auth/session", headers=cookie(sid))
    assert r.status_code == 204 and "max-age=0" in r.headers["set-cookie"].lower()
    assert client.get("/auth/whoami", headers=cookie(sid)).json()["signed_in"] is False
    sid = sign_in(client, env["tokens"]["analyst"])
    with engine.begin() as c:
        c.execute(text("UPDATE auth_session SET expires_at = now() - interval '1 second' WHERE id_sha256 = :h"),
                  {"h": hashlib.sha256(sid.encode()).hexdigest()})  # fmt: skip
    assert client.get("/auth/whoami", headers=cookie(sid)).json()["signed_in"] is False
    token = create_token(engine, "analyst", "revoked with its sessions")
    sid = sign_in(client, token)
    assert client.get("/auth/whoami", headers=cookie(sid)).json()["signed_in"] is True
    with engine.connect() as c:
        token_id = c.execute(text("SELECT id FROM api_token WHERE label = 'revoked with its sessions'")).scalar()
    assert revoke_token(engine, token_id)
    assert client.get("/auth/whoami", headers=cookie(sid)).json()["signed_in"] is False
    assert client.get(f"/datasets/{env['audit']}?f=json", headers=cookie(sid)).status_code == 404


def test_an_oidc_session_ends_with_its_token_and_reads_partner_data(env):
    client, engine = env["client"], env["engine"]
    token = env["oidc"](roles=["partner"], country="IRQ")
    r = client.post("/auth/session", headers={"Authorization": f"Bearer {token}"})
    client.cookies.clear()
    assert r.status_code == 200 and r.json()["via"] == "oidc" and r.json()["role"] == "partner"
    assert int(r.headers["set-cookie"].lower().split("max-age=")[1].split(";")[0]) <= 600
    with engine.connect() as c:
        row = c.execute(text("SELECT * FROM auth_session WHERE via = 'oidc'")).mappings().one()
    assert row["subject"] == "oidc:s" and row["issuer"] == ISSUER
    assert (row["expires_at"] - row["created_at"]).total_seconds() <= 601
    sid = r.cookies[COOKIE]
    me = client.get("/auth/whoami", headers=cookie(sid)).json()
    assert me["via"] == "oidc" and me["session"] is True
    # the session reads Iraq's partner data as the token would, privately; anonymous is asked to sign in
    r = client.get(f"/datasets/{env['partner_data']}?f=json", headers=cookie(sid))
    assert r.status_code == 200 and r.headers["cache-control"].startswith("private"), r.text[:200]
    assert client.get(f"/datasets/{env['partner_data']}?f=json").status_code == 401
    r = client.get(f"/datasets/{env['partner_data']}?f=json", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["access"] == "partner"  # the OIDC token itself reads it too
    assert client.get(f"/datasets/{env['audit']}?f=json", headers=cookie(sid)).status_code == 404  # not an analyst
    r = client.post("/auth/session", headers={"Authorization": f"Bearer {env['oidc'](roles=['nobody'])}"})
    assert r.status_code == 403  # a valid token that grants no role here


def test_failed_sign_ins_are_rate_limited(env):
    client = env["client"]
    codes = [client.post("/auth/session", headers={"Authorization": "Bearer dtma_wrong"}).status_code for _ in range(5)]
    assert codes[:4] == [401] * 4 and codes[4] == 429
    r = client.post("/auth/session", headers={"Authorization": f"Bearer {env['tokens']['analyst']}"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
