"""MapLibre styles of the published maps: /styles and /styles/{name}.json.

Each style is classified from the round's real figures (``unit_figure``) with the indicator's
defaults, by the same code the vector tiles use for their ``class`` property
(``styles.queries.classification_for``), so the legend in the style's metadata and the tiles
agree. ``round`` is the DTM round number within the map's population (default: the latest
round of that population by reporting date).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from boundaries.store import set_source
from service.api.common import (
    Conn,
    FormatParam,
    JSONResponse,
    render,
)
from service.api.params import ClassesQuery, Country, Round
from service.core.countries import figures_country
from service.core.rounds import resolve_round, round_ref
from styles.classify import get_indicator
from styles.maplibre import PUBLISHED_MAPS, build_style
from styles.queries import classification_for, round_numbers

router = APIRouter(tags=["styles"])


def _serves_glyphs(request: Request) -> bool:
    """True when this server has the glyphs that label layers need (``/fonts/{fontstack}/{range}.pbf``,
    service.api.webmap: built at set-up by web/build-glyphs.js)."""
    from service.api.webmap import FONTS_DIR
    from styles.maplibre import LABEL_FONT

    return (FONTS_DIR / LABEL_FONT / "0-255.pbf").is_file()


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _country_of(conn, rnd: dict) -> dict:
    """The style's country, its name, the bounds and source of the round's boundary set (from the data)."""
    from service.core.countries import SOURCE_NAMES, country_names
    from tiles.mvt import set_bounds

    source = set_source(conn, rnd["boundary_set_id"])
    return {
        "country": rnd["country"],
        "country_name": country_names(rnd["country"])[0],
        "bounds": set_bounds(conn, [rnd["boundary_set_id"]]),
        "boundary_source": SOURCE_NAMES.get(source, source or ""),
    }


@router.get("/styles", summary="The published maps and their MapLibre style URLs")
def list_styles(request: Request, conn: Conn, country: Country, f: FormatParam = None):
    base = _base_url(request)
    suffix = f"?country={country}" if country else ""
    rounds: dict[tuple, list[int]] = {}
    maps = []
    for m in PUBLISHED_MAPS.values():
        ind = get_indicator(m.indicator)
        # the map's country: ?country=, else the one country with figures of the population (400 when several)
        key = (m.population, figures_country(conn, country or m.country, m.population))
        if key not in rounds:
            rounds[key] = round_numbers(conn, *key)
        available = rounds[key]
        maps.append(
            {
                **m.to_dict(),
                "indicator_label": ind.label,
                "rounds": available,
                "latest_round": available[-1] if available else None,
                "style_url": f"{base}/styles/{m.name}.json{suffix}",
            }
        )
    data = {"count": len(maps), "maps": maps}
    return render(
        request,
        f,
        data,
        title="Map styles",
        rows=[
            {
                "name": m["name"],
                "title": m["title"],
                "population": m["population"],
                "layer": m["layer"],
                "indicator": m["indicator"],
                "latest_round": m["latest_round"],
            }
            for m in maps
        ],
        link_fields={"name": "/styles/{}.json"},
    )


@router.get("/styles/{name}.json", summary="MapLibre style (spec v8) of a published map, legend in its metadata")
def get_style(
    request: Request,
    conn: Conn,
    name: Annotated[str, Path(description="A published map, e.g. idp-by-district (see /styles)")],
    rnd_ref: Round,
    country: Country,
    labels: Annotated[
        bool | None,
        Query(description="Label layer with English names (default: when this server serves glyphs under /fonts)"),
    ] = None,
    classes: ClassesQuery = None,
    f: FormatParam = None,
):
    m = PUBLISHED_MAPS.get(name)
    if m is None:
        names = sorted(PUBLISHED_MAPS)
        return JSONResponse(
            {"status": 404, "detail": f"no published map {name!r}; published maps: {', '.join(names)}", "names": names},
            status_code=404,
        )
    named = country or m.country
    # omitted: the one country with figures of the map's population (400 listing them when several)
    country = figures_country(conn, named, m.population, rnd_ref.number, rnd_ref.date)
    rnd = resolve_round(conn, rnd_ref, m.population, country)  # RoundNotFound: 404

    scheme = classes.value if classes else None
    classification, values = classification_for(
        conn, round_id=rnd["id"], level=m.level, indicator=m.indicator, population=m.population, classes=scheme
    )
    legend = classification.to_dict()
    legend["reporting_date"] = rnd["reporting_date"].isoformat()
    legend["units"] = len(values)
    style = build_style(
        m.name,
        base_url=_base_url(request),
        round_id=rnd["id"],
        round_number=round_ref(rnd),
        population=m.population,
        indicator=m.indicator,
        level=m.level,
        legend=legend,
        labels=_serves_glyphs(request) if labels is None else labels,
        tile_country=named,
        classes=scheme,
        **_country_of(conn, rnd),
    )
    return render(
        request,
        f,
        style,
        title=f"{m.title}, round {round_ref(rnd)}",
        rows=[
            {"class": i, "label": label, "color": color, "units": count}
            for i, (label, color, count) in enumerate(zip(legend["labels"], legend["colors"], legend["counts"]))
        ]
        + [
            {
                "class": None,
                "label": legend["no_data_label"],
                "color": legend["no_data_color"],
                "units": legend["no_data_count"],
            }
        ],
    )
