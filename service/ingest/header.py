"""Header planning for master lists: which record is the header, an HXL tag row under it, and
the role of every column (core field, breakdown by origin / shelter / period, extra).

The vocabularies below (aliases of core fields, governorate spellings, shelter keywords,
period patterns, HXL tag patterns) decide it; both staging paths use :func:`plan_header`
(the parser in ``masterlist``, the fast path in ``fast_copy``), so a column is recognised the
same way whichever path stages the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import hxl

from boundaries.pcode import PCODE_COLUMNS
from service.ingest.stage import ColumnPlan, HeaderPlan, MasterlistError, normalise_name

# --------------------------------------------------------------------------- vocabularies


_FIELD_LABELS: dict[str, str] = {
    "location_id": "location id",
    "place_id": "place id",
    "governorate": "governorate",
    "district": "district",
    "name_en": "location name",
    "name_ar": "arabic name",
    "lat": "latitude",
    "lon": "longitude",
    "families": "families",
    "individuals": "individuals",
    "admin1_pcode": "admin1 p-code",
    "admin2_pcode": "admin2 p-code",
    "admin3_pcode": "admin3 p-code",
    "reporting_date": "date",
}
_REQUIRED: tuple[str, ...] = ("location_id", "lat", "lon", "families", "individuals")

# Generic aliases (already normalised).  Canonical long-format names are included.
_CORE_ALIASES: dict[str, tuple[str, ...]] = {
    "location_id": (
        "locationid",
        "locid",
        "locationcode",
        "loccode",
        "iomlocationid",
        "dtmlocationid",
        "locationno",
        "locationnumber",
        # other operations' mobility-tracking baselines (South Sudan, Nigeria, ...)
        "locationssid",
        "ssid",
    ),
    "place_id": ("placeid", "placecode", "placeno"),
    "governorate": (
        "governorate",
        "governoratename",
        "governorateen",
        "gov",
        "province",
        "adm1",
        "adm1name",
        "adm1en",
        "admin1",
        "admin1name",
        "admin1en",
        "state",
        "statename",
        "region",
        "regionname",
    ),
    "district": (
        "district",
        "districtname",
        "districten",
        "qadha",
        "qada",
        "adm2",
        "adm2name",
        "adm2en",
        "admin2",
        "admin2name",
        "admin2en",
        "lga",
        "lganame",
        "county",
        "countyname",
    ),
    "name_en": (
        "locationname",
        "location",
        "locationnameen",
        "locationnameenglish",
        "locationnameinenglish",
        "locationen",
        "nameen",
        "englishname",
        "name",
        "placename",
    ),
    "name_ar": (
        "arabicname",
        "locationnamear",
        "locationnamearabic",
        "locationnameinarabic",
        "locationar",
        "namear",
        "nameinarabic",
        "arabic",
        "arname",
    ),
    "lat": ("latitude", "lat", "gpslatitude", "y"),
    "lon": ("longitude", "lon", "long", "lng", "gpslongitude", "x"),
    "families": ("families", "numberoffamilies", "nooffamilies", "totalfamilies", "familiesnumber", "households", "hh"),
    "individuals": (
        "individuals",
        "numberofindividuals",
        "noofindividuals",
        "totalindividuals",
        "individualsnumber",
        "ind",
        "persons",
        "people",
    ),
    # P-code columns of any operation (state / county / payam, state / LGA / ward, region /
    # district / TA: boundaries.pcode.PCODE_COLUMNS, shared with the assessments' catalogue)
    "admin1_pcode": (*PCODE_COLUMNS[1], "admin1code", "adm1code"),
    "admin2_pcode": (*PCODE_COLUMNS[2], "admin2code", "adm2code"),
    "admin3_pcode": (*PCODE_COLUMNS[3], "admin3code", "adm3code"),
    "reporting_date": (
        "date",
        "reportingdate",
        "datereported",
        "dateofreporting",
        "rounddate",
        "datadate",
        "snapshotdate",
        "reportdate",
    ),
}
_ALIAS_TO_FIELD: dict[str, str] = {a: f for f, aliases in _CORE_ALIASES.items() for a in aliases}


def _population_aliases() -> dict[str, tuple[str, str]]:
    """'returneefamilies' -> ('families', 'returnee') etc., in both word orders."""
    prefixes = {"idp": ("idp", "idps"), "returnee": ("returnee", "returnees", "ret")}
    words = {"families": ("families", "households", "hh"), "individuals": ("individuals", "ind", "persons", "people")}
    out: dict[str, tuple[str, str]] = {}
    for pop, pres in prefixes.items():
        for fld, ws in words.items():
            for p in pres:
                for w in ws:
                    for alias in (p + w, w + p, "numberof" + p + w, "total" + p + w):
                        out[alias] = (fld, pop)
    return out


_POP_ALIASES = _population_aliases()
# Header cells that count as evidence for a header row (see _find_header).
_HEADER_EVIDENCE: frozenset[str] = frozenset(
    {a for f in _REQUIRED for a in _CORE_ALIASES[f] if len(a) > 1} | set(_POP_ALIASES)
)

# The 18 governorates (COD-AB / DTM), keyed by DTM spelling, plus Halabja which the KRG
# treats as a 19th.  All spellings seen in DTM, COD-AB, HDX and 3W lists.
_GOVERNORATES: dict[str, tuple[str, ...]] = {
    "Anbar": ("anbar", "alanbar"),
    "Babylon": ("babylon", "babil", "babel", "albabil"),
    "Baghdad": ("baghdad",),
    "Basrah": ("basrah", "basra", "albasrah", "albasra"),
    "Dahuk": ("dahuk", "duhok", "dohuk", "dihok", "dahok"),
    "Diyala": ("diyala", "diyalah", "dyala"),
    "Erbil": ("erbil", "arbil", "irbil", "hawler", "hewler"),
    "Kerbala": ("kerbala", "karbala", "karbalaa"),
    "Kirkuk": ("kirkuk", "tameem", "altameem", "tamim", "altamim"),
    "Missan": ("missan", "maysan", "misan", "maisan"),
    "Muthanna": ("muthanna", "almuthanna", "muthana"),
    "Najaf": ("najaf", "alnajaf"),
    "Ninewa": ("ninewa", "nineveh", "ninawa", "nineva", "ninevah", "nainawa"),
    "Qadissiya": (
        "qadissiya",
        "qadisiya",
        "qadisiyah",
        "qadissiyah",
        "alqadisiyah",
        "alqadissiya",
        "diwaniya",
        "diwaniyah",
        "aldiwaniyah",
    ),
    "Salah al-Din": ("salahaldin", "salahaddin", "salaheddin", "salahuddin", "salahadin", "saladin", "salahaldeen"),
    "Sulaymaniyah": (
        "sulaymaniyah",
        "sulaymaniya",
        "sulaimaniya",
        "sulaimaniyah",
        "suleimaniya",
        "suleimaniyah",
        "sulaymani",
        "slemani",
        "sulemani",
        "sulaimani",
    ),
    "Thi Qar": ("thiqar", "dhiqar", "thigar", "dhigar", "zhiqar"),
    "Wassit": ("wassit", "wasit"),
    "Halabja": ("halabja", "halabjah"),
}
_GOV_ALIAS: dict[str, str] = {a: g for g, aliases in _GOVERNORATES.items() for a in aliases}
# Words that may wrap a governorate name in an origin column ('Origin_Anbar', 'From Anbar').
_ORIGIN_AFFIXES: tuple[str, ...] = (
    "governorateoforigin",
    "origingovernorate",
    "origin",
    "idpsfrom",
    "returneesfrom",
    "familiesfrom",
    "from",
    "families",
    "governorate",
    "gov",
)

_SHELTER_KEYWORDS: tuple[str, ...] = (
    "camp",
    "host",
    "informal",
    "rented",
    "rental",
    "unfinished",
    "abandoned",
    "religious",
    "school",
    "hotel",
    "motel",
    "habitual",
    "ownproperty",
    "owned",
    "shelter",
    "collective",
    "caravan",
    "building",
)
# Ambiguous names: shelter only when next to a shelter column (DTM puts 'Other' there).
_SHELTER_IF_NEIGHBOUR: frozenset[str] = frozenset({"other", "others", "unknown"})

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
# 'Jan19', 'August14', 'Post 17 October 16', 'June July14' (after normalisation).
_PERIOD_RE = re.compile(rf"(?:pre|post|since|after|before|from)?\d{{0,2}}(?:{_MONTHS})[a-z]*\d{{0,4}}[a-z]*\d{{2,4}}")


def _governorate_of(norm: str) -> str | None:
    """Canonical governorate for a (normalised) origin column name, else None."""
    if norm in _GOV_ALIAS:
        return _GOV_ALIAS[norm]
    for affix in _ORIGIN_AFFIXES:
        for cand in (norm.removeprefix(affix), norm.removesuffix(affix)):
            if cand != norm and cand in _GOV_ALIAS:
                return _GOV_ALIAS[cand]
    return None


def _breakdown_kind(norm: str) -> str | None:
    """Classify a wide-format column as 'origin' / 'shelter' / 'period' by its name."""
    if not norm:
        return None
    if "periodofdisplacement" in norm or "displacementperiod" in norm:
        return "period"
    if any(k in norm for k in _SHELTER_KEYWORDS):
        return "shelter"
    if _PERIOD_RE.fullmatch(norm):
        return "period"
    if _governorate_of(norm):
        return "origin"
    return None


# Long format: values of the `breakdown` column.
LONG_KINDS: dict[str, str] = {
    "origin": "origin",
    "governorateoforigin": "origin",
    "origingovernorate": "origin",
    "shelter": "shelter",
    "sheltertype": "shelter",
    "period": "period",
    "periodofdisplacement": "period",
    "displacementperiod": "period",
}
_LONG_CANONICAL = frozenset({"location_id", "lat", "lon", "families", "individuals"})

# HXL: (field, tag patterns) in priority order; each column is used at most once.
_HXL_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("place_id", ("#loc+code+place", "#loc+id+place")),
    ("name_ar", ("#loc+name+i_ar",)),
    ("location_id", ("#loc+code", "#loc+id")),
    ("name_en", ("#loc+name+i_en", "#loc+name-i_ar-i_ku")),
    ("admin1_pcode", ("#adm1+code",)),
    ("governorate", ("#adm1+name", "#adm1-code")),
    ("admin2_pcode", ("#adm2+code",)),
    ("district", ("#adm2+name", "#adm2-code")),
    ("admin3_pcode", ("#adm3+code",)),
    ("lat", ("#geo+lat",)),
    ("lon", ("#geo+lon",)),
    ("reporting_date", ("#date+reported", "#date")),
)
_HXL_COUNTS: dict[str, tuple[str, ...]] = {
    "families": ("#affected+hh", "#population+hh"),
    "individuals": ("#affected+ind", "#population+ind"),
}
_HXL_POP_ATTR: dict[str, str] = {"idps": "idp", "idp": "idp", "returnees": "returnee", "returnee": "returnee"}
_HXL_TAGS: dict[str, list[hxl.model.TagPattern]] = {
    f: [hxl.model.TagPattern.parse(p) for p in pats] for f, pats in (*_HXL_FIELDS, *_HXL_COUNTS.items())
}
_HXL_HINT_TAGS = ("#loc", "#geo", "#adm1", "#adm2", "#adm3", "#affected")
#: The declared P-code fields, whose level the import checks against the country's codes
#: (``service.ingest.declared``); their HXL tags are kept in ``ColumnPlan.tags``.
PCODE_FIELDS: tuple[str, ...] = ("admin1_pcode", "admin2_pcode", "admin3_pcode")

PREVIEW_RECORDS = 30  # records scanned for the header row / HXL tag row


@dataclass
class PreviewRecord:
    """One CSV record (or sheet row) of the file's first lines, where the header is sought."""

    start: int  # first physical line / sheet row of the record
    end: int  # last physical line (differs from start for quoted multi-line CSV cells)
    cells: list[str]


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(c.strip() for c in cells)


def _hxl_columns(cells: list[str], header: list[str] | None) -> list[hxl.model.Column] | None:
    """libhxl's own tag-row test (>= half of the non-empty cells are valid hashtags)."""
    if not any(c.strip().startswith("#") for c in cells):
        return None
    return hxl.model.Column.parse_list([c.strip() for c in cells], header)


def _find_header(preview: list[PreviewRecord]) -> int | None:
    """Index of the header record: the first row with most required-column names (>= 2),
    else the first non-blank row (title rows above a header are skipped that way)."""
    best, best_score = None, 1
    for k, rec in enumerate(preview):
        score = sum(1 for c in rec.cells if normalise_name(c) in _HEADER_EVIDENCE)
        if score > best_score:
            best, best_score = k, score
    if best is not None:
        return best
    return next((k for k, rec in enumerate(preview) if not _is_blank(rec.cells)), None)


def looks_like_masterlist(preview: list[PreviewRecord]) -> bool:
    if any(sum(1 for c in r.cells if normalise_name(c) in _HEADER_EVIDENCE) >= 2 for r in preview):
        return True
    for rec in preview:
        tags = _hxl_columns(rec.cells, None)
        if tags and any(t.tag in _HXL_HINT_TAGS for t in tags):
            return True
    return False


def _unique_labels(names: list[str]) -> list[str]:
    """Labels for issues / extra keys: unnamed -> 'column 3'; duplicates get '(column N)'."""
    seen: Counter[str] = Counter(n for n in names if n)
    out = []
    for j, n in enumerate(names):
        if not n:
            out.append(f"column {j + 1}")
        elif seen[n] > 1:
            out.append(f"{n} (column {j + 1})")
        else:
            out.append(n)
    return out


def _pop_of_tag(col: hxl.model.Column) -> str | None:
    pops = {_HXL_POP_ATTR[a] for a in col.attributes if a in _HXL_POP_ATTR}
    return pops.pop() if len(pops) == 1 else None


def _plan_columns(header: list[str], tags: list[hxl.model.Column] | None, pop: str, file: str) -> ColumnPlan:
    """Assign every header position a role (core field, breakdown, extra) from names/tags.
    A name given twice (``Families`` in two columns) is refused: which one holds the figures?"""
    width = len(header)
    positions: dict[str, list[int]] = {}
    for j, h in enumerate(header):
        if h and h.strip():
            positions.setdefault(" ".join(h.split()).casefold(), []).append(j + 1)
    twice = {k: v for k, v in positions.items() if len(v) > 1}
    if twice:
        said = "; ".join(
            f"{header[v[0] - 1].strip()!r} in columns {', '.join(map(str, v))}" for v in list(twice.values())[:5]
        )
        raise MasterlistError(file, f"the header names a column more than once: {said}; rename or remove the copies")
    names = [h if h or tags is None or not tags[j].tag else tags[j].display_tag for j, h in enumerate(header)]
    norms = [normalise_name(h) for h in header]
    lowered = {h.lower() for h in header}
    if tags is not None:
        fmt = "hxl"
    elif "breakdown" in norms or _LONG_CANONICAL <= lowered:
        fmt = "long"
    else:
        fmt = "dtm-wide"
    plan = ColumnPlan(fmt, names, _unique_labels(names))
    used: set[int] = set()  # positions assigned to a core field
    blocked: set[int] = set()  # tagged for the other population: not a core field
    wrong_pop: dict[str, str] = {}  # field -> column that is for the other population

    if tags is not None:
        for fld, _pats in _HXL_FIELDS:
            for pat in _HXL_TAGS[fld]:
                j = next((j for j, t in enumerate(tags) if j not in used and t.tag and pat.match(t)), None)
                if j is not None:
                    plan.core[fld] = j
                    used.add(j)
                    if fld in PCODE_FIELDS:
                        plan.tags[fld] = tags[j].display_tag
                    break
        for fld in _HXL_COUNTS:
            cands = [
                j for j, t in enumerate(tags) if j not in used and t.tag and any(p.match(t) for p in _HXL_TAGS[fld])
            ]
            # Prefer this population's column, then a population-neutral one, fewest
            # attributes first (so '#affected+idps+hh+camp'-style breakdowns lose).
            ranked = sorted(
                (j for j in cands if _pop_of_tag(tags[j]) in (pop, None)),
                key=lambda j: (_pop_of_tag(tags[j]) != pop, len(tags[j].attributes), j),
            )
            if ranked:
                plan.core[fld] = ranked[0]
                used.add(ranked[0])
            elif cands:
                wrong_pop[fld] = f"{plan.labels[cands[0]]} ({tags[cands[0]].display_tag})"
                blocked.update(cands)  # the tag decides; no fallback to the header text

    for j in range(width):  # header aliases (for HXL: only where no tag matched)
        if j in used or j in blocked or (fmt == "long" and norms[j] in ("breakdown", "category")):
            continue
        hit = _POP_ALIASES.get(norms[j])
        if hit is not None and hit[1] != pop:
            wrong_pop.setdefault(hit[0], plan.labels[j])
            continue
        fld = hit[0] if hit is not None else _ALIAS_TO_FIELD.get(norms[j])
        if fld is not None and fld not in plan.core:
            plan.core[fld] = j
            used.add(j)

    for fld in ("families", "individuals"):
        if fld not in plan.core and fld in wrong_pop:
            other = "an IDP" if pop == "returnee" else "a returnee"
            raise MasterlistError(
                file,
                f"column {wrong_pop[fld]!r} holds {other.split()[1]} {fld} but "
                f"population={pop!r}; is this {other} master list?",
            )
    missing = [f for f in _REQUIRED if f not in plan.core]
    if missing:
        shown = ", ".join(n or f"(unnamed column {j + 1})" for j, n in enumerate(names))
        raise MasterlistError(
            file, f"missing required column(s) {', '.join(_FIELD_LABELS[f] for f in missing)}; found: {shown}"
        )

    if fmt == "long":
        plan.kind_col = next((j for j in range(width) if norms[j] == "breakdown"), None)
        plan.category_col = next((j for j in range(width) if norms[j] == "category"), None)
        if plan.kind_col is not None and plan.category_col is None:
            raise MasterlistError(file, "long format: a 'breakdown' column needs a 'category' column")
        used.update(j for j in (plan.kind_col, plan.category_col) if j is not None)
        plan.extra = [j for j in range(width) if j not in used]
        return plan

    # Wide / HXL: classify the remaining columns by name.
    kinds: dict[int, str | None] = {j: _breakdown_kind(norms[j]) for j in range(width) if j not in used}
    for j, kind in kinds.items():
        if kind is None and norms[j] in _SHELTER_IF_NEIGHBOUR and "shelter" in (kinds.get(j - 1), kinds.get(j + 1)):
            kind = "shelter"
        if kind is None:
            plan.extra.append(j)
        else:
            plan.breakdown[kind].append(j)
    return plan


def normalise_population(population: object, file: str) -> str:
    key = population.strip().lower() if isinstance(population, str) else None
    canonical = {"idp": "idp", "idps": "idp", "returnee": "returnee", "returnees": "returnee"}
    if key not in canonical:
        raise MasterlistError(
            file,
            f"unknown population {population!r}; expected 'idp' or 'returnee' (also accepted: 'idps', 'returnees')",
        )
    return canonical[key]


def plan_header(preview: Sequence[PreviewRecord], population: str, file: str) -> HeaderPlan:
    """The header row among the first records (title rows above it skipped), an HXL tag row
    under it (or instead of it), and the role of every column.  ``population`` must be
    normalised (:func:`normalise_population`).  Raises ``MasterlistError``."""
    k = _find_header(list(preview))
    if k is None:
        raise MasterlistError(file, "file is empty (no header row)")
    header = [c.strip() for c in preview[k].cells]
    after = preview[k].end
    tags = _hxl_columns(header, None)  # a hashtag row with no text header above it
    if tags is None and k + 1 < len(preview):
        tags = _hxl_columns(preview[k + 1].cells, header)
        if tags is not None:
            after = preview[k + 1].end
    if tags is not None:
        tags = tags[: len(header)] + [hxl.model.Column() for _ in range(len(header) - len(tags))]
    return HeaderPlan(_plan_columns(header, tags, population, file), after, len(header))
