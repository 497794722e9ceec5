"""Hooks for layers built elsewhere. Today: the fragility layer (issue 12).

When a module ``service.fragility`` exists, maps and the package use it through these names
(and skip it otherwise):

* ``map_values(conn, *, round_id, level, population) -> (Classification, {pcode: value})``:
  the fragility indicator's classes (a ``styles.classify.Classification``, the object its API
  legend serialises) and values per unit; ``maps render --indicator fragility`` draws it.
* ``overlay_table(conn, *, round_id) -> list[dict]``: the fragility overlay table of the
  package (one dict per unit; written as CSV and XLSX under ``tables/``).
* ``method_card(conn, *, round_id) -> str``: the method card (Markdown) of the run the overlay
  comes from, written as ``fragility_method.md``.

Optional (the package's fragility map needs them):

* ``run_status(conn, *, round_id) -> "current" | "stale" | None``: whether the round has a stored
  run, and whether an import changed its inputs since;
* ``refresh(engine, *, round_id)``: recompute the round's stale run.
"""

from __future__ import annotations

import importlib

REQUIRED = ("map_values", "overlay_table", "method_card")


def fragility():
    """The fragility module, or None while that layer does not exist (or lacks the hooks)."""
    try:
        mod = importlib.import_module("service.fragility")
    except ImportError:
        return None
    return mod if all(hasattr(mod, n) for n in REQUIRED) else None
