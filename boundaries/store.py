"""Owner of ``boundary_set``, ``admin_unit``, ``admin_unit_generalised`` and
``admin_unit_subdivided``: all their SQL (``admin_unit_tile``, cut from the generalised
bands at the same import, is ``tiles.pretile``'s).

An import of one file (one level of one country) is one transaction: the set is found or
created, the level's units are replaced through COPY, the level is generalised per zoom band,
the newest set of the country becomes current, and the data version rises. Re-importing the
same file (same checksum) changes nothing; a different file for a level of the same (country,
source, validOn) is refused unless ``replace``, which makes a new revision of the set (the other
levels copied) and keeps the old one, ``superseded_by`` the new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, Engine, select, text

from boundaries.generalise import coverage_report, generalise_level
from boundaries.pcode import normalize_pcode
from boundaries.reader import BoundaryRead, UnitNote
from boundaries.tables import admin_unit
from service.core.bulk import copy_rows, ewkb_hex
from service.core.importlog import ImportRecord, bump_data_version, log_import, log_rejection
from tiles import pretile


@dataclass
class BoundaryImportResult:
    file: str
    country: str
    level: int
    boundary_set_id: int
    valid_on: date
    units: int
    outcome: str  # 'committed' | 'unchanged'
    import_id: int | None
    data_version: int | None
    repairs: list = field(default_factory=list)
    coverage_valid: bool | None = None
    # per unit, accepted and reported: the reader's notes (placeholder P-codes, multi-part
    # units), units kept as a minimal geometry in some zoom bands, parents missing in the set
    notes: list[UnitNote] = field(default_factory=list)


class BoundaryConflict(ValueError):
    """The level of this boundary set (country, source, validOn) holds other geometry already."""


def import_boundaries(
    engine: Engine, read: BoundaryRead, username: str | None = None, replace: bool = False
) -> BoundaryImportResult:
    """Import one level of a boundary set. A file of the same set (country, source, validOn)
    whose geometry differs from what the level holds is refused (BoundaryConflict), unless
    ``replace``: a changed file must not silently redraw the current units under every round."""
    valid_on = read.valid_on or date.today()
    rec = ImportRecord(
        kind=f"boundaries:adm{read.level}",
        file_name=read.file,
        sha256=read.sha256,
        rows_read=len(read.units),
        rows_accepted=len(read.units),
        rows_flagged=len(read.repairs),
        details={
            "country": read.country_iso3,
            "level": read.level,
            "source": read.source,
            "valid_on": valid_on.isoformat(),
            "repairs": [{"pcode": r.pcode, "reason": r.reason} for r in read.repairs],
            "source_crs": read.source_crs,
            "notes": [n.to_dict() for n in read.notes],
        },
    )
    if username:
        rec.username = username
    try:
        with engine.begin() as conn:
            # one import of a (country, source, validOn) at a time; the set read is its newest revision
            conn.execute(
                text("SELECT pg_advisory_xact_lock(1000001, hashtext(:c || '/' || :s || '/' || CAST(:v AS text)))"),
                {"c": read.country_iso3, "s": read.source, "v": valid_on},
            )
            conn.execute(
                text(
                    "INSERT INTO boundary_set (country, source, valid_on) VALUES (:c, :s, :v) "
                    "ON CONFLICT (country, source, valid_on, revision) DO NOTHING"
                ),
                {"c": read.country_iso3, "s": read.source, "v": valid_on},
            )
            set_id = conn.execute(
                text(
                    "SELECT id FROM boundary_set WHERE country = :c AND source = :s AND valid_on = :v "
                    "ORDER BY revision DESC LIMIT 1"
                ),
                {"c": read.country_iso3, "s": read.source, "v": valid_on},
            ).scalar_one()
            existing = conn.execute(
                text("SELECT array_agg(DISTINCT sha256) FROM admin_unit WHERE boundary_set_id = :s AND level = :l"),
                {"s": set_id, "l": read.level},
            ).scalar()
            if existing and existing != [read.sha256] and not replace:
                raise BoundaryConflict(
                    f"{read.file}: level {read.level} of the {read.country_iso3} boundaries of {read.source}, valid on "
                    f"{valid_on.isoformat()}, is already imported from a different file (other geometry or "
                    "attributes); give the new file its own validOn date, or --replace to import it as a new "
                    "revision of the set (the old set is kept with the rounds placed on it)"
                )
            replaced_set = None
            if existing and existing != [read.sha256]:
                replaced_set = set_id
                set_id = _new_revision(conn, set_id, read.level)
                rec.details["replaces_boundary_set"] = replaced_set
            if existing == [read.sha256]:
                return BoundaryImportResult(
                    read.file,
                    read.country_iso3,
                    read.level,
                    set_id,
                    valid_on,
                    len(read.units),
                    "unchanged",
                    log_import(conn, rec, "unchanged", "same file already imported"),
                    None,
                    read.repairs,
                    None,
                    list(read.notes),
                )
            cov = coverage_report(read.units)
            bands = generalise_level(read.units)
            minimal: dict[str, list[int]] = {}
            for band in bands:
                for pc in band.minimal:
                    minimal.setdefault(pc, []).append(band.zband)
            notes = list(read.notes)
            notes += [
                UnitNote(
                    pc,
                    "minimal_geometry",
                    f"smaller than a pixel at zoom {_ranges(zs)}: kept there as a "
                    "one-pixel square at a point inside it",
                )
                for pc, zs in sorted(minimal.items())
            ]
            notes += [
                UnitNote(
                    pc,
                    "parent_missing",
                    f"parent {parent} (level {read.level - 1}) is not in the "
                    "boundary set (yet): imported, reported by the hierarchy check",
                )
                for pc, parent in _missing_parents(conn, set_id, read)
            ]
            rec.details["notes"] = [n.to_dict() for n in notes]
            import_id = log_import(conn, rec, "committed")
            conn.execute(
                text("DELETE FROM admin_unit WHERE boundary_set_id = :s AND level = :l"),
                {"s": set_id, "l": read.level},
            )
            conn.execute(
                text("DELETE FROM admin_unit_generalised WHERE boundary_set_id = :s AND level = :l"),
                {"s": set_id, "l": read.level},
            )
            units = read.units
            wkb = ewkb_hex(units.geometry.values, 4326)
            copy_rows(
                conn,
                "admin_unit",
                [
                    "boundary_set_id",
                    "country",
                    "level",
                    "pcode",
                    "parent_pcode",
                    "name_en",
                    "name_ar",
                    "alt_names",
                    "source",
                    "valid_on",
                    "import_id",
                    "sha256",
                    "geom",
                ],
                (
                    (
                        set_id,
                        read.country_iso3,
                        read.level,
                        u.pcode,
                        u.parent_pcode,
                        u.name_en,
                        u.name_ar,
                        list(u.alt_names or []),
                        read.source,
                        valid_on,
                        import_id,
                        read.sha256,
                        g,
                    )
                    for u, g in zip(units.itertuples(index=False), wkb)
                ),
            )
            conn.execute(
                text(
                    "UPDATE admin_unit SET area_km2 = ST_Area(geom::geography) / 1e6 "
                    "WHERE boundary_set_id = :s AND level = :l"
                ),
                {"s": set_id, "l": read.level},
            )
            conn.execute(
                text("DELETE FROM admin_unit_subdivided WHERE boundary_set_id = :s AND level = :l"),
                {"s": set_id, "l": read.level},
            )
            conn.execute(
                text(
                    """
                    INSERT INTO admin_unit_subdivided (boundary_set_id, level, pcode, geom)
                    SELECT boundary_set_id, level, pcode, ST_Subdivide(geom, 64)
                    FROM admin_unit WHERE boundary_set_id = :s AND level = :l
                    """
                ),
                {"s": set_id, "l": read.level},
            )
            rows = []
            for band in bands:
                for pc, g4, g3 in zip(band.pcodes, ewkb_hex(band.geoms_4326, 4326), ewkb_hex(band.geoms_3857, 3857)):
                    rows.append((set_id, read.level, band.zband, pc, g4, g3))
            copy_rows(
                conn,
                "admin_unit_generalised",
                ["boundary_set_id", "level", "zband", "pcode", "geom", "geom_3857"],
                rows,
            )
            pretile.build(conn, set_id, read.level)  # the bands cut into tiles (tiles.pretile)
            _refresh_current(conn, read.country_iso3)
            version = bump_data_version(conn)
            return BoundaryImportResult(
                read.file,
                read.country_iso3,
                read.level,
                set_id,
                valid_on,
                len(units),
                "committed",
                import_id,
                version,
                read.repairs,
                cov["coverage_valid"],
                notes,
            )
    except Exception as exc:
        log_rejection(engine, rec, str(exc))
        raise


def _new_revision(conn: Connection, old_id: int, level: int) -> int:
    """A new set (revision + 1) of the same country, source and validOn holding copies of the old
    set's other levels; the old set is kept, ``superseded_by`` the new one (rounds placed on it
    keep reading it). Returns the new set's id; the caller imports ``level`` into it."""
    new_id = conn.execute(
        text(
            """
            INSERT INTO boundary_set (country, source, valid_on, revision)
            SELECT country, source, valid_on, revision + 1 FROM boundary_set WHERE id = :o
            RETURNING id
            """
        ),
        {"o": old_id},
    ).scalar_one()
    conn.execute(text("UPDATE boundary_set SET superseded_by = :n WHERE id = :o"), {"n": new_id, "o": old_id})
    args = {"o": old_id, "n": new_id, "l": level}
    conn.execute(
        text(
            """
            INSERT INTO admin_unit (boundary_set_id, country, level, pcode, parent_pcode, name_en, name_ar, alt_names,
                                    source, valid_on, import_id, sha256, area_km2, geom)
            SELECT :n, country, level, pcode, parent_pcode, name_en, name_ar, alt_names,
                   source, valid_on, import_id, sha256, area_km2, geom
            FROM admin_unit WHERE boundary_set_id = :o AND level <> :l
            """
        ),
        args,
    )
    conn.execute(
        text(
            """
            INSERT INTO admin_unit_generalised (boundary_set_id, level, zband, pcode, geom, geom_3857)
            SELECT :n, level, zband, pcode, geom, geom_3857 FROM admin_unit_generalised
            WHERE boundary_set_id = :o AND level <> :l
            """
        ),
        args,
    )
    conn.execute(
        text(
            """
            INSERT INTO admin_unit_subdivided (boundary_set_id, level, pcode, geom)
            SELECT :n, level, pcode, geom FROM admin_unit_subdivided WHERE boundary_set_id = :o AND level <> :l
            """
        ),
        args,
    )
    pretile.copy(conn, old_id, new_id, exclude_level=level)
    return new_id


def _ranges(zs: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    out, start = [], None
    for i, z in enumerate(zs):
        if start is None:
            start = z
        if i + 1 == len(zs) or zs[i + 1] != z + 1:
            out.append(str(start) if start == z else f"{start}-{z}")
            start = None
    return ", ".join(out)


def _missing_parents(conn: Connection, set_id: int, read: BoundaryRead) -> list[tuple[str, str]]:
    """(unit, parent) of the file's units whose parent code names no unit of the level above
    in the set (a level imported before its parent level, or without the country level)."""
    if read.level == 0:
        return []
    present = set(
        conn.execute(
            text("SELECT pcode FROM admin_unit WHERE boundary_set_id = :s AND level = :l"),
            {"s": set_id, "l": read.level - 1},
        ).scalars()
    )
    return [(u, p) for u, p in zip(read.units["pcode"], read.units["parent_pcode"]) if p and p not in present]


def _refresh_current(conn: Connection, country: str) -> None:
    """The set with the latest valid_on becomes current; older sets stay queryable."""
    conn.execute(text("UPDATE boundary_set SET is_current = false WHERE country = :c AND is_current"), {"c": country})
    conn.execute(
        text(
            """
            UPDATE boundary_set SET is_current = true WHERE id = (
              SELECT id FROM boundary_set b WHERE country = :c
                AND EXISTS (SELECT 1 FROM admin_unit u WHERE u.boundary_set_id = b.id)
              ORDER BY valid_on DESC, revision DESC, id DESC LIMIT 1)
            """
        ),
        {"c": country},
    )


# --------------------------------------------------------------------------------- reads
def boundary_sets(conn: Connection, country: str | None = None) -> list[dict]:
    rows = conn.execute(
        text(
            """
            SELECT b.id, b.country, b.source, b.valid_on, b.revision, b.superseded_by, b.is_current,
                   json_object_agg(u.level, u.n) AS units_per_level
            FROM boundary_set b
            JOIN (SELECT boundary_set_id, level, count(*) AS n FROM admin_unit GROUP BY 1, 2) u
              ON u.boundary_set_id = b.id
            WHERE (CAST(:c AS text) IS NULL OR b.country = :c)
            GROUP BY b.id ORDER BY b.country, b.valid_on
            """
        ),
        {"c": country},
    ).mappings()
    return [dict(r) for r in rows]


def resolve_set_ids(conn: Connection, country: str | None = None, boundary_set: int | None = None) -> list[int]:
    """The sets a query reads: an explicit set, else the current set of the country (or of all)."""
    if boundary_set is not None:
        return [boundary_set]
    return list(
        conn.execute(
            text("SELECT id FROM boundary_set WHERE is_current AND (CAST(:c AS text) IS NULL OR country = :c)"),
            {"c": country},
        ).scalars()
    )


_UNIT_COLUMNS = """u.pcode, u.level, u.country, u.name_en, u.name_ar, u.parent_pcode, u.alt_names,
                   u.source, u.valid_on, u.boundary_set_id, round(u.area_km2::numeric, 1)::float AS area_km2"""


def list_units(
    conn: Connection,
    *,
    level: int | None = None,
    parent: str | None = None,
    country: str | None = None,
    q: str | None = None,
    boundary_set: int | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> tuple[int, list[dict]]:
    set_ids = resolve_set_ids(conn, country, boundary_set)
    q_pcode = None
    if q:
        try:
            q_pcode = normalize_pcode(q)
        except ValueError:
            q_pcode = None
    params = {
        "sets": set_ids,
        "level": level,
        "parent": normalize_pcode(parent) if parent else None,
        "q": f"%{q.strip()}%" if q else None,
        "qp": q_pcode,
        "limit": limit,
        "offset": offset,
    }
    where = """
        u.boundary_set_id = ANY(:sets)
        AND (CAST(:level AS int) IS NULL OR u.level = :level)
        AND (CAST(:parent AS text) IS NULL OR u.parent_pcode = :parent)
        AND (CAST(:q AS text) IS NULL OR u.name_en ILIKE :q OR u.name_ar ILIKE :q
             OR array_to_string(u.alt_names, '|') ILIKE :q OR u.pcode = CAST(:qp AS text))
    """
    total = conn.execute(text(f"SELECT count(*) FROM admin_unit u WHERE {where}"), params).scalar_one()
    rows = conn.execute(
        text(
            f"SELECT {_UNIT_COLUMNS} FROM admin_unit u WHERE {where} "
            "ORDER BY u.level, u.pcode LIMIT :limit OFFSET :offset"
        ),
        params,
    ).mappings()
    return total, [dict(r) for r in rows]


def unit_level(conn: Connection, pcode: str) -> int | None:
    """The admin level of the unit ``pcode`` (in any boundary set), None when there is none."""
    return conn.execute(select(admin_unit.c.level).where(admin_unit.c.pcode == pcode).limit(1)).scalar()


def get_unit_feature(conn: Connection, pcode: str, boundary_set: int | None = None, decimals: int = 6) -> dict | None:
    """A unit as a GeoJSON Feature (dict), from the current set unless a set is given."""
    set_ids = resolve_set_ids(conn, None, boundary_set)
    row = (
        conn.execute(
            text(
                f"""
            SELECT {_UNIT_COLUMNS},
                   ST_AsGeoJSON(u.geom, :d)::json AS geometry,
                   ST_XMin(u.geom) AS xmin, ST_YMin(u.geom) AS ymin, ST_XMax(u.geom) AS xmax, ST_YMax(u.geom) AS ymax,
                   (SELECT json_agg(json_build_object('pcode', c.pcode, 'name_en', c.name_en, 'name_ar', c.name_ar)
                       ORDER BY c.pcode)
                      FROM admin_unit c WHERE c.boundary_set_id = u.boundary_set_id
                          AND c.parent_pcode = u.pcode) AS children
            FROM admin_unit u WHERE u.pcode = :p AND u.boundary_set_id = ANY(:sets)
            """
            ),
            {"p": normalize_pcode(pcode), "sets": set_ids, "d": decimals},
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    props = {k: v for k, v in row.items() if k not in ("geometry", "xmin", "ymin", "xmax", "ymax")}
    return {
        "type": "Feature",
        "id": row["pcode"],
        "bbox": [round(row[k], 6) for k in ("xmin", "ymin", "xmax", "ymax")],
        "geometry": row["geometry"],
        "properties": props,
    }


def boundaries_geojson(conn: Connection, *, level: int, country: str | None, zband: int | None, decimals: int) -> str:
    """A FeatureCollection built in PostGIS, as text (no per-feature Python)."""
    set_ids = resolve_set_ids(conn, country)
    geom_source = (
        "JOIN admin_unit_generalised g ON g.boundary_set_id = u.boundary_set_id AND g.level = u.level "
        "AND g.pcode = u.pcode AND g.zband = :zband"
        if zband is not None
        else "CROSS JOIN LATERAL (SELECT u.geom) g"
    )
    sql = f"""
        SELECT '{{"type":"FeatureCollection","features":[' || coalesce(string_agg(
                 '{{"type":"Feature","id":' || to_json(u.pcode)::text
                 || ',"geometry":' || ST_AsGeoJSON(g.geom, :d)
                 || ',"properties":' || json_build_object('pcode', u.pcode, 'level', u.level, 'country', u.country,
                                                         'name_en', u.name_en, 'name_ar', u.name_ar,
                                                         'parent_pcode', u.parent_pcode)::text
                 || '}}', ',' ORDER BY u.pcode), '') || ']}}'
        FROM admin_unit u {geom_source}
        WHERE u.boundary_set_id = ANY(:sets) AND u.level = :level
    """
    return conn.execute(text(sql), {"sets": set_ids, "level": level, "zband": zband, "d": decimals}).scalar_one()


# --------------------------------------------------------------------------- hierarchy
def hierarchy_problems(
    conn: Connection, country: str | None = None, boundary_set: int | None = None, min_share: float = 0.5
) -> list[dict]:
    """Every unit above level 0 needs its parent (one level up, same set) and most of its
    area inside that parent. Returns one row per problem, by P-code."""
    set_ids = resolve_set_ids(conn, country, boundary_set)
    rows = conn.execute(
        text(
            """
            WITH child AS (
              SELECT u.* FROM admin_unit u WHERE u.boundary_set_id = ANY(:sets) AND u.level > 0
            ), joined AS (
              SELECT c.boundary_set_id, c.country, c.level, c.pcode, c.parent_pcode,
                     p.pcode AS found_parent, p.level AS parent_level,
                     CASE WHEN p.pcode IS NULL THEN NULL
                          WHEN ST_CoveredBy(c.geom, p.geom) THEN 1.0
                          ELSE ST_Area(ST_Intersection(c.geom, p.geom)) / NULLIF(ST_Area(c.geom), 0) END AS share
              FROM child c
              LEFT JOIN admin_unit p ON p.boundary_set_id = c.boundary_set_id AND p.pcode = c.parent_pcode
            )
            SELECT boundary_set_id, country, level, pcode, parent_pcode,
                   CASE WHEN parent_pcode IS NULL THEN 'no_parent_code'
                        WHEN found_parent IS NULL THEN 'parent_missing'
                        WHEN parent_level <> level - 1 THEN 'parent_wrong_level'
                        ELSE 'outside_parent' END AS problem,
                   round(share::numeric, 3)::float AS share_inside_parent
            FROM joined
            WHERE parent_pcode IS NULL OR found_parent IS NULL OR parent_level <> level - 1 OR share < :min_share
            ORDER BY level, pcode
            """
        ),
        {"sets": set_ids, "min_share": min_share},
    ).mappings()
    return [dict(r) for r in rows]


def current_sets_summary(conn: Connection) -> list:
    """Each current boundary set with its levels, extent, last import, unit count and the rounds
    of its country per population (the web map's chooser)."""
    return (
        conn.execute(
            text(
                """
        SELECT b.id, b.country, b.source, b.valid_on,
               array_agg(DISTINCT u.level ORDER BY u.level) AS levels,
               ST_XMin(ST_Extent(u.geom)) AS w, ST_YMin(ST_Extent(u.geom)) AS s,
               ST_XMax(ST_Extent(u.geom)) AS e, ST_YMax(ST_Extent(u.geom)) AS n,
               max(u.import_id) AS last_import, count(*) AS units,
               (SELECT json_object_agg(population, n) FROM (SELECT population, count(*) AS n FROM round r
                 WHERE r.country = b.country GROUP BY population) q) AS rounds
        FROM boundary_set b JOIN admin_unit u ON u.boundary_set_id = b.id
        WHERE b.is_current
        GROUP BY b.id ORDER BY b.country
        """
            )
        )
        .mappings()
        .all()
    )


def set_source(conn: Connection, set_id: int) -> str | None:
    """The ``source`` (COD-AB, geoBoundaries, ...) of the boundary set ``set_id``."""
    return conn.execute(text("SELECT source FROM boundary_set WHERE id = :s"), {"s": set_id}).scalar()
