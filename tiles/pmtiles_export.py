"""Offline tile packages: PMTiles (v3) or MBTiles, with the same tiles the API serves.

Every tile is made by ``tiles.mvt.render_tile`` (the SQL of the live tiles) inside one
snapshot of the database, so a package is one consistent data version. Tiles are written
gzip-compressed; empty tiles are left out (readers treat a missing tile as empty).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from service.core.countries import attribution
from service.core.importlog import data_version
from tiles.layers import LAYERS, Layer
from tiles.mvt import Resolver, TileQuery, render_tile, set_bounds, tiles_in

FORMATS = {".pmtiles": "pmtiles", ".mbtiles": "mbtiles"}


class ExportError(ValueError):
    pass


@dataclass
class ExportResult:
    path: Path
    format: str
    data_version: int
    round: dict | None
    tiles_visited: int = 0
    tiles_written: int = 0
    bytes_written: int = 0
    per_zoom: dict[int, int] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)


def format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ExportError(f"{path.name}: the output must end in .pmtiles or .mbtiles")
    return fmt


def plan(bounds: Sequence[float], layers: Sequence[Layer], min_zoom: int, max_zoom: int) -> list[tuple[int, int, int]]:
    """The (z, x, y) to render: tiles over ``bounds`` at zooms where a layer has features."""
    out = []
    for z in range(min_zoom, max_zoom + 1):
        if any(layer.covers(z) for layer in layers):
            out.extend((t.z, t.x, t.y) for t in tiles_in(bounds, z))
    return out


def _metadata(layers: Sequence[Layer], ctx, bounds, min_zoom: int, max_zoom: int, version: int, credit: str) -> dict:
    rnd = ctx.round
    return {
        "name": "DTM Atlas: " + ", ".join(layer.id for layer in layers),
        "description": "; ".join(layer.description for layer in layers),
        "attribution": credit,
        "type": "overlay",
        "format": "pbf",
        "vector_layers": [
            dict(layer.tilejson(), minzoom=max(layer.minzoom, min_zoom), maxzoom=min(layer.maxzoom, max_zoom))
            for layer in layers
        ],
        "legends": {
            layer.id: ctx.legends[layer.level].to_dict()
            for layer in layers
            if layer.kind == "admin" and layer.level in ctx.legends
        },
        "dtm_atlas": {
            "data_version": version,
            "population": ctx.query.population,
            "indicator": ctx.query.indicator,
            "round": None
            if rnd is None
            else {
                "id": rnd["id"],
                "round_number": rnd["round_number"],
                "population": rnd["population"],
                "country": rnd["country"],
                "reporting_date": rnd["reporting_date"].isoformat(),
            },
            "bounds": list(bounds),
        },
    }


def export_tiles(
    engine: Engine,
    out: Path | str,
    *,
    round_number: int | None = None,
    reporting_date: dt.date | None = None,
    population: str = "idp",
    indicator: str = "individuals",
    country: str | None = None,
    layers: Sequence[str] | None = None,
    min_zoom: int = 0,
    max_zoom: int = 8,
    progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write a PMTiles or MBTiles package (by ``out``'s extension). ``progress(done, total)``."""
    out = Path(out)
    fmt = format_of(out)
    if not 0 <= min_zoom <= max_zoom <= 16:
        raise ExportError(f"zooms must satisfy 0 <= min ({min_zoom}) <= max ({max_zoom}) <= 16")
    chosen = [LAYERS[name] for name in (layers or [k for k, v in LAYERS.items() if v.default_export])]
    query = TileQuery(
        population=population,
        round_number=round_number,
        reporting_date=reporting_date,
        indicator=indicator,
        country=country,
    )
    resolver = Resolver()
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        version = data_version(conn)
        # RoundNotFound for a missing round; SeveralCountries without a country when several have figures
        ctx = resolver.context(conn, version, query, chosen)
        bounds = set_bounds(conn, ctx.set_ids)
        if bounds is None:
            raise ExportError("no admin boundaries in the database: import them first")
        todo = plan(bounds, chosen, min_zoom, max_zoom)
        if on_plan:
            on_plan(len(todo))
        result = ExportResult(out, fmt, version, ctx.round)
        credit = attribution(conn, [ctx.country] if ctx.country else None)
        result.metadata = _metadata(chosen, ctx, bounds, min_zoom, max_zoom, version, credit)

        def tiles():
            for i, (z, x, y) in enumerate(todo):
                raw = render_tile(conn, chosen, z, x, y, ctx)
                result.tiles_visited += 1
                if progress:
                    progress(i + 1, len(todo))
                if raw:
                    data = gzip.compress(raw, compresslevel=6, mtime=0)
                    result.tiles_written += 1
                    result.bytes_written += len(data)
                    result.per_zoom[z] = result.per_zoom.get(z, 0) + 1
                    yield z, x, y, data

        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".part")
        try:
            if fmt == "pmtiles":
                _write_pmtiles(tmp, tiles(), result.metadata, bounds, min_zoom, max_zoom)
            else:
                _write_mbtiles(tmp, tiles(), result.metadata, bounds, min_zoom, max_zoom)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
        conn.rollback()
    return result


def _center(bounds, min_zoom: int, max_zoom: int) -> tuple[float, float, int]:
    return (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(min_zoom, min(max_zoom, 5))


def _write_pmtiles(path: Path, tiles, metadata: dict, bounds, min_zoom: int, max_zoom: int) -> None:
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    # PMTiles wants tiles in tile-id (Hilbert) order for a clustered archive; render them first
    items = sorted(((zxy_to_tileid(z, x, y), data) for z, x, y, data in tiles), key=lambda t: t[0])
    if not items:
        raise ExportError("no tile holds any feature: nothing to write")
    lon, lat, cz = _center(bounds, min_zoom, max_zoom)
    with open(path, "wb") as fh:
        writer = Writer(fh)
        for tile_id, data in items:
            writer.write_tile(tile_id, data)
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_zoom": min_zoom,
                "max_zoom": max_zoom,
                "min_lon_e7": int(bounds[0] * 1e7),
                "min_lat_e7": int(bounds[1] * 1e7),
                "max_lon_e7": int(bounds[2] * 1e7),
                "max_lat_e7": int(bounds[3] * 1e7),
                "center_zoom": cz,
                "center_lon_e7": int(lon * 1e7),
                "center_lat_e7": int(lat * 1e7),
            },
            metadata,
        )


def _write_mbtiles(path: Path, tiles, metadata: dict, bounds, min_zoom: int, max_zoom: int) -> None:
    """MBTiles 1.3: TMS rows (y flipped), gzip-compressed pbf tiles, vector_layers in ``json``."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript(
            """
            CREATE TABLE metadata (name text, value text);
            CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
            CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
            """
        )
        n = 0
        for z, x, y, data in tiles:
            db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data))
            n += 1
        if n == 0:
            raise ExportError("no tile holds any feature: nothing to write")
        lon, lat, cz = _center(bounds, min_zoom, max_zoom)
        json_part = {k: metadata[k] for k in ("vector_layers", "legends", "dtm_atlas")}
        rows = {
            "name": metadata["name"],
            "description": metadata["description"],
            "attribution": metadata["attribution"],
            "type": "overlay",
            "version": "1",
            "format": "pbf",
            "minzoom": str(min_zoom),
            "maxzoom": str(max_zoom),
            "bounds": ",".join(f"{v:.6f}" for v in bounds),
            "center": f"{lon:.6f},{lat:.6f},{cz}",
            "json": json.dumps(json_part, ensure_ascii=False),
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", rows.items())
        db.commit()
    finally:
        db.close()
