"""File exports: ``GET /exports`` (what can be exported) and ``GET /exports/{dataset}.{ext}``."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from service.api.access import answer_scope_of, authorize_dataset_sync, current, dataset_visible
from service.api.common import Conn, DbEngine, FormatParam, render
from service.api.params import Country, Population, Round
from service.core.access import Scope
from service.core.disclosure import Rule
from service.core.registry import registry
from service.core.rounds import round_filter
from service.publish import exports
from service.publish.datasets import DATASETS

router = APIRouter(tags=["exports"])


def _disposition(filename: str) -> str:
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"


@router.get("/exports", summary="Datasets and file formats that can be exported")
def list_exports(request: Request, engine: DbEngine, f: FormatParam = None):
    base = str(request.base_url).rstrip("/")
    rows = []
    for ds in DATASETS.values():
        if not dataset_visible(request, ds.key):  # datasets a role cannot see do not exist for it
            continue
        rows.append(
            {
                "dataset": ds.key,
                "title": ds.title,
                "per_round": ds.per_round,
                "geometry": ds.geometry_type,
                "formats": ", ".join(exports.FORMATS),
                "example": f"{base}/exports/{ds.key}.gpkg" + ("?round=120&population=idp" if ds.per_round else ""),
            }
        )
    with engine.connect() as conn:  # the kinds' datasets held as data, as the reader may see them
        for dc in registry().data_collections():
            for cid, ds, _country in dc.list(conn, current(request)):
                rows.append(
                    {
                        "dataset": cid,
                        "title": ds.title,
                        "per_round": False,
                        "geometry": ds.geometry_type,
                        "formats": ", ".join(exports.FORMATS),
                        "example": f"{base}/exports/{cid}.gpkg",
                    }
                )
    data = {
        "datasets": rows,
        "formats": [{"ext": fm.ext, "label": fm.label, "media_type": fm.media_type} for fm in exports.FORMATS.values()],
        "zip": "add ?zip=1 for a zip with README.txt (shapefiles are always zipped)",
        "unassigned": "figures-admN: the UNASSIGNED bucket has no polygon; spatial formats leave it out, CSV and "
        "XLSX keep it as the row pcode = UNASSIGNED",
    }
    return render(request, f, data, title="Exports", rows=rows)


@router.get(
    "/exports/{name}",
    summary="A dataset as a file: shp (zipped), gpkg, kml, geojson, fgb, csv, xlsx",
    response_class=FileResponse,
    responses={
        400: {"description": "country omitted while several countries have figures (or boundaries) to export"},
        404: {"description": "Unknown dataset, format or round, or a country without data"},
    },
)
def export_file(
    request: Request,
    engine: DbEngine,
    conn: Conn,
    name: Annotated[
        str,
        PathParam(
            description="`{dataset}.{ext}`, e.g. `figures-adm2.gpkg`, `locations.csv`, "
            "`admin1.shp` (or `admin1.shp.zip`); `.gpkg.zip` etc. zips the file"
        ),
    ],
    rnd_ref: Round,
    country: Country,
    population: Population = None,
    zip: Annotated[bool, Query(description="Zip the file with a README (always on for shapefiles)")] = False,
):
    dataset, ext, zipped = exports.split_name(name)
    held = None  # a dataset a kind holds as data (an indicator dataset's sites, its aggregates per level)
    if dataset in DATASETS:
        who = authorize_dataset_sync(request, dataset, country)
    else:
        who = current(request)
        held = exports.data_collection(conn, dataset, who)
        if held is not None:
            who = authorize_dataset_sync(request, held[0], held[1])  # its own level (Dataset.access)
    # ExportError: its own status (service.api.errors)
    job = exports.prepare(
        conn,
        dataset,
        ext,
        **round_filter(conn, rnd_ref, population, country),
        population=population,
        zipped=zip or zipped,
        country=country,  # omitted and several countries with figures (or boundaries): 400 listing them
        dataset=held,
    )
    if job.dataset.disclosure:  # a public output of an assessment: the rule in its README
        job.meta["disclosure"] = job.dataset.disclosure
    scope = answer_scope_of(request)
    if held is not None and held[0].level is not None and scope is Scope.PUBLIC:  # public aggregates: the rule
        job.meta["disclosure"] = Rule.from_settings(request.app.state.settings).text()
    if scope is not Scope.PUBLIC:  # data not public: the file says who asked for it (README, metadata)
        job.meta["access"] = {Scope.SHARED: "partner", Scope.RESTRICTED: "restricted"}[scope]
        job.meta["requested_by"] = who.describe()
    conn.close()  # the export reads through connections of its own
    # (engine: the primary, or the replica conn was on: service/api/reads.py)
    headers = {"content-disposition": _disposition(job.filename), "x-dtm-dataset": job.dataset.key}
    if job.fmt.streamed and not job.zipped:
        return StreamingResponse(exports.stream(engine, job), media_type=job.media_type, headers=headers)
    tmp = Path(tempfile.mkdtemp(prefix="dtm-export-"))
    try:
        path = exports.write(engine, job, tmp)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=job.media_type,
        headers=headers,
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )
