"""The layer registry: the kinds of data the service holds, as the top installs them.

A *kind* (master-list figures, fragility, and the next ones: site and location assessments,
indices, events, flows) is one package of ``service/``. It describes itself with one
:class:`Kind` -- its name, the modules that own its tables, its importer's CLI commands, its
API routers, its datasets (OGC API - Features and every export), its tile layers, the
columns it adds to each location, its static-map hook, its access level -- and
``service/kinds.py`` lists the kinds in one place. ``create_app`` and the CLI call
``service.kinds.install()``, which hands them to :func:`install` here.

The publishers (``service.publish``, ``service.api.ogc``, ``tiles``, ``service.maps``) read
the kinds through this module and never import a kind; a kind imports the base layer
(``service.core``, e.g. ``service.core.datasets`` for its datasets) and the floors below it
(``tiles.layers`` for a tile layer), never a publisher's internals.

The hooks are functions, called when needed (routers, CLI, datasets), so that installing the
registry imports nothing heavy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

from service.core.datasets import Dataset, Field

Access = Literal["public", "restricted"]


class MapHook(Protocol):
    """What the static maps and the information package ask of a kind that draws a map
    indicator of its own (``indicator`` named like the kind, e.g. ``fragility``)."""

    def map_values(self, conn: Connection, *, round_id: int, level: int, population: str) -> tuple[Any, dict]:
        """The indicator's classes (a ``styles.classify.Classification``) and values per unit."""

    def overlay_table(self, conn: Connection, *, round_id: int) -> list[dict]:
        """Rows of the package's table of the kind (CSV and XLSX under ``tables/``)."""

    def method_card(self, conn: Connection, *, round_id: int) -> str:
        """The Markdown note that goes with the table (``<kind>_method.md``)."""

    def refresh(self, engine: Any, *, round_id: int, shared_dir: Path) -> dict:
        """Recompute the round's stored run when stale, from the inputs in ``shared_dir``."""


class PackageMaps(Protocol):
    """Maps a kind draws of a round for the round's information package (under
    ``maps/<kind name>/``): lines, symbols, anything the package's own unit maps do not draw.
    Only public kinds' maps go into a package."""

    def write(self, engine: Any, round_row: dict, folder: Path, *, dpi: int) -> list[Path]:
        """Draw the round's maps (PNG and PDF) into ``folder``; [] when the round has nothing to draw."""


@dataclass(frozen=True)
class UnitValues:
    """One indicator of a kind's dataset per admin unit (what a unit source answers):
    ``values`` {P-code: value or None}, ``label`` for cards and legends, ``source`` what was
    read (for a run's provenance)."""

    values: dict[str, float | None]
    label: str
    source: dict


class UnitSource(Protocol):
    """A kind's indicators per admin unit, for other kinds to use as inputs (the fragility
    method's ``source: dataset:<id>:<indicator>``): ``stamp`` says which import the reference
    names (a re-import changes it: runs built on it go stale); ``values`` reads one indicator at
    ``level`` of the units of ``country``. Both raise ``LookupError`` (unknown reference or
    indicator) or ``ValueError`` (not usable: not public, not numeric, other country) with a
    message a person can act on."""

    def stamp(self, conn: Connection, ref: str) -> list:
        """[dataset id, import id, file SHA-256] of the reference (the run's fingerprint holds it)."""

    def values(self, conn: Connection, ref: str, indicator: str, *, level: int, country: str) -> UnitValues:
        """The indicator per unit of ``level``."""


@dataclass(frozen=True)
class LocationColumn:
    """A value a kind adds to every location of a round (the locations dataset, the
    ``/locations`` GeoJSON): ``sql(round_sql, adm3_sql)`` is the SQL of the value for the
    round id ``round_sql`` and the location's sub-district ``adm3_sql``."""

    name: str
    short: str  # ESRI Shapefile field name, <= 10 characters
    hxl: str
    description: str
    sql: Callable[[str, str], str]

    def field(self, round_sql: str, adm3_sql: str) -> Field:
        return Field(self.name, self.sql(round_sql, adm3_sql), "str", self.short, self.hxl, self.description)


@dataclass(frozen=True)
class RoundDatasets:
    """Per-round datasets a kind lists as OGC collections of some rounds: ``rounds(conn)`` ->
    the ids of the rounds it has data of; each such round gets the collections
    ``{population}-r{N}-{key}`` for ``keys`` (in that order)."""

    rounds: Callable[[Connection], set[int]]
    keys: tuple[str, ...]
    id_pattern: str  # how the ids look, for an error message: "idp-r{round}-fragility-adm{1|2|3}"


@dataclass(frozen=True)
class DataCollections:
    """Datasets a kind holds as data, one per thing imported (an indicator dataset's sites
    and aggregates per level): ``list(conn, who)`` -> [(collection id, Dataset, country ISO3)]
    of those the principal ``who`` may see (the access policy, ``service/core/access.py``);
    ``get(conn, id, who)`` -> (Dataset, country) or None when it does not exist for ``who``.
    Each Dataset is built for its reader (the columns it may see) and says what it holds
    (``Dataset.access``). They are OGC collections and exports like the registered datasets;
    ``id_pattern`` is for messages."""

    list: Callable[[Connection, Any], Sequence[tuple[str, Dataset, str]]]
    get: Callable[[Connection, str, Any], tuple[Dataset, str] | None]
    id_pattern: str


@dataclass(frozen=True)
class Kind:
    """One kind of data, as the registry knows it (see the module's docstring)."""

    name: str
    title: str
    owner_modules: tuple[str, ...]  # the modules that own the kind's tables (their SQL)
    access: Access = "public"
    routers: Callable[[], Sequence[Any]] = lambda: ()  # fastapi.APIRouter objects
    cli: Callable[[], Sequence[tuple[str, Any]]] = lambda: ()  # (command group name, typer.Typer)
    import_commands: Callable[[], Sequence[tuple[str, Callable]]] = lambda: ()  # dtm-atlas import <name>
    datasets: Callable[[Registry], Sequence[Dataset]] = lambda reg: ()
    round_datasets: RoundDatasets | None = None
    data_collections: DataCollections | None = None  # datasets that are rows of the kind's tables
    tile_layers: Callable[[], Sequence[Any]] = lambda: ()  # tiles.layers.Layer objects (with their SQL)
    location_columns: Callable[[], Sequence[LocationColumn]] = lambda: ()
    map_hook: Callable[[], MapHook] | None = None  # the kind's map indicator (named like the kind)
    export_notes: Callable[[Connection, Dataset, dict | None], dict] | None = None  # extra export metadata
    unit_sources: Callable[[], dict[str, UnitSource]] = lambda: {}  # {scheme: source}, e.g. {'dataset': ...}
    package_maps: Callable[[], PackageMaps] | None = None  # the kind's maps in a round's package


@dataclass
class Registry:
    kinds: tuple[Kind, ...] = ()
    _datasets: dict[str, Dataset] | None = field(default=None, repr=False)
    _kind_of: dict[str, Kind] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def kind(self, name: str) -> Kind | None:
        return next((k for k in self.kinds if k.name == name), None)

    def datasets(self) -> dict[str, Dataset]:
        """Every kind's datasets by key, in the kinds' order (built once)."""
        if self._datasets is None:
            with self._lock:
                if self._datasets is None:
                    out: dict[str, Dataset] = {}
                    for k in self.kinds:
                        for ds in k.datasets(self):
                            ds.check()
                            if ds.key in out:
                                raise ValueError(f"dataset {ds.key!r} registered twice (kind {k.name})")
                            out[ds.key] = ds
                            self._kind_of[ds.key] = k
                    self._datasets = out
        return self._datasets

    def location_columns(self) -> list[LocationColumn]:
        return [c for k in self.kinds for c in k.location_columns()]

    def tile_layers(self) -> list[Any]:
        return [layer for k in self.kinds for layer in k.tile_layers()]

    def map_hooks(self) -> dict[str, MapHook]:
        """The kinds' map indicators: {indicator name: hook}."""
        return {k.name: k.map_hook() for k in self.kinds if k.map_hook is not None}

    def package_maps(self) -> dict[str, PackageMaps]:
        """The public kinds' maps of a round for its information package: {kind name: maps}.
        A kind not public as a whole is in when its maps say they draw only public data
        (``access = "public"``: an indicator dataset's maps, of the datasets an editor published).
        A writer may also answer ``has_maps(conn, round_row) -> dict | None`` (the round as it has
        it, e.g. its date when asked by number): a package is then made of a round the country has
        no master list of (``round_row``'s ``id`` None), of the kinds' maps alone."""
        out = {}
        for k in self.kinds:
            if k.package_maps is None:
                continue
            maps = k.package_maps()
            if k.access == "public" or getattr(maps, "access", None) == "public":
                out[k.name] = maps
        return out

    def unit_source(self, scheme: str) -> UnitSource | None:
        """The kind's source of indicators per unit for ``scheme`` (``dataset``), if a kind has one."""
        return next((src for k in self.kinds for name, src in k.unit_sources().items() if name == scheme), None)

    def data_collections(self) -> list[DataCollections]:
        return [k.data_collections for k in self.kinds if k.data_collections is not None]

    def round_datasets(self) -> list[tuple[Kind, RoundDatasets]]:
        return [(k, k.round_datasets) for k in self.kinds if k.round_datasets is not None]

    def kind_of(self, dataset_key: str) -> Kind | None:
        """The kind that defines the dataset ``dataset_key`` (None: the admin units)."""
        self.datasets()
        return self._kind_of.get(dataset_key)


_REGISTRY: Registry | None = None


def install(kinds: Sequence[Kind]) -> Registry:
    """Make ``kinds`` the registry (``service.kinds.install`` calls it; idempotent for the same kinds)."""
    global _REGISTRY
    names = [k.name for k in kinds]
    if len(set(names)) != len(names):
        raise ValueError(f"a kind is listed twice: {names}")
    if _REGISTRY is None or _REGISTRY.kinds != tuple(kinds):
        _REGISTRY = Registry(tuple(kinds))
    return _REGISTRY


def registry() -> Registry:
    """The installed registry; a clear error when the top did not install the kinds."""
    if _REGISTRY is None:
        raise RuntimeError(
            "no kinds of data are installed: call service.kinds.install() first (create_app and the CLI do)"
        )
    return _REGISTRY
