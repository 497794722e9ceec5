"""Name crosswalk: admin-unit name variants (DTM spellings, COD-AB names,
transliterations) -> COD-AB P-codes.

The data lives in ``boundaries/data/crosswalk_{iso3}.csv`` with columns
``country,level,name,pcode,parent_pcode,note`` (``parent_pcode`` and ``note``
optional).  Names are matched through :func:`name_key`, so case, spaces,
hyphens, apostrophes, diacritics and a leading ``Al-`` do not matter.
District (and lower) names are looked up under their parent when a parent
P-code is given; without one, a name resolves only if it is unambiguous.
"""

from __future__ import annotations

import csv
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from . import pcode as pc

if TYPE_CHECKING:  # pragma: no cover
    from .reader import BoundaryRead

__all__ = ["Crosswalk", "name_key", "rows_from_boundaries"]

_LEADING_AL = re.compile(r"^al[\s\-_'\u2019\u02bc\u2018`]+", re.IGNORECASE)
_APOSTROPHES = str.maketrans({c: "'" for c in "\u2019\u2018\u02bc\u02bb\u02bf\u02be`\u00b4"})


def name_key(name: str) -> str:
    """Normalise a place name for matching.

    Lower case, diacritics removed (``é`` -> ``e``; Arabic letters are kept, their
    short-vowel marks dropped), a leading ``al-``/``al `` dropped, and every
    character that is not a letter or digit (spaces, hyphens, underscores,
    apostrophes, dots, brackets) removed: ``'Al-Qadissiya'`` -> ``'qadissiya'``,
    ``"Qal'at Saleh"`` -> ``'qalatsaleh'``, ``'Salah al-Din'`` -> ``'salahaldin'``.
    """
    if name is None:
        return ""
    text = unicodedata.normalize("NFKC", str(name)).translate(_APOSTROPHES).strip()
    text = _LEADING_AL.sub("", text)
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = text.replace("\u0640", "")  # Arabic tatweel
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _data_file(country_iso3: str):
    return resources.files(__package__).joinpath("data", f"crosswalk_{country_iso3.lower()}.csv")


def _opt(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class Crosswalk:
    """Name variants -> P-codes for one country."""

    def __init__(self, country_iso3: str, rows: Iterable[Mapping[str, Any]] = ()):
        self.country_iso3 = pc.normalize_country(country_iso3)
        # (level, name key) -> {parent P-code or None: {P-codes}}
        self._by_key: dict[tuple[int, str], dict[str | None, set[str]]] = {}
        self._rows: dict[tuple[int, str, str, str | None], dict[str, Any]] = {}
        self._parent_of: dict[str, str | None] = {}
        self._known: dict[int, set[str]] = {}
        self._frozen = False  # a shared instance (``Crosswalk.shared``) takes no more entries
        self._memo: dict[tuple, str | None] = {}  # resolve()'s answers, once frozen
        for row in rows:
            self.add(row)

    # ------------------------------------------------------------------ building
    @classmethod
    def load(cls, country_iso3: str, extra_rows: Iterable[Mapping[str, Any]] = ()) -> "Crosswalk":
        """Read ``boundaries/data/crosswalk_{iso3}.csv`` if present (else start empty)
        and add ``extra_rows`` (dicts with level, name, pcode and optionally
        parent_pcode and country; rows for other countries are ignored)."""
        xw = cls(country_iso3)
        data = _data_file(xw.country_iso3)
        if data.is_file():
            with data.open("r", encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    xw.add(row)
        for row in extra_rows:
            xw.add(row)
        return xw

    @classmethod
    def shared(cls, country_iso3: str, extra_rows: Iterable[tuple[int, str, str, str | None]]) -> "Crosswalk":
        """``load(country_iso3, extra_rows)``, built once per process for the same inputs (a
        history import places every file on the same boundary set: the crosswalk was ~5 % of
        a file's import). ``extra_rows``: ``(level, name, pcode, parent_pcode)`` tuples. The key
        is the rows themselves, so a boundary re-import or a new alternate name is a new key
        (the shipped CSV is read once per process, as ``load`` would read it). The instance
        is shared: read-only (``add`` raises)."""
        key = (pc.normalize_country(country_iso3), tuple(extra_rows))
        with _SHARED_LOCK:
            xw = _SHARED.get(key)
            if xw is not None:
                _SHARED.move_to_end(key)
                return xw
        keys = ("level", "name", "pcode", "parent_pcode")
        xw = cls.load(key[0], (dict(zip(keys, r)) for r in key[1]))
        xw._frozen = True
        with _SHARED_LOCK:
            _SHARED[key] = xw
            while len(_SHARED) > _SHARED_MAX:
                _SHARED.popitem(last=False)
        return xw

    def add(self, row: Mapping[str, Any]) -> None:
        """Add one entry: ``{'level', 'name' (or 'name_key'), 'pcode', 'parent_pcode'?, 'country'?}``."""
        if self._frozen:
            raise TypeError("a shared crosswalk (Crosswalk.shared) is read-only: load one of your own to add to")
        country = _opt(row.get("country"))
        if country is not None and pc.normalize_country(country) != self.country_iso3:
            return
        level = int(row["level"])
        raw_name = row.get("name")
        key = name_key(raw_name) if raw_name is not None else _opt(row.get("name_key"))
        if not key:
            raise ValueError(f"crosswalk row without a name: {dict(row)!r}")
        code = pc.normalize_pcode(str(row["pcode"]))
        parent = _opt(row.get("parent_pcode"))
        parent = pc.normalize_pcode(parent) if parent else None
        if pc.country_of_pcode(code) != self.country_iso3:
            raise ValueError(f"P-code {code} is not in {self.country_iso3}: {dict(row)!r}")
        inferred = pc.infer_level(code, self.country_iso3)
        if inferred is not None and inferred != level:
            raise ValueError(f"P-code {code} is level {inferred}, not {level}: {dict(row)!r}")
        self._by_key.setdefault((level, key), {}).setdefault(parent, set()).add(code)
        self._rows.setdefault(
            (level, key, code, parent),
            {"country": self.country_iso3, "level": level, "name_key": key, "pcode": code, "parent_pcode": parent},
        )
        self._known.setdefault(level, set()).add(code)
        if parent is not None or code not in self._parent_of:
            self._parent_of[code] = parent

    # ------------------------------------------------------------------ lookups
    def _as_pcode(self, level: int, text: str, parent: str | None) -> str | None:
        if not any(ch.isdigit() for ch in text) and len(text.strip()) > 3:
            return None  # a plain name, not a code ('Kut', 'IRQ' and 'IQ' still pass)
        try:
            code = pc.normalize_pcode(text)
            if pc.country_of_pcode(code) != self.country_iso3:
                return None
        except ValueError:
            return None
        known = self._known.get(level)
        if known:
            if code not in known:
                return None
        else:
            inferred = pc.infer_level(code, self.country_iso3)
            if inferred != level and (inferred is not None or self.country_iso3 in pc.PCODE_PATTERNS):
                return None
            if inferred is None and not any(ch.isdigit() for ch in code[2:]):
                return None
        if parent is not None and self._parent_of.get(code) not in (None, parent):
            return None
        return code

    def resolve(self, level: int, name: str | None, parent_pcode: str | None = None) -> str | None:
        """Name variant or P-code (any form) -> COD-AB P-code, or None if unknown.

        With ``parent_pcode`` (any form) only entries under that parent (or entries
        recorded without a parent) match.  Without it, a name that means different
        units under different parents is ambiguous and gives None.
        """
        if self._frozen:  # a shared instance never changes: its answers are kept (a history asks the same)
            key = (level, type(name), name, type(parent_pcode), parent_pcode)
            try:
                return self._memo[key]
            except KeyError:
                if len(self._memo) >= _MEMO_MAX:
                    self._memo.clear()
                hit = self._memo[key] = self._resolve(level, name, parent_pcode)
                return hit
            except TypeError:  # (an unhashable name: asked afresh)
                pass
        return self._resolve(level, name, parent_pcode)

    def _resolve(self, level: int, name: str | None, parent_pcode: str | None) -> str | None:
        if name is None:
            return None
        text = str(name).strip()
        if not text:
            return None
        parent = None
        if parent_pcode is not None and str(parent_pcode).strip():
            try:
                parent = pc.normalize_pcode(str(parent_pcode))
            except ValueError:
                return None
        code = self._as_pcode(level, text, parent)
        if code is not None:
            return code
        entries = self._by_key.get((level, name_key(text)))
        if not entries:
            return None
        if parent is not None:
            codes = set(entries.get(parent, set()))
            if not codes:
                codes = {c for c in entries.get(None, set()) if self._parent_of.get(c) in (None, parent)}
        else:
            codes = set().union(*entries.values())
        return codes.pop() if len(codes) == 1 else None

    def rows(self) -> list[dict]:
        """All entries as dicts (country, level, name_key, pcode, parent_pcode), sorted,
        for bulk loading into a database table."""
        return [dict(r) for _, r in sorted(self._rows.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1]))]

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"Crosswalk({self.country_iso3!r}, {len(self)} entries)"


# Crosswalk.shared: the few newest (country, rows) -> crosswalk of the process
_SHARED: OrderedDict[tuple, Crosswalk] = OrderedDict()
_SHARED_MAX = 4
_MEMO_MAX = 50_000  # answers kept per shared crosswalk
_SHARED_LOCK = threading.Lock()


def rows_from_boundaries(read: "BoundaryRead") -> list[dict]:
    """Crosswalk rows for the canonical names of a :class:`~boundaries.reader.BoundaryRead`
    (English, Arabic and alternate names -> P-code, with parent)."""
    out: list[dict] = []
    for rec in read.units.itertuples(index=False):
        # level-1 units all share the country as parent: recorded without one
        parent = rec.parent_pcode if read.level > 1 else None
        names = [rec.name_en, rec.name_ar, *list(rec.alt_names or [])]
        seen: set[str] = set()
        for n in names:
            if not n or name_key(n) in seen:
                continue
            seen.add(name_key(n))
            out.append(
                {
                    "country": read.country_iso3,
                    "level": read.level,
                    "name": n,
                    "pcode": rec.pcode,
                    "parent_pcode": parent,
                }
            )
    return out
