"""The fast staging path (COPY + SQL casts) builds the same ``stage`` as the Python parser.

Each case stages one file both ways in one transaction (rolled back) and compares the two
tables row by row with EXCEPT ALL (issues compared as sets), plus what the import needs
besides the table: reporting date, columns found, the row issues with their messages.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from service.core.bulk import copy_rows
from service.ingest import fast_stage
from service.ingest.fast_stage import FastStageUnavailable, stage_csv, stage_csv_fast
from service.ingest.masterlist import parse_masterlist
from service.ingest.rounds import _stage_rows, import_masterlist
from service.ingest.stage import STAGE_COLUMNS, create_stage_table
from tests.conftest import MASTERLISTS, REAL_ROUNDS

FEB21_IDP = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
needs_real = pytest.mark.skipif(not FEB21_IDP.exists(), reason=f"real data not found in {MASTERLISTS}")

# issues as a set: the Python path writes sorted distinct codes, compare the same way
_COLS = ", ".join(STAGE_COLUMNS[:-1]) + ", ARRAY(SELECT DISTINCT i FROM unnest(issues) i ORDER BY 1) AS issues"


def _diff(conn, a: str, b: str) -> list:
    return conn.execute(
        text(f"SELECT {_COLS} FROM {a} EXCEPT ALL SELECT {_COLS} FROM {b} ORDER BY source_row LIMIT 5")
    ).all()


def stage_both(engine, path: Path, population: str = "idp", **kw):
    """(fast result, parsed) after checking that both stages are identical."""
    with engine.begin() as conn:
        res = stage_csv(conn, path, population, **kw)
        conn.execute(text("ALTER TABLE stage RENAME TO stage_fast"))
        parsed = parse_masterlist(path, population, **kw)
        create_stage_table(conn)
        copy_rows(conn, "stage", STAGE_COLUMNS, _stage_rows(parsed))
        fast_only, python_only = _diff(conn, "stage_fast", "stage"), _diff(conn, "stage", "stage_fast")
        counts = conn.execute(text("SELECT (SELECT count(*) FROM stage_fast), (SELECT count(*) FROM stage)")).one()
        # the helper columns are gone: the table has exactly the stage's columns
        cols = conn.execute(
            text(
                "SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute "
                "WHERE attrelid = 'stage_fast'::regclass AND attnum > 0 AND NOT attisdropped"
            )
        ).scalar()
        conn.rollback()
    assert fast_only == [] and python_only == [], f"fast-only {fast_only}\npython-only {python_only}"
    assert counts == (len(parsed.records), len(parsed.records)) == (res.rows, res.rows)
    assert cols == STAGE_COLUMNS
    assert res.reporting_date == parsed.reporting_date
    assert res.columns_found == parsed.columns_found
    assert res.format == parsed.format and res.population == parsed.population
    assert res.issue_count == len(parsed.issues)
    assert [(i.row, i.field, i.code, i.message) for i in res.issues] == [
        (i.row, i.field, i.code, i.message) for i in parsed.issues[: fast_stage.ISSUE_LIMIT]
    ]
    return res, parsed


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8", **kw) -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, **kw).writerows(rows)
    return path


HEADER = [
    "",
    "Location ID",
    "Place ID",
    "Governorate",
    "District",
    "Location Name",
    "Arabic Name",
    "Latitude",
    "Longitude",
    "Families",
    "Individuals",
    "Anbar",
    "Ninewa",
    "Camp",
    "Hostfamilies",
    "Other",
    "Jan19",
    "August14 Period of displacement",
    "date",
]


def row(i: int, **cells) -> list[object]:
    r = [
        str(i),
        f"{1101000 + i}.0",
        f"{7000 + i}.0",
        "Dahuk",
        "Amedi",
        f"Place {i}",
        "عمادية",
        f"{37 + i / 1000:.10f}",
        f"{43.4 + i / 1000:.10f}",
        "10.0",
        "60.0",
        "0.0",
        "10.0",
        "0.0",
        "10.0",
        "0.0",
        "4.0",
        "6.0",
        "Feb 28, 2021",
    ]
    for name, value in cells.items():
        r[HEADER.index(name.replace("_", " "))] = value
    return r


# --------------------------------------------------------------------------- real files


@needs_real
@pytest.mark.parametrize("fname, population", REAL_ROUNDS)
def test_real_files_same_stage(iraq_engine, fname, population):
    res, parsed = stage_both(iraq_engine, MASTERLISTS / fname, population)
    assert res.rows > 2000 and res.issue_count == 0
    # (a name ending in ' <NBSP> ' in two of them: those lines take the exact strip)
    assert res.notes["typed_copy"] is True and res.notes["odd_whitespace"] is False
    assert res.notes["problem_rows"] == res.notes["odd_whitespace_lines"] <= 1


# --------------------------------------------------------------------------- tricky files


def test_bad_counts_and_breakdowns(iraq_engine, tmp_path):
    rows = [HEADER] + [row(i) for i in range(12)]
    rows[1][9] = "ten"  # non-numeric families
    rows[2][10] = "-6"  # negative individuals
    rows[3][9] = "2.5"  # fractional
    rows[4][11] = "x"  # non-numeric breakdown (column stays a count: one bad cell of many)
    rows[5][13] = "-1"  # negative breakdown
    rows[6][9] = ""  # missing families
    rows[7][10] = " 1,234 "  # thousands separator, padded
    rows[8][12] = "0.00"  # zero spelt otherwise
    rows[9][12] = "007"  # leading zeros
    rows[10][9] = "1e2"  # exponent
    rows[11][16] = "3.000"
    rows[12][13] = "1.5e0"  # a fractional number in exponent form
    rows[12][10] = "NaN"  # float8in reads it, the parser does not: typed COPY given up
    res, parsed = stage_both(iraq_engine, write_csv(tmp_path / "counts.csv", rows))
    assert {i.code for i in parsed.issues} == {"non_numeric", "negative", "non_integer", "missing_value"}


def test_breakdowns_read_by_the_typed_copy(iraq_engine, tmp_path):
    """Breakdown columns are float8 in the typed COPY: cells that are numbers spelt otherwise
    are read by COPY and judged as the parser judges them (the complete rules take the rows
    the fast query cannot place: fractions, negatives, zero spelt otherwise)."""
    rows = [HEADER] + [row(i) for i in range(16)]
    for k, cell in enumerate(
        ["-1", "0.00", "007", "1.5e0", "3.000", "1e2", " 5 ", "-0", "2.5", "", "+4", "5.", ".0", "12.50", "00"],
        start=1,
    ):
        rows[k][11 + k % 7] = cell
    res, parsed = stage_both(iraq_engine, write_csv(tmp_path / "typed.csv", rows))
    assert res.notes["typed_copy"] is True, res.notes
    assert {i.code for i in parsed.issues} == {"negative", "non_integer"}
    assert parsed.records[5]["period"] == {"Jan19": 4, "August14 Period of displacement": 100}  # "1e2"
    assert parsed.records[1]["shelter"] == {"Hostfamilies": 10}  # 'Camp' '0.00': left out


def test_mostly_text_breakdown_column_goes_to_extra(iraq_engine, tmp_path):
    rows = [HEADER + ["Camp name"]] + [row(i) + [f"Camp {i}" if i % 2 else ""] for i in range(6)]
    for r in rows[1:5]:
        r[15] = "n/a"  # 'Other': 4 of 6 filled cells are text -> not a count column
    res, parsed = stage_both(iraq_engine, write_csv(tmp_path / "demote.csv", rows))
    assert parsed.records[0]["extra"] == {"Other": "n/a"}


def test_coordinates(iraq_engine, tmp_path):
    rows = [HEADER] + [row(i) for i in range(8)]
    rows[1][7] = "123.4"  # latitude out of range
    rows[2][8] = "-181"  # longitude out of range
    rows[3][7] = "north"  # not a number
    rows[4][8] = ""  # missing
    rows[5][7] = "-0"  # fine
    rows[6][7] = " 36.5 "  # padded
    rows[7][8] = "inf"
    res, parsed = stage_both(iraq_engine, write_csv(tmp_path / "coords.csv", rows))
    assert [i.code for i in parsed.issues] == [
        "bad_coordinate",
        "bad_coordinate",
        "bad_coordinate",
        "missing_value",
        "bad_coordinate",
    ]


def test_ids(iraq_engine, tmp_path):
    rows = [HEADER] + [row(i) for i in range(10)]
    rows[1][1] = "1.101001E6"
    rows[2][1] = "007.0"
    rows[3][1] = " 12 "
    rows[4][1] = ""  # missing id
    rows[5][1] = rows[6][1] = rows[7][1] = "IQ-42"  # duplicates (lines 6, 7, 8)
    rows[8][1] = "1101008."
    rows[9][1] = "-1e3"
    rows[10][2] = ""
    res, parsed = stage_both(iraq_engine, write_csv(tmp_path / "ids.csv", rows))
    assert [r["location_id"] for r in parsed.records[:3]] == ["1101001", "007", "12"]
    assert sorted(i.code for i in parsed.issues) == ["duplicate_id", "duplicate_id", "missing_id"]


def test_blank_rows_and_index_column(iraq_engine, tmp_path):
    rows = [HEADER] + [row(i) for i in range(5)]
    blank = [""] * len(HEADER)
    rows.insert(3, ["2"] + blank[1:-1] + ["Feb 28, 2021"])  # index + date only: skipped
    rows.append(["5"] + blank[1:-1] + ["Feb 28, 2021"])  # DTM's trailing row
    rows.append(blank)
    res, parsed = stage_both(iraq_engine, write_csv(tmp_path / "blank.csv", rows))
    assert res.rows == 5 and parsed.columns_found[0] == ""


def test_dates(iraq_engine, tmp_path):
    rows = [HEADER] + [row(i) for i in range(6)]
    rows[1][-1] = "sometime in 2021"
    rows[2][-1] = rows[3][-1] = "2021-01-31"
    rows[4][-1] = "31/01/2021"
    rows[5][-1] = ""
    res, parsed = stage_both(iraq_engine, write_csv(tmp_path / "dates.csv", rows))
    assert res.reporting_date == dt.date(2021, 1, 31)
    assert [i.code for i in res.issues] == ["bad_date"]


def test_windows_1256(iraq_engine, tmp_path):
    names = ["عمادية", "ارادن", "الطرف الشرقي", "قرية سليم"]
    rows = [HEADER] + [row(i, Arabic_Name=n) for i, n in enumerate(names)]
    path = write_csv(tmp_path / "legacy.csv", rows, encoding="cp1256")
    res, parsed = stage_both(iraq_engine, path)
    assert [r["name_ar"] for r in parsed.records] == names
    stage_both(iraq_engine, path, encoding="windows-1256")


def test_hxl_tagged(iraq_engine, tmp_path):
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
    res, parsed = stage_both(iraq_engine, write_csv(tmp_path / "hxl.csv", rows), "idps")
    assert res.format == "hxl" and parsed.records[0]["admin2_pcode"] == "IQG15Q01"


def test_extra_columns_semicolons_bom_crlf(iraq_engine, tmp_path):
    header = HEADER + ["Round", "Notes", ""]
    rows = [header] + [row(i) + [f"Round {i}", "x; y" if i == 2 else "", ""] for i in range(5)]
    rows[3][5] = 'Say "hi"'  # a quoted field with doubled quotes
    rows[4][5] = "\u00a0Padded\u00a0"  # NBSP is whitespace to str.strip()
    rows[5][5] = "Box 0x1"  # '0x': float8in would read hexadecimal numbers -> text columns
    path = tmp_path / "semi.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, delimiter=";", lineterminator="\r\n").writerows(rows)
    res, parsed = stage_both(iraq_engine, path)
    assert parsed.records[0]["extra"] == {"Round": "Round 0"}
    assert res.notes["typed_copy"] is False and res.notes["odd_whitespace_lines"] == 1
    assert res.columns_found[-1] == "Notes"  # the empty unnamed trailing column is dropped


def test_duplicate_breakdown_names(iraq_engine, tmp_path):
    header = HEADER[:16] + ["Camp"] + HEADER[16:]
    rows = [header] + [r[:16] + [v] + r[16:] for r, v in zip([row(i) for i in range(3)], ["5", "0", ""])]
    rows[1][13] = "3"  # both 'Camp' columns filled: which one holds the figures? refused (issue 20)
    rows[2][13] = "7"
    from service.ingest.masterlist import MasterlistError, parse_masterlist

    with pytest.raises(MasterlistError, match="'Camp' in columns .* more than once|names a column more than once"):
        parse_masterlist(write_csv(tmp_path / "dupnames.csv", rows), "idp")


# --------------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize(
    "case",
    [
        "multiline",
        "mid_quote",
        "quote_then_text",
        "ragged",
        "short",
        "arabic_digits",
        "long",
        "xlsx",
        "bad_utf8",
        "empty",
        "no_columns",
    ],
)
def test_files_the_fast_path_leaves_to_the_parser(iraq_engine, tmp_path, case):
    rows = [HEADER] + [row(i) for i in range(4)]
    path = tmp_path / f"{case}.csv"
    if case == "multiline":
        rows[2][5] = "two\nlines"
    elif case == "ragged":
        rows[2].append("surplus")
    elif case == "short":
        rows[2] = rows[2][:-3]
    elif case == "arabic_digits":
        rows[2][9] = "١٠"
    elif case == "long":
        rows = [["location_id", "lat", "lon", "families", "individuals"], ["1", "36", "44", "3", "18"]]
    elif case == "no_columns":
        rows = [["Location ID", "Latitude"], ["1", "2"]]
    write_csv(path, rows)
    if case == "mid_quote":
        path.write_text(path.read_text(encoding="utf-8").replace("Place 2", 'Place "2" b'), encoding="utf-8")
    elif case == "quote_then_text":  # pandas: 'Place 2x', PostgreSQL: the same, but '"a" "b"' differs
        path.write_text(path.read_text(encoding="utf-8").replace("Place 2", '"Place" "2"'), encoding="utf-8")
    elif case == "bad_utf8":  # valid UTF-8 over the first MiB (read in Python), then not
        write_csv(path, [HEADER] + [row(i) for i in range(6000)])
        path.write_bytes(path.read_bytes() + "5999,1,2,D,A,Caf\xe9,x,36,44,1,6,0,0,0,0,0,0,0,x\n".encode("latin-1"))
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "xlsx":
        path = tmp_path / "list.xlsx"
        wb = openpyxl.Workbook()
        for r in rows:
            wb.active.append(r)
        wb.save(path)
    with iraq_engine.begin() as conn:
        with pytest.raises(FastStageUnavailable):
            stage_csv(conn, path, "idp")
        assert stage_csv_fast(conn, path, "idp") is None
        # nothing left behind, the transaction still usable
        assert conn.execute(
            text(
                "SELECT to_regclass('pg_temp.stage'), to_regclass('fast_raw_' || pg_backend_pid()), "
                "to_regclass('pg_temp.duplicate_ids')"
            )
        ).one() == (None, None, None)
        conn.rollback()


# --------------------------------------------------------------------------- whole import


@needs_real
def test_import_gives_the_same_figures_both_ways(iraq_fresh_engine):
    def figures():
        with iraq_fresh_engine.connect() as c:
            units = c.execute(
                text("SELECT level, pcode, families, individuals, locations FROM unit_figure ORDER BY level, pcode")
            ).all()
            bd = c.execute(
                text(
                    "SELECT level, pcode, dimension, category, families FROM unit_breakdown "
                    "ORDER BY level, pcode, dimension, category"
                )
            ).all()
            locs = c.execute(
                text(
                    "SELECT location_id, source_row, families, individuals, origin, shelter, period, extra, "
                    "adm1, adm2, adm3, flags FROM location_figure ORDER BY source_row"
                )
            ).all()
        return units, bd, locs

    slow = import_masterlist(iraq_fresh_engine, FEB21_IDP, population="idp", fast=False)
    before = figures()
    quick = import_masterlist(iraq_fresh_engine, FEB21_IDP, population="idp", fast=True)
    after = figures()
    assert (slow.staging, quick.staging) == ("python", "fast")
    assert (slow.rows, slow.families, slow.individuals, slow.flag_counts, slow.unassigned) == (
        quick.rows,
        quick.families,
        quick.individuals,
        quick.flag_counts,
        quick.unassigned,
    )
    assert before == after
    assert quick.timings["fast_copy_s"] > 0


def test_import_falls_back_and_forced_fast_refuses(iraq_fresh_engine, tmp_path):
    rows = [HEADER] + [row(i) for i in range(4)]
    rows[2][5] = "two\nlines"
    path = write_csv(tmp_path / "multiline.csv", rows)
    res = import_masterlist(iraq_fresh_engine, path, population="idp", round_number=500)
    assert res.staging.startswith("python (fast path:") and res.rows == 4
    from service.ingest.rounds import ImportRejected

    with pytest.raises(ImportRejected, match="fast staging not possible"):
        import_masterlist(iraq_fresh_engine, path, population="idp", round_number=500, fast=True)


def test_import_leaves_no_raw_table_and_takes_ids_as_a_block(iraq_fresh_engine, tmp_path):
    """The raw cells' UNLOGGED table goes with the import; the round's ids are one block
    of the sequence, in the file's order, apart from every other round's ids."""
    path = write_csv(tmp_path / "list.csv", [HEADER] + [row(i) for i in range(50)])
    first = import_masterlist(iraq_fresh_engine, path, population="idp", round_number=501)
    # a round is its reporting date: the same file as another round needs another date
    second = import_masterlist(
        iraq_fresh_engine, path, population="idp", round_number=502, reporting_date=dt.date(2019, 1, 31)
    )
    assert (first.staging, second.staging) == ("fast", "fast")
    with iraq_fresh_engine.connect() as c:
        assert (
            c.execute(
                text("SELECT count(*) FROM pg_class WHERE relname LIKE 'fast\\_raw\\_%' AND relkind = 'r'")
            ).scalar()
            == 0
        )
        blocks = c.execute(
            text(
                "SELECT round_id, array_agg(id - source_row ORDER BY source_row), min(id), max(id), count(*) "
                "FROM location_figure WHERE round_id = ANY(:r) GROUP BY round_id ORDER BY round_id"
            ),
            {"r": [first.round_id, second.round_id]},
        ).all()
        # a direct writer after the imports gets an id past both blocks
        nxt = c.execute(text("SELECT nextval(pg_get_serial_sequence('location_figure', 'id'))")).scalar()
    assert [b.count for b in blocks] == [50, 50]
    for b in blocks:
        assert len(set(b[1])) == 1  # id = block start + source row: the file's order, no gaps
    assert blocks[0].max < blocks[1].min and blocks[1].max < nxt
