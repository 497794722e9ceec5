"""Reads behind the DTM-API-compatible endpoints (``/v2``, ``/v3``): all their SQL.

Read-only over ``round``, ``unit_figure``, ``admin_unit`` and ``boundary_set``. Each request
is one set-based query: IDP rounds (``round.population = 'idp'``) joined to their per-unit
aggregates at one admin level, with English names from the boundary set the round was
placed on (``round.boundary_set_id``). The ``'UNASSIGNED'`` bucket of ``unit_figure`` is
never served as a unit.

Filters arrive already parsed (:class:`IdpFilter`); user text only ever reaches SQL as bound
parameters. Name filters match three ways: P-codes found for the name in the boundary
crosswalks (DTM spellings such as ``Ninewa``/``Salahal Din``), the unit's English name or
an alternate name compared through :func:`name_sql_key` (case, spaces, hyphens and a
leading ``Al-`` ignored), or the Arabic name exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import pycountry
from sqlalchemy import Connection, text

from boundaries.crosswalk import Crosswalk, name_key
from boundaries.pcode import to_dtm_pcode
from service.core.constants import UNASSIGNED

__all__ = [
    "NameFilter",
    "IdpFilter",
    "name_filter",
    "country_iso3_for_name",
    "idp_rows",
    "idp_countries",
    "idp_operations",
    "record_id",
]


# The SQL twin of boundaries.crosswalk.name_key for ASCII names: lower case, a leading
# "al" + separator dropped, then everything that is not a letter or digit removed.
_SQL_KEY = "regexp_replace(regexp_replace(lower({col}), '^al[^[:alnum:]]+', ''), '[^[:alnum:]]+', '', 'g')"


def name_sql_key(col: str) -> str:
    return _SQL_KEY.format(col=col)


@dataclass(frozen=True)
class NameFilter:
    """A place name as a client typed it, prepared for matching."""

    raw: str
    key: str  # name_key(raw)
    pcodes: tuple[str, ...] = ()  # COD-AB P-codes the crosswalks give for the name


@dataclass(frozen=True)
class IdpFilter:
    """Parsed filters of one IDP admin-level request (P-codes in COD-AB form)."""

    level: int
    country: str | None = None  # ISO3, from Admin0Pcode
    country_name: NameFilter | None = None  # CountryName
    country_name_iso3: str | None = None  # CountryName as pycountry understands it
    operation: NameFilter | None = None
    operation_iso3: str | None = None
    admin1_pcode: str | None = None
    admin1_name: NameFilter | None = None
    admin2_pcode: str | None = None
    admin2_name: NameFilter | None = None
    from_date: date | None = None
    to_date: date | None = None
    from_round: int | None = None
    to_round: int | None = None


# ---------------------------------------------------------------------------- names


@lru_cache(maxsize=None)
def _crosswalks() -> tuple[Crosswalk, ...]:
    """Every crosswalk shipped in boundaries/data (crosswalk_{iso3}.csv)."""
    names = sorted(e.name for e in resources.files("boundaries").joinpath("data").iterdir())
    return tuple(
        Crosswalk.load(n[len("crosswalk_") : -len(".csv")])
        for n in names
        if n.startswith("crosswalk_") and n.endswith(".csv")
    )


def name_filter(level: int, name: str, parent_pcode: str | None = None) -> NameFilter:
    """Prepare a name filter: its match key and the P-codes the crosswalks resolve it to
    (under ``parent_pcode`` when given; an ambiguous name resolves to nothing there and is
    then matched by name only)."""
    raw = name.strip()
    codes = {c for xw in _crosswalks() if (c := xw.resolve(level, raw, parent_pcode)) is not None}
    return NameFilter(raw=raw, key=name_key(raw), pcodes=tuple(sorted(codes)))


def country_iso3_for_name(name: str) -> str | None:
    """``'Iraq'``, ``'Republic of Iraq'``, ``'IRQ'`` -> ``'IRQ'`` via pycountry; None if unknown."""
    try:
        return pycountry.countries.lookup(name.strip()).alpha_3
    except LookupError:
        return None


def _name_match(alias: str, f: NameFilter, prefix: str, params: dict) -> str:
    """SQL condition: admin_unit ``alias`` is the unit named by ``f``."""
    params[f"{prefix}_codes"] = list(f.pcodes)
    params[f"{prefix}_key"] = f.key
    params[f"{prefix}_raw"] = f.raw
    return (
        f"({alias}.pcode = ANY(:{prefix}_codes)"
        f" OR ({name_sql_key(f'{alias}.name_en')} = :{prefix}_key AND :{prefix}_key <> '')"
        f" OR {alias}.name_ar = :{prefix}_raw"
        f" OR EXISTS (SELECT 1 FROM unnest({alias}.alt_names) AS alt(n)"
        f"            WHERE {name_sql_key('alt.n')} = :{prefix}_key AND :{prefix}_key <> ''))"
    )


def _country_match(f: NameFilter, iso3: str | None, prefix: str, params: dict) -> str:
    """SQL condition: the round's country is the one named by ``f`` (pycountry name or ISO
    code, or the level-0 unit's own names)."""
    params[f"{prefix}_iso3"] = iso3 or ""
    return f"(r.country = :{prefix}_iso3 OR {_name_match('a0', f, prefix, params)})"


# ---------------------------------------------------------------------------- IDP figures

# per level: the admin_unit joins that name the figure's unit and its ancestors
_JOINS = {
    0: "",
    1: "LEFT JOIN admin_unit a1 ON a1.boundary_set_id = r.boundary_set_id AND a1.pcode = uf.pcode",
    2: (
        "LEFT JOIN admin_unit a2 ON a2.boundary_set_id = r.boundary_set_id AND a2.pcode = uf.pcode\n"
        "LEFT JOIN admin_unit a1 ON a1.boundary_set_id = r.boundary_set_id AND a1.pcode = a2.parent_pcode"
    ),
}
_COLUMNS = {
    0: "",
    1: ", a1.name_en AS admin1_name, uf.pcode AS admin1_pcode",
    2: (
        ", a1.name_en AS admin1_name, coalesce(a1.pcode, a2.parent_pcode) AS admin1_pcode,"
        " a2.name_en AS admin2_name, uf.pcode AS admin2_pcode"
    ),
}


def _idp_sql(flt: IdpFilter) -> tuple[str, dict]:
    level = flt.level
    params: dict = {"level": level, "unassigned": UNASSIGNED}
    where = ["r.population = 'idp'"]
    if flt.country:
        where.append("r.country = :country")
        params["country"] = flt.country
    if flt.country_name:
        where.append(_country_match(flt.country_name, flt.country_name_iso3, "cn", params))
    if flt.operation:
        where.append(_country_match(flt.operation, flt.operation_iso3, "op", params))
    if level >= 1:
        if flt.admin1_pcode:
            where.append("uf.pcode = :a1p" if level == 1 else "coalesce(a1.pcode, a2.parent_pcode) = :a1p")
            params["a1p"] = flt.admin1_pcode
        if flt.admin1_name:
            where.append(_name_match("a1", flt.admin1_name, "a1n", params))
    if level >= 2:
        if flt.admin2_pcode:
            where.append("uf.pcode = :a2p")
            params["a2p"] = flt.admin2_pcode
        if flt.admin2_name:
            where.append(_name_match("a2", flt.admin2_name, "a2n", params))
    if flt.from_date:
        where.append("r.reporting_date >= :from_date")
        params["from_date"] = flt.from_date
    if flt.to_date:
        where.append("r.reporting_date <= :to_date")
        params["to_date"] = flt.to_date
    if flt.from_round:
        where.append("r.round_number >= :from_round")
        params["from_round"] = flt.from_round
    if flt.to_round:
        where.append("r.round_number <= :to_round")
        params["to_round"] = flt.to_round
    sql = f"""
        SELECT r.country, r.round_number, r.reporting_date, uf.level, uf.pcode, uf.published_individuals,
               a0.name_en AS admin0_name{_COLUMNS[level]}
        FROM round r
        JOIN unit_figure uf ON uf.round_id = r.id AND uf.level = :level AND uf.pcode <> :unassigned
        LEFT JOIN admin_unit a0 ON a0.boundary_set_id = r.boundary_set_id AND a0.level = 0
        {_JOINS[level]}
        WHERE {" AND ".join(where)}
        ORDER BY r.reporting_date, r.round_number, r.country, uf.pcode
    """
    return sql, params


def record_id(country: str, round_number: int | None, level: int, pcode: str, reporting_date: date) -> int:
    """A stable record id from the natural key (country, IDP round, level, unit): the same
    record keeps its id across re-imports and whatever the filters. A round is named by
    DTM's number where it has one (the ids of numbered rounds are unchanged), else by its
    reporting date, so rounds without a number never share ids. 52 bits, so it is exact in
    JavaScript and in float64 columns."""
    name = str(round_number) if round_number is not None else f"d{reporting_date.isoformat()}"
    key = f"{country}:idp:{name}:{level}:{pcode}".encode()
    digest = hashlib.md5(key, usedforsecurity=False).hexdigest()
    return int(digest[:13], 16)


def _country_name(iso3: str, name: str | None) -> str:
    if name:
        return name
    c = pycountry.countries.get(alpha_3=iso3)
    return c.name if c else iso3


def _dtm(pcode: str | None) -> str | None:
    if not pcode:
        return None
    try:
        return to_dtm_pcode(pcode)
    except ValueError:
        return pcode


def idp_rows(conn: Connection, flt: IdpFilter) -> list[dict]:
    """IDP figures per unit and round at ``flt.level`` as DTM API records (v2 fields)."""
    sql, params = _idp_sql(flt)
    out = []
    for row in conn.execute(text(sql), params).mappings():
        country = row["country"].strip()
        name0 = _country_name(country, row["admin0_name"])
        d: date = row["reporting_date"]
        rec = {
            "id": record_id(country, row["round_number"], row["level"], row["pcode"], d),
            "operation": name0,
            "admin0Name": name0,
            "admin0Pcode": country,
        }
        if flt.level >= 1:
            rec["admin1Name"] = row["admin1_name"]
            rec["admin1Pcode"] = _dtm(row["admin1_pcode"])
        if flt.level >= 2:
            rec["admin2Name"] = row["admin2_name"]
            rec["admin2Pcode"] = _dtm(row["admin2_pcode"])
        rec.update(
            {
                # DTM's published count (household sizes as DTM applies them), not the file's sum
                "numPresentIdpInd": int(row["published_individuals"]),
                "reportingDate": f"{d.isoformat()}T00:00:00",
                "yearReportingDate": d.year,
                "monthReportingDate": d.month,
                "roundNumber": row["round_number"],
                "assessmentType": "BA",
            }
        )
        out.append(rec)
    return out


# ---------------------------------------------------------------------------- lists

_COUNTRIES_SQL = """
    SELECT DISTINCT ON (r.country) r.country, a0.name_en AS admin0_name
    FROM round r
    LEFT JOIN admin_unit a0 ON a0.boundary_set_id = r.boundary_set_id AND a0.level = 0
    WHERE r.population = 'idp'
    ORDER BY r.country, r.reporting_date DESC, r.round_number DESC
"""


def idp_countries(conn: Connection) -> list[dict]:
    """Countries with at least one IDP round, named as in their latest round's boundaries."""
    rows = conn.execute(text(_COUNTRIES_SQL)).mappings().all()
    out = [
        {"admin0Name": _country_name(r["country"].strip(), r["admin0_name"]), "admin0Pcode": r["country"].strip()}
        for r in rows
    ]
    return sorted(out, key=lambda c: c["admin0Name"])


def idp_operations(conn: Connection) -> list[dict]:
    """One operation per country with IDP rounds; the operation is named after the country."""
    return [{"operation": c["admin0Name"], "operationStatus": "Active", **c} for c in idp_countries(conn)]
