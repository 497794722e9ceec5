"""Indicator datasets (site assessments, location assessments, indices) as a kind of data in
the layer registry (``service/kinds.py``). Listed before the master lists: its choropleth
route only matches requests naming ``dataset=`` and must be seen before theirs on the same
path. Its datasets are rows of its tables (one per imported file), so they come through
``data_collections`` (OGC collections ``dataset{ID}-sites|locations|adm{N}``, exports)."""

from __future__ import annotations

from sqlalchemy import Connection

from service.core.registry import DataCollections, Kind


def _routers():
    from service.indicators import api

    return [api.choropleth_router, api.router]


def _cli():
    from service.cli import datasets

    return [("datasets", datasets.app)]


def _import_commands():
    from service.cli import datasets

    return [("sites", datasets.import_sites_cmd), ("assessment", datasets.assessment_cmd)]


def _list(conn: Connection, who):
    from service.indicators import ogc

    return ogc.collections(conn, who)


def _get(conn: Connection, cid: str, who):
    from service.indicators import ogc

    return ogc.get(conn, cid, who)


def _unit_sources():
    from service.indicators.values import SOURCE

    return {"dataset": SOURCE}


def _tile_layers():
    from service.indicators.tiles import LAYER, UNIT_LAYERS

    return [LAYER, *UNIT_LAYERS]


def _package_maps():
    from service.indicators.package_page import DatasetMaps

    return DatasetMaps()


KIND = Kind(
    name="indicators",
    title="Indicator datasets: site and location assessments, indices",
    owner_modules=("service.indicators.store",),
    access="restricted",  # each dataset is restricted until an editor publishes it (indicator_dataset.access)
    routers=_routers,
    cli=_cli,
    import_commands=_import_commands,
    tile_layers=_tile_layers,
    unit_sources=_unit_sources,  # the fragility method's source: dataset:<id>:<indicator>
    package_maps=_package_maps,  # a page of the round's information package per public dataset
    data_collections=DataCollections(_list, _get, "dataset{id}-{sites|locations|adm1|adm2|adm3}"),
)
