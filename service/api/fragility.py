"""Fragility overlays: GeoJSON per level, the overlay table, the method card.

Every endpoint serves a stored run (``fragility_run``/``fragility_result``); a missing or
stale run of the round is computed on the first request (``service.fragility.run.
ensure_run``, under an advisory lock) and served from the tables afterwards.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from service.api.common import (
    Conn,
    DbEngine,
    JSONResponse,
    get_engine,
)
from service.api.params import Round
from service.core.errors import BadRequest, NotFound
from service.core.rounds import round_filter
from service.figures import read
from service.fragility import store
from service.fragility.card import html_page, markdown
from service.fragility.method import MethodError, load_method
from service.fragility.run import ensure_run
from styles.fragility import CLASS_KEYS, INSUFFICIENT_KEY, class_colors, legend
from styles.palette import NO_DATA_COLOR
from tiles.zoom import band_for_zoom, geojson_decimals

router = APIRouter(tags=["fragility"])


def _round_number(request: Request, engine: DbEngine, ref: Round) -> int | None:
    """``?round=`` through the API's input layer (number or date, range-checked); fragility
    runs are kept per DTM round number, so a date is looked up to the number of its IDP round."""
    if ref.date is None:
        return ref.number
    with engine.connect() as conn:
        return round_filter(conn, ref, "idp")["round_number"]


RoundNumber = Annotated[int | None, Depends(_round_number)]
MethodParam = Annotated[
    str | None,
    Query(description="Method id (default: the shipped default method; others from DTM_ATLAS_FRAGILITY_METHODS_DIR)"),
]
OVERLAY_KEYS = (*reversed(CLASS_KEYS), INSUFFICIENT_KEY, "unassigned")


def method_path(request: Request, method: str | None) -> Path | None:
    """The file of the method ``method`` names: None for the default."""
    default, _ = load_method(None)
    if method in (None, "", default.id):
        return None
    folder = request.app.state.settings.fragility_methods_dir
    known = [default.id]
    if folder is not None and re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", method):
        for p in sorted(Path(folder).glob("*")):
            if p.suffix.lower() in (".yaml", ".yml", ".json"):
                try:
                    m, _ = load_method(p)
                except MethodError:
                    continue
                known.append(m.id)
                if m.id == method:
                    return p
    raise NotFound(f"unknown fragility method {method!r}; known: {', '.join(known)}")


async def get_run(request: Request, round_number: int | None, method: str | None) -> dict:
    path = method_path(request, method)
    # FragilityError 404, MethodError / InputError 422 (service.core.errors): the app's table answers
    run, _ = await run_in_threadpool(
        ensure_run,
        get_engine(request),
        shared_dir=request.app.state.settings.shared_data_dir,
        round_number=round_number,
        method_path=path,
        username="http",
    )
    return run


def _legend(run: dict, level: int) -> dict:
    m = run["method"]
    counts = run["summary"]["class_counts"] if level == 3 else None
    return legend(m["classes"]["thresholds"], m["classes"]["labels"], counts)


def _meta(run: dict, level: int) -> dict:
    return {
        "run_id": run["id"],
        "round_number": run["round_number"],
        "method_id": run["method_id"],
        "method_version": run["method_version"],
        "level": level,
        "computed_at": run["computed_at"].isoformat(),
        "stale": run["stale"],
        "method_card": f"/fragility/method?round={run['round_number']}&method={run['method_id']}",
        "credit": "IOM DTM",
    }


@router.get(
    "/fragility/overlay", summary="IDPs, returnees and locations per fragility class, nationally and per governorate"
)
async def fragility_overlay(
    request: Request,
    conn: Conn,
    round_number: RoundNumber,
    method: MethodParam = None,
    f: Annotated[Literal["json", "csv"] | None, Query(description="json (default) or csv")] = None,
):
    run = await get_run(request, round_number, method)
    rows = store.overlay(conn, run["id"])
    totals: dict = {}
    for pop, rid in (("idp", run["idp_round_id"]), ("returnee", run["returnee_round_id"])):
        if rid is not None:
            totals[pop] = read.national_totals(conn, rid)
    if f == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(
            [
                "scope",
                "adm1_pcode",
                "adm1_name_en",
                "adm1_name_ar",
                "fragility_class",
                "idps",
                "returnees",
                "idp_locations",
                "returnee_locations",
            ]
        )
        w.writerow(
            [
                "",
                "#adm1+code",
                "#adm1+name",
                "#adm1+name+i_ar",
                "#indicator+fragility+class",
                "#affected+idps+ind",
                "#affected+returnees+ind",
                "#loc+idps+count",
                "#loc+returnees+count",
            ]
        )
        for r in rows:
            w.writerow(
                [
                    "national" if r["national"] else "governorate",
                    "" if r["national"] else r["pcode"],
                    r["name_en"] or "",
                    r["name_ar"] or "",
                    r["class_key"],
                    r["idps"],
                    r["returnees"],
                    r["idp_locations"],
                    r["returnee_locations"],
                ]
            )
        name = f"irq_dtm_fragility_overlay_r{run['round_number']}_{run['method_id']}_{run['method_version']}.csv"
        return Response(
            buf.getvalue().encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    fields = ("idps", "returnees", "idp_locations", "returnee_locations")
    national = {r["class_key"]: {k: r[k] for k in fields} for r in rows if r["national"]}
    govs: dict[str, dict] = {}
    for r in rows:
        if r["national"]:
            continue
        g = govs.setdefault(
            r["pcode"], {"pcode": r["pcode"], "name_en": r["name_en"], "name_ar": r["name_ar"], "classes": {}}
        )
        g["classes"][r["class_key"]] = {k: r[k] for k in fields}
    sums = {k: sum(v[k] for v in national.values()) for k in fields}
    return JSONResponse(
        {
            "run": _meta(run, 3),
            "class_keys": list(OVERLAY_KEYS),
            "legend": _legend(run, 3),
            "national": national,
            "national_totals": sums,
            "round_totals": {
                "idps": (totals.get("idp") or {}).get("individuals"),
                "returnees": (totals.get("returnee") or {}).get("individuals"),
                "idp_locations": (totals.get("idp") or {}).get("locations"),
                "returnee_locations": (totals.get("returnee") or {}).get("locations"),
            },
            "governorates": list(govs.values()),
        }
    )


@router.get("/fragility/method", summary="The method card of a run (HTML; ?f=md Markdown, ?f=json)")
async def fragility_method(
    request: Request,
    round_number: RoundNumber,
    method: MethodParam = None,
    f: Annotated[Literal["html", "md", "json"] | None, Query()] = None,
):
    run = await get_run(request, round_number, method)
    if f == "md":
        return Response(markdown(run).encode(), media_type="text/markdown; charset=utf-8")
    if f == "json":
        return JSONResponse(
            {
                "run": _meta(run, 3),
                "legend": _legend(run, 3),
                "method": run["method"],
                "inputs": run["inputs"],
                "summary": run["summary"],
            }
        )
    return HTMLResponse(html_page(run))


@router.get(
    "/fragility/units/{pcode}",
    summary="One unit's fragility: index, class, dimension and indicator scores, uncertainty",
)
async def fragility_unit(
    request: Request, conn: Conn, pcode: str, round_number: RoundNumber, method: MethodParam = None
):
    from boundaries.pcode import normalize_pcode

    try:
        code = normalize_pcode(pcode)
    except ValueError as exc:
        raise BadRequest(f"{pcode!r} is not a P-code: {exc}") from exc
    run = await get_run(request, round_number, method)
    level = {5: 1, 8: 2, 11: 3}.get(len(code))
    row = store.unit(conn, run["id"], code)
    ranked = store.ranked_units(conn, run["id"], level) if level else 0
    if row is None:
        raise NotFound(
            f"no fragility result for {code} in round {run['round_number']} (a governorate, district "
            "or sub-district P-code of the run's boundary set)"
        )
    mt = run["method"]
    cls = row["class"]
    return JSONResponse(
        {
            **{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items() if k != "run_id"},
            "class_key": CLASS_KEYS[cls - 1] if cls else INSUFFICIENT_KEY,
            "class_label": mt["classes"]["labels"][cls - 1] if cls else "Insufficient data",
            "dimension_labels": {d["id"]: d["label"] for d in mt["dimensions"]},
            "indicator_labels": {i["id"]: i["label"] for i in mt["indicators"]},
            "ranked_units": ranked,
            "run": _meta(run, row["level"]),
        }
    )


@router.get("/fragility/{level}.geojson", summary="Fragility per unit with class, dimensions, uncertainty and legend")
async def fragility_geojson(
    request: Request,
    engine: DbEngine,
    level: Annotated[str, PathParam(description="3 (sub-districts), 2 or 1 (population-weighted); or adm1..adm3")],
    round_number: RoundNumber,
    method: MethodParam = None,
    zoom: Annotated[
        float | None, Query(ge=0, le=24, description="Map zoom the polygons are generalised for (default 5)")
    ] = 5,
):
    m = re.fullmatch(r"(?:adm)?([1-3])", level.lower())
    if not m:
        raise NotFound(f"unknown level {level!r}: use 1, 2 or 3 (or adm1..adm3)")
    lvl = int(m.group(1))
    run = await get_run(request, round_number, method)
    mt = run["method"]

    def produce() -> bytes:
        with engine.connect() as conn:
            return store.geojson(
                conn,
                run=run,
                level=lvl,
                zband=band_for_zoom(zoom),
                decimals=geojson_decimals(zoom),
                legend_json=json.dumps(_legend(run, lvl), ensure_ascii=False),
                meta_json=json.dumps(_meta(run, lvl), ensure_ascii=False),
                class_keys=list(CLASS_KEYS),
                class_labels=mt["classes"]["labels"],
                colors=class_colors(),
                no_data_color=NO_DATA_COLOR,
            ).encode()

    body = await run_in_threadpool(produce)
    return Response(body, media_type="application/geo+json")
