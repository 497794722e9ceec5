"""P-code normalisation: the one place that decides what a P-code looks like.

Canonical form is the OCHA COD-AB form: upper case, no separators, ISO 3166-1
alpha-2 country prefix (``IQG07Q02``).  Other systems write the same codes
differently -- the DTM API uses an ISO3 prefix and a hyphen (``IRQ-G07Q02``),
older 3W lists ``IQ-G11`` -- and all of them normalise to the COD-AB form here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pycountry

__all__ = [
    "normalize_pcode",
    "to_dtm_pcode",
    "iso2_from_iso3",
    "iso3_from_iso2",
    "normalize_country",
    "country_of_pcode",
    "infer_level",
    "level_pattern",
    "PCODE_COLUMNS",
    "code_shape",
]

#: Normalised column names (letters and digits, lower case) that hold the P-codes of admin
#: levels 1-3 in DTM files of any operation: governorate/state/region, district/LGA/county,
#: sub-district/ward/payam/TA. Read by the assessments' catalogue and the master-list header.
PCODE_COLUMNS: dict[int, tuple[str, ...]] = {
    1: ("statepcode", "adm1pcode", "admin1pcode", "governoratepcode", "regionpcode", "provincepcode"),
    2: ("lgapcode", "adm2pcode", "admin2pcode", "districtpcode", "countypcode"),
    3: ("wardpcode", "codswardpcode", "adm3pcode", "admin3pcode", "subdistrictpcode", "tapcode", "payampcode"),
}

# Separators removed from P-codes: ASCII hyphen, space, underscore and the
# Unicode dashes that spreadsheets like to substitute for hyphens.
_SEPARATORS = re.compile(r"[\s\-_\u2010\u2011\u2012\u2013\u2014\u2212]+")
_VALID = re.compile(r"^[A-Z]{2}[A-Z0-9]*$")


@dataclass(frozen=True)
class _LevelPattern:
    level: int
    regex: re.Pattern[str]
    human: str  # shown in error messages, e.g. 'IQGnnQmm'


def _levels(*items: tuple[int, str, str]) -> tuple[_LevelPattern, ...]:
    return tuple(_LevelPattern(lvl, re.compile(rx), human) for lvl, rx, human in items)


# Per-country P-code patterns (canonical form), keyed by ISO3.  Add countries here.
PCODE_PATTERNS: dict[str, tuple[_LevelPattern, ...]] = {
    "IRQ": _levels(
        (0, r"^IQ$", "IQ"),
        (1, r"^IQG\d{2}$", "IQGnn"),
        (2, r"^IQG\d{2}Q\d{2}$", "IQGnnQmm"),
        (3, r"^IQG\d{2}Q\d{2}N\d{2}$", "IQGnnQmmNkk"),
    ),
}

# Countries whose COD-AB P-codes use the ISO3 code as prefix (MIMU codes for
# Myanmar: ``MMR001``); the ISO3 prefix is canonical there and is kept.
_ISO3_NATIVE_PREFIX = frozenset({"MMR"})


@lru_cache(maxsize=None)
def iso3_from_iso2(iso2: str) -> str:
    """``'IQ'`` -> ``'IRQ'``.  ValueError for unknown codes."""
    code = (iso2 or "").strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f"not an ISO 3166-1 alpha-2 code: {iso2!r}")
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 code: {iso2!r}")
    return country.alpha_3


@lru_cache(maxsize=None)
def iso2_from_iso3(iso3: str) -> str:
    """``'IRQ'`` -> ``'IQ'``.  ValueError for unknown codes."""
    code = (iso3 or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"not an ISO 3166-1 alpha-3 code: {iso3!r}")
    country = pycountry.countries.get(alpha_3=code)
    if country is None:
        raise ValueError(f"unknown ISO 3166-1 alpha-3 code: {iso3!r}")
    return country.alpha_2


def normalize_country(code: str) -> str:
    """An ISO2 or ISO3 country code (any case) -> ISO3 upper.  ValueError if unknown."""
    c = (code or "").strip().upper()
    if len(c) == 2:
        return iso3_from_iso2(c)
    if len(c) == 3:
        iso2_from_iso3(c)  # validates
        return c
    raise ValueError(f"not an ISO 3166-1 country code: {code!r}")


@lru_cache(maxsize=4096)
def _is_iso3(code: str) -> bool:
    try:
        iso2_from_iso3(code)
    except ValueError:
        return False
    return True


def _matches_known_pattern(code: str) -> bool:
    for patterns in PCODE_PATTERNS.values():
        if any(p.regex.match(code) for p in patterns):
            return True
    return False


@lru_cache(maxsize=65536)
def normalize_pcode(value: str) -> str:
    """Return the canonical COD-AB form of a P-code written in any common form.

    ``IRQ-G01Q01``, ``IQG01Q01``, ``iqg01q01``, `` IQ-G01Q01 ``, ``IRQG01Q01`` ->
    ``IQG01Q01``; ``IRQ`` -> ``IQ``; ``IQ-G11`` -> ``IQG11``.  An ISO3 country prefix
    is replaced by its ISO2 code.  ValueError for empty or malformed input.
    """
    if not isinstance(value, str):
        raise ValueError(f"P-code must be a string, got {type(value).__name__}")
    text = unicodedata.normalize("NFKC", value).strip().upper()
    code = _SEPARATORS.sub("", text)
    if not code:
        raise ValueError("empty P-code")
    if not _VALID.match(code):
        raise ValueError(
            f"malformed P-code {value!r}: expected letters and digits starting with a "
            "country code, separated only by hyphens, spaces or underscores"
        )
    # A code that already fits a known country's pattern is left alone, so that an
    # ISO2 prefix followed by a letter is never mistaken for an ISO3 prefix.
    if _matches_known_pattern(code):
        return code
    prefix = code[:3]
    if len(code) >= 3 and prefix.isalpha() and _is_iso3(prefix) and prefix not in _ISO3_NATIVE_PREFIX:
        code = iso2_from_iso3(prefix) + code[3:]
    return code


def _split_country(pcode: str) -> tuple[str, str, str]:
    """Canonical P-code -> (iso3, canonical prefix, rest)."""
    code = normalize_pcode(pcode)
    if code[:3] in _ISO3_NATIVE_PREFIX:
        return code[:3], code[:3], code[3:]
    return iso3_from_iso2(code[:2]), code[:2], code[2:]


def country_of_pcode(pcode: str) -> str:
    """ISO3 country of a P-code in any form (``'IRQ-G01'`` -> ``'IRQ'``).

    ValueError if the prefix is not a country code.
    """
    try:
        return _split_country(pcode)[0]
    except ValueError as exc:
        raise ValueError(f"P-code {pcode!r} does not start with a country code: {exc}") from None


def to_dtm_pcode(pcode: str) -> str:
    """COD-AB P-code (any form) -> the DTM API form.

    ``IQ`` -> ``IRQ``, ``IQG01`` -> ``IRQ-G01``, ``IQG01Q01`` -> ``IRQ-G01Q01``.
    """
    iso3, _prefix, rest = _split_country(pcode)
    return f"{iso3}-{rest}" if rest else iso3


def infer_level(pcode: str, country_iso3: str) -> int | None:
    """Admin level implied by the P-code's pattern, or None if the country has no
    pattern table or the code fits none of its patterns.

    ``infer_level('IQG07Q02', 'IRQ') == 2``.  Raises ValueError for malformed codes.
    """
    try:
        iso3 = normalize_country(country_iso3)
    except ValueError:
        return None
    patterns = PCODE_PATTERNS.get(iso3)
    if not patterns:
        return None
    code = normalize_pcode(pcode)
    for p in patterns:
        if p.regex.match(code):
            return p.level
    return None


def level_pattern(country_iso3: str, level: int) -> str | None:
    """Human-readable pattern for a level (``'IQGnnQmm'`` for IRQ level 2), or None."""
    try:
        iso3 = normalize_country(country_iso3)
    except ValueError:
        return None
    for p in PCODE_PATTERNS.get(iso3, ()):
        if p.level == level:
            return p.human
    return None


_DIGIT_RUN = re.compile(r"\d")


def code_shape(pcode: str) -> str | None:
    """The shape of a P-code (any form): its canonical form with every digit written ``n``
    (``'NG001001'`` -> ``'NGnnnnnn'``, ``'IQG07Q02'`` -> ``'IQGnnQnn'``); None when it is not
    a P-code at all. The levels of a country's codes are told apart by their shapes
    (``service.ingest.declared`` learns them from the boundaries)."""
    try:
        code = normalize_pcode(pcode)
    except ValueError:
        return None
    return _DIGIT_RUN.sub("n", code)
