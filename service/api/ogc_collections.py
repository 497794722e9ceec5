"""The OGC API - Features collections (``service.api.ogc``): their ids, what each is, how an id resolves.

The admin levels and sites; the kinds' own datasets; per population one time-enabled
collection per level over all its rounds (``idp-adm2``; ``service.publish.series``), listed;
the per-round collections (``idp-r120-adm2``), aliases answered but listed only on request;
the kinds' data collections (indicator datasets). Ids carry the country's ISO3 prefix when
several countries are loaded (see ``service.api.ogc``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Path

from boundaries.pcode import normalize_country
from service.api.params import INT4_MAX, Country, ParamError
from service.core.access import ANONYMOUS, Principal
from service.core.countries import check_country, figures_country, geometry_country, loaded_countries
from service.core.errors import BadRequest, NotFound
from service.core.registry import registry
from service.core.rounds import find_round, list_rounds
from service.publish.datasets import DATASETS, POPULATION_LABEL, Dataset, Selection, round_label
from service.publish.series import series_dataset

PLAIN_IDS = ("admin0", "admin1", "admin2", "admin3", "sites")


def kind_ids() -> tuple[str, ...]:
    """The kinds' datasets not of a round (events, flows: their own dates), collections under their key."""
    return tuple(
        k for k, ds in DATASETS.items() if not ds.per_round and k not in PLAIN_IDS and ds.kind not in ("admin",)
    )


def round_id_pattern() -> re.Pattern:
    """A round's collection ids: its own (locations, adm1..3), then the kinds' (the registry's round datasets)."""
    keys = "".join(f"|{re.escape(key)}" for _, rd in registry().round_datasets() for key in rd.keys)
    return re.compile(r"(idp|returnee)-(r\d+|d\d{8})-(locations|adm[1-3]" + keys + ")")


def series_id_pattern() -> re.Pattern:
    """The time-enabled collections' ids: a population, then locations, adm1..3 or a kind's round dataset."""
    keys = "".join(f"|{re.escape(key)}" for _, rd in registry().round_datasets() for key in rd.keys)
    return re.compile(r"(idp|returnee)-(locations|adm[1-3]" + keys + ")")


def _series_key(suffix: str) -> str:
    return "locations" if suffix == "locations" else f"figures-{suffix}" if suffix.startswith("adm") else suffix


def series_rounds(conn, country: str | None, population: str, only: set[int] | None = None) -> list[dict]:
    """The rounds of a time-enabled collection, oldest first: the latest of each DTM round number
    (or reporting date) of the population, in ``only`` (a kind's rounds with data) when given."""
    seen, out = set(), []
    for rnd in sorted(list_rounds(conn, country, population), key=lambda r: -r["reporting_date"].toordinal()):
        key = (rnd["country"], rnd["round_number"] if rnd["round_number"] is not None else rnd["reporting_date"])
        if key in seen:
            continue
        seen.add(key)
        if only is None or rnd["id"] in only:
            out.append(rnd)
    return out[::-1]


def _series_collections(conn, c: str | None, qualified: bool, kinds_rounds) -> list[Collection]:
    out: list[Collection] = []
    for pop in POPULATION_LABEL:
        rounds = series_rounds(conn, c, pop)
        if not rounds:
            continue
        prefix = _prefixed(c, pop, qualified)
        for suffix in ("locations", "adm1", "adm2", "adm3"):
            out.append(
                Collection(f"{prefix}-{suffix}", DATASETS[_series_key(suffix)], None, c, qualified, rounds=rounds)
            )
        for rd, with_data in kinds_rounds:
            kr = [r for r in rounds if r["id"] in with_data]
            if kr:
                out += [Collection(f"{prefix}-{key}", DATASETS[key], None, c, qualified, rounds=kr) for key in rd.keys]
    return out


COUNTRY_PREFIX = re.compile(r"([A-Za-z]{3})-(.+)")

CollectionId = Annotated[
    str,
    Path(
        description="Collection id: admin0..admin3, sites, or per round "
        "{idp|returnee}-r{round}-{locations|adm1|adm2|adm3}, e.g. idp-r120-adm2; "
        "prefixed by a country's ISO3 in lower case (irq-admin1, irq-idp-r120-adm2) when several countries are loaded"
    ),
]
CountryParam = Country  # ?country= on /collections (which countries), a collection and its items (which country)


# --------------------------------------------------------------------------- collections
@dataclass
class Collection:
    id: str
    dataset: Dataset
    round: dict | None = None
    country: str | None = None  # the country of its rows (None: nothing loaded)
    qualified: bool = False  # the id carries the country's prefix (several countries loaded)
    named: bool = False  # the request named the country (?country=): links name it too
    rounds: list[dict] | None = None  # a time-enabled collection: its rounds (oldest first)

    @property
    def title(self) -> str:
        what = "Locations" if self.dataset.kind == "locations" else self.dataset.title
        if self.rounds is not None:
            pop = POPULATION_LABEL.get(self.rounds[0]["population"], "") if self.rounds else ""
            return f"{what}, {pop}, every round" if pop else f"{what}, every round"
        if self.round is None:
            return self.dataset.title
        return f"{what}, {round_label(self.round)}"

    def selection(self, **kw) -> Selection:
        if self.rounds is not None:
            ds = series_dataset(self.dataset, [r["id"] for r in self.rounds])
            return Selection(ds, spatial=True, **kw)
        country = None if self.dataset.per_round else self.country
        return Selection(self.dataset, round=self.round, spatial=True, country=country, **kw)

    @property
    def queryable_dataset(self) -> Dataset:
        """The fields a filter, sortby and properties may name (a time-enabled collection adds the round's)."""
        return series_dataset(self.dataset, []) if self.rounds is not None else self.dataset

    @property
    def cache_key(self) -> tuple:
        if self.rounds is not None:
            return (self.id, self.country, tuple(r["id"] for r in self.rounds))
        return (self.id, self.country, self.round["id"] if self.round else None)


def round_part(rnd: dict) -> str:
    """DTM's round number (``r120``), or the reporting date of a round the calendar does not number."""
    return f"r{rnd['round_number']}" if rnd["round_number"] is not None else rnd["reporting_date"].strftime("d%Y%m%d")


def _prefixed(country: str | None, cid: str, qualified: bool) -> str:
    return f"{country.lower()}-{cid}" if qualified and country else cid


def _round_collections(rnd: dict, qualified: bool = False) -> list[Collection]:
    prefix = _prefixed(rnd["country"], f"{rnd['population']}-{round_part(rnd)}", qualified)
    c = rnd["country"]
    return [
        Collection(f"{prefix}-locations", DATASETS["locations"], rnd, c, qualified),
        *(Collection(f"{prefix}-adm{lvl}", DATASETS[f"figures-adm{lvl}"], rnd, c, qualified) for lvl in (1, 2, 3)),
    ]


def all_collections(
    conn, country: str | None = None, aliases: bool = False, who: Principal = ANONYMOUS
) -> list[Collection]:
    """Every collection, per loaded country (``country``: that one's only; NoCountryData, 404,
    when it has no data). Ids carry the country's prefix when several countries are loaded.
    The rounds are time-enabled collections; ``aliases`` lists every round's own collections too."""
    loaded = loaded_countries(conn)
    qualified = len(loaded) > 1
    if country is not None:
        check_country(conn, country)
    countries = [country] if country is not None else (loaded or [None])
    kinds_rounds = [(rd, rd.rounds(conn)) for _, rd in registry().round_datasets()]
    rounds = sorted(list_rounds(conn, country), key=lambda r: (r["population"], -r["reporting_date"].toordinal()))
    out: list[Collection] = []
    for c in countries:
        out += [Collection(_prefixed(c, cid, qualified), DATASETS[cid], None, c, qualified) for cid in PLAIN_IDS]
        if c == countries[0]:  # the kinds' own collections that hold rows: once, their rows of every country
            out += [Collection(cid, DATASETS[cid], None, country, False) for cid in kind_ids() if _has_rows(conn, cid)]
        out += _series_collections(conn, c, qualified, kinds_rounds)
        if not aliases:
            continue
        seen = set()
        for rnd in rounds:
            if c is not None and rnd["country"] != c:
                continue
            number = rnd["round_number"] if rnd["round_number"] is not None else rnd["reporting_date"]
            key = (rnd["population"], number)
            if key not in seen:  # the latest of a (population, round) pair
                seen.add(key)
                out += _round_collections(rnd, qualified)
                for rd, with_data in kinds_rounds:  # the kinds' datasets of the round (registry)
                    if rnd["id"] in with_data:
                        prefix = _prefixed(rnd["country"], f"{rnd['population']}-{round_part(rnd)}", qualified)
                        out += [Collection(f"{prefix}-{key}", DATASETS[key], rnd, c, qualified) for key in rd.keys]
    # datasets that are rows of a kind's tables (indicator datasets: sites, aggregates per level)
    for dc in registry().data_collections():
        out += [
            Collection(cid, ds, None, dc_country)
            for cid, ds, dc_country in dc.list(conn, who)
            if country in (None, dc_country)
        ]
    return out


def _has_rows(conn, cid: str) -> bool:
    from sqlalchemy import text

    ds = DATASETS[cid]
    return bool(conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {ds.from_sql} WHERE {ds.where_sql})")).scalar())


def _split_country(cid: str) -> tuple[str | None, str]:
    """``irq-admin1`` -> ("IRQ", "admin1"); an id without a country prefix -> (None, id)."""
    if cid in PLAIN_IDS or round_id_pattern().fullmatch(cid) or series_id_pattern().fullmatch(cid):
        return None, cid
    m = COUNTRY_PREFIX.fullmatch(cid)
    base = m.group(2) if m else ""
    if m and (base in PLAIN_IDS or round_id_pattern().fullmatch(base) or series_id_pattern().fullmatch(base)):
        try:
            return normalize_country(m.group(1)), m.group(2)
        except ValueError:
            pass
    return None, cid


def _kinds_id_patterns() -> list[str]:
    return [rd.id_pattern for _, rd in registry().round_datasets()] + [
        dc.id_pattern for dc in registry().data_collections()
    ]


def get_collection(conn, cid: str, country: str | None = None, who: Principal = ANONYMOUS) -> Collection:
    """The collection ``cid`` names (with a country prefix, or without: then ``country``, or
    the one country that has it; SeveralCountries, 400, when several have)."""
    prefix, base = _split_country(cid)
    named = country is not None
    if prefix is not None:
        if country is not None and country != prefix:
            raise ParamError("country", f"collection {cid!r} is of {prefix}, not {country}", prefix)
        country = prefix
    qualified = prefix is not None
    if base in PLAIN_IDS:
        return Collection(cid, DATASETS[base], None, geometry_country(conn, country), qualified, named)
    if prefix is None and cid in kind_ids():
        return Collection(cid, DATASETS[cid], None, country, False, named)
    sm = series_id_pattern().fullmatch(base)
    if sm:
        pop, suffix = sm.groups()
        which = figures_country(conn, country, pop)
        only = None
        for rd in (rd for _, rd in registry().round_datasets() if suffix in rd.keys):
            only = rd.rounds(conn)
        rounds = series_rounds(conn, which, pop, only) if which is not None else []
        if rounds:
            key = _series_key(suffix)
            return Collection(cid, DATASETS[key], None, which, qualified, named, rounds=rounds)
    m = round_id_pattern().fullmatch(base)
    rnd = None
    if m and m.group(2).startswith("d"):
        try:
            day = dt.datetime.strptime(m.group(2)[1:], "%Y%m%d").date()
        except ValueError:
            day = None
        if day is not None:
            which = figures_country(conn, country, m.group(1), reporting_date=day)
            rnd = find_round(conn, reporting_date=day, population=m.group(1), country=which)
    elif m and len(m.group(2)) <= 12 and int(m.group(2)[1:]) <= INT4_MAX:
        which = figures_country(conn, country, m.group(1), round_number=int(m.group(2)[1:]))
        rnd = find_round(conn, round_number=int(m.group(2)[1:]), population=m.group(1), country=which)
    if m:
        if rnd is not None:
            kind = m.group(3)
            return Collection(
                cid,
                DATASETS[f"figures-{kind}" if kind.startswith("adm") else kind],
                rnd,
                rnd["country"],
                qualified,
                named,
            )
    for dc in registry().data_collections():
        found = dc.get(conn, cid, who)  # built for the reader: None when it does not exist for it
        if found is not None and (country is None or country == found[1]):
            return Collection(cid, found[0], None, found[1], False, named)
    raise NotFound(
        f"no collection {cid!r}; see /ogc/collections (ids: admin0..admin3, sites, "
        + ", ".join(
            [
                "{idp|returnee}-{locations|adm1|adm2|adm3}",
                "{idp|returnee}-r{round}-{locations|adm1|adm2|adm3}",
                *_kinds_id_patterns(),
            ]
        )
        + "; "
        "-dYYYYMMDD- instead of -r{round}- for a round without a DTM number; a country's ISO3 prefix, "
        "irq-admin1, where several countries are loaded)" + (f" in {country}" if country else "")
    )


def only_rounds(col: Collection, value: str) -> Collection:
    """A time-enabled collection kept to the rounds ``?round=`` numbers (400 on another collection)."""
    if col.rounds is None:
        raise BadRequest(f"round applies to the time-enabled collections ({{idp|returnee}}-adm2 ...), not {col.id}")
    try:
        numbers = {int(v) for v in value.split(",") if v.strip()}
    except ValueError:
        raise ParamError("round", f"{value!r} is not a round number or a comma-separated list of them", "120") from None
    kept = [r for r in col.rounds if r["round_number"] in numbers]
    return Collection(col.id, col.dataset, None, col.country, col.qualified, col.named, rounds=kept)
