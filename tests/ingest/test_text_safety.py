"""One stray Latin-1 byte in a UTF-8 master list: the file is still read as UTF-8 (every Arabic
name intact), the cell that holds the byte is reported, nothing is re-decoded as cp1256."""

from __future__ import annotations

from service.ingest.decode import mostly_utf8
from service.ingest.masterlist import parse_masterlist
from tests.conftest import MASTERLISTS

FEB_2021 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"


def test_a_stray_byte_keeps_the_arabic_and_is_reported(tmp_path):
    data = FEB_2021.read_bytes()
    lines = data.split(b"\n")
    lines[5] = lines[5].replace(b",", b",Caf\xe9 ", 5).replace(b",Caf\xe9 ", b",", 4)  # one byte in the 5th cell
    stray = tmp_path / FEB_2021.name
    stray.write_bytes(b"\n".join(lines))
    want = parse_masterlist(FEB_2021, "idp")
    got = parse_masterlist(stray, "idp")
    assert [r["name_ar"] for r in got.records] == [r["name_ar"] for r in want.records]
    assert "عمادية" in {r["name_ar"] for r in got.records} or any("\u0639" in (r["name_ar"] or "") for r in got.records)
    bad = [i for i in got.issues if i.code == "undecodable_bytes"]
    assert len(bad) == 1 and bad[0].row == 6 and "not UTF-8" in bad[0].message, bad


def test_mostly_utf8_only_for_a_few_bad_bytes():
    arabic = "قرية المجدد".encode() * 50
    assert mostly_utf8(arabic + b"\xe9") is not None
    assert mostly_utf8("قرية".encode("cp1256") * 50) is None  # a cp1256 file is not mostly UTF-8
    assert mostly_utf8(b"plain ascii \xe9") is None  # no UTF-8 at all: the other detectors decide


def test_a_header_naming_a_column_twice_is_refused(tmp_path):
    import pytest

    from service.ingest.stage import MasterlistError

    lines = FEB_2021.read_text(encoding="utf-8").split("\n")
    lines[0] = lines[0].replace("Individuals", "Families", 1)
    f = tmp_path / "dup.csv"
    f.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(MasterlistError, match=r"'Families' in columns 10, 11"):
        parse_masterlist(f, "idp")


def test_xlsx_formulas_are_read_as_values_or_refused(tmp_path):
    import re
    import zipfile

    import pytest
    from openpyxl import Workbook

    from service.ingest.stage import MasterlistError

    header = [
        "Location ID",
        "Governorate",
        "District",
        "Location Name",
        "Latitude",
        "Longitude",
        "Families",
        "Individuals",
        "date",
    ]
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for i in range(3):
        ws.append([1101001 + i, "Anbar", "Falluja", f"Place {i}", 33.3, 43.7, 10 + i, f"=G{i + 2}*6", "Feb 28, 2021"])
    no_values = tmp_path / "formulas.xlsx"
    wb.save(no_values)  # openpyxl stores formulas without results: what a script writes
    with pytest.raises(MasterlistError, match=r"formulas without values: 3 formula cells \(H2, H3, H4\)"):
        parse_masterlist(no_values, "idp")

    # the same workbook as Excel saves it: each formula with its cached value, which is read
    with_values = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(no_values) as src, zipfile.ZipFile(with_values, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(
                    rb"<f>G(\d)\*6</f>(<v\s*/>|<v></v>)?",
                    lambda m: b"<f>G%s*6</f><v>%d</v>" % (m.group(1), (10 + int(m.group(1)) - 2) * 6),
                    data,
                )
            dst.writestr(item, data)
    parsed = parse_masterlist(with_values, "idp")
    assert [r["individuals"] for r in parsed.records] == [60, 66, 72]
