"""Emergency Tracking as a kind of data in the layer registry (``service/kinds.py`` lists it)."""

from __future__ import annotations

from service.core.datasets import Dataset
from service.core.registry import Kind, Registry


def _routers():
    from service.events.api import router

    return [router]


def _import_commands():
    from service.cli.events_flows import import_events_cmd

    return [("events", import_events_cmd)]


def _datasets(reg: Registry) -> list[Dataset]:
    from service.events.datasets import datasets

    return datasets()


def _tile_layers():
    from service.events.tiles import LAYERS

    return LAYERS


KIND = Kind(
    name="events",
    title="Emergency Tracking: daily events of a crisis",
    owner_modules=("service.events.importer",),
    access="public",
    routers=_routers,
    import_commands=_import_commands,
    datasets=_datasets,
    tile_layers=_tile_layers,
)
