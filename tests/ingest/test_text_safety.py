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
