"""Indicator tables (CSV, XLSX, HXL; keyed by P-code, names or location ID) and the
population table: unknown keys reported per row (the rest kept); non-numbers and repeated
keys are errors naming file, row and field."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from openpyxl import Workbook

from boundaries.crosswalk import Crosswalk
from service.fragility.inputs import InputError, indicator_table, population_table
from service.fragility.method import Population, Table

UNITS = pd.DataFrame(
    {
        "name_en": ["Markaz Erbil", "Shaqlawa Center", "Markaz Duhok"],
        "name_ar": ["مركز أربيل", "مركز شقلاوة", "مركز دهوك"],
        "adm2": ["IQG11Q02", "IQG11Q06", "IQG09Q02"],
        "adm1": ["IQG11", "IQG11", "IQG09"],
    },
    index=pd.Index(["IQG11Q02N02", "IQG11Q06N01", "IQG09Q02N02"], name="pcode"),
)
XW = Crosswalk(
    "IRQ",
    [
        {"level": 1, "name": "Erbil", "pcode": "IQG11"},
        {"level": 1, "name": "Dahuk", "pcode": "IQG09"},
        {"level": 2, "name": "Erbil", "pcode": "IQG11Q02", "parent_pcode": "IQG11"},
        {"level": 2, "name": "Shaqlawa", "pcode": "IQG11Q06", "parent_pcode": "IQG11"},
        {"level": 2, "name": "Dahuk", "pcode": "IQG09Q02", "parent_pcode": "IQG09"},
        {"level": 3, "name": "Markaz Erbil", "pcode": "IQG11Q02N02", "parent_pcode": "IQG11Q02"},
        {"level": 3, "name": "مركز أربيل", "pcode": "IQG11Q02N02", "parent_pcode": "IQG11Q02"},
        {"level": 3, "name": "Shaqlawa Center", "pcode": "IQG11Q06N01", "parent_pcode": "IQG11Q06"},
        {"level": 3, "name": "Markaz Duhok", "pcode": "IQG09Q02N02", "parent_pcode": "IQG09Q02"},
    ],
)


def table(**kw):
    return Table(**{"id": "t", "path": "x", "key": "pcode", "key_column": "pcode", **kw})


def test_pcode_csv_with_hxl_and_unknown_codes(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        'pcode,score,other\n#adm3+code,#severity,#x\nIQ-G11Q02N02,3.5,1\nIRQ-G11Q06N01," 1,000.5 ",1\n'
        "IQG99Q99N99,2,1\nIQG09Q02N02,,1\n",
        encoding="utf-8",
    )
    got = indicator_table(p, table(key_column="#adm3+code"), ["#severity"], XW, UNITS)
    assert got.values["#severity"].dropna().to_dict() == {"IQG11Q02N02": 3.5, "IQG11Q06N01": 1000.5}
    assert math.isnan(got.values["#severity"]["IQG09Q02N02"])  # blank = missing, not 0
    assert [(i.row, i.field) for i in got.issues] == [(5, "pcode")]
    assert "IQG99Q99N99" in got.issues[0].message and str(p) == got.issues[0].file


def test_non_numeric_and_duplicate_keys_are_errors(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("pcode,score\nIQG11Q02N02,3\nIQG11Q06N01,high\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv: row 3, field 'score': 'high' is not a number"):
        indicator_table(p, table(), ["score"], XW, UNITS)
    p.write_text("pcode,score\nIQG11Q02N02,3\nIQG11Q06N01,2\nIQG11Q02N02,4\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv: row 4, field 'pcode': key 'IQG11Q02N02' repeats row 2"):
        indicator_table(p, table(), ["score"], XW, UNITS)
    with pytest.raises(InputError, match=r"bad.csv: no column 'severity'; columns: pcode, score"):
        indicator_table(p, table(), ["severity"], XW, UNITS)


def test_names_xlsx(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["district", "sub-district", "score"])
    ws.append(["Erbil", "مركز أربيل", 2])
    ws.append(["Shaqlawa", "Shaqlawa Center", 4])
    ws.append(["Nowhere", "Markaz Duhok", 9])
    ws.append(["Dahuk", "Atlantis", 9])
    p = tmp_path / "names.xlsx"
    wb.save(p)
    got = indicator_table(
        p, table(key="name", key_column="sub-district", parent_column="district"), ["score"], XW, UNITS
    )
    assert got.values["score"].dropna().to_dict() == {"IQG11Q02N02": 2.0, "IQG11Q06N01": 4.0}
    assert [(i.row, i.field) for i in got.issues] == [(4, "district"), (5, "sub-district")]


def test_location_ids_aggregated_population_weighted(tmp_path):
    p = tmp_path / "loc.csv"
    p.write_text(
        "location_id,score,hh\n1101001.0,10,100\n1101002,20,300\n1102001,5,50\n9999999,1,1\n", encoding="utf-8"
    )
    locs = {"1101001": "IQG11Q02N02", "1101002": "IQG11Q02N02", "1102001": "IQG11Q06N01"}
    spec = table(key="location_id", key_column="location_id", aggregate="population_weighted_mean", weight_column="hh")
    got = indicator_table(p, spec, ["score"], XW, UNITS, location_units=locs)
    assert got.values["score"]["IQG11Q02N02"] == pytest.approx((10 * 100 + 20 * 300) / 400)
    assert got.values["score"]["IQG11Q06N01"] == 5
    assert [i.row for i in got.issues] == [5]
    mean = indicator_table(p, table(key="location_id", key_column="location_id"), ["score"], XW, UNITS, locs)
    assert mean.values["score"]["IQG11Q02N02"] == 15


def test_population_table_by_names_reports_unmatched(tmp_path):
    p = tmp_path / "pop.csv"
    p.write_text(
        "gov_en,dis_en,subdistrict_en,subdistrict_ar,total.pop\n"
        'Erbil,Erbil,Markaz Erbil,مركز أربيل," 1,305,790 "\n'
        "Erbil,Shaqlawa,Shaqlawa Centre,,100\n"  # by spelling within the district
        "Erbil,Shaqlawa,Harir,,50\n"  # no such unit: reported
        'Dahuk,Dahuk,Markaz Duhok,," 2,000 "\n',
        encoding="utf-8",
    )
    got = population_table(p, Population(source="table", path="x", column="total.pop"), XW, UNITS)
    assert got.values["residents"].to_dict() == {"IQG11Q02N02": 1305790.0, "IQG11Q06N01": 100.0, "IQG09Q02N02": 2000.0}
    assert [(i.row, i.field) for i in got.issues] == [(4, "sub-district")]
    assert got.source["rows_unmatched"] == 1 and len(got.source["matched_by_spelling"]) == 1
    p.write_text("gov_en,dis_en,subdistrict_en,total.pop\nErbil,Erbil,Markaz Erbil,many\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"pop.csv: row 2, field 'total.pop': 'many' is not a number"):
        population_table(p, Population(source="table", path="x", column="total.pop"), XW, UNITS)
