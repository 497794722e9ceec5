"""The datasets DTM Atlas publishes, and the set-based SQL that reads them.

Every dataset is defined once, by its owner -- the admin units by ``boundaries.datasets``, each
kind of data by its package, registered through the layer registry
(``service.core.registry``; the list of kinds: ``service/kinds.py``) -- with the classes of
``service.core.datasets``. ``DATASETS`` reads them all, and both the OGC API - Features
collections (``service.api.ogc``) and the file exports (``service.publish.exports``) read
through a :class:`Selection` of one. Rows are streamed from PostgreSQL through a server-side
cursor, a batch at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import Connection, text

from boundaries.datasets import ADMIN_DATASETS
from service.core.constants import UNASSIGNED
from service.core.datasets import GEOJSON_DECIMALS, POPULATION_LABEL, Dataset, Field, Filter
from service.core.importlog import data_version
from service.core.registry import registry
from service.core.versioncache import VersionCaches

BATCH_ROWS = 10_000  # rows per server-side cursor fetch


class _Datasets(Mapping):
    """The admin units' datasets, then every kind's, in the order of ``service/kinds.py``."""

    def _all(self) -> dict[str, Dataset]:
        return {**ADMIN_DATASETS, **registry().datasets()}

    def __getitem__(self, key: str) -> Dataset:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


DATASETS: Mapping[str, Dataset] = _Datasets()


def get_dataset(key: str) -> Dataset | None:
    return DATASETS.get(key)


# ------------------------------------------------------------------------------ selections
@dataclass(frozen=True)
class Selection:
    """Rows of a dataset: a round (for per-round datasets) and optional bbox / dates / property filters.

    ``spatial=True`` (maps, spatial file formats, OGC) leaves the UNASSIGNED bucket out;
    ``spatial=False`` (CSV, XLSX) keeps it. ``country`` (ISO3) keeps the rows of one country in
    datasets not of a round (admin units, sites); a round is of one country already.
    """

    dataset: Dataset
    round: dict | None = None
    spatial: bool = True
    bbox: tuple[float, float, float, float] | None = None
    dates: tuple[dt.date | None, dt.date | None] | None = None  # inclusive; None = open end
    filters: tuple[tuple[str, str], ...] = ()
    fid: Any = None
    country: str | None = None
    # OGC API - Features Parts 2, 3: a CQL2 filter (SQL over the fields + its bound parameters,
    # service.publish.cql), sortby ((field, descending), ...), the properties returned, the output CRS
    cql: tuple[str, tuple[tuple[str, Any], ...]] | None = None
    sort: tuple[tuple[str, bool], ...] = ()
    properties: tuple[str, ...] | None = None
    srid: int = 4326
    latlon: bool = False  # EPSG:4326's axis order (latitude first)

    def __post_init__(self):
        if self.dataset.per_round and self.round is None:
            raise ValueError(f"dataset {self.dataset.key} needs a round")

    def with_(self, **kw) -> "Selection":
        return replace(self, **kw)

    # -- SQL
    def where(self) -> tuple[str, dict]:
        ds = self.dataset
        conds, params = [ds.where_sql], {}
        if ds.per_round:
            params["round_id"] = self.round["id"]
        if self.spatial and ds.bucket_sql:
            conds.append(f"NOT ({ds.bucket_sql})")
        if self.country is not None and ds.country_sql is not None:
            conds.append(f"{ds.country_sql} = :country")
            params["country"] = self.country
        if self.bbox is not None:
            conds.append(f"ST_Intersects({ds.geom_sql}, ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4326))")
            params.update(bx0=self.bbox[0], by0=self.bbox[1], bx1=self.bbox[2], by1=self.bbox[3])
        if self.dates is not None:
            if ds.temporal_sql is None:
                pass  # no temporal property: the datetime parameter does not restrict
            else:
                d0, d1 = self.dates
                if d0 is not None:
                    conds.append(f"{ds.temporal_sql} >= :d0")
                    params["d0"] = d0
                if d1 is not None:
                    conds.append(f"{ds.temporal_sql} <= :d1")
                    params["d1"] = d1
        for i, (name, value) in enumerate(self.filters):
            flt = ds.filter(name)
            if flt is None:
                raise KeyError(name)
            conds.append("(" + flt.sql.replace(":v", f":fv{i}") + ")")
            params[f"fv{i}"] = value
        if self.fid is not None:
            conds.append(f"{ds.id_sql} = :fid")
            params["fid"] = self.fid
        if self.cql is not None:
            conds.append(f"({self.cql[0]})")
            params.update(self.cql[1])
        return " AND ".join(conds), params

    def order(self) -> str:
        """ORDER BY: the ``sort`` fields (then the row id, a stable order for paging) or the dataset's."""
        if not self.sort:
            return self.dataset.order_sql
        by = {f.name: f.sql for f in self.dataset.fields}
        keys = [f"{by[name]} {'DESC NULLS LAST' if desc else 'ASC NULLS FIRST'}" for name, desc in self.sort]
        return ", ".join([*keys, self.dataset.id_sql])

    def out_fields(self) -> tuple[Field, ...]:
        if self.properties is None:
            return self.dataset.fields
        return tuple(f for f in self.dataset.fields if f.name in self.properties)

    def out_geom(self) -> tuple[str, int]:
        """The geometry in the output CRS and its decimals (7 in degrees ~1 cm, 2 in metres)."""
        g = self.dataset.geom_sql
        if self.srid != 4326:
            return f"ST_Transform({g}, {int(self.srid)})", 2
        return (f"ST_FlipCoordinates({g})" if self.latlon else g), GEOJSON_DECIMALS

    def sql(
        self, mode: Literal["values", "table", "geojson", "kml"], limit: int | None = None, offset: int = 0
    ) -> tuple[str, dict]:
        """``values``: id, fields..., WKB; ``table``: id, fields...; ``geojson``: one Feature text per row;
        ``kml``: id, fields..., KML geometry."""
        ds = self.dataset
        where, params = self.where()
        fields, order = self.out_fields(), self.order()
        geom, decimals = self.out_geom()
        cols = [f"{ds.id_sql} AS fid"] + [f'{f.sql} AS "{f.name}"' for f in fields]
        if mode == "values":
            cols.append(f"ST_AsBinary({ds.geom_sql}) AS wkb")
        elif mode == "kml":
            cols.append(f"ST_AsKML({ds.geom_sql}, {GEOJSON_DECIMALS}) AS kml")
        elif mode == "geojson":
            # row_to_json keeps the field order and writes compact JSON (json_build_object adds spaces)
            props = ", ".join(f'{f.sql} AS "{f.name}"' for f in fields)
            props_sql = f"(SELECT row_to_json(p) FROM (SELECT {props}) p)::text" if fields else "'{}'"
            cols = [
                '\'{"type":"Feature","id":\' || to_json(' + ds.id_sql + ")::text"
                f" || ',\"geometry\":' || coalesce(ST_AsGeoJSON({geom}, {decimals}), 'null')"
                f" || ',\"properties\":' || {props_sql} || '}}' AS feature"
            ]
        page = ""
        if limit is not None:
            # one query: PostgreSQL sorts and cuts the page first and computes the projection (GeoJSON,
            # properties) for the page's rows only (no paging subquery over the joins a second time)
            page = " LIMIT :limit OFFSET :offset"
            params.update(limit=limit, offset=offset)
        return f"SELECT {', '.join(cols)} FROM {ds.from_sql} WHERE {where} ORDER BY {order}{page}", params

    def count(self, conn: Connection) -> int:
        where, params = self.where()
        return conn.execute(text(f"SELECT count(*) FROM {self.dataset.from_sql} WHERE {where}"), params).scalar_one()

    def count_without_geometry(self, conn: Connection) -> int:
        where, params = self.where()
        return conn.execute(
            text(f"SELECT count(*) FROM {self.dataset.from_sql} WHERE {where} AND {self.dataset.geom_sql} IS NULL"),
            params,
        ).scalar_one()

    def extent(self, conn: Connection) -> list[float] | None:
        where, params = self.where()
        row = conn.execute(
            text(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                f"(SELECT ST_Extent({self.dataset.geom_sql}) AS e FROM {self.dataset.from_sql} WHERE {where}) x"
            ),
            params,
        ).one()
        return None if row[0] is None else [round(v, 6) for v in row]

    def temporal_extent(self, conn: Connection) -> list[str | None] | None:
        ds = self.dataset
        if ds.temporal_sql is None:
            return None
        if ds.per_round:
            d = self.round["reporting_date"].isoformat()
            return [d, d]
        where, params = self.where()
        lo, hi = conn.execute(
            text(f"SELECT min({ds.temporal_sql}), max({ds.temporal_sql}) FROM {ds.from_sql} WHERE {where}"), params
        ).one()
        return None if lo is None else [lo.isoformat(), hi.isoformat()]

    def batches(
        self,
        conn: Connection,
        mode: Literal["values", "table", "geojson", "kml"],
        *,
        limit: int | None = None,
        offset: int = 0,
        batch: int = BATCH_ROWS,
    ) -> Iterator[Sequence]:
        """Rows in batches from a server-side cursor (memory stays at one batch)."""
        sql, params = self.sql(mode, limit, offset)
        # a cursor's plan favours the first rows (cursor_tuple_fraction 0.1: nested loops); we read them all
        conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        result = conn.execute(text(sql).execution_options(yield_per=batch), params)
        try:
            for part in result.partitions(batch):
                yield part
        finally:
            result.close()


# ------------------------------------------------------------------------------ metadata
def bucket_totals(conn: Connection, round_id: int, level: int) -> dict | None:
    row = (
        conn.execute(
            text(
                "SELECT families, individuals, locations FROM unit_figure "
                "WHERE round_id = :r AND level = :l AND pcode = :u"
            ),
            {"r": round_id, "l": level, "u": UNASSIGNED},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def boundary_info(conn: Connection, boundary_set_id: int | None = None, country: str | None = None) -> list[dict]:
    """Source and validity of the boundary set(s): a round's, or the current ones (of ``country``)."""
    rows = conn.execute(
        text(
            "SELECT id, country, source, valid_on FROM boundary_set "
            "WHERE (CAST(:s AS int) IS NULL AND is_current AND (CAST(:c AS text) IS NULL OR country = :c)) "
            "OR id = :s ORDER BY country"
        ),
        {"s": boundary_set_id, "c": country},
    ).mappings()
    return [dict(r) for r in rows]


def sites_date(conn: Connection) -> dt.date | None:
    return conn.execute(
        text("SELECT max(l.finished_at)::date FROM import_log l WHERE l.id IN (SELECT DISTINCT import_id FROM site)")
    ).scalar()


def main_country(conn: Connection, sel: Selection) -> str:
    if sel.round is not None:
        return sel.round["country"]
    if sel.country is not None:
        return sel.country
    countries = conn.execute(text("SELECT country FROM boundary_set WHERE is_current ORDER BY country")).scalars().all()
    return countries[0] if len(countries) == 1 else ("mul" if countries else "xxx")


#: extents, counts and licences of the publishers, per database and data version (any import
#: invalidates them)
CACHE = VersionCaches(max_entries=2000)


def round_label(round_row: dict) -> str:
    who = POPULATION_LABEL.get(round_row["population"], round_row["population"])
    if round_row["round_number"] is None:  # a round DTM's calendar does not number
        return f"{who}, {round_row['reporting_date'].isoformat()}"
    return f"round {round_row['round_number']} {who}, {round_row['reporting_date'].isoformat()}"


__all__ = [
    "DATASETS",
    "Dataset",
    "Field",
    "Filter",
    "GEOJSON_DECIMALS",
    "Selection",
    "UNASSIGNED",
    "get_dataset",
    "CACHE",
    "bucket_totals",
    "boundary_info",
    "data_version",
]
