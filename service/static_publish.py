"""A published round as static files, laid out for object storage (``dtm-atlas publish``).

A CDN (or any static web server) can then serve a published round with no worker at all. The
files are made by the service's own routes, in-process (the same bytes the API answers), plus the
round's PMTiles package:

    <out>/<ISO3>/<population>/<round>/v<data version>/
        tiles.pmtiles                      vector tiles of the round (the API's layers), z0..max
        choropleth/adm1.geojson ...        the API's choropleth GeoJSON per level
        exports/<file>                     every export format of figures-adm1..3 and locations
        package.zip                        the round's information package (unless --no-package)
    <out>/<ISO3>/<population>/<round>/latest.json   which version is current (short max-age)
    <out>/manifest.json                    every key: content type, cache control, size, SHA-256

Static files are served to everyone: they hold only public data. Every answer is asked
anonymously and must be a public one (an answer the access policy marks private is refused,
``PublishError``), and the PMTiles package holds only the tile layers that exist for anonymous
callers (``service/core/access.py``: a restricted kind's layer is left out).

Everything under ``v<data version>/`` is immutable (a new import makes a new version, so new
keys): ``Cache-Control: public, max-age=31536000, immutable``. ``latest.json`` revalidates.
Upload with any S3 client that sets the manifest's content types and cache headers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from service.core.files import sha256_of
from service.core.settings import Settings

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=60, must-revalidate"
EXPORT_DATASETS = ("figures-adm1", "figures-adm2", "figures-adm3", "locations")
CONTENT_TYPES = {
    ".pmtiles": "application/vnd.pmtiles",
    ".geojson": "application/geo+json",
    ".json": "application/json",
    ".zip": "application/zip",
}


class PublishError(RuntimeError):
    """The round cannot be published (not found, several countries, an answer that failed)."""


@dataclass
class Published:
    root: Path
    prefix: str
    data_version: int
    round: dict
    files: list[dict] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(f["size"] for f in self.files)


def _filename(disposition: str | None, fallback: str) -> str:
    m = re.search(r'filename="?([^";]+)"?', disposition or "")
    name = m.group(1) if m else fallback
    return Path(name).name  # never a path out of the folder


def public_only(url: str, response) -> None:
    """Refuse to publish an answer the access policy did not make for everyone."""
    control = response.headers.get("cache-control", "").lower()
    if "private" in control or "no-store" in control:
        raise PublishError(f"{url}: not a public answer ({control}); static files hold public data only")


def public_layers() -> list[str]:
    """The tile layers of a published round: those exported by default and without parameters of
    their own (a dataset's or a crisis's layers are not a round's) that exist for anonymous callers
    (the access policy over the registry's layers)."""
    from service.api.access import layer_resource
    from service.core.access import ANONYMOUS, decide
    from tiles.layers import LAYERS

    return [
        name
        for name, layer in LAYERS.items()
        if layer.default_export and not layer.params and decide(ANONYMOUS, layer_resource(layer)).allowed
    ]


def publish_round(
    settings: Settings,
    engine: Engine,
    out: Path,
    *,
    round_ref: str | None,
    population: str = "idp",
    country: str | None = None,
    package: bool = True,
    max_zoom: int = 8,
    progress: Callable[[str], None] | None = None,
) -> Published:
    """Write the round's static files under ``out`` and (re)write ``out/manifest.json``."""
    import warnings

    with warnings.catch_warnings():  # Starlette's notice about httpx's successor: httpx is what it runs on
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from service.app import create_app
    from tiles.pmtiles_export import export_tiles

    say = progress or (lambda _msg: None)
    base = {"population": population}
    if round_ref:
        base["round"] = round_ref
    if country:
        base["country"] = country
    quiet = settings.model_copy(update={"log_level": "warning"})  # no access-log line per file
    with TestClient(create_app(quiet, engine), raise_server_exceptions=False) as client:

        def get(url: str, params: dict | None = None):
            r = client.get(url, params={**base, **(params or {})})  # anonymous: no Authorization
            if r.status_code == 200:
                public_only(url, r)
            if r.status_code != 200:
                try:
                    detail = r.json().get("detail")
                except ValueError:
                    detail = r.text[:300]
                raise PublishError(f"{url}: {r.status_code} {detail}")
            return r

        choropleth = get("/choropleth/1.geojson")
        meta = choropleth.json()
        rnd = meta.get("round") or {}
        version = int(choropleth.headers.get("X-Data-Version") or client.get("/health").json()["data_version"])
        rows = client.get("/rounds", params={"population": population, "country": "all"}).json()
        rows = rows.get("rounds", rows) if isinstance(rows, dict) else rows
        iso3 = next((r.get("country") for r in rows if r.get("id") == rnd.get("id")), None) or country or "XXX"
        slug = f"r{rnd['round_number']}" if rnd.get("round_number") is not None else f"d{rnd['reporting_date']}"
        slug = slug.replace("-", "")
        round_dir = f"{iso3}/{population}/{slug}"
        prefix = f"{round_dir}/v{version}"
        root = out / prefix
        root.mkdir(parents=True, exist_ok=True)
        written: list[tuple[str, str, str]] = []  # (key, content type, cache control)

        def save(rel: str, content: bytes, ctype: str) -> None:
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append((f"{prefix}/{rel}", ctype, IMMUTABLE))

        say("choropleths")
        save("choropleth/adm1.geojson", choropleth.content, "application/geo+json")
        for level in (2, 3):
            save(f"choropleth/adm{level}.geojson", get(f"/choropleth/{level}.geojson").content, "application/geo+json")
        formats = [f["ext"] for f in client.get("/exports").json()["formats"]]
        for dataset in EXPORT_DATASETS:
            for ext in formats:
                say(f"export {dataset}.{ext}")
                r = get(f"/exports/{dataset}.{ext}")
                name = _filename(r.headers.get("content-disposition"), f"{dataset}.{ext}")
                save(f"exports/{name}", r.content, r.headers.get("content-type", "application/octet-stream"))
        if package:
            say("information package")
            numbered = rnd.get("round_number") is not None
            ref = round_ref or (str(rnd["round_number"]) if numbered else rnd["reporting_date"])
            params = {"population": "both"} | ({"country": country} if country else {})
            r = client.get(f"/packages/{ref}.zip", params=params)
            if r.status_code != 200:
                raise PublishError(f"/packages/{ref}.zip: {r.status_code} {r.text[:300]}")
            public_only(f"/packages/{ref}.zip", r)
            save("package.zip", r.content, "application/zip")

    say(f"tiles.pmtiles z0-{max_zoom}")
    number = rnd.get("round_number")
    date = dt.date.fromisoformat(rnd["reporting_date"]) if rnd.get("reporting_date") else None
    export_tiles(
        engine,
        root / "tiles.pmtiles",
        round_number=number,
        reporting_date=None if number is not None else date,
        population=population,
        country=country,
        max_zoom=max_zoom,
        layers=public_layers(),
    )
    written.append((f"{prefix}/tiles.pmtiles", CONTENT_TYPES[".pmtiles"], IMMUTABLE))

    latest = out / round_dir / "latest.json"
    latest.write_text(json.dumps({"data_version": version, "prefix": prefix, "round": rnd}, indent=2))
    written.append((f"{round_dir}/latest.json", "application/json", REVALIDATE))

    result = Published(out, prefix, version, rnd)
    for key, ctype, cache in written:
        path = out / key
        size = path.stat().st_size
        result.files.append(
            {"key": key, "content_type": ctype, "cache_control": cache, "size": size, "sha256": sha256_of(path)}
        )
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"objects": {}}
    for f in result.files:
        manifest["objects"][f["key"]] = {k: v for k, v in f.items() if k != "key"}
    manifest["updated"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return result
