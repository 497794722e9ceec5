"""Master-list figures (DTM mobility tracking: locations, their figures per round, the
aggregates per admin unit; and the sites imported beside them) as a kind of data in the
layer registry (``service/kinds.py`` lists it first)."""

from __future__ import annotations

from service.core.datasets import Dataset
from service.core.registry import Kind, Registry


def _routers():
    from service.api import dtm, figures

    return [figures.router, dtm.router]


def _cli():
    from service.cli import rounds

    return [("rounds", rounds.app)]


def _import_commands():
    from service.cli import imports

    return [("masterlist", imports.import_masterlist_cmd), ("sites", imports.import_sites_cmd)]


def _datasets(reg: Registry) -> list[Dataset]:
    from service.figures.datasets import datasets

    return datasets([c.field("CAST(:round_id AS int)", "f.adm3") for c in reg.location_columns()])


KIND = Kind(
    name="masterlists",
    title="Master lists: locations and figures per round and admin unit",
    owner_modules=(
        "service.ingest.rounds",
        "service.figures.placement",
        "service.figures.aggregate",
        "service.ingest.sites",
    ),
    access="public",
    routers=_routers,
    cli=_cli,
    import_commands=_import_commands,
    datasets=_datasets,
)
