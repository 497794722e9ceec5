"""What the web map reads besides the page itself (service.api.web): see docs/webmap.md.

* ``GET /webmap/countries``: the countries that have boundaries (current set, bounds, levels,
  names in English and Arabic, attribution) and how many rounds of each population they hold.
* ``GET /webmap/geometry/{set}/{layers}/{z}/{x}/{y}.mvt?v=STAMP``: geometry-only admin tiles of
  one boundary set (tiles.geometry), which no round changes. With the set's current ``v``
  they are ``immutable``: a browser fetches each tile once per boundary release.
* ``GET /webmap/figures/{level}.json``: one round's figures of a level, compact and columnar
  (P-codes, classes, values, individuals, families) with the legend, cached per data version,
  ETag and gzip. The map joins them to the geometry tiles by feature state (P-code), so a round
  step costs this one small answer (a few KB) instead of every tile in view. The tile endpoints
  (/tiles) still serve figures in their tiles to other clients.
* ``GET /fonts/{fontstack}/{range}.pbf``: label glyphs built at set-up from Debian's Noto fonts
  by web/build-glyphs.js (fontnik) into web/build/fonts.
* ``GET /vendor/mapbox-gl-rtl-text@{version}/mapbox-gl-rtl-text.mjs`` (and ``.js``): MapLibre's RTL
  text plugin (Arabic shaping and bidi, WebAssembly), from web/node_modules. The page names the
  ``.mjs`` URL: MapLibre's worker loads a ``.mjs`` plugin with ``import()``, where a ``.js`` one is
  fetched and passed to ``eval`` -- which the Content-Security-Policy (service/api/limits.py)
  does not allow. The file is the same (its UMD wrapper registers it on ``self`` either way).
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from boundaries.store import current_sets_summary
from service.api.common import (
    Conn,
    DbEngine,
)
from service.api.httpcache import cached, get_service
from service.api.params import ClassesQuery, Country, parse_round
from service.api.tiles import IndicatorName, Population
from service.api.web import IMMUTABLE, REVALIDATE, WEB_DIR, asset_response, load_asset
from service.core.countries import SOURCE_NAMES, country_names, figures_country
from service.core.errors import BadRequest, NotFound
from service.core.importlog import data_version
from service.core.rounds import resolve_round
from service.figures import read
from styles.queries import classification_for
from tiles import geometry
from tiles.layers import ADMIN_LAYER_OF_LEVEL
from tiles.mvt import check_tile

router = APIRouter(tags=["web map"])

FONTS_DIR = WEB_DIR / "build" / "fonts"
RTL_DIR = WEB_DIR / "node_modules" / "@mapbox" / "mapbox-gl-rtl-text"
RTL_FILE = "mapbox-gl-rtl-text.js"
MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
_RANGE = re.compile(r"(\d+)-(\d+)")
_LEVEL_OF_LAYER = {layer_id: level for level, layer_id in ADMIN_LAYER_OF_LEVEL.items()}


# -------------------------------------------------------------------------------- countries
def countries(conn) -> list[dict]:
    rows = current_sets_summary(conn)
    out = []
    for r in rows:
        en, ar = country_names(r["country"])
        source = SOURCE_NAMES.get(r["source"], r["source"])
        out.append(
            {
                "country": r["country"],
                "name_en": en,
                "name_ar": ar,
                "boundary_set": {
                    "id": r["id"],
                    "source": r["source"],
                    "valid_on": r["valid_on"].isoformat(),
                    "stamp": f"{r['id']}.{r['last_import']}.{r['units']}",
                },
                "levels": [lvl for lvl in r["levels"] if lvl in ADMIN_LAYER_OF_LEVEL],
                "bounds": [round(float(r[k]), 6) for k in ("w", "s", "e", "n")],
                "rounds": r["rounds"] or {},
                "attribution_en": f"Figures: IOM DTM {en}. Boundaries: {source} ({en}), "
                f"valid on {r['valid_on'].isoformat()}.",
                "attribution_ar": f"الأرقام: مصفوفة تتبع النزوح (IOM DTM)، {ar}. الحدود: {source}، {ar}.",
            }
        )
    return out


@router.get("/webmap/countries", summary="Countries with boundaries, for the web map's chooser")
def list_countries(conn: Conn):
    version = data_version(conn)
    return {"data_version": version, "countries": countries(conn)}


# ------------------------------------------------------------------------------ geometry tiles
def _geometry_layers(spec: str) -> list[int]:
    levels = []
    for name in spec.split(","):
        level = _LEVEL_OF_LAYER.get(name.strip())
        if level is None:
            raise NotFound(
                f"unknown admin layer {name!r}; geometry layers: {', '.join(_LEVEL_OF_LAYER)} "
                "(several: comma-separated)"
            )
        if level in levels:
            raise BadRequest(f"layer {name!r} named twice in {spec!r}")
        levels.append(level)
    return levels


@router.get(
    "/webmap/geometry/{set_id}/{layers}/{z}/{x}/{y}.mvt",
    response_class=Response,
    summary="Geometry-only admin tile of a boundary set (no figures), with a labels layer",
)
async def geometry_tile(
    request: Request,
    engine: DbEngine,
    set_id: Annotated[int, Path(ge=1, description="Boundary set id (see /webmap/countries)")],
    layers: Annotated[str, Path(description="governorates, districts, subdistricts; several comma-separated")],
    z: int,
    x: int,
    y: int,
    v: Annotated[str | None, Query(description="The set's stamp (/webmap/countries): immutable when current")] = None,
):
    levels = _geometry_layers(layers)
    check_tile(z, x, y)  # TileError: 400
    if not geometry.MIN_ZOOM <= z <= geometry.MAX_ZOOM:
        raise BadRequest(
            f"geometry tiles go from zoom {geometry.MIN_ZOOM} to {geometry.MAX_ZOOM}; "
            "above, clients overzoom the last one"
        )

    def stamp() -> str | None:
        with engine.connect() as conn:
            return geometry.set_stamp(conn, set_id)

    from starlette.concurrency import run_in_threadpool

    current = await run_in_threadpool(stamp)
    if current is None:
        raise NotFound(f"no boundary set {set_id} with units; see /webmap/countries")

    def produce() -> bytes:
        with engine.connect() as conn:
            return geometry.render(conn, set_id, levels, z, x, y)

    resp = await cached(request, "webmap-geometry", (current, tuple(levels), z, x, y), MVT_MEDIA_TYPE, produce)
    resp.headers["Cache-Control"] = IMMUTABLE if v == current else REVALIDATE
    return resp


# ------------------------------------------------------------------------------------ figures
def _round(conn, country: str, population: str, spec: str | None) -> dict:
    """The round ``?round=`` names (DTM number or reporting date, parsed and range-checked by
    the API's input layer) in the country; the latest without one."""
    return resolve_round(conn, parse_round(spec), population, country)  # RoundNotFound: 404


def figures_body(
    conn,
    *,
    country: str,
    population: str,
    round_spec: str | None,
    level: int,
    indicator: str,
    classes: str | None = None,
) -> bytes:
    rnd = _round(conn, country, population, round_spec)
    classification, values = classification_for(
        conn, round_id=rnd["id"], level=level, indicator=indicator, population=population, classes=classes
    )
    rows = read.unit_counts(conn, rnd["id"], level)
    body = {
        "country": country,
        "population": population,
        "level": level,
        "indicator": indicator,
        "round": {
            "round_number": rnd["round_number"],
            "reporting_date": rnd["reporting_date"].isoformat(),
            "boundary_set_id": rnd["boundary_set_id"],
        },
        "legend": classification.to_dict(),
        "pcode": [r.pcode for r in rows],
        "class": [classification.class_of(values.get(r.pcode)) for r in rows],
        "value": [values.get(r.pcode) for r in rows],
        "individuals": [r.individuals for r in rows],
        "families": [r.families for r in rows],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_num).encode()


def _num(v):
    return float(v)  # Decimal -> number


@router.get("/webmap/figures/{level}.json", summary="One round's figures of a level, compact (columns by P-code)")
async def figures(
    request: Request,
    engine: DbEngine,
    level: Annotated[int, Path(ge=1, le=3, description="1 governorates, 2 districts, 3 sub-districts")],
    country: Country,
    population: Population = Population.idp,
    round: Annotated[
        str | None, Query(description="DTM round number or reporting date YYYY-MM-DD (default: the latest)")
    ] = None,
    indicator: IndicatorName = IndicatorName.individuals,
    classes: ClassesQuery = None,
):
    scheme = classes.value if classes else None
    if country is None:  # the shared rule: the one country with rounds of the population, else a 400 listing them
        with engine.connect() as conn:
            country = figures_country(conn, None, population.value)
        if country is None:
            raise NotFound(f"no {population.value} round imported yet; see /rounds")
    get_service(request.app)

    def produce() -> bytes:
        with engine.connect() as conn:
            return figures_body(
                conn,
                country=country,
                population=population.value,
                round_spec=round,
                level=level,
                indicator=indicator.value,
                classes=scheme,
            )

    return await cached(
        request,
        "webmap-figures",
        (country, population.value, round, level, indicator.value, scheme),
        "application/json",
        produce,
    )


# --------------------------------------------------------------------------- glyphs, plugin
@router.get("/fonts/{fontstack}/{range_}.pbf", include_in_schema=False)
def glyphs(request: Request, fontstack: str, range_: str):
    m = _RANGE.fullmatch(range_)
    if not m or int(m.group(1)) % 256 or int(m.group(2)) != int(m.group(1)) + 255 or int(m.group(2)) > 65535:
        raise BadRequest(
            f"glyph range {range_!r}: expected START-END with START a multiple of 256 "
            "and END = START + 255, up to 65535"
        )
    stacks = sorted(p.name for p in FONTS_DIR.iterdir() if p.is_dir()) if FONTS_DIR.is_dir() else []
    for name in (s.strip() for s in fontstack.split(",")):  # a fontstack may list fallbacks
        if name in stacks:
            path = FONTS_DIR / name / f"{range_}.pbf"
            if path.is_file():
                return asset_response(request, load_asset(path), "public, max-age=86400")
    if not stacks:
        raise NotFound(
            "no glyphs have been built: run web/install.sh (./dev setup), which builds them from "
            "Debian's fonts-noto-core"
        )
    raise NotFound(f"no fontstack {fontstack!r}; fontstacks: {', '.join(stacks)}")


def rtl_version() -> str | None:
    try:
        return json.loads((RTL_DIR / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


@router.get("/vendor/mapbox-gl-rtl-text@{version}/" + RTL_FILE, include_in_schema=False)
@router.get("/vendor/mapbox-gl-rtl-text@{version}/" + RTL_FILE.replace(".js", ".mjs"), include_in_schema=False)
def rtl_plugin(request: Request, version: str):
    installed = rtl_version()
    if installed is None or not (RTL_DIR / "dist" / RTL_FILE).is_file():
        raise NotFound("the RTL text plugin is not installed: run web/install.sh (./dev setup)")
    if version != installed:
        raise NotFound(f"mapbox-gl-rtl-text {version} is not installed here (installed: {installed}); reload /")
    return asset_response(request, load_asset(RTL_DIR / "dist" / RTL_FILE), IMMUTABLE)
