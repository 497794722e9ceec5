"""Fixed classes across the whole history in Debian's Chromium (issue 23's must-show): with
DTM rounds 2 (1 May 2014) and 120 (28 February 2021) imported, the web map's legend shows the
same breaks, labels and colours for both rounds in fixed mode (the default), each round with
its own counts; a round's own quantiles differ."""

from __future__ import annotations

import pytest

from tests.conftest import MASTERLISTS, serve_app
from tests.web.test_webmap import VIEWPORT, _need_maplibre, _wait_render, browser  # noqa: F401 (fixture)

ROUND_2 = MASTERLISTS / "series" / "idp" / "IDPs_MasterList_dataset_DTM_IOMMay_01_2014.csv.gz"


@pytest.fixture(scope="module")
def rounds_2_120(pg_server, iraq_template):
    from service.ingest.rounds import import_masterlist
    from tests.conftest import cloned_engine

    _need_maplibre()
    if not ROUND_2.exists():
        pytest.skip(f"{ROUND_2.name} is not in the shared data folder")
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_r2") as engine:
        import_masterlist(engine, ROUND_2, population="idp")
        import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="idp")
        with serve_app(engine) as url:
            yield url


def _legend(page, server: str, hash_: str, renders: int) -> tuple[dict, list[str], int]:
    page.goto(server + "/#" + hash_)
    renders = _wait_render(page, 0)
    legend = page.evaluate("window.dtmAtlas.legend")
    drawn = page.locator("#legend li span[dir=ltr]").all_inner_texts()
    return legend, drawn, renders


def test_fixed_breaks_are_the_same_in_rounds_2_and_120(rounds_2_120, browser):  # noqa: F811
    server = rounds_2_120
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    r2, drawn2, n = _legend(page, server, "population=idp&round=2&indicator=individuals&level=2", 0)
    assert page.evaluate("window.dtmAtlas.state.round") == "2"
    r120, drawn120, n = _legend(page, server, "population=idp&round=120&indicator=individuals&level=2", n)
    assert page.evaluate("window.dtmAtlas.state.round") == "120"
    assert r2["classes"] == r120["classes"] == "fixed" and r120["history"]["rounds"] == 2
    assert r2["breaks"] == r120["breaks"] and r2["labels"] == r120["labels"] and r2["colors"] == r120["colors"]
    assert drawn2 == drawn120 and len(drawn2) >= 3  # the legend on screen, identical
    assert r2["counts"] != r120["counts"]  # each round's own units in the classes
    q2, _, _ = _legend(page, server, "population=idp&round=2&indicator=individuals&level=2&classes=quantile", n)
    q120, _, _ = _legend(page, server, "population=idp&round=120&indicator=individuals&level=2&classes=quantile", n)
    assert q2["breaks"] != q120["breaks"]  # what fixed classes avoid: the round's own quantiles move
    assert not errors, errors
    page.close()
