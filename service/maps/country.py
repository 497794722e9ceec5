"""What a map, chart, summary or package says about its country: every text is made from the
round's country (ISO3 -> English and Arabic names, ``service.core.countries.country_names``)
and the source of the round's boundary set (``boundary_set.source``: COD-AB, geoBoundaries,
custom; named by ``service.core.countries.SOURCE_NAMES``). Nothing here names a country.

``CountryTexts`` is plain values: it pickles with ``MapData`` to the package's map workers.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.core.countries import SOURCE_NAMES, country_names


@dataclass(frozen=True)
class CountryTexts:
    iso3: str
    name_en: str
    name_ar: str
    boundary_source: str | None = None  # boundary_set.source of the round's boundary set

    @property
    def place(self) -> str:
        """'Iraq | العراق' (English only when no Arabic name is known)."""
        return self.name_en + (f" | {self.name_ar}" if self.name_ar and self.name_ar != self.name_en else "")

    @property
    def dtm(self) -> str:
        """'DTM Iraq' (the operation)."""
        return f"DTM {self.name_en}"

    @property
    def producer(self) -> str:
        return f"IOM {self.dtm} (DTM Atlas)"

    @property
    def master_list(self) -> str:
        """The figures' source on a map: 'IOM Displacement Tracking Matrix (DTM) Iraq, Master List'."""
        return f"IOM Displacement Tracking Matrix (DTM) {self.name_en}, Master List"

    @property
    def master_lists(self) -> str:
        """'IOM DTM Iraq Master Lists' (charts, summary)."""
        return f"IOM {self.dtm} Master Lists"

    @property
    def boundaries_short(self) -> str:
        """'OCHA COD-AB', 'geoBoundaries', 'own boundaries' (footers)."""
        if self.boundary_source is None:
            return "boundaries"
        return SOURCE_NAMES.get(self.boundary_source, self.boundary_source)

    @property
    def boundaries(self) -> str:
        """The boundaries' source on a map: 'OCHA COD-AB Iraq (HDX)'."""
        if self.boundary_source == "COD-AB":
            return f"OCHA COD-AB {self.name_en} (HDX)"
        if self.boundary_source == "custom":
            return f"own boundaries of {self.name_en}"
        return f"{self.boundaries_short} {self.name_en}"

    @property
    def boundaries_long(self) -> str:
        """The package README's: 'OCHA Common Operational Dataset (COD-AB) for Iraq, HDX'."""
        if self.boundary_source == "COD-AB":
            return f"OCHA Common Operational Dataset (COD-AB) for {self.name_en}, HDX"
        return self.boundaries

    @property
    def sources_line(self) -> str:
        """'IOM DTM; OCHA COD-AB; Natural Earth' (map footer)."""
        return f"IOM DTM; {self.boundaries_short}; Natural Earth"


def country_texts(iso3: str, boundary_source: str | None = None) -> CountryTexts:
    en, ar = country_names(iso3.strip().upper())
    return CountryTexts(iso3.strip().upper(), en, ar, boundary_source)


def round_texts(conn, rnd: dict) -> CountryTexts:
    """The texts of a round (a ``find_round`` row): its country and its boundary set's source."""
    from sqlalchemy import text

    source = conn.execute(text("SELECT source FROM boundary_set WHERE id = :s"), {"s": rnd["boundary_set_id"]}).scalar()
    return country_texts(rnd["country"], source)
