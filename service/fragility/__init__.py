"""Fragility overlays per sub-district (issue 12): method file, inputs, computation, storage.

``method`` (the versioned method file), ``inputs`` (DTM figures, population, indicator
tables), ``compute`` (index, classes, hotspots, uncertainty; no database), ``store`` (the
owner of the fragility tables), ``run`` (a run: inputs -> compute -> store, staleness),
``card`` (the method card), ``cli`` (``dtm-atlas fragility``).
"""
