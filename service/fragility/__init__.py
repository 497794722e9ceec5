"""Fragility overlays per sub-district (issue 12): method file, inputs, computation, storage.

``method`` (the versioned method file), ``inputs`` (DTM figures, population, indicator
tables), ``compute`` (index, classes, hotspots, uncertainty; no database), ``store`` (the
owner of the fragility tables), ``run`` (a run: inputs -> compute -> store, staleness),
``card`` (the method card), ``cli`` (``dtm-atlas fragility``).
"""


def map_values(conn, *, round_id, level, population):
    """The static maps' hook (``service.maps.hooks``): see ``service.fragility.maps``."""
    from service.fragility.maps import map_values as impl

    return impl(conn, round_id=round_id, level=level, population=population)


def overlay_table(conn, *, round_id):
    from service.fragility.maps import overlay_table as impl

    return impl(conn, round_id=round_id)


def method_card(conn=None, *, round_id=None):
    from service.fragility.maps import method_card as impl

    return impl(conn, round_id=round_id)


def run_status(conn, *, round_id):
    from service.fragility.maps import run_status as impl

    return impl(conn, round_id=round_id)


def refresh(engine, *, round_id, shared_dir):
    from service.fragility.maps import refresh as impl

    return impl(engine, round_id=round_id, shared_dir=shared_dir)
