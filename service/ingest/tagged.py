"""Tabular files whose columns are named by HXL tags, plain names or a mapping file, streamed
into a scratch table of text columns by one ``COPY`` (the Emergency Tracking and Flow
Monitoring importers' shared first step).

A header is recognised in this order: a row of HXL tags (the first or second row, every
non-empty cell starting with ``#``) matched to a field by hashtag and exact attribute set;
else plain column names matched to the field names and their aliases (case-insensitive);
then the mapping file (YAML: ``column name or tag: field``) overrides either. Rows are
reported by their line in the file (1 = the first line, header lines counted), as a
spreadsheet shows them.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection

from service.core.bulk import raw


class InputError(Exception):
    """Bad input: names the file, the row (line in the file) and the column."""

    def __init__(self, path: Path | str, message: str, *, row: int | None = None, column: str | None = None):
        self.path, self.row, self.column, self.detail = str(path), row, column, message
        where = "".join([f", row {row}" if row is not None else "", f", column {column!r}" if column else ""])
        super().__init__(f"{Path(path).name}{where}: {message}")


@dataclass(frozen=True)
class Field:
    name: str
    hxl: tuple[str, ...] = ()  # tags like "#affected+hh+idps" (hashtag and exact attributes, any order)
    aliases: tuple[str, ...] = ()


def _tag_key(tag: str) -> tuple[str, frozenset[str]] | None:
    tag = tag.strip().lower().replace(" ", "")
    if not tag.startswith("#"):
        return None
    parts = tag[1:].split("+")
    return parts[0], frozenset(p for p in parts[1:] if p)


@dataclass
class Header:
    path: Path
    columns: list[str]  # the header's cells (names, or tags for a tags-only header)
    fields: dict[str, int]  # field -> column index
    skip: int  # header lines before the data
    encoding: str = "utf-8"
    unknown: list[str] = field(default_factory=list)

    def column_of(self, name: str) -> str:
        """How the file names a field's column (for messages)."""
        return self.columns[self.fields[name]] if name in self.fields else name


def load_mapping(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(path, f"cannot read the mapping file: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError(path, "a mapping file is YAML: 'column name or HXL tag: field' lines (or under 'columns:')")
    return data


def _first_rows(path: Path, n: int = 2) -> tuple[list[list[str]], str]:
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        text_ = head.decode(encoding)
    except UnicodeDecodeError as exc:
        if len(head) == 1 << 16 and exc.start > len(head) - 4:  # a character cut at the buffer's end
            text_ = head[: exc.start].decode(encoding)
        else:
            raise InputError(path, "not UTF-8 text (save the file as UTF-8 CSV)") from None
    rows = list(csv.reader(io.StringIO(text_)))[:n]
    return rows, encoding


def read_header(path: Path, fields: list[Field], mapping: dict[str, str] | None = None) -> Header:
    path = Path(path)
    rows, encoding = _first_rows(path)
    if not rows:
        raise InputError(path, "the file is empty")
    by_tag = {_tag_key(t): f.name for f in fields for t in f.hxl}
    by_name = {a.lower(): f.name for f in fields for a in (f.name, *f.aliases)}
    names = {f.name for f in fields}

    def is_tags(row: list[str]) -> bool:
        cells = [c.strip() for c in row if c.strip()]
        return bool(cells) and all(c.startswith("#") for c in cells)

    if is_tags(rows[0]):
        tags, labels, skip = rows[0], rows[0], 1
    elif len(rows) > 1 and is_tags(rows[1]):
        tags, labels, skip = rows[1], rows[0], 2
    else:
        tags, labels, skip = None, rows[0], 1
    found: dict[str, int] = {}
    unknown: list[str] = []
    mapping = {k.strip().lower(): v for k, v in (mapping or {}).items()}
    for i, label in enumerate(labels):
        tag = tags[i] if tags is not None and i < len(tags) else ""
        target = mapping.get(label.strip().lower()) or (mapping.get(tag.strip().lower()) if tag else None)
        if target is not None and target not in names:
            raise InputError(
                path, f"the mapping names an unknown field {target!r} (fields: {', '.join(sorted(names))})"
            )
        if target is None and tag:
            target = by_tag.get(_tag_key(tag))
        if target is None:
            target = by_name.get(label.strip().lower())
        if target is None:
            unknown.append(label or tag)
            continue
        if target in found:
            raise InputError(path, f"two columns mean {target!r}: {labels[found[target]]!r} and {label!r}", row=skip)
        found[target] = i
    return Header(path, [c or t for c, t in zip(labels, tags or labels)], found, skip, encoding, unknown)


def copy_body(conn: Connection, header: Header, table: str) -> int:
    """Create the temp ``table`` (row_no, c0..cN text) and COPY the file's data rows into it.
    Row numbers are lines in the file. A row with more cells than the header: an InputError."""
    ncols = len(header.columns)
    cols = ", ".join(f"c{i} text" for i in range(ncols))
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {table} (row_no bigint GENERATED ALWAYS AS IDENTITY, {cols}) ON COMMIT DROP"
    )
    names = ", ".join(f"c{i}" for i in range(ncols))
    with header.path.open("rb") as fh:
        if header.encoding == "utf-8-sig":
            fh.read(3)
        for _ in range(header.skip):  # header lines (a header cell holding a line break is not supported)
            fh.readline()
        cur = raw(conn).cursor()
        try:
            with cur.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv)") as cp:
                while chunk := fh.read(1 << 20):
                    cp.write(chunk)
        except Exception as exc:  # psycopg's COPY errors name the line of the data
            import psycopg

            if not isinstance(exc, psycopg.DataError):
                raise
            m = re.search(r"line (\d+)", str(getattr(exc.diag, "context", "") or ""))
            line = int(m.group(1)) + header.skip if m else None
            msg = (exc.diag.message_primary or str(exc)).replace("last expected column", "the header's last column")
            raise InputError(header.path, msg, row=line) from None
        finally:
            cur.close()
    return conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()


def file_row(header: Header, row_no: int) -> int:
    """The line in the file of scratch row ``row_no`` (1-based)."""
    return int(row_no) + header.skip


# ------------------------------------------------------------------------------ checks in SQL


INT_RE = r"^\s*[+-]?[0-9]+\s*$"


def check_integers(conn: Connection, header: Header, table: str, names: list[str], *, required: bool) -> None:
    """Every cell of these fields an integer >= 0 (empty: allowed unless ``required``)."""
    for name in names:
        if name not in header.fields:
            continue
        c = f"c{header.fields[name]}"
        col = header.column_of(name)
        empty = f"coalesce(btrim({c}), '') = ''"
        bad = conn.exec_driver_sql(
            f"SELECT row_no, {c} FROM {table} WHERE "
            + (f"{empty} OR " if required else "")
            + f"(NOT {empty} AND ({c} !~ '{INT_RE}' OR length(btrim({c})) > 10 OR left(btrim({c}), 1) = '-')) "
            "ORDER BY row_no LIMIT 1"
        ).first()
        if bad is None:
            continue
        value = (bad[1] or "").strip()
        if not value:
            msg = "a count is required"
        elif re.match(r"^-\s*[0-9]+$", value):
            msg = f"negative count {value}"
        else:
            msg = f"{value!r} is not a whole number"
        raise InputError(header.path, msg, row=file_row(header, bad[0]), column=col)


def check_dates(
    conn: Connection, header: Header, table: str, name: str, *, today: dt.date, monthly_ok: bool = False
) -> None:
    """Every cell a date (YYYY-MM-DD; YYYY-MM too for monthly files), none after ``today``."""
    c = f"c{header.fields[name]}"
    col = header.column_of(name)
    values = conn.exec_driver_sql(f"SELECT btrim({c}), min(row_no) FROM {table} GROUP BY 1 ORDER BY 2").all()
    for value, row_no in values:
        day = parse_date(value, monthly_ok)
        if day is None:
            forms = "YYYY-MM-DD or YYYY-MM" if monthly_ok else "YYYY-MM-DD"
            raise InputError(
                header.path, f"{value!r} is not a date ({forms})", row=file_row(header, row_no), column=col
            )
        if day > today:
            raise InputError(
                header.path, f"{value} is in the future (today is {today})", row=file_row(header, row_no), column=col
            )


def parse_date(value: str | None, monthly_ok: bool = False) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10]) if len(value) >= 10 else None
    except ValueError:
        pass
    if monthly_ok and re.fullmatch(r"\d{4}-\d{2}", value):
        try:
            return dt.date(int(value[:4]), int(value[5:7]), 1)
        except ValueError:
            return None
    return None


def date_sql(c: str) -> str:
    """The SQL of a checked date cell (YYYY-MM-DD..., or YYYY-MM: the month's first day)."""
    return f"(CASE WHEN length(btrim({c})) = 7 THEN btrim({c}) || '-01' ELSE left(btrim({c}), 10) END)::date"


def check_duplicates(conn: Connection, header: Header, table: str, keys: list[str], what: str) -> None:
    """No two rows with the same ``keys`` (the same day twice in one file)."""
    cols = [f"coalesce(btrim(c{header.fields[k]}), '')" for k in keys if k in header.fields]
    dup = conn.exec_driver_sql(
        f"SELECT min(row_no), max(row_no), {cols[0]} FROM {table} GROUP BY {', '.join(cols)} "
        "HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
    ).first()
    if dup is not None:
        raise InputError(
            header.path,
            f"{what} twice in the file (rows {file_row(header, dup[0])} and {file_row(header, dup[1])})",
            row=file_row(header, dup[1]),
            column=header.column_of(keys[0]),
        )


PCODE_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]*[0-9][A-Z0-9]*$")  # two letters, then at least one digit


def is_country_code(code: str) -> bool:
    """An ISO 3166-1 alpha-3 code (pycountry)."""
    import pycountry

    return len(code) == 3 and code.isalpha() and pycountry.countries.get(alpha_3=code.upper()) is not None


def is_place_code(code: str) -> bool:
    """An origin or destination as DTM writes them: an ISO3 country code or a P-code."""
    return is_country_code(code) or PCODE_RE.match(code) is not None
