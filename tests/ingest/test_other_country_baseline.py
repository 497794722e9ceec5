"""A mobility-tracking baseline of another operation imported as a master list (issue 21, item 6).

There is no public DTM baseline of another country here, so the files are SYNTHETIC: made in
the test from the REAL Nigeria boundaries in ../shared/data/nga_cod_ab (read in place): 200
locations at representative points of real wards of Adamawa, Borno and Yobe (the states whose
wards the COD-AB holds), with state / LGA / ward P-code columns, a ``location_ssid`` id and IDP
households and individuals, HXL-tagged or with plain headers. Variants: the ``#adm1+code``
column holding LGA codes (read as admin2, reported), a few ward codes the boundaries do not hold
(placed by point, reported), and a ward column holding codes of no Nigerian level (an error
naming file, row and column; the database unchanged).
"""

from __future__ import annotations

import csv
import datetime as dt
import warnings
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service.ingest.masterlist import MasterlistError
from service.ingest.rounds import import_masterlist
from tests.conftest import SHARED, client_for, cloned_engine, create_database, drop_database
from tests.ingest.test_fast_stage import stage_both

NGA = SHARED / "nga_cod_ab"
WARD_STATES = ("NG002", "NG008", "NG036")  # Adamawa, Borno, Yobe: the states the ward file covers
DATE = "2024-03-31"
pytestmark = pytest.mark.skipif(not NGA.exists(), reason=f"Nigeria boundaries not found in {NGA}")

HEADER = [
    "State",
    "State_Pcode",
    "LGA",
    "LGA_Pcode",
    "Ward",
    "Ward_Pcode",
    "Location_SSID",
    "Location_Name",
    "Latitude",
    "Longitude",
    "IDP_Households",
    "IDP_Individuals",
    "Date",
]
HXL = [
    "#adm1+name",
    "#adm1+code",
    "#adm2+name",
    "#adm2+code",
    "#adm3+name",
    "#adm3+code",
    "#loc+code",
    "#loc+name",
    "#geo+lat",
    "#geo+lon",
    "#affected+idps+hh",
    "#affected+idps+ind",
    "#date+reported",
]


def _read(path):
    from boundaries.reader import read_boundaries

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_boundaries(path)


@pytest.fixture(scope="module")
def wards():
    """200 real wards (spread over the three states), each with a point inside it, its LGA,
    state and names; read from the shapefiles, not copied."""
    adm1 = _read(NGA / "nga_admbnda_adm1_osgof_20190417.shp").units.set_index("pcode")
    adm2 = _read(NGA / "nga_admbnda_adm2_osgof_20190417.shp").units.set_index("pcode")
    adm3 = _read(NGA / "nga_admbnda_adm3_osgof_eha_20190417.shp").units.sort_values("pcode").reset_index(drop=True)
    picked = adm3.iloc[:: len(adm3) // 200].head(200)
    out = []
    for k, w in enumerate(picked.itertuples()):
        lga = w.parent_pcode
        state = adm2.loc[lga, "parent_pcode"]
        pt = w.geometry.representative_point()
        out.append(
            {
                "state": adm1.loc[state, "name_en"],
                "state_pcode": state,
                "lga": adm2.loc[lga, "name_en"],
                "lga_pcode": lga,
                "ward": w.name_en,
                "ward_pcode": w.pcode,
                "ssid": f"NG{state[2:]}-{k + 1:04d}",
                "name": f"Synthetic location {k + 1}",
                "lat": round(pt.y, 6),
                "lon": round(pt.x, 6),
                "hh": 10 + (k * 37) % 400,
                "ind": (10 + (k * 37) % 400) * 5 + k % 4,
            }
        )
    assert {w["state_pcode"] for w in out} == set(WARD_STATES)
    return out


def _write(path: Path, wards: list[dict], *, hxl: bool = True, header=HEADER, change=None) -> Path:
    rows = [header] + ([HXL] if hxl else [])
    for k, w in enumerate(wards):
        row = [
            w["state"],
            w["state_pcode"],
            w["lga"],
            w["lga_pcode"],
            w["ward"],
            w["ward_pcode"],
            w["ssid"],
            w["name"],
            w["lat"],
            w["lon"],
            w["hh"],
            w["ind"],
            DATE,
        ]
        rows.append(change(k, row) if change else row)
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture(scope="module")
def nga_template(pg_server, template_db):
    """Nigeria's 37 states, the LGAs of the three states and all their wards (real files)."""
    from tests.indicators.conftest import import_boundaries_part

    name = f"dtm_atlas_test_nga_tpl_{id(pg_server)}"
    engine = create_engine(create_database(pg_server, name, template_db))
    import_boundaries_part(engine, NGA / "nga_admbnda_adm1_osgof_20190417.shp")
    import_boundaries_part(engine, NGA / "nga_admbnda_adm2_osgof_20190417.shp", WARD_STATES)
    import_boundaries_part(engine, NGA / "nga_admbnda_adm3_osgof_eha_20190417.shp", WARD_STATES)
    engine.dispose()
    yield name
    drop_database(pg_server, name)


@pytest.fixture
def nga_engine(pg_server, nga_template):
    with cloned_engine(pg_server, nga_template) as engine:
        yield engine


def _sums(wards, key) -> dict[str, int]:
    out: Counter[str] = Counter()
    for w in wards:
        out[w[key]] += w["ind"]
    return dict(out)


def _choropleth(client, level: int, round_id: int) -> dict[str, int]:
    got = client.get(f"/choropleth/{level}.geojson", params={"round": DATE, "country": "NGA", "population": "idp"})
    assert got.status_code == 200, got.text
    return {
        f["properties"]["pcode"]: f["properties"]["value"]
        for f in got.json()["features"]
        if f["properties"].get("value")
    }


def _placed(engine, round_id: int) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT location_id, adm1, adm2, adm3, placement, flags FROM location_figure WHERE round_id = :r"),
            {"r": round_id},
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _national(engine, round_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT individuals FROM unit_figure WHERE round_id = :r AND level = 0"), {"r": round_id}
        ).scalar_one()


@pytest.mark.parametrize("hxl", [True, False], ids=["hxl", "plain-headers"])
def test_a_nigerian_baseline_is_placed_by_its_pcodes(nga_engine, wards, tmp_path, hxl):
    header = HEADER if hxl else [h.lower() for h in HEADER]  # state_pcode, lga_pcode, ward_pcode, location_ssid
    path = _write(tmp_path / "nga_baseline_synthetic.csv", wards, hxl=hxl, header=header)
    fast, parsed = stage_both(nga_engine, path)  # both staging paths build the same stage
    assert [c.field for c in parsed.code_columns] == ["admin1_pcode", "admin2_pcode", "admin3_pcode"]
    assert fast.code_columns == parsed.code_columns
    assert [c.tag for c in parsed.code_columns] == (["#adm1+code", "#adm2+code", "#adm3+code"] if hxl else [None] * 3)
    assert parsed.records[0]["location_id"] == wards[0]["ssid"] and parsed.issues == []

    res = import_masterlist(nga_engine, path, population="idp", country="NGA")
    assert (res.rows, res.reporting_date, res.warnings, res.flagged_rows) == (200, dt.date(2024, 3, 31), [], 0)
    assert res.unassigned == {1: 0, 2: 0, 3: 0}
    assert res.individuals == sum(w["ind"] for w in wards) and res.families == sum(w["hh"] for w in wards)
    placed = _placed(nga_engine, res.round_id)
    assert {w["ssid"]: (w["state_pcode"], w["lga_pcode"], w["ward_pcode"], "declared") for w in wards} == {
        k: v[:4] for k, v in placed.items()
    }
    with client_for(nga_engine) as client:
        for level, key in ((1, "state_pcode"), (2, "lga_pcode"), (3, "ward_pcode")):
            assert _choropleth(client, level, res.round_id) == _sums(wards, key)
    assert _national(nga_engine, res.round_id) == sum(_sums(wards, "state_pcode").values())


def test_adm1_tag_over_lga_codes_is_read_by_its_codes_and_reported(nga_engine, wards, tmp_path):
    def lga_in_state_column(_k, row):
        row[1] = row[3]
        return row

    path = _write(tmp_path / "nga_mistagged_synthetic.csv", wards, change=lga_in_state_column)
    stage_both(nga_engine, path)
    res = import_masterlist(nga_engine, path, population="idp", country="NGA")
    assert len(res.warnings) == 1, res.warnings
    warning = res.warnings[0]
    for part in ("nga_mistagged_synthetic.csv", "'State_Pcode'", "#adm1+code", "read as admin2", "NGnnnnnn"):
        assert part in warning, warning
    assert res.flagged_rows == 0 and res.unassigned == {1: 0, 2: 0, 3: 0}
    with client_for(nga_engine) as client:
        assert _choropleth(client, 1, res.round_id) == _sums(wards, "state_pcode")
        assert _choropleth(client, 3, res.round_id) == _sums(wards, "ward_pcode")
    with nga_engine.connect() as conn:  # the import log keeps the warning
        details = conn.execute(text("SELECT details FROM import_log WHERE kind = 'masterlist'")).scalar_one()
    assert details["warnings"] == [warning]


def test_unknown_codes_are_placed_by_point_and_reported(nga_engine, wards, tmp_path):
    odd = {5: "NG008022999", 50: "NG002021998", 150: "NG036999001"}  # ward codes the boundaries lack
    nowhere = 100  # and a row none of whose codes the boundaries hold: placed by its point alone

    def unknown_codes(k, row):
        if k in odd:
            row[5] = odd[k]
        if k == nowhere:
            row[0:6] = ["", "NG099", "", "NG099001", "", "NG099001001"]  # (names would place it)
        return row

    path = _write(tmp_path / "nga_unknown_synthetic.csv", wards, change=unknown_codes)
    res = import_masterlist(nga_engine, path, population="idp", country="NGA")
    assert len(res.warnings) == 3, res.warnings
    by_column = {c: next(w for w in res.warnings if f"'{c}'" in w) for c in ("State_Pcode", "LGA_Pcode", "Ward_Pcode")}
    assert "1 P-code(s) on 1 row(s)" in by_column["State_Pcode"] and "'NG099'" in by_column["State_Pcode"]
    assert "4 P-code(s) on 4 row(s)" in by_column["Ward_Pcode"]
    assert all(code in by_column["Ward_Pcode"] for code in [*odd.values(), "NG099001001"])
    assert all("else by their point" in w and "nga_unknown_synthetic.csv" in w for w in res.warnings)
    assert res.flag_counts == {"unresolved_declared_name": 4} and res.unassigned == {1: 0, 2: 0, 3: 0}
    placed = _placed(nga_engine, res.round_id)
    for k in [*odd, nowhere]:  # the ward its point is in (the real one); the declared LGA where it is known
        w = wards[k]
        adm1, adm2, adm3, method, flags = placed[w["ssid"]]
        assert (adm1, adm2, adm3) == (w["state_pcode"], w["lga_pcode"], w["ward_pcode"])
        assert (method, flags) == ("spatial" if k == nowhere else "declared", ["unresolved_declared_name"])
    with client_for(nga_engine) as client:
        assert _choropleth(client, 1, res.round_id) == _sums(wards, "state_pcode")
        assert _choropleth(client, 3, res.round_id) == _sums(wards, "ward_pcode")
    assert _national(nga_engine, res.round_id) == sum(w["ind"] for w in wards)


def test_a_column_of_no_nigerian_level_is_an_error_naming_file_row_column(nga_engine, wards, tmp_path):
    def iraqi_codes(_k, row):
        row[5] = "IQG07Q02N01"
        return row

    path = _write(tmp_path / "nga_bad_synthetic.csv", wards, change=iraqi_codes)
    with nga_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM round")).scalar_one()
    with pytest.raises(MasterlistError) as exc:
        import_masterlist(nga_engine, path, population="idp", country="NGA")
    said = str(exc.value)
    assert said.startswith("nga_bad_synthetic.csv, line 3, column 'Ward_Pcode': 'IQG07Q02N01' is not a P-code"), said
    assert "NGnnnnnnnnn" in said  # what the country's codes look like
    with nga_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM round")).scalar_one() == before == 0
        assert conn.execute(text("SELECT count(*) FROM location")).scalar_one() == 0
        outcome, message = conn.execute(text("SELECT outcome, message FROM import_log WHERE kind = 'masterlist'")).one()
    assert outcome == "rejected" and "Ward_Pcode" in message


def test_the_declared_ward_wins_over_the_point(nga_engine, wards, tmp_path):
    # row 0's point moved into the next ward of its LGA: the declared ward places it, and the
    # difference is flagged as for a declared district
    other = next(w for w in wards[1:] if w["lga_pcode"] == wards[0]["lga_pcode"])

    def moved(k, row):
        if k == 0:
            row[8], row[9] = other["lat"], other["lon"]
        return row

    path = _write(tmp_path / "nga_moved_synthetic.csv", wards, change=moved)
    res = import_masterlist(nga_engine, path, population="idp", country="NGA")
    assert res.warnings == [] and res.flag_counts == {"declared_differs_from_spatial": 1}
    adm1, adm2, adm3, method, flags = _placed(nga_engine, res.round_id)[wards[0]["ssid"]]
    assert (adm1, adm2, adm3, method) == (
        wards[0]["state_pcode"],
        wards[0]["lga_pcode"],
        wards[0]["ward_pcode"],
        "declared",
    )
    assert flags == ["declared_differs_from_spatial"]
    with client_for(nga_engine) as client:
        assert _choropleth(client, 3, res.round_id) == _sums(wards, "ward_pcode")


def test_cli_imports_with_country_and_prints_the_warning(nga_engine, wards, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import service.cli
    import service.cli.imports

    monkeypatch.setattr(service.cli.imports, "open_engine", lambda migrate=True: nga_engine)

    def lga_in_state_column(_k, row):
        row[1] = row[3]
        return row

    path = _write(tmp_path / "nga_cli_synthetic.csv", wards, change=lga_in_state_column)
    cmd = ["import", "masterlist", str(path), "--population", "idp", "--country", "NGA"]
    run = CliRunner().invoke(service.cli.app, cmd, catch_exceptions=False)
    assert run.exit_code == 0, run.output
    said = " ".join(run.output.split())  # (the console wraps long lines)
    assert "200 locations" in said and "0 flagged" in said
    assert "warning: nga_cli_synthetic.csv: column 'State_Pcode' (HXL tag #adm1+code)" in said, said
    assert "read as admin2" in said

    bad = _write(tmp_path / "nga_cli_bad_synthetic.csv", wards, change=lambda _k, row: [*row[:5], "Ward 1", *row[6:]])
    run = CliRunner().invoke(service.cli.app, [*cmd[:2], str(bad), *cmd[3:]], catch_exceptions=False)
    said = " ".join(run.output.split())
    assert run.exit_code == 2, run.output
    assert "nga_cli_bad_synthetic.csv, line 3, column 'Ward_Pcode': 'WARD 1' is not a P-code of any NGA" in said
    assert "nothing was imported; the database is unchanged" in said


def test_level_shapes_are_learned_from_the_units():
    from service.ingest.declared import LevelShapes

    shapes = LevelShapes.learn(
        [(1, "NG001"), (1, "NG002"), (2, "NG001001"), (3, "NG001001001"), (3, "NG001UNSPECIFIED")]
    )
    assert shapes.shown == {1: "NGnnn", 2: "NGnnnnnn", 3: "NGnnnnnnnnn"}
    assert [shapes.level_of(c) for c in ("NG036", "NGA-036-001", "NG036001009", "NG001UNSPECIFIED")] == [1, 2, 3, 3]
    assert shapes.level_of("IQG07Q02") is None and shapes.level_of("Ward 1") is None
    assert shapes.holds(2, "ng-001-001") and not shapes.holds(2, "NG036001")


def test_the_shapes_learned_from_iraq_are_its_known_patterns(iraq_engine):
    from boundaries.pcode import infer_level
    from service.ingest.declared import LevelShapes

    with iraq_engine.connect() as conn:
        units = conn.execute(text("SELECT level, pcode FROM admin_unit WHERE level BETWEEN 1 AND 3")).all()
    shapes = LevelShapes.learn(units)
    assert shapes.shown == {1: "IQGnn", 2: "IQGnnQnn", 3: "IQGnnQnnNnn"}
    # every Iraqi unit is at the level the hand-written patterns (boundaries.pcode) give it
    assert all(shapes.level_of(p) == level == infer_level(p, "IRQ") for level, p in units)


@pytest.mark.parametrize(
    "header, expected",
    [
        (  # South Sudan's mobility tracking: state / county / payam
            ["State", "State_Pcode", "County", "County_Pcode", "Payam", "Payam_Pcode", "Location_SSID"],
            ["State_Pcode", "County_Pcode", "Payam_Pcode"],
        ),
        (  # Malawi: region / district / traditional authority
            ["Region", "Region_Pcode", "District", "District_Pcode", "TA", "TA_Pcode", "SSID"],
            ["Region_Pcode", "District_Pcode", "TA_Pcode"],
        ),
        (  # COD-AB style names
            ["ADM1_EN", "ADM1_PCODE", "ADM2_EN", "ADM2_PCODE", "ADM3_EN", "ADM3_PCODE", "Location_ID"],
            ["ADM1_PCODE", "ADM2_PCODE", "ADM3_PCODE"],
        ),
    ],
    ids=["ssd", "mwi", "cod-ab"],
)
def test_the_pcode_and_id_columns_of_other_operations_are_recognised(tmp_path, header, expected):
    from service.ingest.masterlist import parse_masterlist

    rows = [
        [*header, "Latitude", "Longitude", "IDP_HH", "IDP_Ind"],
        ["Upper Nile", "SS01", "Malakal", "SS0101", "Lelo", "SS010101", "SSD-0001", "9.53", "31.65", "4", "21"],
    ]
    path = tmp_path / "baseline_synthetic.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    parsed = parse_masterlist(path, "idp")
    assert [(c.field, c.label, c.tag) for c in parsed.code_columns] == [
        ("admin1_pcode", expected[0], None),
        ("admin2_pcode", expected[1], None),
        ("admin3_pcode", expected[2], None),
    ]
    rec = parsed.records[0]
    assert (rec["location_id"], rec["governorate"], rec["district"]) == ("SSD-0001", "Upper Nile", "Malakal")
    assert (rec["admin1_pcode"], rec["admin2_pcode"], rec["admin3_pcode"], rec["families"], rec["individuals"]) == (
        "SS01",
        "SS0101",
        "SS010101",
        4,
        21,
    )
    assert rec["extra"] == {header[4]: "Lelo"}  # the sub-district's name: kept, not used for placement


def test_an_xlsx_baseline_with_a_title_row_goes_the_same_way(nga_engine, wards, tmp_path):
    import openpyxl

    csv_path = _write(tmp_path / "rows.csv", wards, change=lambda _k, row: [row[0], row[3], *row[2:]])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DTM Nigeria mobility tracking baseline (SYNTHETIC)"])
    with open(csv_path, encoding="utf-8", newline="") as f:
        for k, row in enumerate(csv.reader(f)):
            sheet.append([float(c) if k > 1 and j in (8, 9, 10, 11) else c for j, c in enumerate(row)])
    path = tmp_path / "nga_baseline_synthetic.xlsx"
    book.save(path)
    res = import_masterlist(nga_engine, path, population="idp", country="NGA")
    assert res.staging == "python" and res.rows == 200 and res.flagged_rows == 0
    assert len(res.warnings) == 1 and "'State_Pcode' (HXL tag #adm1+code)" in res.warnings[0]
    assert "nga_baseline_synthetic.xlsx" in res.warnings[0] and "read as admin2" in res.warnings[0]
    with client_for(nga_engine) as client:
        for level, key in ((1, "state_pcode"), (2, "lga_pcode"), (3, "ward_pcode")):
            assert _choropleth(client, level, res.round_id) == _sums(wards, key)
    assert _national(nga_engine, res.round_id) == res.individuals == sum(w["ind"] for w in wards)


def test_an_editor_uploads_a_baseline_of_their_country(nga_engine, wards, tmp_path):
    """POST /rounds with ``country``: the editor of Nigeria uploads the mis-tagged baseline and
    gets the level warning back; an editor of Iraq only is refused (403), and one of Nigeria only
    who names no country (the default IRQ) too; nothing is imported by either."""
    from service.auth import create_token

    def lga_in_state_column(_k, row):
        row[1] = row[3]
        return row

    path = _write(tmp_path / "nga_mistagged_synthetic.csv", wards, change=lga_in_state_column)
    nga = {"authorization": f"Bearer {create_token(nga_engine, 'editor', 'nga', countries='NGA')}"}
    irq = {"authorization": f"Bearer {create_token(nga_engine, 'editor', 'irq', countries='IRQ')}"}
    with client_for(nga_engine) as client:

        def upload(headers, **fields):
            files = {"file": (path.name, path.read_bytes(), "text/csv")}
            return client.post("/rounds", files=files, data={"population": "idp", **fields}, headers=headers)

        r = upload(irq, country="NGA")
        assert r.status_code == 403 and "IRQ only, not for NGA" in r.json()["detail"], r.text
        r = upload(nga)
        assert r.status_code == 403 and "NGA only, not for IRQ" in r.json()["detail"], r.text
        with nga_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM round")).scalar_one() == 0
        r = upload(nga, country="nga")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["rows"] == 200 and len(body["warnings"]) == 1 and "read as admin2" in body["warnings"][0]
        assert _choropleth(client, 1, body["round_id"]) == _sums(wards, "state_pcode")
