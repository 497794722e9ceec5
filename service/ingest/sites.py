"""Import sites (camps, informal settlements, collective centres) from CSV or GeoJSON.

Owner of ``site``. One transaction per file: sites are upserted by (country, site_id) and
placed into admin units by point-in-polygon. A file with rows that cannot be identified
(no site ID, duplicate IDs) is rejected whole, with every bad row listed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, text

from service.core.bulk import copy_rows
from service.core.importlog import ImportRecord, bump_data_version, log_import, log_rejection

ALIASES = {
    "site_id": ["site_id", "siteid", "site_code", "sitecode", "id", "id_camp", "loc_code", "#loc+code", "#loc+id"],
    "name_en": ["name_en", "site_name", "sitename", "name", "location", "#loc+name"],
    "name_ar": ["name_ar", "arabic_name", "site_name_ar", "#loc+name+i_ar"],
    "site_type": ["site_type", "type", "sitetype", "location_t", "#loc+type"],
    "status": ["status", "site_status", "#status"],
    "households": ["households", "families", "hh", "#affected+hh"],
    "individuals": ["individuals", "individual", "ind", "population", "#affected+ind"],
    "lat": ["lat", "latitude", "y", "#geo+lat"],
    "lon": ["lon", "long", "longitude", "lng", "x", "#geo+lon"],
}


class SiteFileError(Exception):
    pass


@dataclass
class SiteImportResult:
    file: str
    rows: int
    inserted_or_updated: int
    without_point: list[int] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    data_version: int | None = None


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SiteFileError(f"{path.name}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            textdata = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            textdata = raw.decode("cp1256")
        import io

        df = pd.read_csv(io.StringIO(textdata), dtype=str, keep_default_na=False)
        first_line = 2
        # an HXL hashtag row right under the header: use the tags as names where they help
        if len(df) and all(str(v).startswith("#") or v == "" for v in df.iloc[0]):
            tags = list(df.iloc[0])
            df = df.iloc[1:].reset_index(drop=True)
            df.columns = [t if t else c for c, t in zip(df.columns, tags)]
            first_line = 3
        df["__row"] = range(first_line, first_line + len(df))
        return df
    if suffix in (".geojson", ".json", ".gpkg"):
        import pyogrio

        gdf = pyogrio.read_dataframe(path)
        if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs(4326)
        types = set(gdf.geometry.geom_type.dropna())
        if types - {"Point"}:
            raise SiteFileError(f"{path.name}: sites must be points; found {', '.join(sorted(types))}")
        df = pd.DataFrame(gdf.drop(columns="geometry")).astype(object).where(gdf.notna(), None)
        df["lon"] = gdf.geometry.x
        df["lat"] = gdf.geometry.y
        df["__row"] = range(1, len(df) + 1)
        return df
    raise SiteFileError(f"{path.name}: unsupported file type {suffix or '(none)'}; expected .csv, .geojson or .gpkg")


def _num(v, integer: bool):
    if v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == "":
        return None
    try:
        f = float(str(v).replace(",", ""))
    except ValueError:
        raise ValueError(str(v))
    return int(f) if integer else f


def import_sites(
    engine: Engine,
    path: str | Path,
    *,
    country: str = "IRQ",
    username: str | None = None,
    keep_duplicate_ids: bool = False,
) -> SiteImportResult:
    """Upsert the sites of a file by site ID. A file whose sites are not identifiable (an
    empty or repeated ID) is rejected, unless ``keep_duplicate_ids``: a repeated ID's later
    rows are then kept as ``ID#ROW`` and each is reported (real lists have such mistakes)."""
    path = Path(path)
    rec = ImportRecord(kind="sites", file_name=path.name, sha256=None)
    if username:
        rec.username = username
    try:
        df = _read(path)
        rec.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        if df.empty:
            raise SiteFileError(f"{path.name}: no rows")
        cols = {_key(c): c for c in df.columns}
        found = {}
        for target, names in ALIASES.items():
            for n in names:
                if _key(n) in cols:
                    found[target] = cols[_key(n)]
                    break
        missing = [t for t in ("site_id", "lat", "lon") if t not in found]
        if missing:
            raise SiteFileError(
                f"{path.name}: missing required column(s) {', '.join(missing)}; "
                f"found: {', '.join(c for c in df.columns if c != '__row')}"
            )
        used = set(found.values()) | {"__row"}
        rows, issues, no_point = [], [], []
        ids: dict[str, int] = {}
        for rec_row in df.to_dict("records"):
            line = rec_row["__row"]
            sid = str(rec_row.get(found["site_id"]) or "").strip()
            if sid.endswith(".0") and sid[:-2].isdigit():
                sid = sid[:-2]
            if not sid:
                issues.append(f"row {line}: field {found['site_id']}: no site ID")
                continue
            if sid in ids:
                if not keep_duplicate_ids:
                    issues.append(
                        f"row {line}: field {found['site_id']}: duplicate site ID {sid} (first on row {ids[sid]})"
                    )
                    continue
                kept = f"{sid}#{line}"
                issues.append(
                    f"row {line}: field {found['site_id']}: duplicate site ID {sid} (first on row "
                    f"{ids[sid]}): kept as {kept}"
                )
                sid = kept
            ids[sid] = line
            vals = {}
            for key, integer in (("households", True), ("individuals", True), ("lat", False), ("lon", False)):
                try:
                    vals[key] = _num(rec_row.get(found[key]), integer) if key in found else None
                except ValueError as exc:
                    issues.append(f"row {line}: field {found[key]}: not a number: {exc}")
                    vals[key] = None
            if (
                vals["lat"] is None
                or vals["lon"] is None
                or not (-90 <= vals["lat"] <= 90 and -180 <= vals["lon"] <= 180)
            ):
                no_point.append(line)
                vals["lat"] = vals["lon"] = None
            extra = {k: (None if v is None else str(v)) for k, v in rec_row.items() if k not in used}
            rows.append(
                (
                    country,
                    sid,
                    _txt(rec_row.get(found.get("name_en"))),
                    _txt(rec_row.get(found.get("name_ar"))),
                    _txt(rec_row.get(found.get("site_type"))),
                    _txt(rec_row.get(found.get("status"))),
                    vals["households"],
                    vals["individuals"],
                    vals["lon"],
                    vals["lat"],
                    json.dumps(extra, ensure_ascii=False),
                )
            )
        if any("site ID" in i and "kept as" not in i for i in issues):
            raise SiteFileError(f"{path.name}: rejected, sites must be identifiable:\n  " + "\n  ".join(issues))
        rec.rows_read = len(df)
        with engine.begin() as conn:
            import_id = log_import(conn, rec, "committed")
            conn.execute(
                text(
                    "CREATE TEMP TABLE site_stage (country text, site_id text, name_en text, name_ar text, "
                    "site_type text, status text, households integer, individuals integer, lon float8, lat float8, "
                    "extra jsonb) ON COMMIT DROP"
                )
            )
            copy_rows(
                conn,
                "site_stage",
                [
                    "country",
                    "site_id",
                    "name_en",
                    "name_ar",
                    "site_type",
                    "status",
                    "households",
                    "individuals",
                    "lon",
                    "lat",
                    "extra",
                ],
                rows,
            )
            n = conn.execute(
                text(
                    """
                INSERT INTO site (country, site_id, name_en, name_ar, site_type, status, households, individuals, geom,
                                  adm1, adm2, adm3, extra, import_id)
                SELECT s.country, s.site_id, s.name_en, s.name_ar, s.site_type, s.status, s.households, s.individuals,
                       pt.g, c.adm1, c.adm2, c.adm3, s.extra, :i
                FROM site_stage s
                CROSS JOIN LATERAL (SELECT CASE WHEN s.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)
                    END AS g) pt
                LEFT JOIN LATERAL (
                  SELECT max(a.pcode) FILTER (WHERE a.level = 1) AS adm1,
                         max(a.pcode) FILTER (WHERE a.level = 2) AS adm2,
                         max(a.pcode) FILTER (WHERE a.level = 3) AS adm3
                  FROM admin_unit_subdivided a JOIN boundary_set b ON b.id = a.boundary_set_id
                      AND b.is_current AND b.country = s.country
                  WHERE pt.g IS NOT NULL AND ST_Intersects(a.geom, pt.g) AND a.level BETWEEN 1 AND 3
                ) c ON true
                ON CONFLICT (country, site_id) DO UPDATE SET
                  name_en = EXCLUDED.name_en, name_ar = EXCLUDED.name_ar, site_type = EXCLUDED.site_type,
                  status = EXCLUDED.status, households = EXCLUDED.households, individuals = EXCLUDED.individuals,
                  geom = EXCLUDED.geom, adm1 = EXCLUDED.adm1, adm2 = EXCLUDED.adm2, adm3 = EXCLUDED.adm3,
                  extra = EXCLUDED.extra, import_id = EXCLUDED.import_id
                """
                ),
                {"i": import_id},
            ).rowcount
            conn.execute(
                text(
                    "UPDATE import_log SET rows_accepted = :n, rows_flagged = :f, details = CAST(:d AS jsonb) "
                    "WHERE id = :i"
                ),
                {
                    "n": n,
                    "f": len(issues) + len(no_point),
                    "i": import_id,
                    "d": json.dumps({"issues": issues, "rows_without_point": no_point}),
                },
            )
            version = bump_data_version(conn)
        return SiteImportResult(path.name, len(df), n, no_point, issues, version)
    except Exception as exc:
        log_rejection(engine, rec, str(exc))
        raise


def _txt(v) -> str | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    s = str(v).strip()
    return s or None
