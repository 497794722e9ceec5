"""File names of exports: one convention for the API, the CLI and the files inside zips.

``{iso3}_dtm_{population}_{what}_r{round}_{yyyymmdd}`` for a round's data, after the reporting date
(``irq_dtm_idp_adm2_r120_20210228``, ``irq_dtm_returnee_locations_r120_20210228``; a round DTM's
calendar does not number: ``irq_dtm_idp_adm2_20190630``);
``{iso3}_dtm_admbnda_adm{n}_{yyyymmdd}`` for boundaries, after their COD-AB ``validOn``
(``irq_dtm_admbnda_adm2_20190603``, like COD-AB's own ``irq_admbnda_adm2_cso_20190603``);
``{iso3}_dtm_sites_{yyyymmdd}`` for sites, after the last sites import.

The extension follows: ``.gpkg``, ``.fgb``, ``.geojson``, ``.kml``, ``.csv``, ``.xlsx``; a zipped
shapefile is ``.shp.zip`` (GDAL and QGIS open it as is) and any other zipped format
``.<ext>.zip``. Layer names inside GeoPackage / KML / FlatGeobuf are the base name.
"""

from __future__ import annotations

import datetime as dt
import re

_SAFE = re.compile(r"[^a-z0-9_]+")


def _part(value: str) -> str:
    return _SAFE.sub("", value.lower().replace("-", "_"))


def base_name(
    dataset_key: str,
    *,
    country: str,
    round_number: int | None = None,
    population: str | None = None,
    date: dt.date | None = None,
) -> str:
    """``figures-adm2`` + IRQ + idp round 120 of 2021-02-28 -> ``irq_dtm_idp_adm2_r120_20210228``."""
    iso3 = _part(country or "xxx")
    day = (date or dt.date.today()).strftime("%Y%m%d")
    if dataset_key.startswith("figures-"):
        what = dataset_key.split("-", 1)[1]
    elif dataset_key.startswith("admin"):
        return f"{iso3}_dtm_admbnda_adm{dataset_key[5:]}_{day}"
    else:
        what = _part(dataset_key)
    if round_number is not None:
        return f"{iso3}_dtm_{_part(population or 'idp')}_{what}_r{round_number}_{day}"
    if population is not None:  # a round without a DTM number: named by its date alone
        return f"{iso3}_dtm_{_part(population)}_{what}_{day}"
    return f"{iso3}_dtm_{what}_{day}"


def file_name(base: str, ext: str, zipped: bool = False) -> str:
    """``base`` + ``.gpkg`` (or ``.gpkg.zip``); shapefiles are always ``.shp.zip``."""
    if ext == "shp":
        return f"{base}.shp.zip"
    return f"{base}.{ext}.zip" if zipped else f"{base}.{ext}"


def readme_name(base: str) -> str:
    return "README.txt"


def field_map_name(base: str) -> str:
    return f"{base}_fields.csv"
