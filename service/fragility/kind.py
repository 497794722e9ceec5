"""Fragility as a kind of data in the layer registry (``service/kinds.py`` lists it)."""

from __future__ import annotations

from sqlalchemy import Connection

from service.core.datasets import Dataset
from service.core.registry import Kind, LocationColumn, Registry, RoundDatasets


def _routers():
    from service.api import fragility

    return [fragility.router]


def _cli():
    from service.cli import fragility

    return [("fragility", fragility.app)]


def _datasets(reg: Registry) -> list[Dataset]:
    from service.fragility.datasets import datasets

    return datasets()


def _round_rounds(conn: Connection) -> set[int]:
    from service.fragility.datasets import rounds_with_runs

    return rounds_with_runs(conn)


def _tile_layers():
    from service.fragility.tiles import LAYER

    return [LAYER]


def _location_class(round_sql: str, adm3_sql: str) -> str:
    from service.fragility.store import location_class_sql

    return location_class_sql(round_sql, adm3_sql)


def _map_hook():
    import service.fragility  # its map_values, overlay_table, method_card

    return service.fragility


def _export_notes(conn: Connection, ds: Dataset, rnd: dict | None) -> dict:
    from service.fragility.datasets import method_card_markdown

    return {"method_card": method_card_markdown(conn, rnd["id"])}  # the card of the stored run


KIND = Kind(
    name="fragility",
    title="Fragility overlays per sub-district",
    owner_modules=("service.fragility.store",),
    access="public",
    routers=_routers,
    cli=_cli,
    datasets=_datasets,
    round_datasets=RoundDatasets(
        _round_rounds, ("fragility-adm3", "fragility-adm2", "fragility-adm1"), "idp-r{round}-fragility-adm{1|2|3}"
    ),
    tile_layers=_tile_layers,
    location_columns=lambda: [
        LocationColumn(
            "fragility_class",
            "frag_class",
            "#indicator+fragility+class",
            "Fragility class of the location's sub-district (stored default run of the round; empty when none)",
            _location_class,
        )
    ],
    map_hook=_map_hook,
    export_notes=_export_notes,
)
