"""The information package (folder and zip, CLI and HTTP), the map endpoints and their cache,
and the GeoPackage version of every export. Packages here are small (40 dpi, one governorate)
so the tests stay quick; bench/package_bench.py times the full one."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from service.maps import package
from service.maps.layout import page


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_package_folder(figures_engine, tmp_path):
    out = tmp_path / "pkg"
    steps: list[str] = []
    plan = package.plan(figures_engine, 120, "both", extents=["IQG07"])
    package.build(figures_engine, 120, out, dpi=40, workers=2, the_plan=plan, progress=steps.append)
    assert len(steps) == plan.steps  # the progress bar ends full

    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json", "SHA256SUMS"}
    assert set(listed) == on_disk
    for path, f in listed.items():
        data = (out / path).read_bytes()
        assert f["sha256"] == _sha(data) and f["bytes"] == len(data), path
    sums = dict(reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines())
    assert sums == {p: f["sha256"] for p, f in listed.items()}

    names = set(listed)
    for pop in ("idp", "returnee"):
        for ext in ("png", "pdf"):
            assert f"maps/national/irq_dtm_{pop}_adm2_r120_A4L_20210228.{ext}" in names
            # IQG07 has no returnees in round 120: no all-"No data" map (issue 24)
            wanted = f"maps/governorates/irq_dtm_{pop}_adm3_iqg07_r120_A4L_20210228.{ext}"
            assert (wanted in names) == (pop == "idp"), wanted
        assert f"interactive/irq_dtm_{pop}_adm2_r120_A4L_20210228.html" in names
        for level in (1, 2, 3):
            for ext in ("gpkg", "shp.zip", "csv", "xlsx"):
                assert f"data/irq_dtm_{pop}_adm{level}_r120_20210228.{ext}" in names
        for what in ("governorates", "districts", "top_districts"):
            assert f"tables/irq_dtm_{pop}_{what}_r120_20210228.csv" in names
        assert f"charts/irq_dtm_{pop}_change_adm1_r120_20210228.png" in names
    assert "charts/irq_dtm_trend_r120_20210228.png" in names
    for level in (1, 2):  # the master lists' origin-flow maps (the flows kind's package_maps)
        assert {f"maps/flows/origin_flows_r120_adm{level}.{ext}" for ext in ("png", "pdf")} <= names
    assert "irq_dtm_summary_r120_A4P_20210228.pdf" in names
    assert not any(n.startswith("fragility/") for n in names)  # that layer does not exist yet

    with Image.open(out / "maps/national/irq_dtm_idp_adm2_r120_A4L_20210228.png") as im:
        assert im.size == page().pixels(40) == (467, 330)  # 40 dpi
    readme = (out / "README.txt").read_text()
    for needle in ("Disclaimer", "Terms", "Sources", "IOM DTM", "round 120", "SHA-256"):
        assert needle in readme
    # the tables carry the stored figures: governorate totals sum to the national total
    gov = (out / "tables/irq_dtm_idp_governorates_r120_20210228.csv").read_text(encoding="utf-8-sig").splitlines()
    header, hxl = gov[0].split(","), gov[1]
    assert hxl.startswith("#adm1+code")
    import csv

    rows = list(csv.DictReader(io.StringIO("\n".join([gov[0], *gov[2:]]))))
    assert sum(int(r["individuals"]) for r in rows) == 1_243_278
    assert "change_12_months" in header
    # the one-page summary says the headline totals
    import subprocess

    text = subprocess.run(
        ["pdftotext", str(out / "irq_dtm_summary_r120_A4P_20210228.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "1,243,278" in text and "4,851,816" in text and "since round 86" in text
    _check_qgis_project(figures_engine, out, names)


QGIS_CHECK = Path(__file__).with_name("qgis_check.py")


def _check_qgis_project(engine, out, names) -> None:
    """The package's QGIS project opened by PyQGIS (Debian's python3-qgis, offscreen; ./dev
    installs it): no warning, every layer valid with its features, each unit the colour of its
    class on the static maps, the classes and labels drawn."""
    import subprocess

    from service.maps.data import MapSpec, load_map

    assert "qgis/irq_dtm_maps_r120_20210228.qgz" in names
    assert "qgis/" in (out / "README.txt").read_text()
    national = "irq_dtm_idp_adm2_r120_A4L_20210228"
    done = subprocess.run(
        [
            "/usr/bin/python3",
            str(QGIS_CHECK),
            str(out / "qgis/irq_dtm_maps_r120_20210228.qgz"),
            national,
            str(out.parent / "qgis_layout.pdf"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    q = json.loads(done.stdout.strip().splitlines()[-1])
    assert q["read"] and q["error"] == "" and q["version"].startswith("3.")
    assert q["messages"] == []  # opens without a warning
    assert q["crs"] == "EPSG:32638"  # the maps' UTM zone
    layers = {la["name"]: la for la in q["layers"]}
    want = {1: 18, 2: 101, 3: 294}
    for pop, who in (("idp", "IDPs"), ("returnee", "Returnees")):
        for level, word in ((1, "governorate"), (2, "district"), (3, "sub-district")):
            la = layers[f"{who} by {word} (irq_dtm_{pop}_adm{level}_r120_20210228)"]
            assert la["valid"] and la["features"] == want[level], la["name"]
            # relative to the project: the package's own GeoPackage wherever it is unpacked
            assert la["source"].startswith(str(out / "data" / f"irq_dtm_{pop}_adm{level}_r120_20210228.gpkg"))
            assert la["labels"] and "name_ar" in la["label_expression"]
    # each district the colour of the static national map (same classes, "No data" grey)
    with engine.connect() as conn:
        data = load_map(conn, MapSpec(120, "idp", 2))
    districts = layers["IDPs by district (irq_dtm_idp_adm2_r120_20210228)"]
    assert districts["visible"]
    assert {u.pcode: u.color.lower() for u in data.units} == districts["colour_of"]
    assert [c for _e, c, _l in districts["rules"]] == [*data.classification.colors, data.classification.no_data_color]
    # drawn: every class with units shows, names placed by QGIS's engine in English and Arabic
    for colour, count in zip(data.classification.colors, data.classification.counts):
        if count:
            assert q["colours"].get(colour.lower(), 0) > 20, colour
    assert q["labels_placed"]["Governorates (outlines)"] == 18
    assert q["labels_placed"][districts["name"]] >= 15
    assert any("الموصل" in t or "السليمانية" in t for t in q["label_texts"])
    _check_print_layouts(engine, out, names, q, national)


def _check_print_layouts(engine, out, names, q, national) -> None:
    """A print layout per figures map of the package: its paper, a map item holding the map's view (in
    the maps' CRS, showing the map's layer under the governorates' outlines), the title and
    subtitle, legend, scale bar in km, north arrow; one exported to PDF by QGIS has the title."""
    import subprocess

    from service.maps import render
    from service.maps.data import MapSpec, load_map

    # the figures' maps; a kind's own maps (maps/flows/, maps/indicators/) draw layers the
    # project does not hold, so they have no layout
    figure_maps = ("maps/national/", "maps/governorates/")
    maps = sorted(n.rsplit("/", 1)[1][:-4] for n in names if n.startswith(figure_maps) and n.endswith(".png"))
    layouts = {la["name"]: la for la in q["layouts"]}
    assert sorted(layouts) == maps
    for name, la in layouts.items():
        paper = page(name.split("_")[-2][:2], "landscape" if name.split("_")[-2][2] == "L" else "portrait")
        assert la["page_mm"] == [paper.width_mm, paper.height_mm], name
        assert len(la["maps"]) == 1 and la["maps"][0]["crs"] == "EPSG:32638", name
        assert la["maps"][0]["layers"][0] == "Governorates (outlines)"
        assert la["legends"] and la["scale_bars"] == ["km"], name
        assert any("north_arrow" in p for p in la["pictures"]), name
    cases = [
        (national, MapSpec(120, "idp", 2)),
        ("irq_dtm_idp_adm3_iqg07_r120_A4L_20210228", MapSpec(120, "idp", 3, extent="IQG07")),
    ]
    for name, spec in cases:
        with engine.connect() as conn:
            data = load_map(conn, spec)
        la = layouts[name]
        x0, y0, x1, y1 = la["maps"][0]["extent"]
        vx0, vy0, vx1, vy1 = data.view
        assert x0 <= vx0 + 1 and y0 <= vy0 + 1 and x1 >= vx1 - 1 and y1 >= vy1 - 1, (name, la["maps"][0]["extent"])
        # grown to the frame's aspect only: the view fills it in one direction
        assert min((vx1 - vx0) / (x1 - x0), (vy1 - vy0) / (y1 - y0)) < 1.001
        assert max((vx1 - vx0) / (x1 - x0), (vy1 - vy0) / (y1 - y0)) > 0.999
        who = "IDPs" if spec.population == "idp" else "Returnees"
        assert la["maps"][0]["layers"][1].startswith(f"{who} by {'district' if spec.level == 2 else 'sub-district'} (")
        title, subtitle = render.title_texts(data)
        assert title in la["labels"] and subtitle in la["labels"], la["labels"]
        assert data.classification.title in la["legends"]
    assert q["export_ok"], q.get("export")
    text = subprocess.run(
        ["pdftotext", str(out.parent / "qgis_layout.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    with engine.connect() as conn:
        title, subtitle = render.title_texts(load_map(conn, MapSpec(120, "idp", 2)))
    # the English part of the title (Qt writes the Arabic as presentation forms) and the subtitle
    assert title.split(": ", 1)[1] in text and subtitle in text, text[:500]


def test_package_refuses_a_used_folder(figures_engine, tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(package.PackageError, match="not an empty folder"):
        package.build(figures_engine, 120, tmp_path, dpi=40, extents=[])


def test_geopackages_are_version_1_2(figures_engine, tmp_path):
    from service.publish.exports import export_to

    for ds in ("figures-adm2", "admin1"):
        path, _ = export_to(figures_engine, ds, "gpkg", tmp_path, round_number=120, population="idp")
        with sqlite3.connect(path) as db:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            user_version = db.execute("PRAGMA user_version").fetchone()[0]
        assert app_id == 0x47504B47  # "GPKG"
        assert user_version == 10200, f"{path.name}: GeoPackage {user_version} (want 1.2: 10200)"


@pytest.fixture(scope="module")
def small_packages(figures_client, tmp_path_factory):
    """Packages of 40 dpi with one governorate, built under a temporary data folder."""
    state = figures_client.app.state
    settings = state.settings
    state.settings = settings.model_copy(
        update={
            "data_dir": tmp_path_factory.mktemp("data"),
            "package_dpi": 40,
            "package_extents": ["IQG07"],
            "package_workers": 1,
        }
    )
    yield
    state.settings = settings


def test_http_package_built_once_then_served(figures_client, small_packages):
    first = figures_client.get("/packages/120.zip", params={"population": "idp"})
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "application/zip"
    assert first.headers["x-cache"] == "miss"
    assert 'filename="irq_dtm_idp_package_r120_20210228.zip"' in first.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(first.content))
    root = "irq_dtm_package_r120_20210228/"
    manifest = json.loads(z.read(root + "manifest.json"))
    assert manifest["populations"] == {"idp": {"round_number": 120, "reporting_date": "2021-02-28"}}
    for f in manifest["files"]:
        assert _sha(z.read(root + f["path"])) == f["sha256"], f["path"]
    assert {n[len(root) :] for n in z.namelist()} - {"manifest.json", "SHA256SUMS"} == {
        f["path"] for f in manifest["files"]
    }
    again = figures_client.get("/packages/120.zip", params={"population": "idp"})
    assert again.headers["x-cache"] == "hit" and again.content == first.content

    missing = figures_client.get("/packages/121.zip")
    assert missing.status_code == 404
    assert missing.json() == {"status": 404, "detail": missing.json()["detail"]}
    assert "round 121" in missing.json()["detail"] and "86, 120" in missing.json()["detail"]
    assert figures_client.get("/packages/120.zip", params={"population": "people"}).status_code == 400


def test_http_maps_cached_per_data_version(figures_client):
    params = {"round": 120, "population": "idp", "level": 2, "dpi": 40}
    r = figures_client.get("/maps/choropleth.png", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.headers["x-cache"] == "miss"
    assert 'filename="irq_dtm_idp_adm2_r120_A4L_20210228.png"' in r.headers["content-disposition"]
    with Image.open(io.BytesIO(r.content)) as im:
        assert im.size == page().pixels(40)
    hit = figures_client.get("/maps/choropleth.png", params=params)
    assert hit.headers["x-cache"] == "hit" and hit.content == r.content
    assert hit.headers["x-data-version"] == r.headers["x-data-version"]
    assert (
        figures_client.get(
            "/maps/choropleth.png", params=params, headers={"if-none-match": r.headers["etag"]}
        ).status_code
        == 304
    )

    pdf = figures_client.get("/maps/choropleth.pdf", params={"round": 120, "extent": "iqg07", "level": 3})
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    assert 'filename="irq_dtm_idp_adm3_iqg07_r120_A4L_20210228.pdf"' in pdf.headers["content-disposition"]
    html = figures_client.get("/maps/choropleth.html", params={"round": 120, "population": "returnee", "level": 1})
    assert html.status_code == 200 and "leaflet" in html.text.lower()
    trend = figures_client.get("/maps/trend.png", params={"dpi": 40})
    assert trend.status_code == 200 and trend.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "path,params,status,words",
    [
        ("/maps/choropleth.png", {"extent": "IQG99"}, 404, "unknown; use 'national' or a governorate P-code"),
        ("/maps/choropleth.png", {"extent": "IQG01Q01"}, 400, "not a governorate"),
        ("/maps/choropleth.png", {"round": 121}, 404, "no idp data for round 121"),
        ("/maps/choropleth.pdf", {"paper": "A5"}, 400, "unsupported paper 'A5': use A4 or A3"),
        ("/maps/choropleth.pdf", {"orientation": "diagonal"}, 400, "orientation"),
        ("/maps/choropleth.pdf", {"level": 7}, 400, "unknown level"),
        ("/maps/choropleth.png", {"dpi": 5000}, 400, "dpi"),
        ("/maps/choropleth.tiff", {}, 404, "unknown format"),
        ("/maps/heatmap.png", {}, 404, "unknown map 'heatmap'"),
        ("/maps/trend.html", {}, 400, "is a chart"),
    ],
)
def test_http_bad_map_requests(figures_client, path, params, status, words):
    r = figures_client.get(path, params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status and words in body["detail"], body


def test_fragility_hook(figures_engine, tmp_path, monkeypatch):
    """With a fragility layer that provides the three hooks (``Kind.map_hook`` in the layer registry), the
    fragility map and the package's fragility/ folder appear. A stand-in layer over stored
    figures (the national share) shows the wiring; the real layer brings its own values."""
    import types

    from service.maps import render
    from service.maps.data import MapSpec, load_map, map_indicators
    from styles.classify import legend_for
    from styles.queries import unit_values

    # the real layer is tested in tests/fragility/test_maps_hook.py; here a stand-in over
    # stored figures, whatever the real one holds
    layer = types.ModuleType("service.fragility")

    def map_values(conn, *, round_id, level, population):
        values = dict(unit_values(conn, round_id, level, "share_national"))
        return legend_for("share", population, values.values()), values

    layer.map_values = map_values
    layer.overlay_table = lambda conn, *, round_id: [
        {"pcode": p, "score": v} for p, v in unit_values(conn, round_id, 1, "share_national")
    ]
    layer.method_card = lambda conn=None, *, round_id=None: "# Fragility index\n\nHow it is made.\n"
    from dataclasses import replace

    from service.core import registry
    from service.kinds import FRAGILITY, MASTERLISTS

    monkeypatch.setattr(
        registry, "_REGISTRY", registry.Registry((MASTERLISTS, replace(FRAGILITY, map_hook=lambda: layer)))
    )
    assert "fragility" in map_indicators()

    with figures_engine.connect() as conn:
        data = load_map(conn, MapSpec(120, "idp", 1, "fragility"))
    assert (
        render.render(data, tmp_path / "m", ("png",), dpi=30)["png"].name
        == "irq_dtm_idp_fragility_adm1_r120_A4L_20210228.png"
    )

    out = tmp_path / "pkg"
    package.build(figures_engine, 120, out, population="idp", dpi=30, workers=1, extents=[])
    assert (out / "fragility" / "fragility_method.md").read_text().startswith("# Fragility index")
    overlay = (out / "fragility" / "irq_dtm_idp_fragility_overlay_r120_20210228.csv").read_text(encoding="utf-8-sig")
    assert overlay.splitlines()[0] == "pcode,score" and len(overlay.splitlines()) == 19
    assert "fragility/fragility_method.md" in {
        f["path"] for f in json.loads((out / "manifest.json").read_text())["files"]
    }
