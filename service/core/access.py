"""THE access policy: who may read what. One place, applied by the layer registry on every path.

Identities become a :class:`Principal` (``service/auth/``: API tokens and OpenID Connect
bearer tokens); data carries a :class:`Sensitivity` per dataset and per column (the catalogue
of the indicator datasets; master-list figures are public: DTM publishes them itself at
location level). Everything that decides whether an answer may be given, what it may hold and
how it may be cached is a function of this module, so routes never check roles themselves:

* :func:`decide` - whether a principal may read a dataset of a country: allow, or the refusal
  (401 sign in, 403 forbidden, 404 "does not exist for you": restricted data and unpublished
  datasets are not even named to those who may not read them).
* :func:`visible_columns` - the columns of a dataset a principal may see.
* :func:`answer_scope` - what an answer made of some sensitivities is: public (one cache entry
  for everyone, ``public`` caching), shared with the principal's role and countries (cached
  under a key that holds both, ``private``), or restricted (never cached, ``private, no-store``,
  every read audited).

Roles are ranked: anonymous < partner < analyst < editor < admin. Partner data is read by a
partner (or above) of its country; restricted data by an analyst (or above) of its country;
a principal with no country list (``countries is None``) covers every country. A dataset that
no editor has published yet is restricted whatever its declared level.

This module is pure (no database, no FastAPI): the base layer and every kind may import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum


class Role(IntEnum):
    """Who someone is to the service; a higher role may do everything a lower one may."""

    ANONYMOUS = 0
    PARTNER = 1
    ANALYST = 2
    EDITOR = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r}; use one of {', '.join(r.label for r in cls)}") from None


TOKEN_ROLES = tuple(r.label for r in Role if r is not Role.ANONYMOUS)
"""The roles an API token may carry (anonymous is the absence of a token)."""


class Sensitivity(IntEnum):
    """How far a dataset or a column may go: everyone, the partners of its country, or analysts."""

    PUBLIC = 0
    PARTNER = 1
    RESTRICTED = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str | Sensitivity) -> Sensitivity:
        if isinstance(value, Sensitivity):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            raise ValueError(f"unknown sensitivity {value!r}; use one of {', '.join(s.label for s in cls)}") from None


READER_OF = {
    Sensitivity.PUBLIC: Role.ANONYMOUS,
    Sensitivity.PARTNER: Role.PARTNER,
    Sensitivity.RESTRICTED: Role.ANALYST,
}
"""The lowest role that reads data of each sensitivity (within the principal's countries)."""


@dataclass(frozen=True)
class Principal:
    """Who asks: a role, the countries it holds it for (``None``: every country) and how it signed in."""

    role: Role = Role.ANONYMOUS
    subject: str = "anonymous"
    countries: frozenset[str] | None = None
    via: str = "anonymous"  # anonymous | token | oidc
    token_id: int | None = None
    issuer: str | None = None
    session: bool = False  # signed in by the web map's session cookie (service/auth/sessions.py): reads only
    expires_at: int | None = None  # when the credential ends (an OIDC token's exp, Unix seconds), if it says

    @property
    def anonymous(self) -> bool:
        return self.role is Role.ANONYMOUS

    def covers(self, country: str | None) -> bool:
        """Whether the principal's role holds for ``country`` (``None``: data of no one country)."""
        if self.countries is None:
            return True
        return country is not None and country.upper() in self.countries

    def at_least(self, role: Role, country: str | None = None) -> bool:
        """Whether the principal has ``role`` (or above) for ``country``."""
        return self.role >= role and (role is Role.ANONYMOUS or self.covers(country))

    @property
    def cache_key(self) -> str:
        """The part of a cache key that tells principals' answers apart (role and countries)."""
        countries = "*" if self.countries is None else ",".join(sorted(self.countries))
        return f"{self.role.label}@{countries}"

    def describe(self) -> dict:
        """The identity as it is written in audit rows and restricted exports' metadata."""
        return {
            "subject": self.subject,
            "role": self.role.label,
            "countries": None if self.countries is None else sorted(self.countries),
            "via": self.via,
            **({"token_id": self.token_id} if self.token_id is not None else {}),
            **({"issuer": self.issuer} if self.issuer else {}),
            **({"session": True} if self.session else {}),
        }


ANONYMOUS = Principal()


def parse_countries(value) -> frozenset[str] | None:
    """Countries from a token row or a claim: ``None``/empty/``*`` = every country; ISO3 codes
    (a string, comma- or space-separated, or a list)."""
    if value is None:
        return None
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v) for v in value]
    codes = {c.strip().upper() for c in items if c.strip()}
    if not codes or "*" in codes:
        return None
    return frozenset(codes)


@dataclass(frozen=True)
class Resource:
    """What is read: a dataset (or layer) of a country, its level, whether an editor published it,
    and its columns' levels (stricter columns stay stricter; a column is never looser than its dataset)."""

    name: str
    country: str | None = None
    sensitivity: Sensitivity = Sensitivity.PUBLIC
    published: bool = True
    columns: Mapping[str, Sensitivity] = field(default_factory=dict)

    @property
    def level(self) -> Sensitivity:
        """The level the dataset is read at: an unpublished dataset is restricted."""
        return self.sensitivity if self.published else Sensitivity.RESTRICTED

    def column_level(self, column: str) -> Sensitivity:
        return max(self.level, self.columns.get(column, Sensitivity.PUBLIC))


class Decision(Enum):
    """The answer of :func:`decide`, with the HTTP status a refusal becomes."""

    ALLOW = 200
    SIGN_IN = 401
    FORBIDDEN = 403
    HIDDEN = 404

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOW


def can_read(principal: Principal, sensitivity: Sensitivity, country: str | None) -> bool:
    """Whether ``principal`` may read data of ``sensitivity`` belonging to ``country``."""
    return principal.at_least(READER_OF[sensitivity], country)


def decide(principal: Principal, resource: Resource) -> Decision:
    """May ``principal`` read ``resource``? Restricted (and unpublished) data does not exist for
    those who may not read it (404); partner data asks anonymous callers to sign in (401) and
    tells a signed-in principal of other countries or too low a role that it is not theirs (403)."""
    level = resource.level
    if can_read(principal, level, resource.country):
        return Decision.ALLOW
    if level is Sensitivity.RESTRICTED:
        return Decision.HIDDEN
    return Decision.SIGN_IN if principal.via == "anonymous" else Decision.FORBIDDEN


def readable(principal: Principal, resources: Iterable[Resource]) -> list[Resource]:
    """The resources that exist for ``principal`` (listings, OGC collections, pickers)."""
    return [r for r in resources if decide(principal, r).allowed]


def visible_columns(principal: Principal, resource: Resource, columns: Iterable[str]) -> list[str]:
    """The ``columns`` of ``resource`` that ``principal`` may see, in their order."""
    return [c for c in columns if can_read(principal, resource.column_level(c), resource.country)]


class Scope(IntEnum):
    """What an answer is, for caches and headers."""

    PUBLIC = 0  # the same for everyone: one cache entry, ``public`` caching
    SHARED = 1  # partner data: cached per role and countries, ``private``
    RESTRICTED = 2  # restricted data: never cached, ``private, no-store``, audited

    @property
    def cache_control(self) -> str | None:
        """The Cache-Control an answer of this scope must carry (``None``: the route's own)."""
        return {Scope.PUBLIC: None, Scope.SHARED: "private, no-cache", Scope.RESTRICTED: "private, no-store"}[self]


def answer_scope(levels: Iterable[Sensitivity]) -> Scope:
    """The scope of an answer made of data of these levels (the strictest wins)."""
    return Scope(max((int(level) for level in levels), default=0))


def cache_key(principal: Principal, scope: Scope) -> str | None:
    """The part of a cache key an answer of ``scope`` adds for ``principal``: ``""`` for public
    answers (one entry for everyone), role and countries for partner data, ``None`` for
    restricted answers, which are never cached."""
    if scope is Scope.PUBLIC:
        return ""
    if scope is Scope.SHARED:
        return principal.cache_key
    return None


MASTER_LIST = Sensitivity.PUBLIC
"""Master-list figures (baselines, IDP and returnee master lists) are public: DTM publishes
them itself at location level; no role, suppression or rounding changes them."""


def readable_levels(principal: Principal, country: str | None) -> tuple[str, ...]:
    """The sensitivity labels ``principal`` reads in ``country`` (``('public',)`` for anonymous),
    for queries that filter rows by a stored level: ``WHERE access = ANY(:levels)``."""
    return tuple(s.label for s in Sensitivity if can_read(principal, s, country))


def kind_resource(kind, country: str | None = None) -> Resource:
    """A kind of data of the layer registry (``service.core.registry.Kind``: its name and its
    ``access``) as the policy sees it: what its map indicators, package folders and tile layers
    may show (static maps and packages are public outputs: they hold only public kinds)."""
    return Resource(f"kind:{kind.name}", country, Sensitivity.parse(getattr(kind, "access", "public")))
