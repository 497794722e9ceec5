"""The fragility legend: five fixed classes of a method, coloured from the ``fragility``
palette (``styles.palette``), plus "insufficient data" in the no-data grey. The GeoJSON,
the tile layer, the web map's fragility mode and the method card all take it from here.
"""

from __future__ import annotations

from styles.palette import NO_DATA_COLOR, get_palette

CLASS_KEYS = ("very_low", "low", "medium", "high", "very_high")
INSUFFICIENT_KEY = "insufficient_data"
INSUFFICIENT_LABEL = "Insufficient data"


def class_colors() -> list[str]:
    return get_palette("fragility").colors(5)


def legend(
    thresholds: list[float],
    labels: list[str],
    counts: dict[str, int] | None = None,
    title: str = "Fragility index (0-100)",
) -> dict:
    """Legend JSON: one entry per class with its range ``[lower, upper)`` (the last class
    includes 100), colour and unit count, then "insufficient data"."""
    colors = class_colors()
    bounds = [0.0, *thresholds, 100.0]
    classes = []
    for i, key in enumerate(CLASS_KEYS):
        lo, hi = bounds[i], bounds[i + 1]
        rng = f"{lo:g} – {hi:g}" if i == 4 else f"{lo:g} – < {hi:g}"
        classes.append(
            {
                "class": i + 1,
                "key": key,
                "label": labels[i],
                "range": rng,
                "lower": lo,
                "upper": hi,
                "color": colors[i],
                "count": (counts or {}).get(key),
            }
        )
    classes.append(
        {
            "class": None,
            "key": INSUFFICIENT_KEY,
            "label": INSUFFICIENT_LABEL,
            "range": None,
            "color": NO_DATA_COLOR,
            "count": (counts or {}).get(INSUFFICIENT_KEY),
        }
    )
    return {
        "title": title,
        "palette": "fragility",
        "rule": "class i holds t(i-1) <= index < t(i)",
        "thresholds": list(thresholds),
        "classes": classes,
        "no_data_color": NO_DATA_COLOR,
    }
