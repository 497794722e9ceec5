"""THE list of the kinds of data this service holds (the layer registry, service.core.registry).

``create_app`` and the CLI call :func:`install`; everything below them reads the registry.
A new kind is a package of ``service/`` with a ``kind.py`` holding its ``Kind``, added here
(see docs/architecture.md, "Adding a kind of data").
"""

from __future__ import annotations

from service.core.registry import Kind, Registry
from service.core.registry import install as _install
from service.figures.kind import KIND as MASTERLISTS
from service.fragility.kind import KIND as FRAGILITY

KINDS: tuple[Kind, ...] = (
    MASTERLISTS,
    FRAGILITY,
)


def install() -> Registry:
    """Hand the kinds to the registry (idempotent)."""
    return _install(KINDS)
