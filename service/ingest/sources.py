"""Master-list files as they arrive: plain CSV/XLSX, gzip-compressed (``.csv.gz``) or a
``.zip`` holding one list; and several of them at once (files, folders, globs)."""

from __future__ import annotations

import glob
import gzip
import hashlib
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.core.files import sha256_of
from service.ingest.masterlist import MasterlistError

LIST_SUFFIXES = (".csv", ".xlsx")
SUFFIXES = (*LIST_SUFFIXES, *(s + ".gz" for s in LIST_SUFFIXES), ".zip")


def kind_of(path: Path) -> str | None:
    """'plain', 'gzip' or 'zip' by the file name; None for any other file."""
    name = path.name.lower()
    if name.endswith(LIST_SUFFIXES):
        return "plain"
    if name.endswith(tuple(s + ".gz" for s in LIST_SUFFIXES)):
        return "gzip"
    if name.endswith(".zip"):
        return "zip"
    return None


@dataclass
class Opened:
    path: Path  # a plain .csv / .xlsx to read (the file itself, or a decompressed copy)
    name: str  # the name to report (the file given, e.g. 'list.csv.gz')
    sha256: str  # of the list's bytes (decompressed): the same list gzipped or not is the same import


#: A compressed list that grows more than this many times is refused as a decompression bomb
#: once it has passed ``RATIO_FROM`` bytes (real master lists: 5-15x; a file of empty
#: ``,,,`` rows: ~1,000x).
MAX_RATIO = 100
RATIO_FROM = 32 * 1024 * 1024


def _too_large(name: str, max_bytes: int) -> MasterlistError:
    return MasterlistError(
        name,
        f"the list it holds is over the size limit of {max_bytes:,} bytes ({max_bytes / 2**20:g} MB) "
        "once decompressed (DTM_ATLAS_MAX_LIST_MB)",
    )


def _copy_limited(src, dst, name: str, max_bytes: int | None, compressed=None) -> str:
    """Copy a decompressing stream, stopping as soon as it passes ``max_bytes`` (a small
    compressed file can hold a huge one: it is never written out whole), or as soon as it has
    grown more than ``MAX_RATIO`` times the compressed bytes read (``compressed()``); the
    SHA-256 of what was written, hashed on the way (the copy is not read again for it)."""
    h = hashlib.sha256()
    written = 0
    while chunk := src.read(1 << 20):
        written += len(chunk)
        if max_bytes is not None and written > max_bytes:
            raise _too_large(name, max_bytes)
        if compressed is not None and written > RATIO_FROM and written > MAX_RATIO * max(compressed(), 1):
            raise MasterlistError(
                name,
                f"it decompresses more than {MAX_RATIO} times its size ({written / 2**20:,.0f} MB from "
                f"{compressed() / 2**20:,.1f} MB so far): refused as a decompression bomb",
            )
        h.update(chunk)
        dst.write(chunk)
    return h.hexdigest()


def _check_member(name: str, member: zipfile.ZipInfo, max_bytes: int | None) -> None:
    """The sizes a zip declares bound what it can give (zipfile stops there): checked first."""
    if max_bytes is not None and member.file_size > max_bytes:
        raise _too_large(name, max_bytes)
    if member.file_size > RATIO_FROM and member.file_size > MAX_RATIO * max(member.compress_size, 1):
        raise MasterlistError(
            name,
            f"{member.filename} would decompress from {member.compress_size / 2**20:,.1f} MB to "
            f"{member.file_size / 2**20:,.0f} MB (over {MAX_RATIO} times): refused as a decompression bomb",
        )


def precheck(path: Path, max_bytes: int | None) -> None:
    """Refuse a .zip whose lists declare more than ``max_bytes`` or a bomb's ratio, before any
    database work (the CLI calls it on every file first). Other files: nothing to check yet."""
    path = Path(path)
    if kind_of(path) != "zip":
        return
    try:
        with zipfile.ZipFile(path) as zf:
            for member in zf.infolist():
                if not member.is_dir() and member.filename.lower().endswith(LIST_SUFFIXES):
                    _check_member(path.name, member, max_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise MasterlistError(path.name, f"not a readable zip file ({exc})") from None


@contextmanager
def open_list(path: Path, name: str | None = None, max_bytes: int | None = None) -> Iterator[Opened]:
    """The master list in ``path``, decompressed into a temporary folder when it is compressed
    (removed afterwards) and hashed (while decompressing). Raises MasterlistError naming the
    file when it cannot be read, or when the list it holds is over ``max_bytes`` decompressed.
    Open a list once per import: a history import (``batch.import_many``) hands it to
    ``rounds.import_masterlist``."""
    path = Path(path)
    name = name or path.name
    kind = kind_of(Path(name))
    if kind in (None, "plain"):
        yield Opened(path, name, sha256_of(path))
        return
    tmp = Path(tempfile.mkdtemp(prefix="dtm-atlas-list-"))
    try:
        if kind == "gzip":
            inner = tmp / Path(name).name[: -len(".gz")]
            try:
                with open(path, "rb") as raw, gzip.open(raw, "rb") as src, open(inner, "wb") as dst:
                    sha256 = _copy_limited(src, dst, name, max_bytes, raw.tell)
            except (OSError, EOFError, zlib.error) as exc:
                raise MasterlistError(name, f"not a readable gzip file ({exc})") from None
        else:
            try:
                with zipfile.ZipFile(path) as zf:
                    lists = [
                        i
                        for i in zf.infolist()
                        if not i.is_dir()
                        and i.filename.lower().endswith(LIST_SUFFIXES)
                        and not Path(i.filename).name.startswith(("._", "~$"))
                    ]
                    if len(lists) != 1:
                        found = ", ".join(i.filename for i in zf.infolist() if not i.is_dir()) or "nothing"
                        raise MasterlistError(
                            name, f"a .zip must hold exactly one .csv or .xlsx master list; it holds {found}"
                        )
                    inner = tmp / Path(lists[0].filename).name
                    member = lists[0]
                    _check_member(name, member, max_bytes)
                    with zf.open(member) as src, open(inner, "wb") as dst:
                        sha256 = _copy_limited(src, dst, name, max_bytes)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error) as exc:
                raise MasterlistError(name, f"not a readable zip file ({exc})") from None
        yield Opened(inner, name, sha256)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def expand(args: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """Files, folders (their master lists, sorted) and globs -> (files, problems). A folder
    or glob holding no master list, and a path that does not exist, are problems."""
    files: list[Path] = []
    problems: list[str] = []
    for arg in args:
        text = str(arg)
        p = Path(text)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and kind_of(f))
            if not found:
                problems.append(f"{text}: folder holds no master list ({', '.join(SUFFIXES)})")
            files += found
        elif p.exists():
            files.append(p)
        elif glob.has_magic(text):
            found = sorted(Path(f) for f in glob.glob(text) if Path(f).is_file() and kind_of(Path(f)))
            if not found:
                problems.append(f"{text}: no master list matches")
            files += found
        else:
            problems.append(f"{text}: file not found")
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, problems
