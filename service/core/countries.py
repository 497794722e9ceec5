"""Which country a read means when it names none: the one rule of every endpoint and export.

* A country named (``?country=IRQ``, ``--country IRQ``): that country; one without any data
  (no current boundaries, no round) is ``NoCountryData`` (HTTP 404).
* None named and one country has what the read serves (figures of the population asked, or,
  for geometry-only reads, current boundaries): that country, as in a one-country deployment.
* None named and several have it: ``SeveralCountries`` (HTTP 400) naming the parameter and
  listing the countries.

In the base layer because the tiles (``tiles/``), the exports (``service.publish``) and the
API (``service.api.params``) all apply it. Reads of ``round`` and ``boundary_set`` only.
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Sequence
from functools import lru_cache

import pycountry
from sqlalchemy import Connection, text

from service.core.errors import BadRequest, NotFound

#: How a boundary set's ``source`` is named in attributions.
SOURCE_NAMES = {"COD-AB": "OCHA COD-AB", "geoBoundaries": "geoBoundaries", "custom": "own boundaries"}


@lru_cache(maxsize=None)
def _arabic():
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ar"])
    except OSError:
        return gettext.NullTranslations()


@lru_cache(maxsize=256)
def country_names(iso3: str) -> tuple[str, str]:
    """(English, Arabic) name of a country (ISO 3166 through pycountry)."""
    c = pycountry.countries.get(alpha_3=iso3)
    if c is None:
        return iso3, iso3
    en = getattr(c, "common_name", None) or c.name
    return en, _arabic().gettext(c.name)


def boundary_sources(conn: Connection, countries: Sequence[str | None] | None = None) -> dict[str, str]:
    """Country -> the ``source`` of its current boundary set (``COD-AB``, ...), of ``countries``
    (None in it ignored) or, when None, of every country with current boundaries."""
    wanted = None if countries is None else [c for c in countries if c]
    rows = conn.execute(
        text(
            "SELECT country, source FROM boundary_set WHERE is_current "
            "AND (CAST(:c AS text[]) IS NULL OR country = ANY(CAST(:c AS text[]))) ORDER BY country"
        ),
        {"c": wanted or None},
    ).all()
    return {r.country.strip(): r.source for r in rows}


def attribution(conn: Connection, countries: Sequence[str | None] | None = None) -> str:
    """'Boundaries: OCHA COD-AB (Iraq); figures: IOM DTM', from the data: each country's
    name and boundary source."""
    sources = boundary_sources(conn, countries)
    if not sources:
        return "Figures: IOM DTM"
    listed = "; ".join(f"{SOURCE_NAMES.get(src, src)} ({country_names(c)[0]})" for c, src in sources.items())
    return f"Boundaries: {listed}; figures: IOM DTM"


class SeveralCountries(BadRequest):
    """The country is omitted and several countries have what was asked (HTTP 400)."""

    def __init__(self, countries: Sequence[str], what: str, param: str = "country"):
        self.param = param
        self.countries = list(countries)
        listed = ", ".join(self.countries)
        self.detail = f"{param}: several countries have {what}: {listed}; name one; accepted: one of {listed}"
        super().__init__(self.detail)


class NoCountryData(NotFound):
    """A country was named that has no boundaries nor figures (HTTP 404)."""

    status = 404

    def __init__(self, country: str, loaded: Sequence[str], what: str = "boundaries or figures"):
        self.country = country
        self.detail = f"no {what} for country {country}; countries loaded: {', '.join(loaded) or 'none'}"
        super().__init__(self.detail)


def round_countries(
    conn: Connection,
    population: str | None = None,
    round_number: int | None = None,
    reporting_date: dt.date | None = None,
) -> list[str]:
    """The countries with a round of ``population`` (any, when None), of that number / date when given."""
    return list(
        conn.execute(
            text(
                "SELECT DISTINCT country FROM round WHERE (CAST(:p AS text) IS NULL OR population = :p) "
                "AND (CAST(:n AS int) IS NULL OR round_number = :n) "
                "AND (CAST(:d AS date) IS NULL OR reporting_date = :d) ORDER BY 1"
            ),
            {"p": population, "n": round_number, "d": reporting_date},
        ).scalars()
    )


def boundary_countries(conn: Connection) -> list[str]:
    """The countries with a current boundary set, sorted."""
    return list(conn.execute(text("SELECT DISTINCT country FROM boundary_set WHERE is_current ORDER BY 1")).scalars())


def loaded_countries(conn: Connection) -> list[str]:
    """The countries with current boundaries or a round, sorted."""
    return sorted(set(boundary_countries(conn)) | set(round_countries(conn)))


def check_country(conn: Connection, country: str) -> str:
    """``country`` when it has current boundaries or a round; NoCountryData otherwise."""
    loaded = loaded_countries(conn)
    if country not in loaded:
        raise NoCountryData(country, loaded)
    return country


def _round_label(population: str, round_number: int | None, reporting_date: dt.date | None) -> str:
    if reporting_date is not None:
        return f"{population} figures for the round of {reporting_date.isoformat()}"
    if round_number is not None:
        return f"{population} figures for round {round_number}"
    return f"{population} figures"


def figures_country(
    conn: Connection,
    country: str | None,
    population: str | None = None,
    round_number: int | None = None,
    reporting_date: dt.date | None = None,
) -> str | None:
    """The country a read of a round's figures means: ``country`` itself, else the one country
    with rounds of ``population`` (default idp; of that number or date when given); None when
    no country has such a round (the caller says which round is missing)."""
    if country is not None:
        return country
    population = population or "idp"
    countries = round_countries(conn, population, round_number, reporting_date)
    if len(countries) > 1:
        raise SeveralCountries(countries, _round_label(population, round_number, reporting_date))
    return countries[0] if countries else None


def geometry_country(conn: Connection, country: str | None) -> str | None:
    """The country a geometry-only read (boundaries, admin units, sites) means: ``country``
    itself (NoCountryData without data), else the one country with current boundaries, None
    when no country has any; SeveralCountries when several have."""
    if country is not None:
        return check_country(conn, country)
    countries = boundary_countries(conn)
    if len(countries) > 1:
        raise SeveralCountries(countries, "boundaries")
    return countries[0] if countries else None
