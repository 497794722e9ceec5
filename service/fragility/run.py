"""A fragility run: resolve the round's inputs, compute, store; or serve the stored run.

``ensure_run`` is what the CLI and the API call. It holds the fragility advisory lock,
computes the current inputs' fingerprint (the IDP and returnee rounds with their import ids,
the boundary set, the method's SHA-256, the SHA-256 of every input file) and compares it with
the stored run's: a missing or stale run is computed and saved in the same transaction (with
an ``import_log`` row of kind ``fragility`` and a data-version bump); an unchanged one is
returned as it is. Imports are not touched: a re-imported round gets a new id and import id,
so the next request sees the change (only the round asked for is recomputed, never the whole
history). ``refresh_stale`` marks every stored run whose inputs changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, text

from service.core.errors import NotFound
from service.core.importlog import ImportRecord, bump_data_version, log_import
from service.fragility import compute as comp
from service.fragility import inputs as inp
from service.fragility import store
from service.fragility.method import CLASS_KEYS, Method, load_method


class FragilityError(NotFound, ValueError):
    """A run that cannot be made (no such round, a missing input file); nothing is stored (HTTP 404)."""


@dataclass
class Resolved:
    idp_round: dict
    returnee_round: dict | None
    files: dict[str, Path]  # role -> path
    previous_round: list | None = None  # [id, import id] of the IDP round before (changes)
    datasets: dict[str, list] | None = None  # dataset id -> its stamp (an indicator of it is an input)


def resolve_path(raw: str, method_file: Path, shared_dir: Path) -> Path:
    if raw.startswith("shared:"):
        return Path(shared_dir) / raw[len("shared:") :]
    p = Path(raw)
    return p if p.is_absolute() else (method_file.parent / p)


def resolve(
    conn: Connection,
    method: Method,
    method_file: Path,
    shared_dir: Path,
    round_number: int | None,
    country: str = "IRQ",
) -> Resolved:
    from service.core.rounds import find_round

    idp = find_round(conn, round_number=round_number, population="idp", country=country)
    if idp is None:
        which = f"round {round_number}" if round_number is not None else "any round"
        raise FragilityError(f"no IDP data for {which}; fragility needs the round's IDP master list (see /rounds)")
    if idp["round_number"] is None:
        raise FragilityError(
            f"the IDP round of {idp['reporting_date']} has no DTM round number: fragility runs are "
            "kept per DTM round number (give the round a number with import --round)"
        )
    # the returnee round of the same DTM number (of the same date for a round without one)
    ret = find_round(
        conn,
        round_number=idp["round_number"],
        population="returnee",
        country=country,
        reporting_date=idp["reporting_date"] if idp["round_number"] is None else None,
    )
    if ret is None:
        row = conn.execute(
            text(
                "SELECT id FROM round WHERE country = :c AND population = 'returnee' AND reporting_date <= :d "
                "ORDER BY reporting_date DESC, round_number DESC LIMIT 1"
            ),
            {"c": country, "d": idp["reporting_date"]},
        ).scalar()
        if row is not None:
            from service.core.rounds import get_round

            ret = get_round(conn, row)
    files: dict[str, Path] = {}
    if method.population is not None:
        files["population"] = resolve_path(method.population.path, method_file, shared_dir)
    for t in method.tables:
        files[f"table:{t.id}"] = resolve_path(t.path, method_file, shared_dir)
    for role, p in files.items():
        if not p.is_file():
            raise FragilityError(f"{method_file}: {role} file {p} does not exist")
    return Resolved(idp, ret, files, previous_round(conn, idp), dataset_stamps(conn, method, method_file))


def _unit_source():
    """The registry's ``dataset`` unit source (the indicator datasets' kind; not imported here)."""
    from service.core.registry import registry

    src = registry().unit_source("dataset")
    if src is None:
        raise FragilityError("no kind of data provides datasets' indicators per unit (source: dataset:...)")
    return src


def dataset_stamps(conn: Connection, method: Method, method_file: Path) -> dict[str, list] | None:
    """{dataset id: [id, import id, SHA-256]} of the datasets the method's indicators read (None: none)."""
    refs = sorted({i.dataset[0] for i in method.indicators if i.dataset is not None}, key=int)
    if not refs:
        return None
    src = _unit_source()
    out = {}
    for ref in refs:
        try:
            out[ref] = src.stamp(conn, ref)
        except LookupError as exc:
            raise FragilityError(f"{method_file}: {exc}") from None
    return out


def previous_round(conn: Connection, idp_round: dict) -> list | None:
    """[id, import id] of the round the IDP round's changes are computed against (an input:
    its re-import changes them)."""
    row = conn.execute(
        text(
            "SELECT r.id, r.import_id FROM unit_figure f JOIN round r ON r.id = f.prev_round_id "
            "WHERE f.round_id = :r AND f.level = 0"
        ),
        {"r": idp_round["id"]},
    ).first()
    return list(row) if row else None


def fingerprint(method: Method, res: Resolved) -> tuple[str, dict]:
    parts = {
        "method_sha256": method.sha256,
        "idp_round": [res.idp_round["id"], res.idp_round["import_id"]],
        "previous_idp_round": res.previous_round,
        "returnee_round": [res.returnee_round["id"], res.returnee_round["import_id"]] if res.returnee_round else None,
        "boundary_set_id": res.idp_round["boundary_set_id"],
        "files": {role: inp.file_sha256(p) for role, p in sorted(res.files.items())},
    }
    if res.datasets:  # (only then: the fingerprints of methods without dataset inputs are as before)
        parts["datasets"] = res.datasets
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest(), parts


def _geoms(conn: Connection, set_id: int) -> dict:
    import shapely

    rows = conn.execute(
        text("SELECT pcode, ST_AsBinary(geom) FROM admin_unit WHERE boundary_set_id = :s AND level = 3 ORDER BY pcode"),
        {"s": set_id},
    ).all()
    return {p: shapely.from_wkb(bytes(g)) for p, g in rows}


def build_values(
    conn: Connection, method: Method, res: Resolved, progress=None
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(raw indicator values per sub-district, context variables, what was read)."""
    set_id = res.idp_round["boundary_set_id"]
    units = inp.units(conn, set_id)
    xw = inp.crosswalk_for(conn, set_id, res.idp_round["country"])
    ctx = inp.dtm_figures(conn, res.idp_round, res.returnee_round, method.dtm, list(units.index))
    issues: list[inp.Issue] = []
    sources: dict = {
        "dtm": {
            "idp_round": {
                "round_number": res.idp_round["round_number"],
                "reporting_date": str(res.idp_round["reporting_date"]),
                "source_file": res.idp_round["source_file"],
                "import_id": res.idp_round["import_id"],
            },
            "returnee_round": None
            if res.returnee_round is None
            else {
                "round_number": res.returnee_round["round_number"],
                "reporting_date": str(res.returnee_round["reporting_date"]),
                "source_file": res.returnee_round["source_file"],
                "import_id": res.returnee_round["import_id"],
            },
        }
    }
    residents = None
    if method.population is not None:
        path = res.files["population"]
        if method.population.source == "table":
            loaded = inp.population_table(path, method.population, xw, units)
        else:
            loaded = inp.raster_zonal_sums(path, _geoms(conn, set_id), method.population.kind, progress=progress)
        residents = loaded.values["residents"]
        issues += loaded.issues
        sources["population"] = loaded.source
    ctx = inp.add_rates(ctx, residents)
    raw = pd.DataFrame(index=units.index)
    loc_units = None
    for t in method.tables:
        cols = [i.column for i in method.indicators if i.source == f"table:{t.id}"]
        if t.key == "location_id" and loc_units is None:
            loc_units = inp.location_units(conn, [r["id"] for r in (res.idp_round, res.returnee_round) if r])
        loaded = inp.indicator_table(res.files[f"table:{t.id}"], t, cols, xw, units, loc_units, residents)
        issues += loaded.issues
        sources[f"table:{t.id}"] = loaded.source
        for i in method.indicators:
            if i.source == f"table:{t.id}":
                raw[i.id] = loaded.values[i.column]
    for i in method.indicators:
        if i.dataset is not None:  # an indicator of an imported dataset, per sub-district (the registry's source)
            ref, indicator = i.dataset
            try:
                got = _unit_source().values(conn, ref, indicator, level=3, country=res.idp_round["country"])
            except (LookupError, ValueError) as exc:
                raise inp.InputError(f"indicators ({i.id}): source {i.source}: {exc}") from None
            raw[i.id] = pd.Series(got.values, dtype="float64").reindex(units.index)
            sources[i.source] = got.source
    for i in method.indicators:
        if i.source == "dtm":
            col = ctx[i.column]
            if i.when_undefined is not None:
                col = col.where(~undefined_mask(i.column, ctx), i.when_undefined)
            raw[i.id] = col
        elif i.when_undefined is not None:
            raw[i.id] = raw[i.id].fillna(i.when_undefined)
    sources["issues"] = [x.to_dict() for x in issues]
    return raw, ctx, sources


def undefined_mask(column: str, ctx: pd.DataFrame) -> pd.Series:
    """Where a DTM variable is *undefined* (its denominator is zero) rather than missing
    input: only there does ``when_undefined`` apply. The DTM shares, ratios and changes are
    NaN only for a zero denominator (a unit without a row has zero IDPs); rates over
    residents are undefined for zero residents and stay missing without residents."""
    if column in ("idps_per_1000", "returnees_per_1000", "residents"):
        return ctx["residents"].notna() & ~(ctx["residents"] > 0)
    return ctx[column].isna()


def compute_run(conn: Connection, method: Method, res: Resolved, progress=None) -> tuple[dict, list[dict]]:
    """Everything a run stores, computed (nothing written)."""
    raw, ctx, sources = build_values(conn, method, res, progress)
    result = comp.compute(method, raw, ctx, progress=progress)
    units = inp.units(conn, res.idp_round["boundary_set_id"])
    rows: list[dict] = []
    dims = [d.id for d in method.dimensions]
    for pcode in raw.index:
        u = result.units.loc[pcode]
        rows.append(
            {
                "level": 3,
                "pcode": pcode,
                "status": u["status"],
                "index": u["index"],
                "class": int(u["class"]),
                "completeness": u["completeness"],
                "dimensions": {d: store._num(result.dimensions.at[pcode, d]) for d in dims},
                "indicators": {
                    i.id: {
                        "value": store._num(raw.at[pcode, i.id]),
                        "score": store._num(result.indicators.at[pcode, i.id]),
                    }
                    for i in method.indicators
                },
                "rank_p5": u["rank_p5"],
                "rank_p50": u["rank_p50"],
                "rank_p95": u["rank_p95"],
                "p_high": u["p_high"],
                "hotspot": bool(u["hotspot"]),
                "hotspot_units": None,
                "idps": store._num(ctx.at[pcode, "idps"]),
                "returnees": store._num(ctx.at[pcode, "returnees"]),
                "residents": ctx.at[pcode, "residents"],
            }
        )
    residents = ctx["residents"]
    figures = _unit_figures(conn, res)
    level_summaries = {}
    for level, parent in ((2, units["adm2"]), (1, units["adm1"])):
        up, updims = comp.aggregate_up(method, result, parent, residents)
        res_up = residents.groupby(parent).sum(min_count=1)
        level_summaries[level] = {k: int((up["class"] == c).sum()) for c, k in enumerate(CLASS_KEYS, 1)}
        for pcode, u in up.iterrows():
            f = figures.get((level, pcode), {})
            rows.append(
                {
                    "level": level,
                    "pcode": pcode,
                    "status": u["status"],
                    "index": u["index"],
                    "class": int(u["class"]),
                    "completeness": u["completeness"],
                    "dimensions": {d: store._num(updims.at[pcode, d]) for d in dims},
                    "indicators": {"units": int(u["units"]), "units_ok": int(u["units_ok"])},
                    "rank_p5": u["rank_p5"],
                    "rank_p50": u["rank_p50"],
                    "rank_p95": u["rank_p95"],
                    "p_high": u["p_high"],
                    "hotspot": bool(u["hotspot"]),
                    "hotspot_units": int(u["hotspot_units"]),
                    "idps": f.get("idp", 0),
                    "returnees": f.get("returnee", 0 if res.returnee_round else None),
                    "residents": res_up.get(pcode),
                }
            )
    summary = {**result.summary, "levels": level_summaries}
    return {"summary": summary, "sources": sources}, rows


def _unit_figures(conn: Connection, res: Resolved) -> dict:
    out: dict = {}
    for r in (res.idp_round, res.returnee_round):
        if r is None:
            continue
        for level, pcode, ind in conn.execute(
            text("SELECT level, pcode, individuals FROM unit_figure WHERE round_id = :r AND level IN (1, 2)"),
            {"r": r["id"]},
        ).all():
            out.setdefault((level, pcode), {})[r["population"]] = int(ind)
    return out


def ensure_run(
    engine: Engine,
    *,
    shared_dir: Path,
    round_number: int | None = None,
    method_path: str | Path | None = None,
    force: bool = False,
    progress=None,
    username: str | None = None,
) -> tuple[dict, bool]:
    """The stored run of the round and method, computed first when missing, stale or
    ``force``d. Returns (run row, computed now?). Raises ``FragilityError``, ``MethodError``
    or ``InputError`` (nothing stored then)."""
    method, method_file = load_method(method_path)
    if not force:  # the common case, an up-to-date run: no lock, readers never wait for each other
        with engine.connect() as conn:
            res = resolve(conn, method, method_file, shared_dir, round_number)
            fp, _ = fingerprint(method, res)
            existing = store.find_run(
                conn, res.idp_round["country"], res.idp_round["round_number"], method.id, method.version
            )
            if existing is not None and existing["fingerprint"] == fp and not existing["stale"]:
                return existing, False
    with engine.begin() as conn:
        store.lock(conn)  # one computes at a time; the others then find its run below
        res = resolve(conn, method, method_file, shared_dir, round_number)
        fp, parts = fingerprint(method, res)
        country = res.idp_round["country"]
        existing = store.find_run(conn, country, res.idp_round["round_number"], method.id, method.version)
        if existing is not None and existing["fingerprint"] == fp and not existing["stale"] and not force:
            return existing, False
        out, rows = compute_run(conn, method, res, progress)
        national = (
            conn.execute(
                text("SELECT pcode FROM admin_unit WHERE boundary_set_id = :s AND level = 0 LIMIT 1"),
                {"s": res.idp_round["boundary_set_id"]},
            ).scalar()
            or country
        )
        rec = ImportRecord(
            kind="fragility",
            file_name=str(method_file),
            sha256=method.sha256,
            rows_read=len(rows),
            rows_accepted=len(rows),
            rows_flagged=len(out["sources"]["issues"]),
            details={
                "round_number": res.idp_round["round_number"],
                "method_id": method.id,
                "method_version": method.version,
                "fingerprint": fp,
                "inputs": parts,
                "issues": out["sources"]["issues"][:200],
            },
        )
        if username:
            rec.username = username
        import_id = log_import(
            conn, rec, "committed", f"fragility {method.id} {method.version}, round {res.idp_round['round_number']}"
        )
        run = {
            "country": country,
            "round_number": res.idp_round["round_number"],
            "method_id": method.id,
            "method_version": method.version,
            "method_sha256": method.sha256,
            "method": method.model_dump(mode="json"),
            "idp_round_id": res.idp_round["id"],
            "returnee_round_id": res.returnee_round["id"] if res.returnee_round else None,
            "boundary_set_id": res.idp_round["boundary_set_id"],
            "fingerprint": fp,
            "inputs": {**parts, "sources": out["sources"], "method_file": method_file.name},
            "summary": out["summary"],
            "import_id": import_id,
            "national_pcode": national,
        }
        run_id = store.save_run(conn, run=run, results=rows)
        bump_data_version(conn)
        return store.latest_run(conn, run_id), True


def refresh_stale(engine: Engine, shared_dir: Path, method_paths: dict[str, Path | None]) -> list[dict]:
    """Mark stored runs whose inputs changed as stale (nothing is recomputed). ``method_paths``:
    method id -> its file (None: the default); runs of unknown methods are left alone."""
    changed = []
    with engine.begin() as conn:
        store.lock(conn)
        for run in store.list_runs(conn):
            if run["method_id"] not in method_paths:
                continue
            method, mfile = load_method(method_paths[run["method_id"]])
            try:
                res = resolve(conn, method, mfile, shared_dir, run["round_number"], run["country"])
                fp, _ = fingerprint(method, res)
            except (FragilityError, inp.InputError):
                fp = None
            if fp != run["fingerprint"] or method.version != run["method_version"]:
                changed.append(run)
        store.set_stale(conn, [r["id"] for r in changed])
    return changed


def demo_fragility(engine: Engine, settings, console) -> None:
    """The demo's fragility: the default method for the latest IDP round (kept when up to date)."""
    from service.fragility.inputs import InputError
    from service.fragility.method import MethodError

    try:
        run, computed = ensure_run(engine, shared_dir=settings.shared_data_dir)
    except (FragilityError, MethodError, InputError) as exc:
        console.print(f"  fragility: not computed ({exc})")
        return
    s = run["summary"]
    console.print(
        f"  fragility {run['method_id']} {run['method_version']}, round {run['round_number']}: "
        f"{'computed' if computed else 'up to date'}; {s['units_ok']} of {s['units']} sub-districts "
        f"with an index, {s['hotspots']} hotspots"
    )
