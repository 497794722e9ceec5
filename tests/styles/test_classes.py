"""Class schemes (``?classes=fixed|quantile|jenks|equal``): fixed breaks over the whole history
are the same in every round, on the choropleth, the tiles, the styles and the web map's figures."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from styles.classify import classify, legend_for
from tests.tiles import IRAQ_BOUNDS, TMS, by_pcode, decode

ROUNDS = ("2017-12-31", "2021-02-28")  # the two IDP rounds of the test data


def _legend(client, level: int, rnd: str, classes: str | None, indicator: str = "individuals") -> dict:
    q = f"?round={rnd}&indicator={indicator}" + (f"&classes={classes}" if classes else "")
    r = client.get(f"/choropleth/{level}.geojson{q}")
    assert r.status_code == 200, r.text
    return r.json()


def test_applied_to_keeps_the_breaks_and_counts_the_new_values():
    history = classify(list(range(1, 101)), "quantiles", 5, "idp")
    one = history.applied_to([1, 2, 99, None])
    assert one.breaks == history.breaks and one.labels == history.labels and one.colors == history.colors
    assert one.counts == [2, 0, 0, 0, 1] and one.no_data_count == 1


@pytest.mark.parametrize("indicator", ["individuals", "change"])
def test_fixed_breaks_are_the_same_in_every_round(figures_client, figures_engine, indicator):
    legends = [_legend(figures_client, 2, rnd, "fixed", indicator)["legend"] for rnd in ROUNDS]
    assert legends[0]["breaks"] == legends[1]["breaks"]
    assert legends[0]["labels"] == legends[1]["labels"]
    assert legends[0]["classes"] == "fixed" and legends[0]["history"]["rounds"] == 2
    # the breaks are the indicator's method over the values of both rounds (computed here independently)
    column = {"individuals": "individuals", "change": "change_individuals"}[indicator]
    with figures_engine.connect() as conn:
        values = conn.execute(
            text(
                f"SELECT f.{column} FROM unit_figure f JOIN round r ON r.id = f.round_id "
                "WHERE r.population = 'idp' AND f.level = 2 AND f.pcode <> 'UNASSIGNED'"
            )
        ).scalars()
        values = list(values)
    assert legends[0]["breaks"] == legend_for(indicator, "idp", values).breaks
    # the counts are each round's own
    for rnd, legend in zip(ROUNDS, legends):
        features = _legend(figures_client, 2, rnd, "fixed", indicator)["features"]
        assert sum(legend["counts"]) == sum(1 for f in features if f["properties"]["class"] is not None)
    # a round's own quantiles differ from the history's
    own = [_legend(figures_client, 2, rnd, "quantile", indicator)["legend"]["breaks"] for rnd in ROUNDS]
    assert own[0] != own[1]


@pytest.mark.parametrize("classes", ["quantile", "jenks", "equal"])
def test_each_scheme_is_its_method_over_the_round(figures_client, classes):
    legend = _legend(figures_client, 1, ROUNDS[1], classes)["legend"]
    method = {"quantile": "quantiles", "jenks": "natural_breaks", "equal": "equal_interval"}[classes]
    assert legend["method"] == method and legend["classes"] == classes


def test_tiles_styles_and_webmap_share_the_fixed_classes(figures_client):
    geo = _legend(figures_client, 2, ROUNDS[0], "fixed")
    classes = {f["properties"]["pcode"]: f["properties"]["class"] for f in geo["features"]}
    tiles: dict[str, dict] = {}
    for t in TMS.tiles(*IRAQ_BOUNDS, [5]):
        r = figures_client.get(f"/tiles/districts/5/{t.x}/{t.y}.mvt?round={ROUNDS[0]}&classes=fixed")
        if r.status_code == 200:
            tiles.update(by_pcode(decode(r.content).get("districts", [])))
    assert tiles and all(props.get("class") == classes[p] for p, props in tiles.items())
    tj = figures_client.get(f"/tiles/districts.json?round={ROUNDS[0]}&classes=fixed").json()
    assert tj["legend"]["breaks"] == geo["legend"]["breaks"] and "classes=fixed" in tj["tiles"][0]
    style = figures_client.get("/styles/idp-by-district.json?round=120&classes=fixed").json()
    assert style["metadata"]["dtm-atlas:legend"]["breaks"] == geo["legend"]["breaks"]
    web = figures_client.get(f"/webmap/figures/2.json?round={ROUNDS[0]}&classes=fixed").json()
    assert web["legend"]["breaks"] == geo["legend"]["breaks"]
    web_classes = dict(zip(web["pcode"], web["class"]))  # units with figures in the round
    assert web_classes == {p: c for p, c in classes.items() if p in web_classes}


@pytest.mark.parametrize("path", ["/choropleth/2.geojson", "/tiles/districts.json", "/tiles/districts/5/20/12.mvt"])
def test_an_unknown_scheme_is_a_400_naming_the_choices(figures_client, path):
    r = figures_client.get(f"{path}?classes=natural")
    assert r.status_code == 400, r.text
    assert "fixed" in r.text and "jenks" in r.text
