"""The catalogue of an indicator file: what each column is (label en/ar, type, unit, HXL tag,
aggregation rule, sensitivity) and which columns hold the key, the point and the P-codes.

Sources, strongest first: the mapping file (YAML), the file's HXL row, DTM's global indicator
codes (``m0310_loc_num_idp_ind``), known headers (``Number of Individuals``), the file's
Dictionary sheet (descriptions) and, for the rest, the values themselves (inferred: reported
as not recognised by ``dtm-atlas datasets catalogue FILE``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from boundaries.pcode import PCODE_COLUMNS
from service.indicators.errors import IndicatorFileError
from service.indicators.hotspots import parse_rule
from service.indicators.parse import (
    MISSING,
    distinct_values,
    is_missing,
    looks_like_date,
    parse_area,
    parse_number,
    plain_numbers,
)
from service.indicators.read import RawTable, norm
from service.indicators.tables import ACCESS, RULES, TYPES

ROLES = ("key", "name", "lat", "lon", "gps", "country", "adm1", "adm2", "adm3", "round", "date")

# normalised header (see read.norm) -> role; DTM's global codes by their suffix below
ROLE_HEADERS = {
    "key": ["siteid", "ssid", "sitecode", "locationid", "locid", "loccode", "locationcode", "responseid", "id"],
    "name": ["sitename", "locationname", "name", "locname", "villagename"],
    "lat": ["latitude", "lat", "y", "gpslatitude"],
    "lon": ["longitude", "lon", "long", "lng", "x", "gpslongitude"],
    "country": ["countrycode", "iso3", "adm0pcode", "countryiso3", "adm0code"],
    **{f"adm{level}": list(names) for level, names in PCODE_COLUMNS.items()},
    "round": ["dtmround", "round", "roundnumber", "surveyround"],
    "date": ["reporteddate", "reportingdate", "reportdate", "assessmentdate", "date"],
}
ROLE_HXL = {
    "#loc+code": "key",
    "#loc+id": "key",
    "#loc+name": "name",
    "#geo+lat": "lat",
    "#geo+lon": "lon",
    "#country+code": "country",
    "#adm1+code": "adm1",
    "#adm2+code": "adm2",
    "#adm3+code": "adm3",
    "#date+reported": "date",
}
DTM_CODE = re.compile(r"^_?[ms]\d{4}_([a-z0-9_/]+)$")
DTM_ROLE_SUFFIX = [
    (re.compile(r"meta_adm0_pcode$"), "country"),
    (re.compile(r"meta_adm([123])_pcode$"), "adm"),
    (re.compile(r"loc_site_id_ssid$"), "key"),
    (re.compile(r"loc_site_name$"), "name"),
    (re.compile(r"loc_gps_coords_latitude$"), "lat"),
    (re.compile(r"loc_gps_coords_longitude$"), "lon"),
    (re.compile(r"loc_gps_coords$"), "gps"),
    (re.compile(r"meta_survey_round$"), "round"),
    (re.compile(r"meta_assessment_date$"), "date"),
]


@dataclass(frozen=True)
class Known:
    id: str
    label_en: str
    label_ar: str | None = None
    type: str | None = None
    unit: str | None = None
    hxl: str | None = None
    aggregation: str | None = None


def _k(i, en, ar=None, t="integer", unit="persons", hxl=None, agg="sum"):
    return Known(i, en, ar, t, unit, hxl, agg)


# known headers of DTM site and location assessments (normalised header -> entry)
KNOWN_HEADERS = {
    "numberofhouseholds": _k("households", "Households", "الأسر", unit="households", hxl="#affected+hh"),
    "households": _k("households", "Households", "الأسر", unit="households", hxl="#affected+hh"),
    "numberofindividuals": _k("individuals", "Individuals", "الأفراد", hxl="#affected+ind"),
    "individuals": _k("individuals", "Individuals", "الأفراد", hxl="#affected+ind"),
    "boys1": _k("boys_under_1", "Boys under 1", "أولاد دون سنة", hxl="#affected+m+infants"),
    "girls1": _k("girls_under_1", "Girls under 1", "بنات دون سنة", hxl="#affected+f+infants"),
    "boys15y": _k("boys_1_5", "Boys 1-5", "أولاد 1-5", hxl="#affected+m+age1_5"),
    "girls15y": _k("girls_1_5", "Girls 1-5", "بنات 1-5", hxl="#affected+f+age1_5"),
    "boys6to12y": _k("boys_6_12", "Boys 6-12", "أولاد 6-12", hxl="#affected+m+age6_12"),
    "girls6to12y": _k("girls_6_12", "Girls 6-12", "بنات 6-12", hxl="#affected+f+age6_12"),
    "boys13to17y": _k("boys_13_17", "Boys 13-17", "أولاد 13-17", hxl="#affected+m+age13_17"),
    "girls13to17y": _k("girls_13_17", "Girls 13-17", "بنات 13-17", hxl="#affected+f+age13_17"),
    "men1859y": _k("men_18_59", "Men 18-59", "رجال 18-59", hxl="#affected+m+adults"),
    "women1859y": _k("women_18_59", "Women 18-59", "نساء 18-59", hxl="#affected+f+adults"),
    "elderlymen60y": _k("men_60_plus", "Men 60+", "رجال 60+", hxl="#affected+m+elderly"),
    "elderlywomen60y": _k("women_60_plus", "Women 60+", "نساء 60+", hxl="#affected+f+elderly"),
    "siteare": _k("site_area", "Site area", "مساحة الموقع", t="area", unit="m2"),
    "sitearea": _k("site_area", "Site area", "مساحة الموقع", t="area", unit="m2"),
    "offunctioningtoilets": _k("functioning_toilets", "Functioning toilets", "المراحيض العاملة", unit="toilets"),
    "ofhhwithsourceofincome": _k(
        "households_with_income", "Households with a source of income", "أسر لها مصدر دخل", unit="households"
    ),
}
# DTM's global indicator codes: the suffix after mNNNN_
KNOWN_DTM = {
    "loc_num_idp_ind": _k("", "IDPs (individuals)", "النازحون (أفراد)", hxl="#affected+idps+ind"),
    "loc_num_return_idp_hh": _k(
        "", "Returnees (households)", "العائدون (أسر)", unit="households", hxl="#affected+returnees+hh"
    ),
    "loc_num_return_idp_ind": _k("", "Returnees (individuals)", "العائدون (أفراد)", hxl="#affected+returnees+ind"),
    "loc_num_arrivals_hh": _k(
        "", "Arrivals (households)", "الوافدون (أسر)", unit="households", hxl="#affected+arrivals+hh"
    ),
    "loc_num_arrival_ind_period": _k("", "Arrivals in the period (individuals)", "الوافدون خلال الفترة (أفراد)"),
    "loc_num_depart_hh_period": _k(
        "", "Departures in the period (households)", "المغادرون خلال الفترة (أسر)", unit="households"
    ),
    "loc_num_depart_ind_period": _k("", "Departures in the period (individuals)", "المغادرون خلال الفترة (أفراد)"),
    "loc_num_men_idp": _k("", "IDP men", "الرجال النازحون"),
    "loc_num_women_idp": _k("", "IDP women", "النساء النازحات"),
    "loc_num_children_idp": _k("", "IDP children", "الأطفال النازحون"),
    "loc_num_men_return": _k("", "Returnee men", "الرجال العائدون"),
    "loc_num_women_return": _k("", "Returnee women", "النساء العائدات"),
    "loc_num_children_return": _k("", "Returnee children", "الأطفال العائدون"),
}
RESTRICTED_WORDS = re.compile(r"phone|contact|e-?mail|enumerator|gps_coords_(altitude|precision)|photo|_other$|/other$")
NOT_SUMMED = re.compile(r"altitude|precision|latitude|longitude|year|age$|^id$|_id$|score|percent|rate", re.I)


@dataclass
class Entry:
    header: str
    column_id: str
    position: int
    label_en: str
    label_ar: str | None = None
    type: str = "text"
    unit: str | None = None
    hxl: str | None = None
    aggregation: str = "none"
    weight: str | None = None
    share_of: str | None = None
    sensitivity: str = "public"
    source: str = "inferred"  # mapping | hxl | dtm_code | known_header | dictionary | role | inferred
    description: str | None = None

    @property
    def recognised(self) -> bool:
        return self.source != "inferred"


@dataclass
class Catalogue:
    file: str
    entries: list[Entry]
    roles: dict[str, str]  # role -> header
    country: str | None = None  # from the mapping file
    notes: list[str] = field(default_factory=list)

    def by_header(self, header: str) -> Entry:
        return next(e for e in self.entries if e.header == header)

    def by_id(self, cid: str) -> Entry | None:
        return next((e for e in self.entries if e.column_id == cid), None)


def slug(header: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", str(header).lower()).strip("_")
    return s or "column"


# ------------------------------------------------------------------------------ mapping file
def read_mapping(path: str | Path | None) -> dict:
    if path is None:
        return {}
    path = Path(path)
    if not path.exists():
        raise IndicatorFileError(path.name, None, None, "mapping file not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise IndicatorFileError(path.name, None, None, f"not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise IndicatorFileError(path.name, None, None, "a mapping file is a YAML mapping (roles, columns)")
    cols = doc.get("columns") or []
    if isinstance(cols, dict):
        cols = [{"header": k, **(v or {})} for k, v in cols.items()]
    if not isinstance(cols, list) or not all(isinstance(c, dict) and c.get("header") for c in cols):
        raise IndicatorFileError(path.name, None, "columns", "columns: a list of {header: ..., ...} entries")
    seen: dict[str, int] = {}
    for i, c in enumerate(cols):
        h = str(c["header"])
        if h in seen:
            raise IndicatorFileError(
                path.name, None, h, f"two catalogue entries for one column (entries {seen[h] + 1} and {i + 1})"
            )
        seen[h] = i
        for k in c:
            if k not in {
                "header",
                "id",
                "label_en",
                "label_ar",
                "type",
                "unit",
                "hxl",
                "aggregation",
                "weight",
                "share_of",
                "sensitivity",
                "description",
            }:
                raise IndicatorFileError(path.name, None, h, f"unknown catalogue field {k!r}")
        if "type" in c and c["type"] not in TYPES:
            raise IndicatorFileError(path.name, None, h, f"type {c['type']!r} is not one of {', '.join(TYPES)}")
        if "aggregation" in c and c["aggregation"] not in RULES:
            raise IndicatorFileError(path.name, None, h, f"aggregation {c['aggregation']!r}: one of {', '.join(RULES)}")
        if "sensitivity" in c and c["sensitivity"] not in ACCESS:
            raise IndicatorFileError(
                path.name, None, h, f"sensitivity {c['sensitivity']!r}: one of {', '.join(ACCESS)}"
            )
    roles = doc.get("roles") or {}
    for r in roles:
        if r not in ROLES:
            raise IndicatorFileError(path.name, None, str(r), f"unknown role; roles: {', '.join(ROLES)}")
    return {
        "file": path.name,
        "columns": cols,
        "roles": roles,
        "country": doc.get("country"),
        "hotspot": parse_rule(doc.get("hotspot"), path.name),  # an index's hotspot rule (hotspots.py)
    }


# ------------------------------------------------------------------------------ detection
def infer_type(header: str, values: list, n: int | None = None) -> str:
    """The type of a column from its non-missing values (or its distinct ones, with ``n`` the
    number of non-missing cells)."""
    n = len(values) if n is None else n
    if not values:
        return "text"
    if all(isinstance(v, (pd.Timestamp,)) or hasattr(v, "isoformat") for v in values):
        return "date"
    strs = [str(v).strip() for v in values]
    low = {s.lower() for s in strs}
    if low <= {"yes", "no", "true", "false", "y", "n"}:
        return "boolean"
    if "/" in header and low <= {"0", "1", "0.0", "1.0"}:
        return "boolean"  # a one-hot column of a multi-select answer (KoBo's 'question/option')
    plain = plain_numbers(strs)
    if plain is not None:
        return "integer" if bool(np.all(plain == np.floor(plain))) else "number"
    nums = [parse_number(s) for s in strs]
    if all(x is not None for x in nums):
        return "integer" if all(float(x).is_integer() for x in nums) else "number"
    if all(parse_area(s) is not None for s in strs):
        return "area"
    if all(looks_like_date(s) for s in strs):
        return "date"
    tokens = [s.split() for s in strs]
    vocabulary = {x for t in tokens for x in t}
    if (
        any(len(t) > 1 for t in tokens)
        and all(re.fullmatch(r"[a-z0-9_]+", x) for x in vocabulary)
        and len(vocabulary) <= max(40, n // 4)  # answer codes come from a short list; free text does not
    ):
        return "select_multiple"
    distinct = len(set(strs))
    if distinct <= max(12, n // 20):
        return "select_one"
    return "text"


def _default_rule(header: str, typ: str) -> tuple[str, str | None]:
    if typ in ("integer", "area"):
        return ("mean" if NOT_SUMMED.search(header) else "sum"), None
    if typ == "number":
        return "mean", None
    if typ == "boolean":
        return "share", "true"
    return "none", None


def _humanise(suffix: str) -> str:
    words = suffix.replace("/", " ").replace("_", " ").split()
    words = [w for w in words if w not in ("loc", "meta")]
    return " ".join(words).capitalize() if words else suffix


def detect_roles(table: RawTable, mapping: dict) -> dict[str, str]:
    roles: dict[str, str] = {}
    mfile = mapping.get("file", "mapping")
    for role, header in (mapping.get("roles") or {}).items():
        if header not in table.frame.columns:
            raise IndicatorFileError(
                mfile, None, str(header), f"the mapping's {role} names a column the file does not have"
            )
        roles[role] = header
    by_norm: dict[str, str] = {}
    for h in table.frame.columns:
        by_norm.setdefault(norm(h), h)
    for h, tag in table.hxl.items():
        base = "+".join(sorted(t.strip() for t in tag.lower().split("+")))
        for t, role in ROLE_HXL.items():
            if base == "+".join(sorted(t.split("+"))):
                roles.setdefault(role, h)
    for h in table.frame.columns:
        m = DTM_CODE.match(h.lower())
        if not m:
            continue
        for pattern, role in DTM_ROLE_SUFFIX:
            mm = pattern.search(m.group(1))
            if mm:
                roles.setdefault(f"adm{mm.group(1)}" if role == "adm" else role, h)
    for role, names in ROLE_HEADERS.items():
        for n in names:
            if n in by_norm and by_norm[n] not in roles.values():
                roles.setdefault(role, by_norm[n])
    # the key must identify rows: a candidate with empty or repeated values gives way to the next
    if "key" in roles and "key" not in (mapping.get("roles") or {}):
        vals = [None if is_missing(v) else str(v).strip() for v in table.frame[roles["key"]]]
        if any(v is None for v in vals) or len(set(vals)) < len(vals):
            # another key column that identifies every row, else this one (its bad row is named)
            for n in ROLE_HEADERS["key"]:
                h = by_norm.get(n)
                if h and h not in roles.values():
                    vv = [None if is_missing(v) else str(v).strip() for v in table.frame[h]]
                    if all(v is not None for v in vv) and len(set(vv)) == len(vv):
                        roles["key"] = h
                        break
    return roles


def build_catalogue(table: RawTable, mapping: dict | None = None) -> Catalogue:
    mapping = mapping or {}
    mfile = mapping.get("file", "mapping")
    mapped = {str(c["header"]): c for c in mapping.get("columns", [])}
    missing = [h for h in mapped if h not in table.frame.columns]
    if missing:
        raise IndicatorFileError(mfile, None, missing[0], f"the mapping names a column {table.file} does not have")
    roles = detect_roles(table, mapping)
    role_of = {h: r for r, h in roles.items()}
    entries: list[Entry] = []
    used_ids: Counter = Counter()
    for pos, header in enumerate(table.frame.columns):
        values, n = distinct_values(table.frame[header].tolist())
        e = Entry(header=header, column_id=slug(header), position=pos, label_en=" ".join(header.split()))
        e.type = infer_type(header, values, n)
        m = DTM_CODE.match(header.lower())
        known = KNOWN_HEADERS.get(norm(header))
        if header in table.hxl:
            e.hxl, e.source = table.hxl[header], "hxl"
        if known is not None:
            e.column_id, e.label_en, e.label_ar = known.id, known.label_en, known.label_ar
            e.unit, e.hxl = known.unit, e.hxl or known.hxl
            if known.type and (e.type in ("integer", "number") or known.type == "area"):
                e.type = known.type
            e.source = "known_header"
        elif m:
            suffix = m.group(1)
            kd = KNOWN_DTM.get(suffix)
            e.label_en = kd.label_en if kd else _humanise(suffix)
            if kd:
                e.label_ar, e.unit, e.hxl = kd.label_ar, kd.unit, e.hxl or kd.hxl
            e.source = "dtm_code"
        desc = table.dictionary.get(norm(header))
        if desc:
            e.description = desc
            if e.source == "inferred":
                e.source = "dictionary"
        if header in role_of:
            e.source = e.source if e.source != "inferred" else "role"
            role = role_of[header]
            e.type = {
                "key": "key",
                "name": "text",
                "lat": "number",
                "lon": "number",
                "gps": "text",
                "round": "text",
                "date": "date",
            }.get(role, "code")
            e.aggregation = "none"
        else:
            e.aggregation, e.share_of = _default_rule(header, e.type)
        if RESTRICTED_WORDS.search(header.lower()):
            e.sensitivity = "restricted"
        elif e.type == "text" and header not in role_of:
            e.sensitivity = "partner"  # free text may name people: not public until someone looks
        c = mapped.get(header)
        if c is not None:
            for k in (
                "label_en",
                "label_ar",
                "type",
                "unit",
                "hxl",
                "aggregation",
                "weight",
                "share_of",
                "sensitivity",
                "description",
            ):
                if k in c:
                    setattr(e, k, None if c[k] is None else str(c[k]) if k != "share_of" else _share(c[k]))
            if "id" in c:
                e.column_id = slug(c["id"])
            if "type" in c and "aggregation" not in c and header not in role_of:
                e.aggregation, e.share_of = _default_rule(header, e.type)
            e.source = "mapping"
        if e.type in ("select_one", "select_multiple") and e.aggregation == "share" and not e.share_of:
            raise IndicatorFileError(mfile, None, header, "a share needs share_of: the answer to count")
        entries.append(e)
    # ids are unique: a second column of the same id keeps its own slug (or a number)
    for e in entries:
        if used_ids[e.column_id]:
            if mapped.get(e.header, {}).get("id"):
                other = next(o.header for o in entries if o.column_id == e.column_id and o is not e)
                raise IndicatorFileError(
                    mfile, None, e.header, f"two catalogue entries for one id {e.column_id!r} (also {other!r})"
                )
            base = slug(e.header)
            e.column_id = base if not used_ids[base] else f"{base}_{e.position + 1}"
        used_ids[e.column_id] += 1
    for e in entries:
        if e.aggregation == "weighted_mean":
            w = next((o for o in entries if e.weight in (o.column_id, o.header)), None)
            if w is None:
                raise IndicatorFileError(mfile, None, e.header, f"weight {e.weight!r} is not a column of the file")
            e.weight = w.column_id
    return Catalogue(table.file, entries, roles, mapping.get("country"))


def _share(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


__all__ = ["Catalogue", "Entry", "MISSING", "build_catalogue", "read_mapping", "slug"]
