"""The information package of Nigeria's round 39 (``dtm-atlas package --round 39 --country NGA``):
Nigeria has no master list here, only its round 39 site assessment, so the package holds the
dataset's page (the registry's ``Kind.package_maps``): the site map as proportional symbols over
the states, and the individuals per state as the public choropleth publishes them; its text
read back from the PDF with poppler's pdftotext."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from tests.indicators.test_cli import cli_env, flat  # noqa: F401 - the fixture
from tests.indicators.test_publish import nga_frame  # noqa: F401 - the fixture


def test_nigerias_package_has_its_site_map(cli_env, tmp_path, nga_frame):  # noqa: F811
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is not installed: ./dev installs it")
    out = tmp_path / "nga.zip"
    res = CliRunner().invoke(cli, ["package", "--round", "39", "--country", "NGA", "--out", str(out), "--dpi", "60"])
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        z.extractall(tmp_path / "x")
    top = names[0].split("/")[0]
    assert top == "nga_dtm_package_r39_20211031"
    pdfs = [n for n in names if n.startswith(f"{top}/maps/indicators/") and n.endswith(".pdf")]
    pngs = [n for n in names if n.startswith(f"{top}/maps/indicators/") and n.endswith(".png")]
    assert len(pdfs) == 1 and len(pngs) == 1, names
    txt = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "x" / pdfs[0]), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Site map:" in txt and "NGA R39 (2021-10-31)" in txt and "sites as proportional symbols" in txt
    # the states with sites and their individuals, as the public choropleth publishes them
    per_state = nga_frame.groupby("State")["Number of Individuals"].sum()
    for state, individuals in per_state.items():
        assert f"{individuals:,.0f}" in txt, (state, individuals)
    assert f"{nga_frame['Number of Individuals'].sum():,.0f}" in " ".join(txt.split())
    readme = (tmp_path / "x" / top / "README.txt").read_text(encoding="utf-8")
    assert "maps/indicators/" in readme and "no master-list round" in readme
    sums = (tmp_path / "x" / top / "SHA256SUMS").read_text(encoding="utf-8")
    assert pdfs[0].split("/", 1)[1] in sums
