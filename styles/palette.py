"""The one source of map colours: choropleth GeoJSON, vector tiles, MapLibre styles, folium and
static maps all take their colours from here (and their class breaks from ``styles.classify``).

Every ramp is a ColorBrewer scheme (Cynthia Brewer, colorbrewer2.org, Apache-2.0) in its
per-class-count form: ColorBrewer tunes each k-class ramp separately, so a 5-class map uses
the 5-class colours, not 5 colours picked out of the 9-class ramp. All ramps used here are
marked colour-blind safe by ColorBrewer for every class count offered, and the sequential ones
run light to dark, so they also read in greyscale print.

Named palettes and where they are used:

``idp``       YlOrBr, sequential, 3-9 classes. Counts of IDPs (individuals, families) and the
              IDP share of the national total: every "idp-*" map, its GeoJSON classes, tiles
              and legend. Warm hues for people currently displaced.
``returnee``  YlGnBu, sequential, 3-9 classes. The same indicators for returnees: every
              "returnees-*" map. Cool hues, never confused with the IDP ramp side by side.
``change``    PuOr reversed, diverging, 3-11 classes (odd counts have a neutral middle class).
              Change in individuals between a round and the previous round of the same
              population: purple = fewer people, orange = more people, light grey-white
              middle = (about) no change. Classes are symmetric around 0 (styles.classify).
``fragility`` YlOrRd, sequential, 3-9 classes. The five fixed fragility classes (very low ..
              very high) of ``service.fragility``: its GeoJSON, tiles, web-map mode and legend
              (``styles.fragility``). "Insufficient data" takes ``NO_DATA_COLOR``.
``neutral``   Greys, sequential, 3-9 classes. Anything that is not a population figure
              (e.g. number of assessed locations) and monochrome print.

Fixed colours:

``NO_DATA_COLOR``     light grey: a unit with no figure for the round (null / NaN, or no row).
                      Achromatic, so it never collides with a hue of any ramp above; zero is
                      data and gets the ramp's first class, not this colour.
``UNASSIGNED_COLOR``  dark grey: the explicit 'UNASSIGNED' bucket (figures DTM reported but that
                      could not be placed in a unit). It has no polygon; it is used for its
                      legend swatch, bar charts and tables. Achromatic too, and far from
                      ``NO_DATA_COLOR`` in lightness, so the two stay apart for every kind of
                      colour vision.
``OUTLINE_COLOR``, ``PARENT_OUTLINE_COLOR``, ``LABEL_COLOR``, ``LABEL_HALO_COLOR``,
``BACKGROUND_COLOR``  map furniture shared by MapLibre styles and static maps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NO_DATA_COLOR = "#d9d9d9"
UNASSIGNED_COLOR = "#525252"
OUTLINE_COLOR = "#ffffff"
PARENT_OUTLINE_COLOR = "#4d4d4d"
LABEL_COLOR = "#252525"
LABEL_HALO_COLOR = "#ffffff"
BACKGROUND_COLOR = "#f4f4f2"


@dataclass(frozen=True)
class Palette:
    """A named ramp with ColorBrewer's colours for each class count it supports."""

    name: str
    kind: str  # "sequential" | "diverging"
    source: str
    used_for: str
    ramps: dict[int, tuple[str, ...]] = field(repr=False)

    @property
    def min_k(self) -> int:
        return min(self.ramps)

    @property
    def max_k(self) -> int:
        return max(self.ramps)

    @property
    def diverging(self) -> bool:
        return self.kind == "diverging"

    def colors(self, k: int) -> list[str]:
        """``k`` colours, light to dark (sequential) or negative to positive (diverging).

        ColorBrewer starts at 3 classes; 1 and 2 classes take colours from the 3-class ramp
        (the middle one alone, or its two ends for a sequential ramp; a diverging ramp gives
        its neutral middle for 1 class and its two ends for 2).
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k}")
        if k == 0:
            return []
        if k > self.max_k:
            raise ValueError(f"palette {self.name!r} has at most {self.max_k} classes, {k} asked")
        if k >= self.min_k:
            return list(self.ramps[k])
        three = self.ramps[3]
        return [three[1]] if k == 1 else [three[0], three[2]]


def _ramps(table: dict[int, list[str]], reverse: bool = False) -> dict[int, tuple[str, ...]]:
    return {k: tuple(reversed(v) if reverse else v) for k, v in table.items()}


_YLORBR = {
    3: ["#fff7bc", "#fec44f", "#d95f0e"],
    4: ["#ffffd4", "#fed98e", "#fe9929", "#cc4c02"],
    5: ["#ffffd4", "#fed98e", "#fe9929", "#d95f0e", "#993404"],
    6: ["#ffffd4", "#fee391", "#fec44f", "#fe9929", "#d95f0e", "#993404"],
    7: ["#ffffd4", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#8c2d04"],
    8: ["#ffffe5", "#fff7bc", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#8c2d04"],
    9: ["#ffffe5", "#fff7bc", "#fee391", "#fec44f", "#fe9929", "#ec7014", "#cc4c02", "#993404", "#662506"],
}
_YLGNBU = {
    3: ["#edf8b1", "#7fcdbb", "#2c7fb8"],
    4: ["#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"],
    5: ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"],
    6: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"],
    7: ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
    8: ["#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"],
    9: ["#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494", "#081d58"],
}
_GREYS = {
    3: ["#f0f0f0", "#bdbdbd", "#636363"],
    4: ["#f7f7f7", "#cccccc", "#969696", "#525252"],
    5: ["#f7f7f7", "#cccccc", "#969696", "#636363", "#252525"],
    6: ["#f7f7f7", "#d9d9d9", "#bdbdbd", "#969696", "#636363", "#252525"],
    7: ["#f7f7f7", "#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252", "#252525"],
    8: ["#ffffff", "#f0f0f0", "#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252", "#252525"],
    9: ["#ffffff", "#f0f0f0", "#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252", "#252525", "#000000"],
}
_YLORRD = {
    3: ["#ffeda0", "#feb24c", "#f03b20"],
    4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
    5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
    6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
    7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    8: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    9: ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026"],
}
# ColorBrewer lists PuOr orange -> purple; reversed here so negative change is purple.
_PUOR = {
    3: ["#f1a340", "#f7f7f7", "#998ec3"],
    4: ["#e66101", "#fdb863", "#b2abd2", "#5e3c99"],
    5: ["#e66101", "#fdb863", "#f7f7f7", "#b2abd2", "#5e3c99"],
    6: ["#b35806", "#f1a340", "#fee0b6", "#d8daeb", "#998ec3", "#542788"],
    7: ["#b35806", "#f1a340", "#fee0b6", "#f7f7f7", "#d8daeb", "#998ec3", "#542788"],
    8: ["#b35806", "#e08214", "#fdb863", "#fee0b6", "#d8daeb", "#b2abd2", "#8073ac", "#542788"],
    9: ["#b35806", "#e08214", "#fdb863", "#fee0b6", "#f7f7f7", "#d8daeb", "#b2abd2", "#8073ac", "#542788"],
    10: ["#7f3b08", "#b35806", "#e08214", "#fdb863", "#fee0b6", "#d8daeb", "#b2abd2", "#8073ac", "#542788", "#2d004b"],
    11: [
        "#7f3b08",
        "#b35806",
        "#e08214",
        "#fdb863",
        "#fee0b6",
        "#f7f7f7",
        "#d8daeb",
        "#b2abd2",
        "#8073ac",
        "#542788",
        "#2d004b",
    ],
}

PALETTES: dict[str, Palette] = {
    p.name: p
    for p in (
        Palette("idp", "sequential", "ColorBrewer YlOrBr", "IDP counts and shares (idp-* maps)", _ramps(_YLORBR)),
        Palette(
            "returnee",
            "sequential",
            "ColorBrewer YlGnBu",
            "returnee counts and shares (returnees-* maps)",
            _ramps(_YLGNBU),
        ),
        Palette(
            "change",
            "diverging",
            "ColorBrewer PuOr, reversed",
            "change between rounds: purple fewer, orange more, neutral middle",
            _ramps(_PUOR, reverse=True),
        ),
        Palette(
            "fragility",
            "sequential",
            "ColorBrewer YlOrRd",
            "the five fragility classes (service.fragility; styles.fragility)",
            _ramps(_YLORRD),
        ),
        Palette(
            "neutral", "sequential", "ColorBrewer Greys", "non-population indicators, monochrome print", _ramps(_GREYS)
        ),
    )
}


def get_palette(palette: str | Palette) -> Palette:
    if isinstance(palette, Palette):
        return palette
    try:
        return PALETTES[palette]
    except KeyError:
        raise ValueError(f"unknown palette {palette!r}; known: {', '.join(PALETTES)}") from None
