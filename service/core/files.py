"""Files: the SHA-256 of a file, read in 1 MiB chunks (imports, the package's manifest, static
publishing and the fragility inputs' fingerprints all name a file by it)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
