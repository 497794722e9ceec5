"""File exports of the published datasets: Shapefile (zipped), GeoPackage, FlatGeobuf, KML, GeoJSON,
CSV and XLSX, for the API (``/exports/{dataset}.{ext}``) and the CLI (``dtm-atlas export``).

Memory stays flat as rows grow: rows come from a server-side cursor a batch at a time
(``datasets.Selection.batches``).

* CSV, GeoJSON and KML are text streams generated batch by batch (served as streaming responses).
* GeoPackage and Shapefile are written by pyogrio one batch at a time (``append``) into a
  temporary file, then served from it. FlatGeobuf goes through that temporary GeoPackage and
  GDAL's ``ogr2ogr`` (one pass, with a spatial index); without ``ogr2ogr`` it is appended by
  pyogrio directly, without spatial index.
* XLSX is written by openpyxl in write-only mode (rows go to disk as they come).

Zips (always for shapefiles, on request for the other formats) carry ``README.txt`` (source,
round, reporting date, credit, licence, boundary disclaimer, fields) and, for shapefiles, the map
from the <= 10-character shapefile field names to the full names (``<base>_fields.csv``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import orjson
from sqlalchemy import Connection, Engine

from service.core.countries import boundary_sources, country_names, figures_country, geometry_country
from service.core.errors import AtlasError
from service.core.registry import registry
from service.core.rounds import RoundRef, resolve_round
from service.publish import naming
from service.publish.datasets import (
    DATASETS,
    POPULATION_LABEL,
    UNASSIGNED,
    Dataset,
    Selection,
    boundary_info,
    bucket_totals,
    main_country,
    round_label,
    sites_date,
)
from service.publish.safecells import csv_row, xlsx_row

CREDIT = "IOM DTM"
SOURCE = "International Organization for Migration (IOM), Displacement Tracking Matrix (DTM)"
LICENCE_FIGURES = (
    'Displacement figures: IOM DTM terms of use: credit "IOM DTM" with the round and reporting date; '
    "non-commercial use (see the terms of the source dataset on dtm.iom.int / HDX before redistribution)."
)
#: The terms of the boundary sources we know (``boundary_set.source``); others: see the source.
BOUNDARY_TERMS = {
    "COD-AB": "OCHA Common Operational Dataset (COD-AB) for {country} from HDX, CC BY 3.0 IGO",
    "geoBoundaries": "geoBoundaries for {country}, CC BY 4.0 (see geoboundaries.org for the source's terms)",
}


def licence(conn: Connection, countries: Sequence[str | None] | None = None) -> str:
    """The terms of the figures and of the boundaries of ``countries`` (every country with
    current boundaries when None), from the data: each boundary set's source and country."""
    parts = [
        BOUNDARY_TERMS.get(source, "{source} boundaries for {country} (see their source for the terms)").format(
            country=country_names(country)[0], source=source
        )
        for country, source in boundary_sources(conn, countries).items()
    ]
    return LICENCE_FIGURES + (f" Admin boundaries: {'; '.join(parts)}." if parts else "")


DISCLAIMER = (
    "Names and boundaries do not imply official endorsement or acceptance by the International Organization for "
    "Migration (IOM)."
)
XLSX_MAX_ROWS = 1_048_576 - 2  # header and HXL rows
FILE_BATCH = 20_000  # rows per pyogrio append
GPKG_VERSION = "1.2"  # every GeoPackage written (GDAL's default, 1.4, warns in QGIS 3.22 LTR)


@dataclass(frozen=True)
class Format:
    ext: str
    label: str
    media_type: str
    spatial: bool  # geometry kept; the UNASSIGNED bucket (no polygon) left out
    streamed: bool  # a text stream (CSV, GeoJSON, KML)
    driver: str | None = None  # GDAL driver (pyogrio)


FORMATS: dict[str, Format] = {
    f.ext: f
    for f in (
        Format(
            "shp",
            "ESRI Shapefile (zipped, UTF-8 .cpg, field-name map)",
            "application/zip",
            True,
            False,
            "ESRI Shapefile",
        ),
        Format("gpkg", "GeoPackage", "application/geopackage+sqlite3", True, False, "GPKG"),
        Format("kml", "KML", "application/vnd.google-earth.kml+xml", True, True),
        Format("geojson", "GeoJSON (RFC 7946)", "application/geo+json", True, True),
        Format("fgb", "FlatGeobuf (with spatial index)", "application/flatgeobuf", True, False, "FlatGeobuf"),
        Format("csv", "CSV, UTF-8 with BOM, HXL hashtag row after the header", "text/csv; charset=utf-8", False, True),
        Format(
            "xlsx",
            "Excel workbook, HXL hashtag row after the header, README sheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            False,
            False,
        ),
    )
}


class ExportError(AtlasError):
    """An export that cannot be made as asked: ``status`` 400 (bad parameter) or 404 (no such data)."""

    def __init__(self, status: int, message: str):
        super().__init__(message, status=status)
        self.message = message


@dataclass
class ExportJob:
    selection: Selection
    fmt: Format
    zipped: bool
    base: str
    meta: dict = field(default_factory=dict)

    @property
    def dataset(self) -> Dataset:
        return self.selection.dataset

    @property
    def population(self) -> str | None:
        return self.selection.round["population"] if self.selection.round else None

    @property
    def filename(self) -> str:
        return naming.file_name(self.base, self.fmt.ext, self.zipped)

    @property
    def inner_name(self) -> str:
        return f"{self.base}.{self.fmt.ext}"

    @property
    def media_type(self) -> str:
        return "application/zip" if self.zipped else self.fmt.media_type


def data_collection(conn: Connection, key: str, who) -> tuple[Dataset, str] | None:
    """(Dataset, country) of a dataset a kind holds as data (an indicator dataset's
    ``dataset{ID}-sites`` ...) as ``who`` may read it; None when none is (for ``who``)."""
    for dc in registry().data_collections():
        found = dc.get(conn, key, who)
        if found is not None:
            return found
    return None


def valid_datasets() -> str:
    return ", ".join(DATASETS)


def valid_formats() -> str:
    return ", ".join(FORMATS)


def split_name(name: str) -> tuple[str, str, bool]:
    """``figures-adm2.gpkg`` -> (figures-adm2, gpkg, False); ``admin1.shp.zip`` -> (admin1, shp, True)."""
    dataset, _, ext = name.partition(".")
    zipped = False
    if ext.endswith(".zip"):
        ext, zipped = ext[: -len(".zip")], True
    return dataset, ext.lower(), zipped


def prepare(
    conn: Connection,
    dataset_key: str,
    ext: str,
    *,
    round_number: int | None = None,
    population: str | None = None,
    zipped: bool = False,
    reporting_date=None,
    country: str | None = None,
    dataset=None,
) -> ExportJob:
    """Validate and describe an export; ExportError(404) for an unknown dataset, format or round.

    ``dataset``: a Dataset a kind holds as data (``DataCollections``, e.g. an indicator
    dataset's sites), found for the reader by :func:`data_collection`, with its country.

    ``country`` (ISO3): the country of the round, or of the admin units / sites; omitted, the one
    country with figures of the population (per-round datasets) or with boundaries (the others);
    SeveralCountries (400) when several have, NoCountryData (404) for a country without data."""
    ds = DATASETS.get(dataset_key)
    if ds is None and dataset is not None:
        ds, data_country = dataset
        if country is not None and country != data_country:
            raise ExportError(404, f"dataset {dataset_key!r} is of {data_country}, not {country}")
        country = data_country
    if ds is None:
        patterns = ", ".join(dc.id_pattern for dc in registry().data_collections())
        raise ExportError(
            404,
            f"unknown dataset {dataset_key!r}; valid datasets: {valid_datasets()}"
            + (f", {patterns}" if patterns else ""),
        )
    fmt = FORMATS.get(ext)
    if fmt is None:
        raise ExportError(404, f"unknown format {ext!r}; valid formats: {valid_formats()}")
    rnd = None
    if dataset is not None and dataset_key not in DATASETS:
        pass  # its country is the dataset's
    elif ds.per_round:
        country = figures_country(conn, country, population, round_number, reporting_date)
        rnd = resolve_round(conn, RoundRef(round_number, reporting_date), population, country)  # RoundNotFound: 404
    else:
        country = geometry_country(conn, country)
    sel = Selection(ds, round=rnd, spatial=fmt.spatial, country=None if ds.per_round else country)
    zipped = zipped or ext == "shp"
    country = main_country(conn, sel)
    if rnd is not None:
        base = naming.base_name(
            ds.key,
            country=country,
            round_number=rnd["round_number"],
            population=rnd["population"],
            date=rnd["reporting_date"],
        )
    elif dataset is not None and dataset_key not in DATASETS:
        base = naming.base_name(ds.key, country=country)
    elif ds.kind == "admin":
        sets = boundary_info(conn, country=sel.country)
        base = naming.base_name(ds.key, country=country, date=max((s["valid_on"] for s in sets), default=None))
    else:
        base = naming.base_name(ds.key, country=country, date=sites_date(conn))
    job = ExportJob(sel, fmt, zipped, base)
    job.meta = describe(conn, sel)
    if ext == "xlsx":
        n = sel.count(conn)
        if n > XLSX_MAX_ROWS:
            raise ExportError(
                413,
                f"{n:,} rows do not fit in an Excel sheet (at most {XLSX_MAX_ROWS:,}); "
                "export CSV, GeoPackage or FlatGeobuf instead",
            )
    return job


def describe(conn: Connection, sel: Selection) -> dict:
    """What a README / GeoJSON metadata says about a selection."""
    ds, rnd = sel.dataset, sel.round
    meta: dict = {
        "dataset": ds.key,
        "title": ds.title,
        "description": ds.description,
        "credit": CREDIT,
        "source": SOURCE,
        "licence": licence(conn, [sel.country or (rnd["country"] if rnd else None)]),
        "disclaimer": DISCLAIMER,
        "exported_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
    if rnd is not None:
        meta["round"] = {
            "country": rnd["country"],
            "round_number": rnd["round_number"],
            "population": rnd["population"],
            "reporting_date": rnd["reporting_date"].isoformat(),
            "source_file": rnd.get("source_file"),
        }
        meta["title"] = f"{ds.title}, {rnd['country']} {round_label(rnd)}"
        total = (
            conn.exec_driver_sql(
                "SELECT families, individuals, locations FROM unit_figure WHERE round_id = %s AND level = 0",
                (rnd["id"],),
            )
            .mappings()
            .first()
        )
        if total:
            meta["national_total"] = dict(total)
        if ds.kind == "figures":
            b = bucket_totals(conn, rnd["id"], ds.level)
            meta["unassigned"] = b
    sets = boundary_info(conn, rnd["boundary_set_id"] if rnd else None, sel.country)
    meta["boundaries"] = [
        {"country": s["country"], "source": s["source"], "valid_on": s["valid_on"].isoformat()} for s in sets
    ]
    kind = registry().kind_of(ds.key)
    if kind is not None and kind.export_notes is not None:  # e.g. fragility's method card (registry)
        meta.update(kind.export_notes(conn, ds, rnd))
    return meta


# ------------------------------------------------------------------------------ README, field map
def readme_text(job: ExportJob, rows: int) -> str:
    m, ds = job.meta, job.dataset
    lines = [f"DTM Atlas export: {m['title']}", "=" * 72, ""]
    add = lambda k, v: lines.append(f"{k + ':':<19}{v}")  # noqa: E731
    add("File", job.inner_name if job.fmt.ext != "shp" else f"{job.base}.shp (.shx .dbf .prj .cpg)")
    add("Dataset", f"{ds.key}: {ds.title}")
    add("Format", job.fmt.label)
    if "round" in m:
        r = m["round"]
        add(
            "Round",
            f"DTM {r['country']} round {r['round_number']}, {POPULATION_LABEL.get(r['population'], r['population'])}",
        )
        add("Reporting date", r["reporting_date"])
        if r.get("source_file"):
            add("Source file", r["source_file"])
    add("Rows", f"{rows:,}")
    if "national_total" in m:
        t = m["national_total"]
        add(
            "National total",
            f"{t['families']:,} families, {t['individuals']:,} individuals, {t['locations']:,} locations",
        )
    if ds.kind == "figures":
        b = m.get("unassigned")
        if job.fmt.spatial:
            note = (
                "none in this round"
                if not b
                else f"{b['families']:,} families, {b['individuals']:,} individuals in {b['locations']:,} locations "
                "could not be placed in a unit of this level; that bucket has no polygon and is NOT in this file "
                "(the CSV and XLSX exports carry it as the row pcode = UNASSIGNED)"
            )
        else:
            note = (
                "none in this round"
                if not b
                else f"the row pcode = {UNASSIGNED} ({b['families']:,} families, {b['individuals']:,} individuals, "
                f"{b['locations']:,} locations) holds what could not be placed in a unit of this level; it has no "
                "polygon (spatial formats leave it out)"
            )
        add("Unassigned", note)
    for b in m.get("boundaries", []):
        add("Boundaries", f"{b['country']}, {b['source']} valid on {b['valid_on']}")
    add(
        "Coordinates",
        "WGS 84 (EPSG:4326), longitude / latitude" if job.fmt.spatial or ds.is_point else "none (join on pcode)",
    )
    add("Exported", f"{m['exported_at']} by DTM Atlas")
    if m.get("requested_by"):  # an export of data that is not public: who asked for it (the audit's words)
        who = m["requested_by"]
        countries = ", ".join(who["countries"]) if who.get("countries") else "every country"
        add("Access", f"{m.get('access', 'restricted')}: for the requester only, do not share further")
        add("Requested by", f"{who['subject']} ({who['role']}, {countries}; signed in by {who['via']})")
    lines += [
        "",
        f"Source:     {m['source']}",
        f"Credit:     {m['credit']}",
        "",
        "Licence and terms:",
        f"  {m['licence']}",
        "",
        "Disclaimer:",
        f"  {m['disclaimer']}",
        "",
        "",
        "Description",
        "-----------",
        ds.description,
        "",
        "Fields",
        "------",
    ]
    shp = job.fmt.ext == "shp"
    for f in ds.fields:
        name = f"{f.name} ({f.short})" if shp and f.short != f.name else f.name
        lines.append(f"{name:<32}{f.type:<7}{f.hxl_for(job.population):<34}{f.description}")
    if any("a fraction" in f.description for f in ds.fields):
        lines += [
            "",
            "Shares and relative changes are fractions (0-1; 0.125 = 12.5 %), rounded to 4 decimals; percent",
            "appears only in labels and maps. Empty: unknown (e.g. no figure in the previous round).",
        ]
    if m.get("disclosure"):  # public outputs of assessments: small cells suppressed (service/core/disclosure.py)
        lines += ["", "", "Disclosure control", "------------------", m["disclosure"]]
    if m.get("method_card"):
        lines += ["", "", m["method_card"]]
    return "\n".join(lines) + "\n"


def field_map_csv(job: ExportJob) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["shapefile_field", "field", "type", "hxl", "description"])
    for f in job.dataset.fields:
        w.writerow([f.short, f.name, f.type, f.hxl_for(job.population), f.description])
    return buf.getvalue()


# ------------------------------------------------------------------------------ text streams
def iter_csv(conn: Connection, job: ExportJob, counter: list | None = None) -> Iterator[bytes]:
    ds = job.dataset
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([f.name for f in ds.fields])
    w.writerow([f.hxl_for(job.population) for f in ds.fields])
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    n = 0
    for batch in job.selection.batches(conn, "table"):
        buf.seek(0)
        buf.truncate()
        # None -> '', floats as repr, dates ISO; texts a spreadsheet would run as formulas: '=... (safecells)
        w.writerows(csv_row(row[1:]) for row in batch)
        n += len(batch)
        yield buf.getvalue().encode("utf-8")
    if counter is not None:
        counter.append(n)


def iter_geojson(conn: Connection, job: ExportJob, counter: list | None = None) -> Iterator[bytes]:
    meta = {k: v for k, v in job.meta.items() if k not in ("description", "method_card")}
    head = {"type": "FeatureCollection", "name": job.base, "metadata": meta}
    yield orjson.dumps(head)[:-1] + b',"features":[\n'
    n = 0
    for batch in job.selection.batches(conn, "geojson"):
        text_ = ",\n".join(row[0] for row in batch)
        yield ((",\n" if n else "") + text_).encode("utf-8")
        n += len(batch)
    yield b"\n]}\n"
    if counter is not None:
        counter.append(n)


_KML_TYPES = {"str": "string", "int": "int", "float": "double", "date": "string"}
_NOT_NCNAME = re.compile(r"[^A-Za-z0-9_.-]")


def _xml_id(value) -> str:
    """A valid XML ID (NCName) for a row id: ``IQG01Q01`` stays, ``3712`` becomes ``f3712``."""
    s = _NOT_NCNAME.sub("_", str(value))
    return s if s[:1].isalpha() or s[:1] == "_" else f"f{s}"


def iter_kml(conn: Connection, job: ExportJob, counter: list | None = None) -> Iterator[bytes]:
    ds, m = job.dataset, job.meta
    schema = job.base
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2">',
        '<Document id="root_doc">',
        f"<name>{escape(job.base)}</name>",
        f"<description>{escape(m['title'] + '. Credit: ' + CREDIT + '. ' + DISCLAIMER)}</description>",
        f'<Schema name="{schema}" id="{schema}">',
        *(f'  <SimpleField name="{f.name}" type="{_KML_TYPES[f.type]}"></SimpleField>' for f in ds.fields),
        "</Schema>",
        f"<Folder><name>{escape(job.base)}</name>",
    ]
    yield ("\n".join(head) + "\n").encode("utf-8")
    names = [f.name for f in ds.fields]
    label = "name_en" if "name_en" in names else names[0]
    li = names.index(label) + 1
    n = 0
    for batch in job.selection.batches(conn, "kml"):
        out = []
        for row in batch:
            title = row[li] if row[li] is not None else row[1]
            data = "".join(
                f'<SimpleData name="{k}">{escape(v.isoformat() if hasattr(v, "isoformat") else str(v))}</SimpleData>'
                for k, v in zip(names, row[1:-1])
                if v is not None
            )
            out.append(
                f'<Placemark id="{_xml_id(row[0])}"><name>{escape(str(title or ""))}</name>'
                f'<ExtendedData><SchemaData schemaUrl="#{schema}">{data}</SchemaData></ExtendedData>'
                f"{row[-1] or ''}</Placemark>\n"
            )
        n += len(batch)
        yield "".join(out).encode("utf-8")
    yield b"</Folder>\n</Document>\n</kml>\n"
    if counter is not None:
        counter.append(n)


STREAMS = {"csv": iter_csv, "geojson": iter_geojson, "kml": iter_kml}


def stream(engine: Engine, job: ExportJob) -> Iterator[bytes]:
    """The bytes of a CSV / GeoJSON / KML export, from a connection of its own (for streaming responses)."""
    with engine.connect() as conn:
        yield from STREAMS[job.fmt.ext](conn, job)


# ------------------------------------------------------------------------------ pyogrio files
def _column(ftype: str, values: tuple, fixed_width: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    if ftype == "int":
        mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        arr = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=len(values))
        return arr, (mask if mask.any() else None)
    if ftype == "float":
        return np.fromiter((np.nan if v is None else v for v in values), dtype=np.float64, count=len(values)), None
    if ftype == "date":
        return np.array(values, dtype="datetime64[D]"), None
    if fixed_width:
        # shapefile: a fixed-width array gives the .dbf field its width (else 80 bytes of padding per
        # text field and row); GDAL widens the field later if a longer value comes
        mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        arr = np.array(["" if v is None else v for v in values], dtype=str)
        if arr.dtype.itemsize == 0:
            arr = arr.astype("U1")
        return arr, (mask if mask.any() else None)
    return np.array(values, dtype=object), None


def _empty(ftype: str) -> np.ndarray:
    return np.array([], dtype={"int": np.int64, "float": np.float64, "date": "datetime64[D]"}.get(ftype, object))


_GDAL_TUNED = False


def _tune_gdal() -> None:
    """GeoPackage appends keep an R-tree up to date: with SQLite's default 2 MB page cache a 1M-row
    export spends most of its time re-reading R-tree pages. 32 MB (per open file) halves the time;
    our files are temporary, so no fsync either. Environment variables of the same names win."""
    global _GDAL_TUNED
    if _GDAL_TUNED:
        return
    import pyogrio

    opts = {k: v for k, v in {"OGR_SQLITE_CACHE": "32", "OGR_SQLITE_SYNCHRONOUS": "OFF"}.items() if k not in os.environ}
    if opts:
        pyogrio.set_gdal_config_options(opts)
    _GDAL_TUNED = True


def write_ogr(
    conn: Connection,
    job: ExportJob,
    path: Path,
    driver: str,
    *,
    layer_options: dict | None = None,
    dataset_options: dict | None = None,
    batch: int = FILE_BATCH,
) -> int:
    """Write the selection with pyogrio, one batch per append; returns the row count."""
    import pyogrio.raw

    _tune_gdal()
    ds = job.dataset
    names = [f.name if driver != "ESRI Shapefile" else f.short for f in ds.fields]
    common = dict(
        driver=driver,
        geometry_type=ds.geometry_type,
        crs="EPSG:4326",
        layer=None if driver == "ESRI Shapefile" else job.base,
        encoding="UTF-8" if driver == "ESRI Shapefile" else None,
    )
    first_opts = dict(layer_options or {})
    if driver == "GPKG":
        # GeoPackage 1.2: QGIS 3.22 LTR / GDAL 3.6 open 1.4 files only with a "partially supported" warning
        dataset_options = {"VERSION": GPKG_VERSION, **(dataset_options or {})}
        first_opts.setdefault("DESCRIPTION", f"{job.meta['title']}. Credit: {CREDIT}. {DISCLAIMER}")
        first_opts.setdefault("IDENTIFIER", job.base)
    n = 0
    for rows in job.selection.batches(conn, "values", batch=batch):
        cols = list(zip(*rows))
        arrays, masks = [], []
        for f, values in zip(ds.fields, cols[1:-1]):
            arr, mask = _column(f.type, values, fixed_width=driver == "ESRI Shapefile")
            arrays.append(arr)
            masks.append(mask)
        geom = np.array(cols[-1], dtype=object)
        pyogrio.raw.write(
            str(path),
            geom,
            arrays,
            names,
            field_mask=masks if any(m is not None for m in masks) else None,
            append=n > 0,
            layer_options=first_opts if n == 0 else None,
            dataset_options=dataset_options if n == 0 else None,
            **common,
        )
        n += len(rows)
        del cols, arrays, masks, geom, rows
    if n == 0:
        pyogrio.raw.write(
            str(path),
            np.array([], dtype=object),
            [_empty(f.type) for f in ds.fields],
            names,
            layer_options=first_opts,
            dataset_options=dataset_options,
            **common,
        )
    return n


def _write_fgb(conn: Connection, job: ExportJob, path: Path) -> int:
    """FlatGeobuf with a spatial index: through a temporary GeoPackage and ogr2ogr. A packed
    spatial index cannot hold rows without geometry (locations or sites without a point): then,
    or without ogr2ogr, pyogrio appends batches to a FlatGeobuf without index, keeping every row."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None or job.selection.count_without_geometry(conn) > 0:
        return write_ogr(conn, job, path, "FlatGeobuf", layer_options={"SPATIAL_INDEX": "NO"})
    tmp = path.with_suffix(".tmp.gpkg")
    try:
        n = write_ogr(
            conn, job, tmp, "GPKG", layer_options={"SPATIAL_INDEX": "NO"}, dataset_options={"VERSION": "1.2"}
        )  # readable without warnings by older ogr2ogr
        proc = subprocess.run(
            [ogr2ogr, "-f", "FlatGeobuf", "-lco", "SPATIAL_INDEX=YES", "-nln", job.base, str(path), str(tmp), job.base],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"ogr2ogr failed: {proc.stderr.strip()}")
        return n
    finally:
        tmp.unlink(missing_ok=True)


def _write_xlsx(conn: Connection, job: ExportJob, path: Path) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    ds = job.dataset
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.freeze_panes = "A3"
    bold, grey = Font(bold=True), Font(italic=True, color="666666")

    def cells(values, font):
        out = []
        for v in values:
            c = WriteOnlyCell(ws, value=v)
            c.font = font
            out.append(c)
        return out

    ws.append(cells([f.name for f in ds.fields], bold))
    ws.append(cells([f.hxl_for(job.population) for f in ds.fields], grey))
    n = 0
    for rows in job.selection.batches(conn, "table"):
        for row in rows:
            ws.append(xlsx_row(ws, row[1:]))  # formulas never: text cells (service/publish/safecells.py)
        n += len(rows)
    readme = wb.create_sheet("README")
    for line in readme_text(job, n).splitlines():
        readme.append(xlsx_row(readme, [line]))  # (its '=====' rule is text, not a broken formula)
    wb.save(path)
    return n


def _write_stream(conn: Connection, job: ExportJob, fh) -> int:
    counter: list = []
    for chunk in STREAMS[job.fmt.ext](conn, job, counter):
        fh.write(chunk)
    return counter[0]


def write_plain(conn: Connection, job: ExportJob, path: Path) -> int:
    """The export's data file itself (never zipped) at ``path``; for shapefiles, ``path`` is the .shp."""
    ext = job.fmt.ext
    if ext in STREAMS:
        with open(path, "wb") as fh:
            return _write_stream(conn, job, fh)
    if ext == "xlsx":
        return _write_xlsx(conn, job, path)
    if ext == "fgb":
        return _write_fgb(conn, job, path)
    return write_ogr(conn, job, path, job.fmt.driver)


def write(engine: Engine, job: ExportJob, out_dir: Path) -> Path:
    """Write the export (zipped when asked, always for shapefiles) into ``out_dir``; returns its path."""
    out_dir = Path(out_dir)
    with engine.connect() as conn:
        if not job.zipped:
            path = out_dir / job.filename
            write_plain(conn, job, path)
            return path
        zpath = out_dir / job.filename
        work = Path(tempfile.mkdtemp(prefix="dtm-export-", dir=out_dir))
        try:
            with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as z:
                if job.fmt.ext in STREAMS:
                    with z.open(job.inner_name, "w", force_zip64=True) as fh:
                        n = _write_stream(conn, job, fh)
                else:
                    inner = work / (f"{job.base}.shp" if job.fmt.ext == "shp" else job.inner_name)
                    n = write_plain(conn, job, inner)
                    for p in sorted(work.iterdir()):
                        z.write(p, p.name)
                        p.unlink()
                z.writestr(naming.readme_name(job.base), readme_text(job, n))
                if job.fmt.ext == "shp":
                    z.writestr(naming.field_map_name(job.base), field_map_csv(job))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return zpath


def export_to(
    engine: Engine,
    dataset_key: str,
    ext: str,
    output: Path | None = None,
    *,
    round_number: int | None = None,
    reporting_date: dt.date | None = None,
    population: str | None = None,
    zipped: bool = False,
    country: str | None = None,
) -> tuple[Path, ExportJob]:
    """The CLI's entry: write an export to ``output`` (a file, or a folder for the conventional
    name). The round: its DTM number or its reporting date (default: the latest)."""
    with engine.connect() as conn:
        job = prepare(
            conn,
            dataset_key,
            ext,
            round_number=round_number,
            reporting_date=reporting_date,
            population=population,
            zipped=zipped,
            country=country,
        )
    if output is None:
        output = Path.cwd()
    output = Path(output)
    target = output / job.filename if output.is_dir() else output
    tmpdir = Path(tempfile.mkdtemp(prefix="dtm-export-", dir=target.parent))
    try:
        path = write(engine, job, tmpdir)
        os.replace(path, target)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return target, job
