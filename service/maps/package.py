"""The monthly information package of a round: one command (``dtm-atlas package``) or one
request (``GET /packages/{round}.zip``).

Contents (names after ``service/maps/naming.py``; ``docs/maps.md`` lists them):

``maps/national/``        national district map per population, PNG (300 dpi) + PDF
``maps/<kind>/``          maps a public kind draws of the round itself (registry ``package_maps``):
                          ``maps/flows/``, the master lists' origin-flow maps (to governorates, districts)
                          ``maps/indicators/``, a page per public indicator dataset of the round
                          (its site map as proportional symbols, figures per admin-1 unit); a
                          round the country has only such maps of is a package of them alone
``maps/governorates/``    one sub-district map per governorate and population, PNG + PDF
``interactive/``          the folium HTML of every map (offline)
``charts/``               national trend of IDPs and returnees; top governorates' change
``data/``                 figures per governorate, district and sub-district: GeoPackage (1.2),
                          zipped shapefile, CSV with HXL, XLSX (``service.publish.exports``)
``tables/``               governorate and district totals, change since the previous round
                          and over 12 months, top districts (CSV with HXL; one XLSX)
``fragility/``            the fragility overlay table and method card (a folder per kind of data
                          with a map hook in the layer registry, service.core.registry)
``<...>_summary_...pdf``  the one-page summary
``catalogue.json/.csv``   the map catalogue (``service.maps.catalogue``)
``qgis/``                 a QGIS project (.qgz) of the package's GeoPackages, styled like the
                          maps, labelled in English and Arabic (``service.maps.qgis_project``)
``README.txt``            contents, what was left out and why, sources, terms, disclaimer
``manifest.json``, ``SHA256SUMS``  SHA-256 of every other file

Maps are drawn in worker processes (matplotlib is single-threaded; the machine's CPUs in
parallel), the data of every map read first in one REPEATABLE READ snapshot, so the package is
consistent even while an import commits. Exports and tables are written meanwhile.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import functools
import multiprocessing
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text

from service.core.countries import NoCountryData, SeveralCountries, check_country, round_countries
from service.core.importlog import data_version
from service.core.registry import registry
from service.core.rounds import find_round, list_rounds
from service.core.settings import DEFAULT_SHARED_DIR
from service.maps import catalogue, charts, interactive, naming, render, summary, tables
from service.maps.country import round_texts
from service.maps.data import (
    POPULATION_WORDS,
    MapData,
    MapRequestError,
    MapSpec,
    country_extent,
    governorates,
    load_map,
    map_hooks,
    projection_for,
)
from service.maps.package_files import (
    PackageError,
    PackagePlan,
    PackageResult,
    maps_only_readme,
    readme,
    which,
    write_manifest,
)
from service.publish import exports

EXPORT_DATASETS = ("figures-adm1", "figures-adm2", "figures-adm3")
EXPORT_FORMATS = ("gpkg", "shp", "csv", "xlsx")
POPULATIONS = ("idp", "returnee")


def package_country(
    conn, round_number: int | None, pops: tuple[str, ...], country: str | None, reporting_date: dt.date | None = None
) -> str | None:
    """The country of the package: ``country`` (MapRequestError 404 when it has no data), else the
    one country with a round ``round_number`` of the populations asked (400 listing them when
    several have; None when none has)."""
    try:
        if country is not None:
            return check_country(conn, country)
        countries = sorted({c for p in pops for c in round_countries(conn, p, round_number, reporting_date)})
        if len(countries) > 1:
            raise SeveralCountries(countries, f"{' or '.join(pops)} figures for {which(round_number, reporting_date)}")
    except SeveralCountries as exc:
        raise MapRequestError(400, exc.detail) from None
    except NoCountryData as exc:
        raise MapRequestError(404, exc.detail) from None
    return countries[0] if countries else None


def plan(
    engine: Engine,
    round_number: int | None,
    population: str = "both",
    *,
    extents: list[str] | None = None,
    country: str | None = None,
    reporting_date: dt.date | None = None,
) -> PackagePlan:
    """What the package of ``round_number`` or of the round of ``reporting_date`` (a round
    without a DTM number has only its date) (of ``country``: omitted, the one country with that
    round) holds; MapRequestError 404 when no population has that round (or the country has no
    data), 400 for a bad population or governorate, or when several countries have the round
    and none is named."""
    if population not in ("both", *POPULATIONS):
        raise MapRequestError(400, f"unknown population {population!r}: use idp, returnee or both")
    pops = POPULATIONS if population == "both" else (population,)
    with engine.connect() as conn:
        country = package_country(conn, round_number, pops, country, reporting_date)
        rounds = {
            p: r
            for p in pops
            if (
                r := find_round(
                    conn, round_number=round_number, reporting_date=reporting_date, population=p, country=country
                )
            )
        }
        if not rounds and country is not None:  # a round the country has only the kinds' maps of (datasets)
            maps_only = _maps_plan(conn, country, round_number, reporting_date)
            if maps_only is not None:
                return maps_only
        if not rounds:
            where = f" in {country}" if country else ""
            loaded = list_rounds(conn, country)
            known = sorted({r["round_number"] for r in loaded if r["round_number"] is not None})
            dates = sorted({r["reporting_date"].isoformat() for r in loaded if r["round_number"] is None})
            listed = [*map(str, known), *(["numberless rounds of " + ", ".join(dates)] if dates else [])]
            raise MapRequestError(
                404,
                f"no {' or '.join(pops)} data for {which(round_number, reporting_date)}{where};"
                f" rounds loaded{where}: {', '.join(listed) or 'none'}",
            )
        first = next(iter(rounds.values()))
        numbers = {r["round_number"] for r in rounds.values()}
        if round_number is None and len(numbers) == 1:  # asked by date: the rounds' DTM number, when they have one
            round_number = next(iter(numbers))
        set_id = first["boundary_set_id"]
        govs = [g["pcode"] for g in governorates(conn, set_id)]
        deepest = (
            conn.execute(text("SELECT max(level) FROM admin_unit WHERE boundary_set_id = :s"), {"s": set_id}).scalar()
            or 1
        )
        texts = round_texts(conn, first)
        projection = projection_for(country_extent(conn, set_id)).description
        # the governorates where each population has data: a map only where there is something to show
        with_data = {
            pop: set(
                conn.execute(
                    text("SELECT pcode FROM unit_figure WHERE round_id = :r AND level = 1 AND individuals > 0"),
                    {"r": r["id"]},
                ).scalars()
            )
            for pop, r in rounds.items()
        }
        names = {g["pcode"]: g["name_en"] or g["pcode"] for g in governorates(conn, set_id)}
        layer = map_hooks().get("fragility")  # a package is a public output: public kinds only
        frag_round = rounds.get("idp") or first
        frag_status = None
        if layer is not None and hasattr(layer, "run_status"):
            frag_status = layer.run_status(conn, round_id=frag_round["id"])
    if extents is not None:
        bad = [e for e in extents if e not in govs]
        if bad:
            raise MapRequestError(400, f"unknown governorate {', '.join(bad)}; governorates: {', '.join(govs)}")
        govs = list(extents)
    iso3 = first["country"]
    # national maps by district, governorate maps by sub-district; a country with fewer levels:
    # its deepest (and no governorate maps when it has governorates only)
    national_level, gov_level = min(2, deepest), min(3, deepest)
    if gov_level < 2:
        govs = []
    specs, skipped = [], []
    for pop, r in rounds.items():
        # each population's own round; one without a DTM number by its date
        num, day = (r["round_number"], None) if r["round_number"] is not None else (None, r["reporting_date"])
        if not with_data[pop]:
            skipped.append(f"{POPULATION_WORDS[pop]} maps: no {POPULATION_WORDS[pop]} in {naming.round_label(r)}")
            continue
        specs.append(MapSpec(num, pop, national_level, "individuals", "national", country=iso3, reporting_date=day))
        specs += [
            MapSpec(num, pop, gov_level, "individuals", g, country=iso3, reporting_date=day)
            for g in govs
            if g in with_data[pop]
        ]
        empty = [g for g in govs if g not in with_data[pop]]
        if empty:
            skipped.append(
                f"{POPULATION_WORDS[pop]} maps of {len(empty)} governorate{'s' if len(empty) > 1 else ''} with no "
                f'{POPULATION_WORDS[pop]} in {naming.round_label(r)} (every unit would read "No data"): '
                + ", ".join(f"{names.get(g, g)} ({g})" for g in empty)
            )
    fragility = layer is not None
    if layer is not None and frag_status is None:
        fragility = hasattr(layer, "run_status") is False  # an older layer without the status hook: as before
        if not fragility:
            skipped.append(
                f"Fragility map, overlay table and method card: no fragility run is stored for "
                f"{naming.round_label(frag_round)} (`dtm-atlas fragility compute` makes one)"
            )
    if frag_status is not None:
        num = frag_round["round_number"]
        day = None if num is not None else frag_round["reporting_date"]
        specs.append(
            MapSpec(num, frag_round["population"], gov_level, "fragility", "national", country=iso3, reporting_date=day)
        )
    ex = [(pop, ds, fmt) for pop in rounds for ds in EXPORT_DATASETS for fmt in EXPORT_FORMATS]
    p = PackagePlan(
        round_number,
        rounds,
        specs,
        ex,
        tuple(name for name in map_hooks() if name != "fragility" or fragility),
        iso3,
        texts,
        projection,
        reporting_date=reporting_date,
        skipped=skipped,
        fragility_status=frag_status,
        fragility_round=frag_round if frag_status is not None else None,
    )
    # progress steps: map data, maps, exports, tables, charts, summary, fragility, README + manifest
    p.steps = 2 * len(specs) + len(ex) + len(rounds) + 2 + len(p.layers) + 1 + int(frag_status == "stale")
    p.steps += 1  # the QGIS project
    p.steps += len(registry().package_maps())  # the kinds' own maps of the round (e.g. origin flows)
    return p


def _maps_plan(conn, country: str, round_number: int | None, reporting_date) -> PackagePlan | None:
    """The package of a round the country has no master list of, when a kind has maps of it
    (``has_maps`` of the registry's ``package_maps``: an indicator dataset of that round): the
    kinds' maps, README and manifest. None when no kind has any."""
    from service.maps.country import country_texts

    row = {
        "id": None,
        "country": country,
        "population": None,
        "round_number": round_number,
        "reporting_date": reporting_date,
    }
    found = [
        f
        for maps in registry().package_maps().values()
        if hasattr(maps, "has_maps") and (f := maps.has_maps(conn, row))
    ]
    if not found:
        return None
    row = {**row, **found[0]}  # the round as the kind has it: its date when asked by number, its boundaries' source
    texts = country_texts(country, row.get("boundary_source"))
    p = PackagePlan(round_number, {}, [], [], (), country, texts, reporting_date=reporting_date, kind_round=row)
    p.skipped.append(
        f"Maps, charts, tables, exports and summary of the master lists: {country} has no master-list round "
        f"{which(round_number, reporting_date)}"
    )
    p.steps = len(registry().package_maps()) + 1
    return p


# -------------------------------------------------------------------------- worker processes
def _init_worker() -> None:
    from service.maps import fonts

    fonts.setup()


def _render_one(data: MapData, folder: str, html_folder: str, dpi: int, logo: str | None = None) -> dict:
    """Draw one map (PNG, PDF, HTML); returns its catalogue entry."""
    paths = render.render(data, Path(folder), ("png", "pdf"), dpi=dpi, logo=Path(logo) if logo else None)
    labels = dict(render.last_labels)
    html = interactive.write(data, Path(html_folder))
    return catalogue.map_entry(data, [str(p) for p in (*paths.values(), html)], labels)


def warm_up() -> None:
    """Start what a build waits for first, before its plan is made (the CLI calls it first;
    ``build`` again, which does nothing the second time): the map workers' fork server, which
    loads the drawing modules (1.3 s) while this process plans and reads the first map's data,
    and in a thread the classifier's import (mapclassify with SciPy and scikit-learn, 1.1 s)
    that the first map's data needs. Until the first map's data is read the workers have
    nothing to draw: the package's only stretch on one CPU."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        multiprocessing.get_context("forkserver").set_forkserver_preload(["service.maps.worker"])
        forkserver.ensure_running()  # non-blocking; a worker started before it has loaded would wait
    _classifier_import_started()


@functools.cache
def _classifier_import_started() -> None:
    import threading

    threading.Thread(target=_import_classifier, daemon=True).start()


def _import_classifier() -> None:
    try:
        import mapclassify  # noqa: F401 - imported for the first map's classes
    except Exception:  # noqa: BLE001 - the first map imports it again and says what is wrong
        pass


def _pool(workers: int):
    """The map workers: forked by a fork server that imported ``service.maps.worker`` (drawing
    modules, fonts loaded) once, so each worker starts warm; never forked from this process,
    which may hold database connections and threads (the HTTP server). Spawned where there is
    no fork server. The workers are forked on the first map submitted (``warm_up`` started the
    server)."""
    warm_up()
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
    else:
        ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker)


# ------------------------------------------------------------------------------------ build
def build(
    engine: Engine,
    round_number: int | None,
    out: Path,
    *,
    population: str = "both",
    dpi: int = 300,
    workers: int | None = None,
    logo: Path | None = None,
    extents: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    the_plan: PackagePlan | None = None,
    created: dt.date | None = None,
    country: str | None = None,
    reporting_date: dt.date | None = None,
    event: str | None = None,
    shared_dir: Path = DEFAULT_SHARED_DIR,
    household_sizes: str | None = None,
) -> PackageResult:
    """Write the package into the folder ``out`` or, when ``out`` ends with ``.zip``, into
    that zip file (one top folder inside, the package's name). ``event``: a GLIDE number or
    event id the catalogue records for every map. ``shared_dir`` and ``household_sizes``: the
    settings ``shared_data_dir`` (places, fragility inputs) and ``household_sizes``; ``logo``: the
    maps' header logo (``MapSettings.logo``)."""
    import time

    t0 = time.perf_counter()
    step = progress or (lambda what: None)
    p = the_plan or plan(
        engine, round_number, population, extents=extents, country=country, reporting_date=reporting_date
    )
    created = created or dt.date.today()
    out = Path(out)
    name = p.name
    zipped = out.suffix.lower() == ".zip"
    if not zipped and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PackageError(f"{out} exists and is not an empty folder: give a new folder or a .zip file name")
    if p.fragility_status == "stale":  # recomputed first: the package never shows a stale run
        _refresh_fragility(engine, p, shared_dir)
        step("fragility: stale run recomputed")
    work = Path(tempfile.mkdtemp(prefix="dtm-package-", dir=out.parent if zipped else None))
    root = work / name if zipped else out
    root.mkdir(parents=True, exist_ok=True)
    try:
        result = (_build_into if p.rounds else _build_maps_only)(
            engine,
            p,
            root,
            dpi=dpi,
            workers=workers,
            step=step,
            created=created,
            event=event,
            shared_dir=shared_dir,
            household_sizes=household_sizes,
            logo=logo,
        )
        if zipped:
            tmp = out.with_suffix(".zip.part")
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as z:
                for f in sorted(root.rglob("*")):
                    if f.is_file():
                        # PNG, PDF and zips are compressed already
                        kind = zipfile.ZIP_STORED if f.suffix in (".png", ".zip", ".gpkg") else zipfile.ZIP_DEFLATED
                        z.write(f, f"{name}/{f.relative_to(root)}", compress_type=kind)
            os.replace(tmp, out)
            result.path = out
        result.seconds = time.perf_counter() - t0
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _refresh_fragility(engine: Engine, p: PackagePlan, shared_dir: Path) -> None:
    """Recompute the round's stale fragility run; when that fails the fragility map, table and
    card are left out and the README says why (never silently)."""
    layer = map_hooks().get("fragility")
    try:
        layer.refresh(engine, round_id=p.fragility_round["id"], shared_dir=shared_dir)
    except Exception as exc:  # noqa: BLE001 - the layer's errors (inputs, method) are all reasons to skip
        kept = [s for s in p.specs if s.indicator != "fragility"]
        p.steps -= 2 * (len(p.specs) - len(kept)) + int(p.fragility)
        p.specs, p.fragility = kept, False
        p.skipped.append(
            f"Fragility map, overlay table and method card: its run was stale and recomputing it failed: {exc}"
        )
    else:
        p.fragility_status = "recomputed"


def _build_into(
    engine: Engine,
    p: PackagePlan,
    root: Path,
    *,
    dpi: int,
    workers: int | None,
    step: Callable[[str], None],
    created: dt.date,
    event: str | None = None,
    shared_dir: Path = DEFAULT_SHARED_DIR,
    household_sizes: str | None = None,
    logo: Path | None = None,
) -> PackageResult:
    dirs = {k: root / k for k in ("maps/national", "maps/governorates", "interactive", "charts", "data", "tables")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    result = PackageResult(root)
    # one snapshot for everything read in this process
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        version = data_version(conn)
        result.data_version = version
        # the workers start (and import matplotlib) while the first maps' data is read; each map
        # goes to them as soon as its data is read
        workers = workers or max(1, min(len(p.specs), os.cpu_count() or 1))
        pool = _pool(workers) if workers > 1 else None
        logo_arg = str(logo) if logo else None
        try:
            futures, entries = [], []
            kind_entries: list[dict] = []  # the kinds' own maps (registry package_maps), catalogued last
            national_view = None
            # each map goes to the workers as soon as its data is read, the national maps (the
            # biggest) first, so that no big map is left to draw alone at the end while the
            # other workers idle
            entries = [None] * len(p.specs)  # in the plan's order (the catalogue's numbers)
            layout_maps = [None] * len(p.specs)
            for i in sorted(range(len(p.specs)), key=lambda i: p.specs[i].extent != "national"):
                spec = p.specs[i]
                d = layout_maps[i] = load_map(conn, spec, created=created, shared_dir=shared_dir)
                if spec.extent == "national" and national_view is None:
                    national_view = (d.projection.epsg, d.view)
                step(f"map data: {spec.population} {spec.extent}")
                folder = dirs["maps/national"] if spec.extent == "national" else dirs["maps/governorates"]
                if pool is None:
                    entries[i] = _render_one(d, str(folder), str(dirs["interactive"]), dpi, logo_arg)
                    step(f"map: {spec.population} {spec.extent}")
                else:
                    futures.append(
                        (i, spec, pool.submit(_render_one, d, str(folder), str(dirs["interactive"]), dpi, logo_arg))
                    )

            # meanwhile, in this process: exports, tables, charts, summary
            _write_exports(engine, conn, p, dirs["data"], step)
            all_tables: list[tables.Table] = []
            gov_tables: dict[str, tables.Table] = {}
            totals: dict[str, dict] = {}
            for pop, rnd in p.rounds.items():
                ts = tables.unit_tables(conn, rnd, f"{rnd['country'].lower()}_dtm_{pop}")
                for t in ts:
                    tables.write_csv(t, dirs["tables"])
                all_tables += ts
                gov_tables[pop] = ts[0]
                nat = (
                    conn.execute(
                        text(
                            "SELECT f.families, f.individuals, f.locations, f.change_individuals AS change, "
                            "f.published_individuals AS published, "
                            "f.published_individuals - pf.published_individuals AS published_change, "
                            "pr.round_number AS previous, "
                            "pr.reporting_date AS previous_date "
                            "FROM unit_figure f LEFT JOIN round pr ON pr.id = f.prev_round_id "
                            "LEFT JOIN unit_figure pf ON pf.round_id = f.prev_round_id AND pf.level = 0 "
                            "AND pf.pcode = f.pcode "
                            "WHERE f.round_id = :r AND f.level = 0"
                        ),
                        {"r": rnd["id"]},
                    )
                    .mappings()
                    .first()
                )
                totals[pop] = dict(nat) if nat else {"families": 0, "individuals": 0, "locations": 0}
                step(f"tables: {pop}")
            day = next(iter(p.rounds.values()))["reporting_date"]
            tag = f"{naming.round_tag(p.round_number, day)}_{day.strftime('%Y%m%d')}"
            tables.write_xlsx(all_tables, dirs["tables"] / f"{p.country.lower()}_dtm_summary_tables_{tag}.xlsx")
            if national_view is not None:
                _write_qgis_project(
                    conn,
                    p,
                    dirs["data"],
                    root / "qgis",
                    f"{p.country.lower()}_dtm_maps_{tag}",
                    *national_view,
                    maps=layout_maps,
                    logo=logo,
                )
            step("QGIS project")

            first = next(iter(p.rounds.values()))
            trend = charts.load_trend(conn, first["country"])
            charts.render_trend(trend, first, dirs["charts"], dpi=dpi)
            for pop, rnd in p.rounds.items():
                charts.render_change(charts.load_change(conn, rnd), dirs["charts"], dpi=dpi)
            step("charts")
            summary.render_summary(
                root / f"{summary.summary_base(first)}.pdf",
                rounds=p.rounds,
                totals=totals,
                trend=trend,
                governorates=gov_tables,
                created=created,
                data_version=version,
                texts=p.texts,
                footnote=" ".join(
                    n for n in (summary.household_note(r, household_sizes) for r in p.rounds.values()) if n
                ),
            )
            step("summary")
            hooks = map_hooks()
            for name in p.layers:
                _write_layer(conn, p, name, hooks[name], root / name)
                step(name)
            for name, kind_maps in registry().package_maps().items():  # public kinds' own maps of the round
                for rnd in p.rounds.values():
                    drawn = kind_maps.write(engine, rnd, root / "maps" / name, dpi=dpi)
                    kind_entries += catalogue.kind_entries(name, drawn, rnd, p.country)
                step(f"{name} maps")
            terms = exports.licence(conn, sorted({r["country"] for r in p.rounds.values()}))
            conn.rollback()

            for i, spec, fut in futures:
                entries[i] = fut.result()
                step(f"map: {spec.population} {spec.extent}")
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    for d in sorted(root.rglob("*"), key=lambda f: -len(f.parts)):  # no empty folder in the package
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    # a map is an update when its population's previous round had the package's same map
    prev_pops = {pop for pop, t in totals.items() if t.get("previous") is not None or t.get("previous_date")}
    previous = catalogue.roundless_ids(
        e["map_id"] for e in entries if e["population"] in prev_pops and e["indicator"] != "fragility"
    )
    entries += kind_entries
    catalogue.write(root, entries, created=created, version=version, previous=previous, event=event)
    (root / "README.txt").write_text(readme(p, version, created, terms, root), encoding="utf-8")
    result.files = write_manifest(root, p, version, created)
    step("README and manifest")
    return result


def _build_maps_only(
    engine: Engine, p: PackagePlan, root: Path, *, dpi: int, step: Callable[[str], None], created: dt.date, **_
) -> PackageResult:
    """The package of a round the country has only the kinds' maps of (indicator datasets)."""
    result = PackageResult(root)
    with engine.connect() as conn:
        result.data_version = version = data_version(conn)
        terms = exports.licence(conn, [p.country])
    for name, kind_maps in registry().package_maps().items():
        kind_maps.write(engine, p.kind_round, root / "maps" / name, dpi=dpi)
        step(f"{name} maps")
    (root / "README.txt").write_text(maps_only_readme(p, version, created, terms, root), encoding="utf-8")
    result.files = write_manifest(root, p, version, created)
    step("README and manifest")
    return result


def _write_exports(engine: Engine, conn, p: PackagePlan, folder: Path, step) -> None:
    for pop, ds, fmt in p.exports:
        rnd = p.rounds[pop]  # a round without a DTM number by its date
        job = exports.prepare(
            conn,
            ds,
            fmt,
            round_number=rnd["round_number"],
            population=pop,
            country=p.country,
            reporting_date=rnd["reporting_date"] if rnd["round_number"] is None else None,
        )
        exports.write(engine, job, folder)
        step(f"export: {pop} {ds} {fmt}")


def _write_layer(conn, p: PackagePlan, name: str, layer, folder: Path) -> None:
    """A kind's overlay table (CSV) and method card, from its map hook (e.g. fragility)."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    card_round = None
    for pop, rnd in p.rounds.items():
        rows = layer.overlay_table(conn, round_id=rnd["id"])
        if not rows:
            continue
        card_round = card_round or rnd["id"]
        tag = naming.round_tag(rnd["round_number"], rnd["reporting_date"])
        path = (
            folder
            / f"{p.country.lower()}_dtm_{pop}_{name}_overlay_{tag}_{rnd['reporting_date'].strftime('%Y%m%d')}.csv"
        )
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if card_round is not None:  # the card of the run the overlay comes from
        (folder / f"{name}_method.md").write_text(layer.method_card(conn, round_id=card_round), encoding="utf-8")


def _write_qgis_project(
    conn, p: PackagePlan, data_dir: Path, folder: Path, name: str, epsg: int, view, *, maps=(), logo=None
) -> None:
    """``qgis/<name>.qgz``: the package's GeoPackages styled with the maps' classes
    (``service.maps.qgis_project``), and a print layout per map of ``maps`` (their ``MapData``)
    that has its layer in the project; the logo copied beside the project."""
    from service.maps import qgis_project
    from styles.queries import classification_for

    classes = {}
    for pop, rnd in p.rounds.items():
        for level in (1, 2, 3):
            classes[(pop, level)] = classification_for(
                conn, round_id=rnd["id"], level=level, indicator="individuals", population=rnd["population"]
            )[0]
    layers = qgis_project.package_layers(data_dir, classes)
    if not layers:
        return
    folder.mkdir(parents=True, exist_ok=True)
    first = next(iter(p.rounds.values()))
    title = f"{p.texts.dtm}, {naming.round_label(first)} ({first['reporting_date'].isoformat()})"
    logo_ref = None
    if logo is not None:
        shutil.copyfile(logo, folder / f"logo{Path(logo).suffix.lower()}")
        logo_ref = f"./logo{Path(logo).suffix.lower()}"
    layouts = [pl for d in maps if (pl := qgis_project.map_layout(d, layers, logo_ref)) is not None]
    qgis_project.write_qgz(folder / f"{name}.qgz", title, epsg, layers, view, layouts)
