"""Opening a boundary file: checks on the path and format, the one shapefile of a .zip, the
layer of a GeoPackage, pyogrio's read into a GeoDataFrame, and the file's SHA-256.

:class:`BoundaryFileError` is the one error of reading boundaries (every step raises it).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
_MAX_LISTED = 10
ADM_PCODE = re.compile(r"^adm(\d)_pcode$", re.IGNORECASE)
_ADM_IN_NAME = re.compile(r"adm(?:in)?[_ ]?(\d)(?!\d)", re.IGNORECASE)


class BoundaryFileError(Exception):
    """A boundary file cannot be used.  ``str()`` is ``'<file>: field <field>: <reason>'``
    (or ``'<file>: <reason>'`` when no single field is at fault)."""

    def __init__(self, file: str, reason: str, field: str | None = None, *, path: str | None = None):
        self.file = file
        self.field = field
        self.reason = reason
        self.path = path if path is not None else file
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.field:
            return f"{self.file}: field {self.field}: {self.reason}"
        return f"{self.file}: {self.reason}"


# --------------------------------------------------------------------------- helpers


def listing(items: list[str] | set[str], limit: int = _MAX_LISTED) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    if len(items) > limit:
        shown += f" ... ({len(items)} in all)"
    return shown


def clean_text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    return text or None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    files = [path]
    if path.suffix.lower() == ".shp":
        files = []
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            for cand in (path.with_suffix(ext), path.with_suffix(ext.upper())):
                if cand.exists():
                    files.append(cand)
                    break
    for f in files:
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def level_from_name(name: str) -> int | None:
    m = _ADM_IN_NAME.search(name)
    return int(m.group(1)) if m else None


def _highest_adm_level(fields: list[str]) -> int | None:
    levels = [int(m.group(1)) for f in fields if (m := ADM_PCODE.match(f))]
    return max(levels) if levels else None


# --------------------------------------------------------------------------- opening


@dataclass
class _Source:
    target: str  # what pyogrio opens
    layer: str | None


def _open_zip(path: Path, name: str, level: int | None) -> _Source:
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.namelist()
            bad = zf.testzip()
    except zipfile.BadZipFile as exc:
        raise BoundaryFileError(name, f"not a valid zip archive ({exc})", path=str(path)) from None
    except OSError as exc:
        raise BoundaryFileError(name, f"cannot read zip archive ({exc})", path=str(path)) from None
    if bad is not None:
        raise BoundaryFileError(name, f"corrupt zip archive (bad CRC in {bad})", path=str(path))
    shps = [
        m
        for m in members
        if m.lower().endswith(".shp") and not m.startswith("__MACOSX/") and not Path(m).name.startswith("._")
    ]
    if not shps:
        found = listing([m for m in members if not m.endswith("/")]) or "nothing"
        raise BoundaryFileError(name, f"zip archive contains no .shp file (found: {found})", path=str(path))
    if len(shps) > 1:
        chosen = [m for m in shps if level is not None and level_from_name(Path(m).name) == level]
        if len(chosen) != 1:
            hint = "" if level is not None else "; pass level= to choose one"
            raise BoundaryFileError(
                name, f"zip archive contains {len(shps)} shapefiles ({listing(shps)}){hint}", path=str(path)
            )
        shps = chosen
    member = shps[0]
    stem = member[:-4]
    if not any(m.lower() == (stem + ".dbf").lower() for m in members):
        raise BoundaryFileError(name, f"{member} has no .dbf attribute file in the zip archive", path=str(path))
    return _Source(target=f"/vsizip/{path.resolve()}/{member}", layer=None)


def _open_gpkg(path: Path, name: str, level: int | None) -> _Source:
    try:
        layers = pyogrio.list_layers(str(path))
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise BoundaryFileError(name, f"cannot open GeoPackage ({exc})", path=str(path)) from None
    geo_layers = [str(row[0]) for row in layers if row[1] is not None]
    if not geo_layers:
        raise BoundaryFileError(name, "GeoPackage has no layer with geometries", path=str(path))
    if len(geo_layers) == 1:
        return _Source(target=str(path), layer=geo_layers[0])
    if level is None:
        raise BoundaryFileError(
            name,
            f"GeoPackage has {len(geo_layers)} layers ({listing(geo_layers)}); pass level= to choose one",
            path=str(path),
        )
    by_fields, by_name = [], []
    for lyr in geo_layers:
        try:
            fields = [str(f) for f in pyogrio.read_info(str(path), layer=lyr)["fields"]]
        except Exception:
            fields = []
        if _highest_adm_level(fields) == level:
            by_fields.append(lyr)
        if level_from_name(lyr) == level:
            by_name.append(lyr)
    for cands in (by_fields, by_name, sorted(set(by_fields) & set(by_name))):
        if len(cands) == 1:
            return _Source(target=str(path), layer=cands[0])
    raise BoundaryFileError(
        name,
        f"GeoPackage has {len(geo_layers)} layers ({listing(geo_layers)}) and "
        f"{'none' if not (by_fields or by_name) else 'more than one'} matches level {level}",
        path=str(path),
    )


def read_frame(path: Path, name: str, level: int | None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise BoundaryFileError(name, "file not found", path=str(path))
    if path.is_dir():
        raise BoundaryFileError(name, "is a directory, not a file", path=str(path))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "(no extension)"
        raise BoundaryFileError(
            name, f"unsupported format {shown}; expected .geojson, .json, .gpkg, .shp or .zip", path=str(path)
        )
    if path.stat().st_size == 0:
        raise BoundaryFileError(name, "file is empty (0 bytes)", path=str(path))
    if suffix == ".zip":
        src = _open_zip(path, name, level)
    elif suffix == ".gpkg":
        src = _open_gpkg(path, name, level)
    else:
        if suffix == ".shp":
            if not (path.with_suffix(".dbf").exists() or path.with_suffix(".DBF").exists()):
                raise BoundaryFileError(name, "shapefile has no .dbf attribute file next to it", path=str(path))
        src = _Source(target=str(path), layer=None)
    try:
        kwargs = {"layer": src.layer} if src.layer is not None else {}
        frame = pyogrio.read_dataframe(src.target, **kwargs)
    except Exception as exc:  # DataSourceError, DataLayerError, FieldError, ...
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = msg.replace(str(path.resolve()), name).replace(str(path), name)
        raise BoundaryFileError(name, f"cannot read file: {msg}", path=str(path)) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
        raise BoundaryFileError(name, "file has no geometry column", path=str(path))
    if len(frame) == 0:
        raise BoundaryFileError(name, "file contains no features", path=str(path))
    return frame
