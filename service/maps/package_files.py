"""What an information package is and what it says of itself: its plan
(``PackagePlan``), its README and its manifest (``manifest.json``, ``SHA256SUMS``).

``service.maps.package`` plans and builds the package; this module holds the parts both the
full package and a package of the kinds' maps alone (a round the country has no master list
of) write the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from service.core.files import sha256_of
from service.maps import naming, render
from service.maps.country import CountryTexts
from service.maps.data import LEVEL_NAMES, POPULATION_WORDS, MapSpec
from service.publish import exports


class PackageError(ValueError):
    pass


@dataclass
class PackagePlan:
    round_number: int | None  # None: a round without a DTM number, named by ``reporting_date``
    rounds: dict[str, dict]  # population -> round row
    specs: list[MapSpec]
    exports: list[tuple[str, str, str]]  # (population, dataset, format)
    layers: tuple[str, ...]  # the kinds with a map hook (registry): a folder each, e.g. fragility/
    country: str = ""  # ISO3 of the rounds
    texts: CountryTexts | None = None  # the country's names and boundary source
    projection: str = ""  # the maps' projection, described
    steps: int = 0
    reporting_date: dt.date | None = None  # the round asked for by its date
    skipped: list[str] = field(default_factory=list)  # what the package leaves out, and why
    fragility_status: str | None = None  # the round's stored fragility run: current, stale or None
    fragility_round: dict | None = None  # the round whose run the fragility map shows
    kind_round: dict | None = None  # a round the country has no master list of: the kinds' maps alone

    @property
    def name(self) -> str:
        """The package's file name without extension (its round's date and country)."""
        if self.rounds:
            first = next(iter(self.rounds.values()))
            return package_base(self.round_number, first["reporting_date"], first["country"])
        day = (self.kind_round or {}).get("reporting_date") or self.reporting_date or dt.date.today()
        return package_base(self.round_number, day, self.country)

    @property
    def fragility(self) -> bool:
        """Whether the package holds the fragility folder (the fragility kind's map hook)."""
        return "fragility" in self.layers

    @fragility.setter
    def fragility(self, value: bool) -> None:
        others = tuple(name for name in self.layers if name != "fragility")
        self.layers = others + (("fragility",) if value else ())

    @property
    def label(self) -> str:
        """``round 120``, or ``round of 4 Jun 2015`` for a round without a DTM number."""
        return naming.round_label(next(iter(self.rounds.values())))


@dataclass
class PackageResult:
    path: Path
    files: list[dict] = field(default_factory=list)
    data_version: int = 0
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


def package_base(round_number: int | None, date: dt.date, country: str) -> str:
    """``irq_dtm_package_r120_20210228``; a round without a DTM number: ``irq_dtm_package_d20150604_20150604``."""
    return f"{country.lower()}_dtm_package_{naming.round_tag(round_number, date)}_{date.strftime('%Y%m%d')}"


def which(round_number: int | None, reporting_date: dt.date | None) -> str:
    if reporting_date is not None:
        return f"the round of {reporting_date.isoformat()}"
    return f"round {round_number}" if round_number is not None else "any round"


MAPS_README = {  # what the README says of a kind's maps folder (maps/<kind>/)
    "indicators": "a page per public indicator dataset of the round (site or location assessment):\n"
    "its site map (proportional symbols over admin-1 units, PDF and PNG) and figures per\n"
    "admin-1 unit, small cells suppressed",
}


def maps_lines(root: Path) -> list[str]:
    """The README's lines of the kinds' maps folders (``maps/<kind>/``) that hold files."""
    lines = []
    for d in sorted((root / "maps").iterdir()) if (root / "maps").is_dir() else []:
        first, *more = MAPS_README.get(d.name, "maps of the round").split("\n")
        lines += [f"{'maps/' + d.name + '/':<22}{first}", *(" " * 22 + m for m in more)]
    return lines


def _terms_and_disclaimer(terms: str, *more: str) -> list[str]:
    """The README's closing sections: the terms (and ``more`` lines under them), the disclaimer."""
    return [
        "Terms",
        "-----",
        f"  {terms}",
        *(f"  {m}" for m in more),
        "",
        "Disclaimer",
        "----------",
        f"  {render.DISCLAIMER}",
        "",
    ]


def maps_only_readme(p: PackagePlan, version: int, created: dt.date, terms: str, root: Path) -> str:
    """The README of a package of the kinds' maps alone (a round the country has no master list of)."""
    day = p.name.rsplit("_", 1)[-1]
    lines = [
        f"{p.texts.dtm} information package, {p.country} {which(p.round_number, p.reporting_date)} ({day})",
        "=" * 78,
        "",
        f"Created:       {created.isoformat()} by DTM Atlas {render._version()} (data version {version})",
        f"Producer:      {p.texts.producer}",
        "",
        "Contents",
        "--------",
        *maps_lines(root),
        "manifest.json         every file with its size and SHA-256; SHA256SUMS: the same for `sha256sum -c`",
        "",
        "Not in this package",
        "-------------------",
        *(line for why in p.skipped for line in textwrap.wrap(why, 96, initial_indent="- ", subsequent_indent="  ")),
        "",
        "Sources",
        "-------",
        f"  {exports.SOURCE}: the datasets above. Admin boundaries: {p.texts.boundaries_long}.",
        "",
        *_terms_and_disclaimer(terms),
    ]
    return "\n".join(lines)


def readme(p: PackagePlan, version: int, created: dt.date, terms: str, root: Path | None = None) -> str:
    """The package's README: its folders (only those that hold files, when ``root`` is given),
    what was left out and why, sources, terms, disclaimer."""
    first = next(iter(p.rounds.values()))
    nat = next((s for s in p.specs if s.extent == "national"), None) or MapSpec(
        p.round_number, next(iter(p.rounds)), 2, country=p.country
    )
    example = (
        f"{p.country.lower()}_dtm_{nat.population}_adm{nat.level}_"
        f"{naming.round_tag(p.round_number, first['reporting_date'])}_A4L_"
        f"{first['reporting_date'].strftime('%Y%m%d')}.pdf"
    )
    nat_level = LEVEL_NAMES[nat.level][0]
    gov_level = next((LEVEL_NAMES[s.level][0] for s in p.specs if s.extent != "national"), "sub-district")
    lines = [
        f"{p.texts.dtm} information package, {p.label} ({first['reporting_date'].isoformat()})",
        "=" * 78,
        "",
        "Populations:   "
        + ", ".join(
            f"{POPULATION_WORDS[k]} ({naming.round_label(r)}, {r['reporting_date'].isoformat()})"
            for k, r in p.rounds.items()
        ),
        f"Created:       {created.isoformat()} by DTM Atlas {render._version()} (data version {version})",
        f"Producer:      {p.texts.producer}",
        "",
        "Contents",
        "--------",
    ]
    folders = [
        (
            "maps/national/",
            f"national maps per {nat_level} (PNG 300 dpi, PDF with embedded fonts), per population"
            + (
                "; the fragility map per " + LEVEL_NAMES[3][0]
                if any(s.indicator == "fragility" for s in p.specs)
                else ""
            ),
        ),
        ("maps/governorates/", f"one map per governorate by {gov_level}, per population, where it has data"),
        ("interactive/", "the same maps as HTML (Leaflet, works offline: open in a browser)"),
        ("charts/", "national trend of IDPs and returnees across rounds; governorates' change"),
        (
            "data/",
            "figures per governorate, district, sub-district: GeoPackage 1.2, zipped shapefile,\n"
            "CSV (UTF-8, HXL hashtag row), XLSX; each zip and workbook has its own README",
        ),
        (
            "tables/",
            "governorate and district totals (by size), change since the previous round and over\n"
            "12 months, top districts (CSV with HXL; all in one XLSX, with total rows)",
        ),
        ("fragility/", "fragility overlay table and method card"),
        ("maps/indicators/", MAPS_README["indicators"]),
        (
            "qgis/",
            "QGIS project (.qgz, QGIS 3.22 or later) of the package's GeoPackages, styled\n"
            "like the maps, labelled in English and Arabic: open it to adjust a map",
        ),
    ]
    for folder, what in folders:
        if root is not None and not ((root / folder).is_dir() and any((root / folder).iterdir())):
            continue
        if root is None and folder == "fragility/" and not p.fragility:
            continue
        if root is None and folder == "qgis/":
            continue
        first_line, *more = what.split("\n")
        lines.append(f"{folder:<22}{first_line}")
        lines += [" " * 22 + m for m in more]
    if root is not None and (root / "catalogue.json").exists():
        lines.append(
            f"{'catalogue.json, .csv':<22}the map catalogue: number, title, version, status, paper, scale, sources"
        )
    lines += [
        "*_summary_*.pdf       one-page summary: totals, change, trend, governorates",
        "manifest.json         every file with its size and SHA-256; SHA256SUMS: the same for `sha256sum -c`",
        "",
    ]
    if p.skipped:
        lines += ["Not in this package", "-------------------"]
        for why in p.skipped:
            lines += textwrap.wrap(why, 96, initial_indent="- ", subsequent_indent="  ")
        lines.append("")
    lines += [
        "File names: {iso3}_dtm_{population}[_{indicator}]_adm{level}[_{governorate p-code}]_r{round}_{paper}_{date},"
        if p.round_number is not None
        else "File names: {iso3}_dtm_{population}[_{indicator}]_adm{level}[_{governorate p-code}]"
        "_d{date}_{paper}_{date}"
        " (d{date}: a round without a DTM number is named by its reporting date),",
        f"e.g. {example} (A4L: A4 landscape; the date is the round's reporting date).",
        "",
        f"Map projection: {p.projection}. Data files: WGS 84 (EPSG:4326).",
        "Map classes, colours and labels are those of the DTM Atlas API and web map for the same round and level.",
        "",
        "Sources",
        "-------",
        f"  {exports.SOURCE}: Master Lists of the rounds above.",
        f"  Admin boundaries: {p.texts.boundaries_long}.",
        "  Neighbouring countries: Natural Earth (public domain).",
        "",
        *_terms_and_disclaimer(terms, f"Credit: {exports.CREDIT}."),
    ]
    return "\n".join(lines)


def write_manifest(root: Path, p: PackagePlan, version: int, created: dt.date) -> list[dict]:
    """``manifest.json`` and ``SHA256SUMS`` of every other file in ``root``; the files listed."""
    files = []
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.name not in ("manifest.json", "SHA256SUMS"):
            files.append({"path": f.relative_to(root).as_posix(), "bytes": f.stat().st_size, "sha256": sha256_of(f)})
    manifest: dict = {"package": root.name, "round": p.round_number, "country": p.country}
    if p.rounds:  # a package of the kinds' maps alone has no master-list rounds
        manifest["reporting_date"] = next(iter(p.rounds.values()))["reporting_date"].isoformat()
        manifest["populations"] = {
            k: {"round_number": r["round_number"], "reporting_date": r["reporting_date"].isoformat()}
            for k, r in p.rounds.items()
        }
    manifest |= {
        "data_version": version,
        "created": created.isoformat(),
        "producer": p.texts.producer,
        "generator": f"DTM Atlas {render._version()}",
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    (root / "SHA256SUMS").write_text("".join(f"{f['sha256']}  {f['path']}\n" for f in files), encoding="utf-8")
    return files
