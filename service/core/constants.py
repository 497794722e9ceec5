"""Names shared by every layer: populations and the unassigned bucket."""

from __future__ import annotations

#: The populations DTM counts, in the order they are offered.
POPULATIONS: tuple[str, ...] = ("idp", "returnee")

#: How the populations are named to people (legends, titles).
POPULATION_LABELS: dict[str, str] = {"idp": "IDPs", "returnee": "Returnees"}

#: The P-code of each level's bucket for locations no unit of that level holds. It is a row
#: of ``unit_figure``, not a polygon: spatial outputs leave it out and report it.
UNASSIGNED = "UNASSIGNED"
