"""The information package as an IM officer publishes it (issue 24): DTM's published count as
the summary's headline, tables by size with totals, national totals on the national maps, only
maps with data, the README's skipped list, Arabic that copies out of the PDFs, titles that fit
every paper, the map catalogue. One small package (40 dpi, two governorates) read back as files:
pdftotext, PDF fonts, PNG pixels."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess

import pytest
from PIL import Image
from sqlalchemy import text

from service.maps import package

DATE = "20210228"


def pdftext(path, *args) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def engine(pg_server, iraq_template):
    """The figures database (Iraq and the three real lists) with round 120's fragility run
    stored, then marked stale (as an import of changed inputs marks it). Made from the Iraq
    template, not copied from the shared figures database, which other tests' sessions hold."""
    from service.fragility import store
    from service.fragility.run import ensure_run
    from service.ingest.rounds import import_masterlist
    from tests.conftest import MASTERLISTS, REAL_ROUNDS, SHARED, cloned_engine

    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_pkg24") as eng:
        for fname, population in REAL_ROUNDS:
            import_masterlist(eng, MASTERLISTS / fname, population=population)
        run, _ = ensure_run(eng, shared_dir=SHARED, round_number=120)
        with eng.begin() as conn:
            store.set_stale(conn, [run["id"]])
        yield eng


@pytest.fixture(scope="module")
def no_returnees(engine):
    """A governorate with IDPs but no returnees in round 120."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT i.pcode FROM unit_figure i JOIN round r ON r.id = i.round_id AND r.round_number = 120 "
                "AND r.population = 'idp' WHERE i.level = 1 AND i.individuals > 0 AND i.pcode NOT IN ("
                "SELECT f.pcode FROM unit_figure f JOIN round q ON q.id = f.round_id AND q.round_number = 120 "
                "AND q.population = 'returnee' WHERE f.level = 1 AND f.individuals > 0) ORDER BY i.pcode LIMIT 1"
            )
        ).scalar_one()


@pytest.fixture(scope="module")
def pkg(engine, no_returnees, tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "p"
    plan = package.plan(engine, 120, "both", extents=["IQG01", "IQG07", no_returnees])
    assert plan.fragility_status == "stale"
    steps: list[str] = []
    result = package.build(
        engine, 120, out, dpi=40, workers=2, the_plan=plan, progress=steps.append, event="FL-2021-000001-IRQ"
    )
    assert len(steps) == plan.steps
    return out, result


def test_summary_headline_is_dtms_published_count(pkg):
    out, _ = pkg
    text = pdftext(out / f"irq_dtm_summary_r120_A4P_{DATE}.pdf", "-layout")
    lines = [line for line in text.splitlines() if line.strip()]
    # the headline (the biggest number of the IDP box) is DTM's 1,205,767, the file's count beside it
    headline = next(line for line in lines if "1,205,767" in line)
    assert "1,243,278" in headline and "master list file" in headline
    # the rule in a footnote
    assert "(1) Headline: DTM's published count" in text
    assert "camps counted at 5 persons" in text and "117" in text
    # the governorate table: by size, then a total row equal to the headline
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("Governorate"))
    rows = []
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("Total"):
            total = line
            break
        rows.append(line)
    nums = [_first_count(line) for line in rows]
    assert nums == sorted(nums, reverse=True) and len(nums) >= 18
    assert _first_count(total) == 1_205_767 == sum(nums)


def _first_count(line: str) -> int:
    return int(re.findall(r"(?<![+\-\d,])(\d{1,3}(?:,\d{3})+|\d+)(?![\d,])", line.split("|")[-1])[0].replace(",", ""))


def test_tables_by_size(pkg):
    out, _ = pkg
    gov = (out / f"tables/irq_dtm_idp_governorates_r120_{DATE}.csv").read_text(encoding="utf-8-sig").splitlines()
    rows = list(csv.DictReader(io.StringIO("\n".join([gov[0], *gov[2:]]))))
    sizes = [int(r["individuals"]) for r in rows if r["pcode"] != "UNASSIGNED"]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(int(r["published_individuals"]) for r in rows) == 1_205_767
    from openpyxl import load_workbook

    wb = load_workbook(out / f"tables/irq_dtm_summary_tables_r120_{DATE}.xlsx", read_only=True)
    ws = wb["idp governorates r120"]
    values = list(ws.values)
    header = values[1]
    last = values[-1] if values[-1][0] == "Total" else values[-3]
    assert last[0] == "Total"
    assert last[header.index("individuals")] == 1_243_278
    assert last[header.index("published_individuals")] == 1_205_767


def test_national_maps_state_the_national_total(pkg):
    out, _ = pkg
    text = pdftext(out / f"maps/national/irq_dtm_idp_adm2_r120_A4L_{DATE}.pdf", "-raw")
    flat = " ".join(text.split())
    assert "National total: 1,205,767 IDPs (DTM's published count)" in flat
    assert "1,243,278" in flat
    ret = " ".join(pdftext(out / f"maps/national/irq_dtm_returnee_adm2_r120_A4L_{DATE}.pdf", "-raw").split())
    assert "National total: 4,851,816 Returnees" in ret


def _map_files(out):
    return sorted(p for p in (out / "maps").rglob("*.png"))


def test_no_map_is_all_no_data(pkg, no_returnees):
    out, _ = pkg
    names = {p.name for p in _map_files(out)}
    gov = no_returnees.lower()
    assert f"irq_dtm_idp_adm3_{gov}_r120_A4L_{DATE}.png" in names
    assert f"irq_dtm_returnee_adm3_{gov}_r120_A4L_{DATE}.png" not in names
    assert f"irq_dtm_returnee_adm3_iqg01_r120_A4L_{DATE}.png" in names
    # every map's text says a class other than "No data" for some unit: read the PNG's pixels, every
    # map has pixels of at least one class colour (not only the No-data grey, neighbours and water)
    for png in _map_files(out):
        with Image.open(png) as im:
            colours = {c for _, c in im.convert("RGB").getcolors(1 << 20)}
        classed = [c for c in colours if _saturated(c)]
        assert len(classed) > 20, f"{png.name}: no classed unit"
    readme = (out / "README.txt").read_text()
    skipped = readme.split("Not in this package", 1)[1].split("File names", 1)[0]
    assert re.search(r"Returnees maps of \d governorates? with no Returnees in round 120", " ".join(skipped.split()))
    assert f"({no_returnees})" in skipped
    # the README names no folder that is empty or absent
    for line in readme.split("Contents", 1)[1].split("Not in this package", 1)[0].splitlines():
        folder = line.split(" ", 1)[0]
        if folder.endswith("/"):
            assert (out / folder).is_dir() and any((out / folder).iterdir()), folder
    for d in out.rglob("*"):
        assert not d.is_dir() or any(d.iterdir()), f"empty folder {d}"


def _saturated(rgb) -> bool:
    r, g, b = rgb
    return max(r, g, b) - min(r, g, b) > 40


def test_stale_fragility_is_recomputed_and_mapped(pkg, engine):
    out, _ = pkg
    with engine.connect() as conn:
        stale = conn.execute(text("SELECT bool_or(stale), count(*) FROM fragility_run")).one()
    assert stale[0] is False  # the stale run was recomputed before the package was read
    name = f"irq_dtm_idp_fragility_adm3_r120_A4L_{DATE}"
    assert (out / f"maps/national/{name}.png").exists() and (out / f"maps/national/{name}.pdf").exists()
    text_ = " ".join(pdftext(out / f"maps/national/{name}.pdf").split())
    assert "fragility" in text_.lower() and "No data" in text_
    assert (out / "fragility/fragility_method.md").exists()
    readme = (out / "README.txt").read_text()
    contents = readme.split("Contents", 1)[1].split("File names", 1)[0]
    assert "fragility/" in contents and "Fragility" not in contents.split("Not in this package")[-1]


def test_catalogue_lists_every_map(pkg):
    out, _ = pkg
    cat = json.loads((out / "catalogue.json").read_text())["maps"]
    pngs = {p.relative_to(out).as_posix() for p in _map_files(out)}
    listed = {f["path"] for e in cat for f in e["files"]}
    assert pngs <= listed and len(cat) == len(pngs)
    assert [e["map_number"] for e in cat] == list(range(1, len(cat) + 1))
    for e in cat:
        assert e["event"] == "FL-2021-000001-IRQ"
        assert e["data_date"] == "2021-02-28" and e["title"] and e["version"].startswith("data version")
        for f in e["files"]:
            assert (out / f["path"]).stat().st_size == f["bytes"]
        if e["files"][0]["path"].startswith("maps/flows/"):  # the flows kind's own map (A4 portrait)
            assert e["paper"] == "A4 portrait" and e["title"].startswith("Where IDPs come from")
            assert {f["path"].rsplit(".", 1)[1] for f in e["files"]} == {"png", "pdf"}
            continue
        assert e["paper"] == "A4 landscape" and e["scale"].startswith("1:")
        assert e["qc"]["no_data_units"] < e["qc"]["units"]
        lon0, lat0, lon1, lat1 = e["bbox"]
        assert 30 < lon0 < lon1 < 60 and 20 < lat0 < lat1 < 45
    status = {(e["population"], e["extent"], e["indicator"]): e["status"] for e in cat}
    assert status[("idp", "national", "individuals")] == "update"  # the IDPs' previous round: Dec 2017
    assert status[("returnee", "national", "individuals")] == "new"  # no earlier returnee round
    rows = list(csv.DictReader(io.StringIO((out / "catalogue.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(cat) and rows[0]["event"] == "FL-2021-000001-IRQ"
