"""MapLibre styles: built for every published map, checked with the real MapLibre style-spec
validator (node, styles/validator), and served from the real figures by /styles."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from styles.classify import INDICATORS, legend_for
from styles.maplibre import LAYERS, PUBLISHED_MAPS, build_style, fill_color
from styles.palette import NO_DATA_COLOR

VALIDATOR = Path(__file__).resolve().parents[2] / "styles" / "validator"
BASE = "http://127.0.0.1:8000"
FEB21, DEC17 = 120, 86  # DTM round numbers of the real master lists (service/data/known_rounds.csv)
REQUIRED_MAPS = {
    "idp-by-district",
    "idp-by-subdistrict",
    "returnees-by-district",
    "returnees-by-subdistrict",
    "idp-by-governorate",
}


@pytest.fixture(scope="session")
def validate_styles():
    """A function validating style dicts with @maplibre/maplibre-gl-style-spec; returns {file: [errors]}."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are not installed on this machine: cannot run the MapLibre style-spec validator")
    if not (VALIDATOR / "node_modules" / "@maplibre" / "maplibre-gl-style-spec" / "package.json").exists():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=VALIDATOR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"npm ci in {VALIDATOR} failed:\n{done.stdout}\n{done.stderr}"

    def run(styles: dict[str, dict], tmp: Path) -> dict[str, list[str]]:
        files = []
        for name, style in styles.items():
            path = tmp / f"{name}.json"
            path.write_text(json.dumps(style, ensure_ascii=False, indent=1), encoding="utf-8")
            files.append(str(path))
        done = subprocess.run(
            [node, str(VALIDATOR / "validate.mjs"), "--json", *files], capture_output=True, text=True, timeout=120
        )
        assert done.returncode in (0, 1), f"validator crashed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        report = json.loads(done.stdout)
        assert (done.returncode == 0) == (report["errors"] == 0)
        return {Path(r["file"]).stem: [e["message"] for e in r["errors"]] for r in report["files"]}

    return run


def _legend(m, values=(0, 12, 340, 1201, 5000, 5000, 48000, 215958, None, -3000, -20)):
    return legend_for(m.indicator, m.population, values).to_dict()


def _style(name: str, labels: bool = True, base: str = BASE, round_number: int = FEB21) -> dict:
    m = PUBLISHED_MAPS[name]
    return build_style(
        name,
        base_url=base,
        round_id=7,
        round_number=round_number,
        population=m.population,
        indicator=m.indicator,
        level=m.level,
        legend=_legend(m),
        labels=labels,
    )


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def assert_urls_inside(style: dict, base: str) -> None:
    """Every URL in the style points under ``base``: no basemap, CDN or font host."""
    for s in _strings(style):
        if "http" in s or "://" in s:
            assert s.startswith(base + "/"), f"URL outside {base}: {s}"


# -- built styles -------------------------------------------------------------------------------


def test_published_maps():
    assert REQUIRED_MAPS <= set(PUBLISHED_MAPS)
    for name, m in PUBLISHED_MAPS.items():
        assert m.name == name and m.population in ("idp", "returnee") and m.level in LAYERS
        assert name.startswith("idp-" if m.population == "idp" else "returnees-")
        assert m.layer == {1: "governorates", 2: "districts", 3: "subdistricts"}[m.level]


@pytest.mark.parametrize("labels", [True, False])
def test_every_published_style_passes_the_maplibre_validator(validate_styles, tmp_path, labels):
    styles = {name: _style(name, labels=labels) for name in PUBLISHED_MAPS}
    errors = validate_styles(styles, tmp_path)
    assert set(errors) == set(PUBLISHED_MAPS)
    assert errors == {name: [] for name in PUBLISHED_MAPS}


def test_the_validator_does_reject_broken_styles(validate_styles, tmp_path):
    good = _style("idp-by-district")
    bad_color = json.loads(json.dumps(good))
    bad_color["layers"][1]["paint"]["fill-color"] = ["match", ["get", "class"], 0, "not-a-colour", NO_DATA_COLOR]
    bad_glyphs = json.loads(json.dumps(good))
    bad_glyphs["glyphs"] = f"{BASE}/fonts/{{fontstack}}.pbf"  # no {range}
    bad_source = json.loads(json.dumps(good))
    bad_source["layers"][1]["source"] = "nowhere"
    errors = validate_styles(
        {"good": good, "bad_color": bad_color, "bad_glyphs": bad_glyphs, "bad_source": bad_source}, tmp_path
    )
    assert errors["good"] == []
    assert errors["bad_color"] and errors["bad_glyphs"] and errors["bad_source"]


@pytest.mark.parametrize("name", sorted(PUBLISHED_MAPS))
def test_style_structure(name):
    m = PUBLISHED_MAPS[name]
    style = _style(name)
    assert style["version"] == 8
    assert_urls_inside(style, BASE)
    layer = m.layer
    src = style["sources"][f"dtm-{layer}"]
    assert src["type"] == "vector"
    assert src["url"] == f"{BASE}/tiles/{layer}.json?round={FEB21}&population={m.population}&indicator={m.indicator}"
    assert style["glyphs"] == f"{BASE}/fonts/{{fontstack}}/{{range}}.pbf"
    ids = [lyr["id"] for lyr in style["layers"]]
    assert len(ids) == len(set(ids))
    by_type = {}
    for lyr in style["layers"]:
        by_type.setdefault(lyr["type"], []).append(lyr)
        if lyr["type"] != "background":
            assert lyr["source-layer"] == style["sources"][lyr["source"]]["url"].split("/tiles/")[1].split(".json")[0]
    fill = by_type["fill"][0]
    assert fill["source-layer"] == layer
    legend = style["metadata"]["dtm-atlas:legend"]
    assert fill["paint"]["fill-color"] == fill_color(legend)
    expr = fill["paint"]["fill-color"]
    assert expr[:2] == ["match", ["get", "class"]]
    assert expr[2:-1:2] == list(range(legend["k"])) and expr[3:-1:2] == legend["colors"]
    assert expr[-1] == legend["no_data_color"] == NO_DATA_COLOR
    assert any(lyr["source-layer"] == layer for lyr in by_type["line"])
    label = by_type["symbol"][0]
    assert label["source-layer"] == layer and "name_en" in json.dumps(label["layout"]["text-field"])
    assert legend["round"] == FEB21 and legend["population"] == m.population and legend["title"]
    assert len(legend["labels"]) == len(legend["colors"]) == len(legend["breaks"]) == legend["k"]


def test_no_labels_means_no_glyphs_and_no_symbols():
    style = _style("idp-by-subdistrict", labels=False)
    assert "glyphs" not in style and all(lyr["type"] != "symbol" for lyr in style["layers"])


def test_no_classes_fill_with_no_data_colour():
    m = PUBLISHED_MAPS["idp-by-district"]
    style = build_style(
        m.name,
        base_url=BASE + "/",
        round_id=1,
        round_number=1,
        population="idp",
        indicator="individuals",
        level=2,
        legend=legend_for("individuals", "idp", []).to_dict(),
    )
    fill = next(lyr for lyr in style["layers"] if lyr["type"] == "fill")
    assert fill["paint"]["fill-color"] == NO_DATA_COLOR
    assert_urls_inside(style, BASE)  # trailing slash of base_url not doubled
    assert "//tiles" not in json.dumps(style)


def test_url_check_catches_external_urls():
    style = _style("idp-by-district")
    style["sources"]["basemap"] = {"type": "raster", "tiles": ["https://tile.example.org/{z}/{x}/{y}.png"]}
    with pytest.raises(AssertionError):
        assert_urls_inside(style, BASE)


# -- the HTTP endpoint on the real figures ------------------------------------------------------


def _unit_values(engine, population: str, round_number: int, level: int, column: str) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f"""SELECT uf.pcode, uf.{column} FROM unit_figure uf JOIN round r ON r.id = uf.round_id
                WHERE r.country = 'IRQ' AND r.population = :p AND r.round_number = :n AND uf.level = :l
                  AND uf.pcode <> 'UNASSIGNED'"""
            ),
            {"p": population, "n": round_number, "l": level},
        ).all()
    return dict(rows)


def test_styles_list(figures_client):
    r = figures_client.get("/styles")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    maps = {m["name"]: m for m in r.json()["maps"]}
    assert set(maps) == set(PUBLISHED_MAPS)
    assert maps["idp-by-district"]["rounds"] == [DEC17, FEB21]
    assert maps["idp-by-district"]["latest_round"] == FEB21
    assert maps["returnees-by-subdistrict"]["latest_round"] == FEB21
    assert maps["idp-by-district"]["style_url"] == "http://testserver/styles/idp-by-district.json"
    html = figures_client.get("/styles", headers={"accept": "text/html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "idp-by-district" in html.text


@pytest.mark.parametrize("name", sorted(REQUIRED_MAPS))
def test_style_endpoint_classifies_the_real_figures(figures_client, figures_engine, name):
    m = PUBLISHED_MAPS[name]
    r = figures_client.get(f"/styles/{name}.json")
    assert r.status_code == 200, r.text
    style = r.json()
    assert_urls_inside(style, "http://testserver")
    legend = style["metadata"]["dtm-atlas:legend"]
    assert (
        legend["round"] == FEB21 and legend["population"] == m.population and legend["reporting_date"] == "2021-02-28"
    )
    values = _unit_values(figures_engine, m.population, FEB21, m.level, "individuals")
    assert values, f"no unit_figure rows for {name}"
    assert legend["units"] == len(values)
    assert sum(legend["counts"]) + legend["no_data_count"] == len(values)
    expected = legend_for(m.indicator, m.population, values.values())
    assert legend["breaks"] == expected.breaks and legend["colors"] == expected.colors
    assert legend["labels"] == expected.labels and legend["method"] == INDICATORS[m.indicator].method
    assert legend["breaks"][-1] == max(values.values())
    assert 1 <= legend["k"] <= 5 and legend["breaks"] == sorted(set(legend["breaks"]))
    src = style["sources"][f"dtm-{m.layer}"]["url"]
    assert src == (
        f"http://testserver/tiles/{m.layer}.json?round={FEB21}&population={m.population}&indicator=individuals"
    )
    # labels by default when this server has built its glyphs (service.api.webmap, web/build-glyphs.js)
    from service.api.webmap import FONTS_DIR

    assert ("glyphs" in style) == (FONTS_DIR / "Noto Sans Regular" / "0-255.pbf").is_file()
    assert "glyphs" not in figures_client.get(f"/styles/{name}.json", params={"labels": "false"}).json()
    assert "glyphs" in figures_client.get(f"/styles/{name}.json", params={"labels": "true"}).json()


def test_style_endpoint_round_parameter(figures_client, figures_engine, validate_styles, tmp_path):
    r = figures_client.get("/styles/idp-by-district.json", params={"round": DEC17})
    assert r.status_code == 200
    legend = r.json()["metadata"]["dtm-atlas:legend"]
    assert legend["round"] == DEC17 and legend["reporting_date"] == "2017-12-31"
    values = _unit_values(figures_engine, "idp", DEC17, 2, "individuals")
    assert legend["breaks"] == legend_for("individuals", "idp", values.values()).breaks
    served = {n: figures_client.get(f"/styles/{n}.json", params={"labels": "true"}).json() for n in PUBLISHED_MAPS}
    served["dec17"] = r.json()
    assert validate_styles(served, tmp_path) == {n: [] for n in served}


def test_change_style_is_diverging(figures_client, figures_engine):
    r = figures_client.get("/styles/idp-change-by-district.json")
    assert r.status_code == 200
    legend = r.json()["metadata"]["dtm-atlas:legend"]
    assert legend["diverging"] and legend["palette"] == "change"
    values = _unit_values(figures_engine, "idp", FEB21, 2, "change_individuals")
    expected = legend_for("change", "idp", values.values())
    assert legend["breaks"] == expected.breaks and legend["counts"] == expected.counts
    if legend["k"]:
        assert legend["k"] % 2 == 1 and legend["lower"] == -legend["breaks"][-1]


def test_style_endpoint_errors(figures_client):
    r = figures_client.get("/styles/idp-by-province.json")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["status"] == 404 and set(body["names"]) == set(PUBLISHED_MAPS)
    assert "idp-by-district" in body["detail"]
    r = figures_client.get("/styles/idp-by-district.json", params={"round": 999})
    assert r.status_code == 404 and r.json()["status"] == 404
    assert "999" in r.json()["detail"] and str(FEB21) in r.json()["detail"]
    r = figures_client.get("/styles/idp-by-district.json", params={"round": "latest"})
    assert r.status_code == 400 and r.json()["status"] == 400


def test_style_endpoint_html(figures_client):
    r = figures_client.get("/styles/idp-by-district.json", params={"f": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "No data" in r.text and "#" in r.text
