"""OpenID Connect bearer tokens: a JWT signed by the configured issuer, verified with joserfc.

The issuer's keys come from its JWKS: a file (``DTM_ATLAS_AUTH_OIDC_JWKS_FILE``), a URL
(``..._JWKS_URL``), or the ``jwks_uri`` of the issuer's discovery document
(``{issuer}/.well-known/openid-configuration``) when neither is set. Fetched keys are kept for
``..._JWKS_TTL`` seconds; a token signed with a key id the set does not hold makes one early
refresh (at most every 30 s), so the provider's key rotation needs no restart.

Checked: the signature (the accepted algorithms only; never ``none`` or HMAC), ``iss`` equal to
the issuer, ``aud`` naming the audience, ``exp`` present and not past, ``nbf``/``iat`` not in the
future (with ``..._LEEWAY`` seconds of clock skew). The role is the highest atlas role among
the values of the roles claim (a dotted path, such as Keycloak's ``realm_access.roles``), after
``..._ROLE_MAP``; no recognised role: the caller is signed in but reads what anonymous reads.
The countries come from the country claim (ISO3 codes, a string or a list); absent: every country.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import KeySet

from service.core.access import Principal, Role, parse_countries
from service.core.settings import AuthSettings

REFRESH_AT_MOST_EVERY_S = 30
FETCH_TIMEOUT_S = 5
SAFE_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}


class SignInError(Exception):
    """A bearer token that does not sign anyone in (401), with the reason."""


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def _claim(claims: dict, path: str):
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _role_map(spec: str) -> dict[str, str]:
    out = {}
    for item in spec.split(","):
        if "=" in item:
            k, _, v = item.partition("=")
            out[k.strip()] = v.strip().lower()
    return out


class OIDCVerifier:
    """Verifies the issuer's bearer tokens; one per application (its keys are cached)."""

    def __init__(self, settings: AuthSettings):
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        algorithms = {a.strip() for a in settings.oidc_algorithms.split(",") if a.strip()}
        unsafe = algorithms - SAFE_ALGORITHMS
        if unsafe:
            raise ValueError(
                f"DTM_ATLAS_AUTH_OIDC_ALGORITHMS: not accepted for OIDC tokens: {', '.join(sorted(unsafe))}"
            )
        self.algorithms = sorted(algorithms)
        self.role_map = _role_map(settings.oidc_role_map)
        self._keys: KeySet | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- keys
    def _load(self) -> KeySet:
        s = self.settings
        if s.oidc_jwks_file:
            data = json.loads(Path(s.oidc_jwks_file).read_text(encoding="utf-8"))
        else:
            url = s.oidc_jwks_url or self._discover()
            data = self._get_json(url)
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise SignInError("the identity provider's JWKS has no 'keys' list")
        return KeySet.import_key_set(data)

    def _discover(self) -> str:
        doc = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        uri = doc.get("jwks_uri") if isinstance(doc, dict) else None
        if not uri:
            raise SignInError("the identity provider's discovery document names no jwks_uri")
        return uri

    @staticmethod
    def _get_json(url: str):
        if not url.startswith(("https://", "http://")):
            raise SignInError(f"JWKS URL must be http(s): {url}")
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as resp:  # noqa: S310 (checked above)
                return json.loads(resp.read(1_000_000))
        except (OSError, ValueError) as exc:
            raise SignInError(f"the identity provider's keys could not be read ({exc})") from exc

    def keys(self, refresh: bool = False) -> KeySet:
        with self._lock:
            now = time.monotonic()
            stale = self._keys is None or now - self._fetched > self.settings.oidc_jwks_ttl
            early = refresh and now - self._fetched > REFRESH_AT_MOST_EVERY_S
            if stale or early:
                self._keys = self._load()
                self._fetched = now
            return self._keys

    # ---------------------------------------------------------------- tokens
    def _decode(self, token: str):
        try:
            return jwt.decode(token, self.keys(), algorithms=self.algorithms)
        except (jose_errors.InvalidKeyIdError, jose_errors.MissingKeyError, ValueError):
            # a key id the cached set does not hold: the provider may have rotated its keys
            return jwt.decode(token, self.keys(refresh=True), algorithms=self.algorithms)

    def verify(self, token: str) -> Principal:
        try:
            decoded = self._decode(token)
            registry = jwt.JWTClaimsRegistry(
                leeway=self.settings.oidc_leeway,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
            )
            registry.validate(decoded.claims)
        except jose_errors.ExpiredTokenError:
            raise SignInError("the token has expired") from None
        except jose_errors.BadSignatureError:
            raise SignInError("the token's signature does not verify against the issuer's keys") from None
        except jose_errors.InvalidClaimError as exc:
            raise SignInError(f"the token's {exc.claim} claim is not accepted here") from None
        except jose_errors.MissingClaimError as exc:
            raise SignInError(f"the token has no {exc.claim} claim") from None
        except jose_errors.JoseError as exc:
            raise SignInError(f"the token is not accepted ({exc.error}: {exc.description or ''})".strip()) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise SignInError(f"the token cannot be read ({type(exc).__name__})") from None
        claims = decoded.claims
        return Principal(
            role=self._role(_claim(claims, self.settings.oidc_roles_claim)),
            subject=f"oidc:{claims.get('sub') or claims.get('email') or '?'}",
            countries=parse_countries(_claim(claims, self.settings.oidc_country_claim)),
            via="oidc",
            issuer=self.issuer,
            expires_at=int(claims["exp"]) if isinstance(claims.get("exp"), int | float) else None,
        )

    def _role(self, value) -> Role:
        names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
        best = Role.ANONYMOUS
        for name in names:
            mapped = self.role_map.get(str(name), str(name).lower())
            try:
                best = max(best, Role.parse(mapped))
            except ValueError:
                continue
        return best
