"""Tests for service.ingest.masterlist: the three real DTM Iraq master lists (read in place
from the shared data directory) plus small generated files for every failure mode."""

from __future__ import annotations

import csv
import datetime as dt
import time
from pathlib import Path

import openpyxl
import pytest

from service.core.settings import get_settings
from service.ingest.masterlist import (
    MasterlistError,
    ParsedMasterlist,
    RowIssue,
    parse_masterlist,
)

MASTERLISTS = get_settings().shared_data_dir / "dtm_iraq_masterlists"
IDP_2017 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv"
IDP_2021 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
RET_2021 = MASTERLISTS / "Returnee_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
REAL = {
    "idp2017": (IDP_2017, "idp"),
    "idp2021": (IDP_2021, "idp"),
    "ret2021": (RET_2021, "returnee"),
}

needs_real = pytest.mark.skipif(not IDP_2021.exists(), reason=f"real data not found in {MASTERLISTS}")

GOVERNORATE_COLUMNS = [
    "Anbar",
    "Babylon",
    "Baghdad",
    "Basrah",
    "Dahuk",
    "Diyala",
    "Erbil",
    "Kerbala",
    "Kirkuk",
    "Missan",
    "Muthanna",
    "Najaf",
    "Ninewa",
    "Qadissiya",
    "Salahal Din",
    "Sulaymaniyah",
    "Thi Qar",
    "Wassit",
]
PERIOD_COLUMNS = [
    "Pre June14 Period of displacement",
    "June July14 Period of displacement",
    "August14 Period of displacement",
    "Post September 14 Period of displacement",
    "Post April15 Period of displacement",
    "Post March 16 Period of displacement",
    "Post 17 October 16 Period of displacement",
    "July 17 Period of displacement",
    "Jan19",
]
IDP_SHELTER = [
    "Camp",
    "Hostfamilies",
    "Hotel Motel",
    "Informalsettlements",
    "Own Property",
    "Other",
    "Religiousbuilding",
    "Rented pre Apr 2019",
    "Rented Habitable",
    "Rented Uninhabitable",
    "Schoolbuilding",
    "Unfinishedbuilding",
    "Unknownsheltertype",
]
RET_SHELTER = [
    "Camp",
    "Habitual Pre_31_October2018",
    "Habitual Residence (Habitable)",
    "Habitual Residence (Uninhabitable)",
    "Host_families",
    "Hotel_Motel",
    "Informal_settlements",
    "Other",
    "Religious_building",
    "Rented_houses",
    "School_building",
    "Unfinished_Abandoned_building",
    "Unknown_shelter_type",
]


# --------------------------------------------------------------------------- helpers


def independent_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line, cells) of the non-blank data rows, read with the csv module only.
    'Blank' = nothing besides the leading index and trailing date column (DTM's last row)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return header, [(i + 2, r) for i, r in enumerate(body) if any(c.strip() for c in r[1:-1])]


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


HEADER = [
    "Location ID",
    "Governorate",
    "Location Name",
    "Arabic Name",
    "Latitude",
    "Longitude",
    "Families",
    "Individuals",
    "date",
]


def good_row(i: int = 1) -> list[object]:
    return [f"110100{i}.0", "Dahuk", f"Place {i}", "عمادية", 37.09, 43.48, 10, 60, "Feb 28, 2021"]


def codes(parsed: ParsedMasterlist) -> list[tuple[int, str | None, str]]:
    return [(i.row, i.field, i.code) for i in parsed.issues]


@pytest.fixture(scope="module")
def parsed() -> dict[str, ParsedMasterlist]:
    if not IDP_2021.exists():
        pytest.skip(f"real data not found in {MASTERLISTS}")
    return {k: parse_masterlist(p, pop) for k, (p, pop) in REAL.items()}


# --------------------------------------------------------------------------- real files


@needs_real
@pytest.mark.parametrize("key, expected", [("idp2017", 3711), ("idp2021", 2897), ("ret2021", 2140)])
def test_real_row_counts(parsed: dict[str, ParsedMasterlist], key: str, expected: int) -> None:
    path, _ = REAL[key]
    _, rows = independent_rows(path)
    result = parsed[key]
    assert len(rows) == expected
    assert len(result.records) == expected
    assert [r["row"] for r in result.records] == [line for line, _ in rows]
    assert result.records[0]["row"] == 2  # header = line 1
    assert result.issues == []
    assert result.format == "dtm-wide" and result.sheet is None
    assert len(result.columns_found) == 52 and result.columns_found[0] == ""


@needs_real
@pytest.mark.parametrize("key", ["idp2017", "idp2021", "ret2021"])
def test_real_totals_match_csv_module(parsed: dict[str, ParsedMasterlist], key: str) -> None:
    path, _ = REAL[key]
    header, rows = independent_rows(path)
    fam_col = header.index("Returnee Families" if key == "ret2021" else "Families")
    ind_col = header.index("Returnee Individuals" if key == "ret2021" else "Individuals")
    records = parsed[key].records
    assert sum(r["families"] for r in records) == sum(float(c[fam_col]) for _, c in rows)
    assert sum(r["individuals"] for r in records) == sum(float(c[ind_col]) for _, c in rows)
    assert all(isinstance(r["families"], int) for r in records)


@needs_real
def test_real_feb2021_idp_values(parsed: dict[str, ParsedMasterlist]) -> None:
    result = parsed["idp2021"]
    assert result.population == "idp"
    assert result.file == IDP_2021.name
    assert result.reporting_date == dt.date(2021, 2, 28)
    assert sum(r["families"] for r in result.records) == 207_213
    assert sum(r["individuals"] for r in result.records) == 1_243_278
    first = result.records[0]
    assert first == {
        "row": 2,
        "location_id": "1101001",
        "place_id": "7861",
        "governorate": "Dahuk",
        "district": "Amedi",
        "name_en": "Amedi",
        "name_ar": "عمادية",
        "lat": 37.0923890175,
        "lon": 43.4878569852,
        "families": 13,
        "individuals": 78,
        "origin": {"Ninewa": 13},
        "shelter": {"Hostfamilies": 1, "Rented Habitable": 12},
        "period": {"June July14 Period of displacement": 3, "August14 Period of displacement": 10},
        "extra": {},
        "admin1_pcode": None,
        "admin2_pcode": None,
        "admin3_pcode": None,
        "reporting_date": dt.date(2021, 2, 28),
    }


@needs_real
@pytest.mark.parametrize("key", ["idp2017", "idp2021", "ret2021"])
def test_real_ids_and_arabic_names(parsed: dict[str, ParsedMasterlist], key: str) -> None:
    path, _ = REAL[key]
    header, rows = independent_rows(path)
    ar_col = header.index("Arabic_name" if key == "ret2021" else "Arabic Name")
    records = parsed[key].records
    ids = [r["location_id"] for r in records]
    assert all(i.isdigit() and not i.endswith(".0") for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(r["place_id"] is None or r["place_id"].isdigit() for r in records)
    assert [r["name_ar"] for r in records] == [c[ar_col].strip() or None for _, c in rows]
    arabic = [r for r in records if r["name_ar"] and any("\u0600" <= ch <= "\u06ff" for ch in r["name_ar"])]
    assert len(arabic) > 0.95 * len(records)


@needs_real
def test_real_dates(parsed: dict[str, ParsedMasterlist]) -> None:
    assert parsed["idp2017"].reporting_date == dt.date(2017, 12, 31)
    assert parsed["ret2021"].reporting_date == dt.date(2021, 2, 28)
    assert {r["reporting_date"] for r in parsed["idp2021"].records} == {dt.date(2021, 2, 28)}


@needs_real
def test_real_returnee_columns_map(parsed: dict[str, ParsedMasterlist]) -> None:
    result = parsed["ret2021"]
    assert result.population == "returnee"
    assert {"Place_ID", "Location_name", "Arabic_name", "Returnee Families", "Returnee Individuals"} <= set(
        result.columns_found
    )
    gwer = next(r for r in result.records if r["location_id"] == "1204004")
    assert gwer["place_id"] == "13352"
    assert gwer["name_en"] == "Gwer" and gwer["name_ar"] == "كوير"
    assert (gwer["families"], gwer["individuals"]) == (2226, 13356)
    assert gwer["origin"] == {"Erbil": 1670, "Kirkuk": 480, "Ninewa": 76}
    assert gwer["shelter"] == {"Habitual Residence (Habitable)": 2226}
    shelter_keys = set().union(*(r["shelter"] for r in result.records))
    assert shelter_keys <= set(RET_SHELTER) and "Habitual Residence (Habitable)" in shelter_keys
    assert all(r["extra"] == {} for r in result.records)


@needs_real
@pytest.mark.parametrize("key", ["idp2017", "idp2021", "ret2021"])
def test_real_breakdown_columns_classified(parsed: dict[str, ParsedMasterlist], key: str) -> None:
    records = parsed[key].records
    shelter = RET_SHELTER if key == "ret2021" else IDP_SHELTER
    assert set().union(*(r["origin"] for r in records)) <= set(GOVERNORATE_COLUMNS)
    assert set().union(*(r["shelter"] for r in records)) <= set(shelter)
    assert set().union(*(r["period"] for r in records)) <= set(PERIOD_COLUMNS)
    # Every column of the real files is recognised: nothing left over in `extra`.
    assert all(r["extra"] == {} for r in records)
    # All counts positive (zeros dropped).
    assert all(v > 0 for r in records for k in ("origin", "shelter", "period") for v in r[k].values())


@needs_real
@pytest.mark.parametrize(
    "key, shelter_short, period_short",
    [
        ("idp2017", 0, 0),
        ("idp2021", 12, 267),
        ("ret2021", 1, 3),
    ],
)
def test_real_breakdown_sums(
    parsed: dict[str, ParsedMasterlist], key: str, shelter_short: int, period_short: int
) -> None:
    """What the published data says: origin always adds up to families; shelter and period
    never exceed it but fall short on a few rows in 2021 (counted here exactly)."""
    records = parsed[key].records
    assert all(sum(r["origin"].values()) == r["families"] for r in records)
    assert all(sum(r["shelter"].values()) <= r["families"] for r in records)
    assert all(sum(r["period"].values()) <= r["families"] for r in records)
    assert sum(sum(r["shelter"].values()) < r["families"] for r in records) == shelter_short
    assert sum(sum(r["period"].values()) < r["families"] for r in records) == period_short
    # DTM's household size: individuals = 6 x families on every row, camps included.
    assert all(r["individuals"] == 6 * r["families"] for r in records)


@needs_real
def test_real_unknown_columns_kept_in_extra(tmp_path: Path) -> None:
    with open(IDP_2021, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[:11]
    rows = [r + [extra] for r, extra in zip(rows, ["Round", *["Round 120"] * 5, *[""] * 5])]
    rows[0][3] = "Governorate Name"  # alias of Governorate
    result = parse_masterlist(write_csv(tmp_path / "with_extra.csv", rows), "idp")
    assert len(result.records) == 10
    assert [r["extra"] for r in result.records[:6]] == [{"Round": "Round 120"}] * 5 + [{}]
    assert result.records[0]["governorate"] == "Dahuk"
    assert result.columns_found[-1] == "Round"


@needs_real
def test_real_returnee_file_as_idp_is_refused() -> None:
    with pytest.raises(MasterlistError, match="Returnee Families.*returnee master list"):
        parse_masterlist(RET_2021, "idp")


@needs_real
def test_real_parse_is_fast() -> None:
    best = min(_timed(lambda: parse_masterlist(IDP_2021, "idp")) for _ in range(3))
    assert best < 0.5, f"parsing the Feb 2021 IDP list took {best:.3f}s"


def _timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


# --------------------------------------------------------------------------- bad input


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "list.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(MasterlistError) as exc:
        parse_masterlist(path, "idp")
    assert str(exc.value) == "list.pdf: unsupported file type .pdf; expected .csv or .xlsx"
    assert exc.value.file == "list.pdf" and exc.value.row is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MasterlistError, match="nope.csv: file not found"):
        parse_masterlist(tmp_path / "nope.csv", "idp")


@pytest.mark.parametrize(
    "content, reason",
    [
        ("", "file is empty"),
        ("\n\n  \n", "no header row"),
        (",".join(HEADER) + "\n", "no data rows"),
        (",".join(HEADER) + "\n,,,,,,,,\n\n,,,,,,,,\n", "only blank rows"),
    ],
)
def test_empty_inputs(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MasterlistError, match=reason):
        parse_masterlist(path, "idp")


def test_missing_columns_message_names_missing_and_found(tmp_path: Path) -> None:
    rows = [["Location ID", "Latitude", "Longitude", "Governorate"], ["1", "36", "44", "Erbil"]]
    path = write_csv(tmp_path / "IDPs.csv", rows)
    with pytest.raises(MasterlistError) as exc:
        parse_masterlist(path, "idp")
    assert str(exc.value) == (
        "IDPs.csv: missing required column(s) families, individuals; "
        "found: Location ID, Latitude, Longitude, Governorate"
    )
    assert exc.value.reason.startswith("missing required column(s) families, individuals")


def test_columns_matched_case_space_underscore_insensitively(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "odd.csv",
        [
            [
                "LOCATION_ID",
                " latitude ",
                "Long-itude",
                "families",
                "INDIVIDUALS",
                "location name",
                "Arabic_Name",
                "Salah al-Din",
                "Origin_Anbar",
                "Host Families",
                "Jan19",
            ],
            ["1101001.0", "36.1", "44.2", "10", "60", "X", "س", "4", "6", "10", "10"],
        ],
    )
    rec = parse_masterlist(path, "idp").records[0]
    assert (
        rec["location_id"],
        rec["lat"],
        rec["lon"],
        rec["families"],
        rec["individuals"],
        rec["name_en"],
        rec["name_ar"],
    ) == ("1101001", 36.1, 44.2, 10, 60, "X", "س")
    assert rec["origin"] == {"Salah al-Din": 4, "Origin_Anbar": 6}
    assert rec["shelter"] == {"Host Families": 10} and rec["period"] == {"Jan19": 10}


def test_non_numeric_and_negative_counts(tmp_path: Path) -> None:
    rows = [HEADER, good_row(1), good_row(2), good_row(3), good_row(4)]
    rows[2][6] = "ten"  # line 3
    rows[3][7] = "-6"  # line 4
    rows[4][6] = "2.5"  # line 5
    result = parse_masterlist(write_csv(tmp_path / "bad.csv", rows), "idp")
    assert len(result.records) == 4  # flawed rows are still records
    assert codes(result) == [
        (3, "Families", "non_numeric"),
        (4, "Individuals", "negative"),
        (5, "Families", "non_integer"),
    ]
    assert "'ten'" in result.issues[0].message
    assert [r["families"] for r in result.records] == [10, None, 10, None]
    assert [r["individuals"] for r in result.records] == [60, 60, None, 60]


def test_breakdown_cell_problems(tmp_path: Path) -> None:
    rows = [
        HEADER + ["Anbar", "Camp"],
        good_row(1) + ["x", "-1"],
        good_row(2) + ["", "0"],
        good_row(3) + ["4", "6"],
        good_row(4) + ["10", ""],
    ]
    result = parse_masterlist(write_csv(tmp_path / "bd.csv", rows), "idp")
    assert codes(result) == [(2, "Anbar", "non_numeric"), (2, "Camp", "negative")]
    assert [r["origin"] for r in result.records] == [{}, {}, {"Anbar": 4}, {"Anbar": 10}]
    assert [r["shelter"] for r in result.records] == [{}, {}, {"Camp": 6}, {}]


def test_text_column_with_breakdown_like_name_goes_to_extra(tmp_path: Path) -> None:
    rows = [HEADER + ["Camp name"], good_row(1) + ["Khanke"], good_row(2) + [""]]
    result = parse_masterlist(write_csv(tmp_path / "camp.csv", rows), "idp")
    assert result.issues == []
    assert [r["extra"] for r in result.records] == [{"Camp name": "Khanke"}, {}]
    assert [r["shelter"] for r in result.records] == [{}, {}]


def test_coordinates_out_of_range(tmp_path: Path) -> None:
    rows = [HEADER, good_row(1), good_row(2), good_row(3), good_row(4)]
    rows[1][4] = "123.4"  # line 2 latitude
    rows[2][5] = "-181"  # line 3 longitude
    rows[3][4] = "north"  # line 4 latitude
    result = parse_masterlist(write_csv(tmp_path / "coords.csv", rows), "idp")
    assert codes(result) == [
        (2, "Latitude", "bad_coordinate"),
        (3, "Longitude", "bad_coordinate"),
        (4, "Latitude", "bad_coordinate"),
    ]
    assert "outside [-90, 90]" in result.issues[0].message
    assert [(r["lat"], r["lon"]) for r in result.records] == [(None, None)] * 3 + [(37.09, 43.48)]


def test_missing_id_and_missing_values(tmp_path: Path) -> None:
    rows = [HEADER, good_row(1), good_row(2)]
    rows[1][0] = ""
    rows[2][6] = ""
    result = parse_masterlist(write_csv(tmp_path / "gaps.csv", rows), "idp")
    assert codes(result) == [(2, "Location ID", "missing_id"), (3, "Families", "missing_value")]
    assert result.records[0]["location_id"] is None and result.records[1]["families"] is None


def test_duplicate_ids_flagged(tmp_path: Path) -> None:
    rows = [HEADER, good_row(1), good_row(2), good_row(1)]
    result = parse_masterlist(write_csv(tmp_path / "dup.csv", rows), "idp")
    assert codes(result) == [(4, "Location ID", "duplicate_id")]
    assert "line 2" in result.issues[0].message and len(result.records) == 3


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Feb 28, 2021", dt.date(2021, 2, 28)),
        ("2021-02-28", dt.date(2021, 2, 28)),
        ("28/02/2021", dt.date(2021, 2, 28)),
        ("28-Feb-2021", dt.date(2021, 2, 28)),
        ("February 28, 2021", dt.date(2021, 2, 28)),
    ],
)
def test_date_formats(tmp_path: Path, text: str, expected: dt.date) -> None:
    row = good_row(1)
    row[-1] = text
    result = parse_masterlist(write_csv(tmp_path / "d.csv", [HEADER, row]), "idp")
    assert result.reporting_date == expected and result.records[0]["reporting_date"] == expected
    assert result.issues == []


def test_bad_date_and_most_common_date(tmp_path: Path) -> None:
    rows = [HEADER, good_row(1), good_row(2), good_row(3)]
    rows[1][-1] = "sometime in 2021"
    rows[3][-1] = "2021-01-31"
    result = parse_masterlist(write_csv(tmp_path / "d.csv", rows), "idp")
    assert codes(result) == [(2, "date", "bad_date")]
    assert [r["reporting_date"] for r in result.records] == [None, dt.date(2021, 2, 28), dt.date(2021, 1, 31)]


def test_windows_1256_csv_round_trips(tmp_path: Path) -> None:
    names = ["عمادية", "ارادن", "الطرف الشرقي", "قرية سليم"]
    rows = [HEADER] + [good_row(i)[:3] + [n] + good_row(i)[4:] for i, n in enumerate(names, 1)]
    path = write_csv(tmp_path / "legacy.csv", rows, encoding="cp1256")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert [r["name_ar"] for r in parse_masterlist(path, "idp").records] == names
    explicit = parse_masterlist(path, "idp", encoding="windows-1256")
    assert [r["name_ar"] for r in explicit.records] == names


def test_windows_1256_single_word(tmp_path: Path) -> None:
    # Too little text for statistical detection alone (charset-normalizer guesses CJK).
    path = write_csv(tmp_path / "tiny.csv", [HEADER, good_row(1)], encoding="cp1256")
    assert parse_masterlist(path, "idp").records[0]["name_ar"] == "عمادية"
    with pytest.raises(MasterlistError, match="cannot decode as utf-8"):
        parse_masterlist(path, "idp", encoding="utf-8")


def test_utf8_bom_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    lines = [";".join(HEADER), ";".join(map(str, good_row(1)))]
    path.write_bytes("\ufeff".encode() + "\n".join(lines).encode("utf-8"))
    result = parse_masterlist(path, "idp")
    assert result.columns_found[0] == "Location ID"
    assert result.records[0]["location_id"] == "1101001"


def test_multiline_cell_and_title_rows_keep_line_numbers(tmp_path: Path) -> None:
    rows = [["DTM Iraq master list"], [], HEADER, good_row(1), good_row(2), good_row(3)]
    rows[3][2] = "Two\nlines"  # record on lines 4-5
    rows[5][6] = "x"  # so line 7 gets an issue
    result = parse_masterlist(write_csv(tmp_path / "ml.csv", rows), "idp")
    assert [r["row"] for r in result.records] == [4, 6, 7]
    assert result.records[0]["name_en"] == "Two\nlines"
    assert codes(result) == [(7, "Families", "non_numeric")]


def test_ragged_rows_keep_extra_cells(tmp_path: Path) -> None:
    rows = [HEADER, good_row(1), good_row(2) + ["surplus"]]
    result = parse_masterlist(write_csv(tmp_path / "ragged.csv", rows), "idp")
    assert result.records[1]["extra"] == {"column 10": "surplus"}
    assert result.records[0]["extra"] == {}


def test_number_spellings(tmp_path: Path) -> None:
    row = good_row(1)
    row[0], row[6], row[7] = "1.101001E6", "1,234", "٧٤٠٤"
    rec = parse_masterlist(write_csv(tmp_path / "n.csv", [HEADER, row]), "idp").records[0]
    assert (rec["location_id"], rec["families"], rec["individuals"]) == ("1101001", 1234, 7404)


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_xlsx_single_sheet(tmp_path: Path) -> None:
    row = good_row(1)
    row[-1] = dt.datetime(2021, 2, 28)
    path = _workbook(tmp_path / "one.xlsx", {"Sheet 1": [HEADER, row, [None] * 9]})
    result = parse_masterlist(path, "idp")
    assert result.sheet == "Sheet 1" and len(result.records) == 1
    rec = result.records[0]
    assert (rec["location_id"], rec["families"], rec["name_ar"], rec["reporting_date"]) == (
        "1101001",
        10,
        "عمادية",
        dt.date(2021, 2, 28),
    )


def test_xlsx_two_sheets(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "two.xlsx",
        {
            "IDPs": [HEADER, good_row(1), good_row(2)],
            "IDPs (old)": [HEADER, good_row(3)],
        },
    )
    with pytest.raises(MasterlistError) as exc:
        parse_masterlist(path, "idp")
    assert "'IDPs'" in str(exc.value) and "'IDPs (old)'" in str(exc.value)
    assert "sheet=" in str(exc.value)
    assert len(parse_masterlist(path, "idp", sheet="IDPs").records) == 2
    old = parse_masterlist(path, "idp", sheet="IDPs (old)")
    assert old.sheet == "IDPs (old)" and old.records[0]["location_id"] == "1101003"
    with pytest.raises(
        MasterlistError,
        match=r"sheet 'Returnees' not found; sheets: 'IDPs', "
        r"'IDPs \(old\)'",
    ):
        parse_masterlist(path, "idp", sheet="Returnees")


def test_xlsx_picks_the_only_masterlist_sheet(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "notes.xlsx",
        {
            "Read me": [["This workbook contains the DTM master list"], ["Credit: IOM DTM"]],
            "Master list": [["Title row"], HEADER, good_row(1)],
        },
    )
    result = parse_masterlist(path, "idp")
    assert result.sheet == "Master list" and result.records[0]["row"] == 3


def test_hxl_tagged_csv(tmp_path: Path) -> None:
    rows = [
        [
            "Governorate",
            "Gov P-code",
            "District",
            "District P-code",
            "Location ID",
            "Location",
            "Arabic",
            "Lat",
            "Lon",
            "IDP families",
            "IDP individuals",
            "Reported",
            "Ninewa",
            "Notes",
        ],
        [
            "#adm1+name",
            "#adm1+code",
            "#adm2+name",
            "#adm2+code",
            "#loc+code",
            "#loc+name",
            "#loc+name+i_ar",
            "#geo+lat",
            "#geo+lon",
            "#affected+idps+hh",
            "#affected+idps+ind",
            "#date+reported",
            "",
            "#meta+notes",
        ],
        [
            "Dahuk",
            "IQG15",
            "Amedi",
            "iqg15q01",
            "1101001.0",
            "Amedi",
            "عمادية",
            "37.09",
            "43.48",
            "13",
            "78",
            "2021-02-28",
            "13",
            "checked",
        ],
        [
            "Dahuk",
            "IQG15",
            "Amedi",
            "IQG15Q01",
            "1101002",
            "Aradin",
            "ارادن",
            "37.10",
            "43.31",
            "six",
            "36",
            "2021-02-28",
            "6",
            "",
        ],
    ]
    result = parse_masterlist(write_csv(tmp_path / "hxl.csv", rows), "idps")
    assert result.format == "hxl"
    first = result.records[0]
    assert first["row"] == 3  # header line 1, hashtags line 2
    assert (first["admin1_pcode"], first["admin2_pcode"], first["governorate"]) == ("IQG15", "IQG15Q01", "Dahuk")
    assert (first["location_id"], first["name_en"], first["name_ar"]) == ("1101001", "Amedi", "عمادية")
    assert (first["families"], first["individuals"]) == (13, 78)
    assert first["origin"] == {"Ninewa": 13} and first["extra"] == {"Notes": "checked"}
    assert result.reporting_date == dt.date(2021, 2, 28)
    assert codes(result) == [(4, "IDP families", "non_numeric")]
    with pytest.raises(MasterlistError, match="population='returnee'"):
        parse_masterlist(tmp_path / "hxl.csv", "returnee")


def test_hxl_tags_without_text_header(tmp_path: Path) -> None:
    rows = [
        ["#loc+id", "#geo+lat", "#geo+lon", "#affected+returnees+hh", "#affected+returnees+ind"],
        ["7", "33.3", "44.4", "2", "12"],
    ]
    result = parse_masterlist(write_csv(tmp_path / "tags.csv", rows), "Returnees")
    assert result.format == "hxl" and result.population == "returnee"
    assert result.records[0]["row"] == 2 and result.records[0]["families"] == 2


LONG_HEADER = [
    "location_id",
    "governorate",
    "district",
    "name_en",
    "name_ar",
    "lat",
    "lon",
    "families",
    "individuals",
    "reporting_date",
    "admin1_pcode",
    "admin2_pcode",
    "breakdown",
    "category",
]


def test_long_format(tmp_path: Path) -> None:
    rows = [
        LONG_HEADER,
        [
            "1101001",
            "Dahuk",
            "Amedi",
            "Amedi",
            "عمادية",
            "37.09",
            "43.48",
            "13",
            "78",
            "2021-02-28",
            "IQG15",
            "IQG15Q01",
            "",
            "",
        ],
        ["1101001", "", "", "", "", "", "", "13", "", "", "", "", "origin", "Ninewa"],
        ["1101001", "Dahuk", "", "", "", "", "", "1", "", "", "", "", "shelter", "Camp"],
        ["1101001", "", "", "", "", "", "", "12", "", "", "", "", "shelter", "Host families"],
        ["1101001", "", "", "", "", "", "", "0", "", "", "", "", "period", "Jan19"],
        ["1101001", "", "", "", "", "", "", "4", "", "", "", "", "age", "0-4"],
        [
            "1101002",
            "Dahuk",
            "Amedi",
            "Aradin",
            "ارادن",
            "37.10",
            "43.31",
            "6",
            "36",
            "2021-02-28",
            "IQG15",
            "IQG15Q01",
            "total",
            "",
        ],
        ["1101002", "Erbil", "", "", "", "", "", "6", "", "", "", "", "origin", "Ninewa"],
        ["1101002", "", "", "", "", "", "", "6", "", "", "", "", "origin", "Ninewa"],
        ["9999999", "", "", "", "", "", "", "5", "", "", "", "", "origin", "Anbar"],
        ["1101002", "", "", "", "", "", "", "x", "", "", "", "", "shelter", "Camp"],
    ]
    result = parse_masterlist(write_csv(tmp_path / "long.csv", rows), "idp")
    assert result.format == "long" and len(result.records) == 2
    a, b = result.records
    assert a["row"] == 2 and b["row"] == 8
    assert a["origin"] == {"Ninewa": 13} and a["shelter"] == {"Camp": 1, "Host families": 12}
    assert a["period"] == {} and a["extra"] == {"age:0-4": "4"}
    assert (a["admin1_pcode"], a["admin2_pcode"], a["reporting_date"]) == ("IQG15", "IQG15Q01", dt.date(2021, 2, 28))
    assert b["origin"] == {"Ninewa": 6} and b["shelter"] == {}
    assert codes(result) == [
        (9, "governorate", "ignored_value"),
        (10, "category", "duplicate_breakdown"),
        (11, "location_id", "orphan_breakdown"),
        (12, "families", "non_numeric"),
    ]


def test_long_format_without_breakdowns(tmp_path: Path) -> None:
    rows = [["location_id", "lat", "lon", "families", "individuals", "source"], ["1", "36", "44", "3", "18", "survey"]]
    result = parse_masterlist(write_csv(tmp_path / "flat.csv", rows), "idp")
    assert result.format == "long"
    assert result.records[0]["extra"] == {"source": "survey"}


@pytest.mark.parametrize("population", ["refugee", "", "IDP camp"])
def test_unknown_population(tmp_path: Path, population: str) -> None:
    path = write_csv(tmp_path / "p.csv", [HEADER, good_row(1)])
    with pytest.raises(MasterlistError, match="expected 'idp' or 'returnee'"):
        parse_masterlist(path, population)


@pytest.mark.parametrize(
    "population, expected",
    [
        ("IDPs", "idp"),
        ("idp", "idp"),
        ("Returnee", "returnee"),
        ("returnees", "returnee"),
    ],
)
def test_population_aliases(tmp_path: Path, population: str, expected: str) -> None:
    path = write_csv(tmp_path / "p.csv", [HEADER, good_row(1)])
    assert parse_masterlist(path, population).population == expected


def test_max_bytes(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "big.csv", [HEADER] + [good_row(i) for i in range(1, 50)])
    size = path.stat().st_size
    assert len(parse_masterlist(path, "idp", max_bytes=size).records) == 49
    with pytest.raises(MasterlistError, match="limit is 1,000") as exc:
        parse_masterlist(path, "idp", max_bytes=1000)
    assert exc.value.file == "big.csv"


def test_bad_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("Location ID,Latitude\n", encoding="utf-8")
    with pytest.raises(MasterlistError, match="not a readable .xlsx"):
        parse_masterlist(path, "idp")


def test_issue_type() -> None:
    issue = RowIssue(row=3, field="Families", code="non_numeric", message="x")
    assert (issue.row, issue.field, issue.code) == (3, "Families", "non_numeric")
    err = MasterlistError("a.csv", "bad thing", row=4, field="Families")
    assert str(err) == "a.csv, line 4, column 'Families': bad thing"
