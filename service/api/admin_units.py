"""Admin units and boundaries: /admin-units, /admin-units/{pcode}, /boundaries/{level}.geojson."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from boundaries import store
from boundaries.pcode import normalize_pcode, to_dtm_pcode
from service.api.common import Conn, FormatParam, bad_request, not_found, render
from tiles.zoom import band_for_zoom, geojson_decimals

router = APIRouter(tags=["admin units"])

Level = Annotated[int | None, Query(ge=0, le=3, description="Admin level: 0 country, 1 governorate, 2 district, 3 sub-district")]
Country = Annotated[str | None, Query(description="ISO3 (or ISO2) country code, e.g. IRQ")]


def _country(value: str | None) -> str | None:
    if not value:
        return None
    from boundaries.pcode import iso3_from_iso2

    v = value.strip().upper()
    if len(v) == 2:
        v = iso3_from_iso2(v) or v
    if not re.fullmatch(r"[A-Z]{3}", v):
        raise bad_request(f"country must be an ISO 3166 alpha-3 code such as IRQ, got {value!r}")
    return v


def _pcode(value: str, what: str = "pcode") -> str:
    try:
        return normalize_pcode(value)
    except ValueError as exc:
        raise bad_request(f"{what} {value!r} is not a P-code: {exc}") from exc


@router.get("/admin-units", summary="List admin units (any P-code form; q searches English and Arabic names)")
def list_admin_units(
    request: Request,
    conn: Conn,
    level: Level = None,
    parent: Annotated[str | None, Query(description="Parent P-code, any form (IQG07, IRQ-G07)")] = None,
    country: Country = None,
    q: Annotated[str | None, Query(description="Search in English, Arabic and alternate names, or a P-code")] = None,
    boundary_set: Annotated[int | None, Query(description="Boundary set id (default: the current set)")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
    f: FormatParam = None,
):
    total, units = store.list_units(
        conn, level=level, parent=_pcode(parent, "parent") if parent else None, country=_country(country),
        q=q, boundary_set=boundary_set, limit=limit, offset=offset,
    )
    for u in units:
        u["dtm_pcode"] = to_dtm_pcode(u["pcode"])
        u["valid_on"] = u["valid_on"].isoformat() if u["valid_on"] else None
    data = {"total": total, "count": len(units), "offset": offset, "limit": limit, "units": units}
    return render(request, f, data, title="Admin units", rows=[
        {k: u[k] for k in ("pcode", "level", "name_en", "name_ar", "parent_pcode", "area_km2")} for u in units
    ], link_fields={"pcode": "/admin-units/{}"})


@router.get("/admin-units/{pcode}", summary="One admin unit as a GeoJSON Feature")
def get_admin_unit(
    request: Request,
    conn: Conn,
    pcode: Annotated[str, Path(description="P-code in any form: IQG07Q02, IRQ-G07Q02, iqg07q02")],
    boundary_set: Annotated[int | None, Query()] = None,
    f: FormatParam = None,
):
    feature = store.get_unit_feature(conn, _pcode(pcode), boundary_set)
    if feature is None:
        raise not_found(f"no admin unit with P-code {pcode!r} (normalised {normalize_pcode(pcode)}) in the current boundaries")
    feature["properties"]["dtm_pcode"] = to_dtm_pcode(feature["id"])
    vo = feature["properties"].get("valid_on")
    feature["properties"]["valid_on"] = vo.isoformat() if vo else None
    props = dict(feature["properties"])
    props.pop("children", None)
    return render(request, f, feature, title=f"{props.get('name_en')} ({feature['id']})",
                  rows=[props] + [{"pcode": c["pcode"], "level": "child", "name_en": c["name_en"], "name_ar": c["name_ar"]}
                                  for c in feature["properties"].get("children") or []],
                  media_type="application/geo+json")


@router.get("/boundaries/{level}.geojson", summary="All units of a level as GeoJSON, simplified for a zoom")
def boundaries_geojson(
    conn: Conn,
    level: Annotated[str, Path(description="0-3 or adm0-adm3")],
    country: Country = None,
    zoom: Annotated[float | None, Query(ge=0, le=24, description="Map zoom: geometry generalised (shared edges kept) for it; omit for full detail")] = None,
):
    m = re.fullmatch(r"(?:adm)?([0-3])", level.lower())
    if not m:
        raise not_found(f"unknown level {level!r}: use 0, 1, 2, 3 (or adm0..adm3)")
    body = store.boundaries_geojson(
        conn, level=int(m.group(1)), country=_country(country), zband=band_for_zoom(zoom), decimals=geojson_decimals(zoom)
    )
    return Response(body, media_type="application/geo+json")
