"""The package's map catalogue (``catalogue.json`` and ``catalogue.csv``), as humanitarian map
producers keep one: per map its number, title, version, status (``new``, or ``update`` when the
previous round of the population had the same map), paper, scale, bounding box (lon/lat), data
sources, data date, creation date, file names and sizes, the GLIDE number or event id given
with ``--event``, and QC fields (names placed, units numbered, units without data)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from service.maps import layout, naming, render
from service.maps.data import MapData

CSV_COLUMNS = (
    "map_number",
    "map_id",
    "title",
    "version",
    "status",
    "paper",
    "scale",
    "bbox",
    "sources",
    "data_date",
    "created",
    "event",
    "files",
    "qc_named",
    "qc_numbered",
    "qc_no_data_units",
    "qc_status",
)


def map_entry(data: MapData, files: list[str], labels: dict | None) -> dict:
    """The catalogue fields one map knows of itself (drawn in a worker: plain values only)."""
    s = data.spec
    page = layout.page(s.paper, s.orientation)
    x0, y0, x1, y1 = data.view
    scale = (x1 - x0) / (page.main.w / 1000)  # ground metres per paper metre
    ll = data.projection.to_lonlat(__import__("shapely").box(*data.view).segmentize((x1 - x0) / 20)).bounds
    no_data = sum(1 for u in data.units if u.value is None)
    labels = labels or {}
    return {
        "map_id": naming.map_id(render.base_name(data, page)),
        "title": render.title_texts(data)[0],
        "population": s.population,
        "indicator": s.indicator,
        "extent": s.extent,
        "paper": f"{page.paper} {page.orientation}",
        "scale": f"1:{round(scale, -3):,.0f}",
        "bbox": [round(v, 4) for v in ll],
        "sources": [data.texts.master_list, data.texts.boundaries, "Natural Earth (public domain)"],
        "data_date": data.round["reporting_date"].isoformat(),
        "data_version": data.data_version,
        "files": [Path(f).name for f in files],
        "qc": {
            "units": len(data.units),
            "named": labels.get("named", 0) + labels.get("inset", 0),
            "numbered": labels.get("numbered", 0),
            "no_data_units": no_data,
            "status": "automatic checks passed" if no_data < len(data.units) else "all units without data",
        },
    }


def kind_entries(kind: str, paths: list[Path], round_row: dict, country: str) -> list[dict]:
    """The catalogue entries of the maps a kind drew into the package (registry
    ``package_maps``, e.g. ``maps/flows/``): one per map (its PNG and the files of the same
    name), titled as the PNG's own ``Title``, its paper from the PNG's size and resolution. A
    kind's map carries no scale, extent or QC counts of its own: those fields stay empty."""
    from PIL import Image

    by_stem: dict[str, list[Path]] = {}
    for path in paths:
        by_stem.setdefault(Path(path).stem, []).append(Path(path))
    out = []
    for stem, files in sorted(by_stem.items()):
        png = next((f for f in files if f.suffix == ".png"), None)
        if png is None:
            continue
        with Image.open(png) as im:
            title = im.info.get("Title") or stem
            dpi = (im.info.get("dpi") or (100, 100))[0]
            mm = sorted((im.width / dpi * 25.4, im.height / dpi * 25.4))
            orientation = "landscape" if im.width > im.height else "portrait"
        paper = next((f"{name} {orientation}" for name, size in _PAPERS.items() if _near(mm, size)), "")
        when = round_row.get("reporting_date")
        out.append(
            {
                "map_id": f"{country}-DTM-{kind}-{stem}".upper().replace("_", "-"),
                "title": title,
                "population": round_row.get("population"),
                "indicator": kind,
                "extent": "national",
                "paper": paper,
                "scale": "",
                "bbox": [],
                "sources": [f"IOM DTM ({kind})"],
                "data_date": when.isoformat() if when else "",
                "data_version": None,
                "files": sorted(f.name for f in files),
                "qc": {"status": f"drawn by the {kind} kind"},
            }
        )
    return out


_PAPERS = {"A3": (297, 420), "A4": (210, 297)}


def _near(mm: list[float], size: tuple[int, int]) -> bool:
    return all(abs(a - b) <= 0.03 * b for a, b in zip(mm, size))


def write(root: Path, entries: list[dict], *, created: dt.date, version: int, previous: set[str], event: str | None):
    """Number the maps (the package's order), mark each ``new`` or ``update`` (``previous``: the
    map IDs, without the round, of the previous round's package), add file sizes; write
    ``catalogue.json`` and ``catalogue.csv`` into ``root``. Returns the entries."""
    out = []
    for n, e in enumerate(entries, 1):
        files = []
        for name in e["files"]:
            hit = next(iter(root.rglob(name)), None)
            if hit is not None:
                files.append({"path": hit.relative_to(root).as_posix(), "bytes": hit.stat().st_size})
        key = _roundless(e["map_id"])
        out.append(
            {
                "map_number": n,
                **{k: v for k, v in e.items() if k != "files"},
                "version": f"data version {version}, DTM Atlas {render._version()}",
                "status": "update" if key in previous else "new",
                "created": created.isoformat(),
                "event": event,
                "files": files,
            }
        )
    (root / "catalogue.json").write_text(json.dumps({"maps": out}, indent=1, ensure_ascii=False), encoding="utf-8")
    with open(root / "catalogue.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for e in out:
            w.writerow(
                [
                    e["map_number"],
                    e["map_id"],
                    e["title"],
                    e["version"],
                    e["status"],
                    e["paper"],
                    e["scale"],
                    " ".join(map(str, e["bbox"])),
                    "; ".join(e["sources"]),
                    e["data_date"],
                    e["created"],
                    e["event"] or "",
                    " ".join(f"{f['path']} ({f['bytes']} bytes)" for f in e["files"]),
                    e["qc"].get("named", ""),
                    e["qc"].get("numbered", ""),
                    e["qc"].get("no_data_units", ""),
                    e["qc"].get("status", ""),
                ]
            )
    return out


def _roundless(map_id: str) -> str:
    """``IRQ-DTM-IDP-ADM2-R120-A4L`` -> ``IRQ-DTM-IDP-ADM2-A4L``: the same map in every round."""
    return "-".join(p for p in map_id.split("-") if not (p[:1] in "RD" and p[1:].isdigit()))


def roundless_ids(map_ids) -> set[str]:
    return {_roundless(m) for m in map_ids}
