"""P-code columns checked against the forms of the country's codes on import (synthetic files,
labelled as such, over the real Nigerian boundaries): an HXL row that says ``#adm1+code`` over
LGA codes is read by its codes and the mismatch reported; a code of no Nigerian form is reported
with its file, row and column."""

from __future__ import annotations

from sqlalchemy import text

from service.indicators.store import code_form, import_dataset


def _lgas(engine, n):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT pcode, ST_Y(ST_PointOnSurface(geom)), ST_X(ST_PointOnSurface(geom)) FROM admin_unit "
                "WHERE level = 2 AND pcode LIKE 'NG008%' ORDER BY pcode LIMIT :n"
            ),
            {"n": n},
        ).all()


def test_code_form():
    assert code_form("NG002001") == "NG999999"


def test_hxl_level_read_by_the_codes_and_bad_codes_named(assessments_fresh, tmp_path):
    engine, _ = assessments_fresh
    lgas = _lgas(engine, 4)
    rows = [f"L{i},NGA,{code},{lat:.5f},{lon:.5f},{10 * (i + 1)}" for i, (code, lat, lon) in enumerate(lgas)]
    rows.append("L9,NGA,XX12,11.8,13.1,5")  # a code of no Nigerian form
    path = tmp_path / "synthetic_baseline_hxl.csv"
    path.write_text(
        "location_id,country_code,county_pcode,latitude,longitude,individuals\n"
        "#loc+code,#country+code,#adm1+code,#geo+lat,#geo+lon,#affected+ind\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    res = import_dataset(engine, path, unit="location", access="public")
    said = [i for i in res.issues if "column 'county_pcode'" in i and "read as adm2" in i]
    assert said and "HXL tag '#adm1+code' says adm1" in said[0] and "4 of its 5 codes" in said[0], res.issues
    bad = [i for i in res.issues if "'XX12' does not have the form of a P-code of NGA" in i]
    assert bad and bad[0].startswith("synthetic_baseline_hxl.csv, row 7, column 'county_pcode'"), res.issues
    with engine.connect() as conn:
        placed = dict(
            conn.execute(
                text("SELECT obs_id, adm2 FROM indicator_observation WHERE dataset_id = :d"), {"d": res.dataset_id}
            ).all()
        )
    assert [placed[f"L{i}"] for i in range(4)] == [code for code, _, _ in lgas]  # read as the LGAs they are
