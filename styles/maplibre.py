"""MapLibre GL style JSON (style spec version 8) for each published map.

A style draws one admin level from the service's vector tiles, coloured by the ``class``
property the tiles carry (the class index from ``styles.classify`` for the same round,
population and indicator, or null for no data), with the colours of the legend in the style's
``metadata["dtm-atlas:legend"]``. Fill colours are a ``match`` on ``class`` rather than a
``step`` on ``value``: the class is computed once, server side, by the same code for tiles,
GeoJSON and legend, so the map and the legend cannot disagree (a step expression would need
integer-snapped breaks and the symmetric diverging rule restated in the style language).

Everything a style points at is under ``base_url``: the tiles' TileJSON
(``{base_url}/tiles/{layer}.json?round=R&population=P&indicator=I``, ``R`` the DTM round
number) and, when labels are on, the glyphs (``{base_url}/fonts/{fontstack}/{range}.pbf``,
fontstack ``LABEL_FONT``). There is no basemap and no other URL, so styles work offline.
Labels are English names (``name_en``): Arabic shaping in MapLibre GL JS needs the RTL text
plugin, which is loaded from a URL of its own, so Arabic names are left to popups.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from styles.palette import (
    BACKGROUND_COLOR,
    LABEL_COLOR,
    LABEL_HALO_COLOR,
    NO_DATA_COLOR,
    OUTLINE_COLOR,
    PARENT_OUTLINE_COLOR,
)

LAYERS = {1: "governorates", 2: "districts", 3: "subdistricts"}
LEVEL_NAMES = {1: "governorate", 2: "district", 3: "sub-district"}
LABEL_FONT = "Noto Sans Regular"
LABEL_MINZOOM = {1: 4.5, 2: 6.5, 3: 8.0}
ZOOM = 5.0


def attribution(country_name: str, boundary_source: str = "OCHA COD-AB") -> str:
    """The attribution of a map of one country (its name from the data: service.api.webmap.country_names)."""
    return f"Figures: IOM DTM {country_name}. Boundaries: {boundary_source} ({country_name})."


def center_of(bounds: list[float] | None) -> list[float]:
    """The centre of [west, south, east, north] (the country's boundary set); [0, 0] without one."""
    if not bounds:
        return [0.0, 0.0]
    w, s, e, n = bounds
    return [round((w + e) / 2, 4), round((s + n) / 2, 4)]


@dataclass(frozen=True)
class PublishedMap:
    name: str
    title: str
    population: str  # idp | returnee
    level: int  # 1 governorate, 2 district, 3 sub-district
    indicator: str  # a key of styles.classify.INDICATORS
    country: str | None = None  # None: the country of the map's round (the latest, or ?country=)

    @property
    def layer(self) -> str:
        return LAYERS[self.level]

    def to_dict(self) -> dict:
        return {**asdict(self), "layer": self.layer}


PUBLISHED_MAPS: dict[str, PublishedMap] = {
    m.name: m
    for m in (
        PublishedMap("idp-by-governorate", "IDPs by governorate", "idp", 1, "individuals"),
        PublishedMap("idp-by-district", "IDPs by district", "idp", 2, "individuals"),
        PublishedMap("idp-by-subdistrict", "IDPs by sub-district", "idp", 3, "individuals"),
        PublishedMap("returnees-by-governorate", "Returnees by governorate", "returnee", 1, "individuals"),
        PublishedMap("returnees-by-district", "Returnees by district", "returnee", 2, "individuals"),
        PublishedMap("returnees-by-subdistrict", "Returnees by sub-district", "returnee", 3, "individuals"),
        PublishedMap(
            "idp-change-by-district", "Change in IDPs since the previous round, by district", "idp", 2, "change"
        ),
    )
}


def tilejson_url(
    base_url: str,
    layer: str,
    *,
    round_number: int | str,
    population: str,
    indicator: str,
    country: str | None = None,
    classes: str | None = None,
) -> str:
    """The TileJSON URL of a style's source; ``country`` and ``classes`` only when the style's request named them."""
    params = {"round": round_number, "population": population, "indicator": indicator}
    if country:
        params["country"] = country
    if classes:
        params["classes"] = classes
    query = urlencode(params)
    return f"{base_url.rstrip('/')}/tiles/{layer}.json?{query}"


def glyphs_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/fonts/{{fontstack}}/{{range}}.pbf"


def fill_color(legend: dict) -> str | list:
    """``["match", ["get", "class"], 0, c0, 1, c1, ..., no_data]``; the no-data colour alone for no classes."""
    no_data = legend.get("no_data_color", NO_DATA_COLOR)
    colors = legend.get("colors") or []
    if not colors:
        return no_data
    expr: list = ["match", ["get", "class"]]
    for i, c in enumerate(colors):
        expr += [i, c]
    return expr + [no_data]


def build_style(
    name: str,
    *,
    base_url: str,
    round_id: int | None,
    round_number: int | str,
    population: str,
    indicator: str,
    level: int,
    legend: dict,
    labels: bool = True,
    country: str | None = None,
    country_name: str | None = None,
    bounds: list[float] | None = None,
    boundary_source: str = "OCHA COD-AB",
    tile_country: str | None = None,
    classes: str | None = None,
) -> dict:
    """The MapLibre style of map ``name`` for one round; ``legend`` is ``Classification.to_dict()``."""
    if level not in LAYERS:
        raise ValueError(f"level must be one of {sorted(LAYERS)}, got {level!r}")
    base = base_url.rstrip("/")
    layer = LAYERS[level]
    source = f"dtm-{layer}"
    published = PUBLISHED_MAPS.get(name)
    title = published.title if published else name
    meta_legend = {
        **legend,
        "title": legend.get("title") or title,
        "map": name,
        "round": round_number,
        "round_id": round_id,
        "population": population,
        "indicator": indicator,
        "level": level,
        "layer": layer,
    }

    sources: dict = {
        source: {
            "type": "vector",
            "url": tilejson_url(
                base,
                layer,
                round_number=round_number,
                population=population,
                indicator=indicator,
                country=tile_country,
                classes=classes,
            ),
            "promoteId": "pcode",
        }
    }
    layers: list[dict] = [
        {"id": "background", "type": "background", "paint": {"background-color": BACKGROUND_COLOR}},
        {
            "id": f"{layer}-fill",
            "type": "fill",
            "source": source,
            "source-layer": layer,
            "paint": {"fill-color": fill_color(legend), "fill-opacity": 1, "fill-antialias": True},
        },
        {
            "id": f"{layer}-outline",
            "type": "line",
            "source": source,
            "source-layer": layer,
            "layout": {"line-join": "round"},
            "paint": {
                "line-color": ["case", ["boolean", ["feature-state", "hover"], False], LABEL_COLOR, OUTLINE_COLOR],
                "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.4, 8, 1.0, 12, 2.0],
            },
        },
    ]
    if level >= 2:
        parent = LAYERS[1]
        parent_source = f"dtm-{parent}"
        sources[parent_source] = {
            "type": "vector",
            "url": tilejson_url(
                base,
                parent,
                round_number=round_number,
                population=population,
                indicator=indicator,
                country=tile_country,
            ),
            "promoteId": "pcode",
        }
        layers.append(
            {
                "id": f"{parent}-boundary",
                "type": "line",
                "source": parent_source,
                "source-layer": parent,
                "layout": {"line-join": "round"},
                "paint": {
                    "line-color": PARENT_OUTLINE_COLOR,
                    "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.8, 8, 1.6, 12, 3.0],
                },
            }
        )

    style: dict = {
        "version": 8,
        "name": f"DTM Atlas: {title}, round {round_number}",
        "metadata": {
            "dtm-atlas:map": name,
            "dtm-atlas:legend": meta_legend,
            "dtm-atlas:attribution": attribution(country_name or country or "", boundary_source),
            "dtm-atlas:country": country,
            "dtm-atlas:bounds": bounds,
        },
        "center": center_of(bounds),
        "zoom": ZOOM,
        "sources": sources,
        "layers": layers,
    }
    if labels:
        style["glyphs"] = glyphs_url(base)
        layers.append(
            {
                "id": f"{layer}-label",
                "type": "symbol",
                "source": source,
                "source-layer": layer,
                "minzoom": LABEL_MINZOOM[level],
                "layout": {
                    "text-field": ["coalesce", ["get", "name_en"], ["get", "pcode"]],
                    "text-font": [LABEL_FONT],
                    "text-size": ["interpolate", ["linear"], ["zoom"], LABEL_MINZOOM[level], 10, 12, 14],
                    "text-max-width": 8,
                    "text-padding": 4,
                },
                "paint": {"text-color": LABEL_COLOR, "text-halo-color": LABEL_HALO_COLOR, "text-halo-width": 1.2},
            }
        )
    return style
