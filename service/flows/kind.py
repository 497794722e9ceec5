"""Flow Monitoring as a kind of data in the layer registry (``service/kinds.py`` lists it)."""

from __future__ import annotations

from service.core.datasets import Dataset
from service.core.registry import Kind, Registry


def _routers():
    from service.flows.api import router

    return [router]


def _import_commands():
    from service.cli.events_flows import import_flows_cmd

    return [("flows", import_flows_cmd)]


def _cli():
    from service.cli.events_flows import flows_app

    return [("flows", flows_app)]


def _datasets(reg: Registry) -> list[Dataset]:
    from service.flows.datasets import datasets

    return datasets()


def _package_maps():
    from service.flows.origin_map import PACKAGE_MAPS

    return PACKAGE_MAPS


def _tile_layers():
    from service.flows.tiles import LAYERS

    return LAYERS


KIND = Kind(
    name="flows",
    title="Flow Monitoring: counts at flow monitoring points",
    owner_modules=("service.flows.importer",),
    access="public",
    routers=_routers,
    cli=_cli,
    import_commands=_import_commands,
    datasets=_datasets,
    tile_layers=_tile_layers,
    package_maps=_package_maps,  # the master lists' origin-flow maps of the round
)
