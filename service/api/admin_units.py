"""Admin units and boundaries: /admin-units, /admin-units/{pcode}, /boundaries/{level}.geojson."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from boundaries import store
from boundaries.pcode import to_dtm_pcode
from service.api.common import (
    Conn,
    FormatParam,
    render,
)
from service.api.params import (
    BoundarySet,
    Country,
    LevelPath,
    LevelQuery,
    Offset,
    ParentQuery,
    PcodePath,
    limit_query,
)
from service.core.countries import geometry_country
from service.core.errors import NotFound
from tiles.zoom import band_for_zoom, geojson_decimals

router = APIRouter(tags=["admin units"])


@router.get("/admin-units", summary="List admin units (any P-code form; q searches English and Arabic names)")
def list_admin_units(
    request: Request,
    conn: Conn,
    parent: ParentQuery,
    country: Country,
    level: LevelQuery = None,
    q: Annotated[str | None, Query(description="Search in English, Arabic and alternate names, or a P-code")] = None,
    boundary_set: BoundarySet = None,
    limit: limit_query(5000) = 1000,
    offset: Offset = 0,
    f: FormatParam = None,
):
    total, units = store.list_units(
        conn,
        level=level,
        parent=parent,
        country=country,
        q=q,
        boundary_set=boundary_set,
        limit=limit,
        offset=offset,
    )
    for u in units:
        u["dtm_pcode"] = to_dtm_pcode(u["pcode"])
        u["valid_on"] = u["valid_on"].isoformat() if u["valid_on"] else None
    data = {"total": total, "count": len(units), "offset": offset, "limit": limit, "units": units}
    return render(
        request,
        f,
        data,
        title="Admin units",
        rows=[{k: u[k] for k in ("pcode", "level", "name_en", "name_ar", "parent_pcode", "area_km2")} for u in units],
        link_fields={"pcode": "/admin-units/{}"},
    )


@router.get("/admin-units/{pcode}", summary="One admin unit as a GeoJSON Feature")
def get_admin_unit(
    request: Request,
    conn: Conn,
    pcode: PcodePath,
    boundary_set: BoundarySet = None,
    f: FormatParam = None,
):
    feature = store.get_unit_feature(conn, pcode, boundary_set)
    if feature is None:
        raise NotFound(f"no admin unit with P-code {pcode!r} in the current boundaries")
    feature["properties"]["dtm_pcode"] = to_dtm_pcode(feature["id"])
    vo = feature["properties"].get("valid_on")
    feature["properties"]["valid_on"] = vo.isoformat() if vo else None
    props = dict(feature["properties"])
    props.pop("children", None)
    return render(
        request,
        f,
        feature,
        title=f"{props.get('name_en')} ({feature['id']})",
        rows=[props]
        + [
            {"pcode": c["pcode"], "level": "child", "name_en": c["name_en"], "name_ar": c["name_ar"]}
            for c in feature["properties"].get("children") or []
        ],
        media_type="application/geo+json",
    )


@router.get("/boundaries/{level}.geojson", summary="All units of a level as GeoJSON, simplified for a zoom")
def boundaries_geojson(
    conn: Conn,
    level: LevelPath,
    country: Country,
    zoom: Annotated[
        float | None,
        Query(
            ge=0, le=24, description="Map zoom: geometry generalised (shared edges kept) for it; omit for full detail"
        ),
    ] = None,
):
    body = store.boundaries_geojson(
        conn,
        level=level,
        country=geometry_country(conn, country),
        zband=band_for_zoom(zoom),
        decimals=geojson_decimals(zoom),
    )
    return Response(body, media_type="application/geo+json")
