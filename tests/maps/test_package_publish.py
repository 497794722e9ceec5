"""The information package as an IM officer publishes it (issue 24): DTM's published count as
the summary's headline, tables by size with totals, national totals on the national maps, only
maps with data, the README's skipped list, Arabic that copies out of the PDFs, titles that fit
every paper, the map catalogue. One small package (40 dpi, two governorates) read back as files:
pdftotext, PDF fonts, PNG pixels."""

from __future__ import annotations

import csv
import io
import subprocess

import pytest

from service.maps import package

DATE = "20210228"


def pdftext(path, *args) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def pkg(figures_engine, tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "p"
    plan = package.plan(figures_engine, 120, "both", extents=["IQG01", "IQG07"])
    result = package.build(figures_engine, 120, out, dpi=40, workers=2, the_plan=plan)
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
    import re

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
    text = pdftext(out / f"maps/national/irq_dtm_idp_adm2_r120_A4L_{DATE}.pdf")
    flat = " ".join(text.split())
    assert "National total: 1,205,767 IDPs (DTM's published count)" in flat
    assert "1,243,278" in flat
    ret = " ".join(pdftext(out / f"maps/national/irq_dtm_returnee_adm2_r120_A4L_{DATE}.pdf").split())
    assert "National total: 4,851,816 Returnees" in ret
