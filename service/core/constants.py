"""Names shared by every layer: populations, the unassigned bucket, how many files import at once."""

from __future__ import annotations

#: The populations DTM counts, in the order they are offered.
POPULATIONS: tuple[str, ...] = ("idp", "returnee")

#: How the populations are named to people (legends, titles).
POPULATION_LABELS: dict[str, str] = {"idp": "IDPs", "returnee": "Returnees"}

#: The P-code of each level's bucket for locations no unit of that level holds. It is a row
#: of ``unit_figure``, not a polygon: spatial outputs leave it out and report it.
UNASSIGNED = "UNASSIGNED"

#: Master lists imported at once by a multi-file import (``import masterlist --jobs``). On two
#: CPUs, bench/history_bench.py: the whole history in 29.5 s with three, 29.2 s with two, 57.8 s
#: one by one on a quiet machine; with another session using a CPU three beat two (52 s against
#: 60 s): while one import waits for its turn, its commit or its file, the others keep the CPUs busy.
IMPORT_JOBS = 3
