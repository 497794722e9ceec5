"""DTM's published count (household size kept as data) against the real master lists.

From round 117 (31 Aug 2020) DTM counts IDP families in camps at 5 persons, the master lists
at 6: the published total of Feb 2021 is the file's total minus the families in camps; Dec
2017 is before the rule and stays the file's total.
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from sqlalchemy import text

from service.figures.household import HouseholdSizeError, read_rules, sizes_for
from tests.conftest import MASTERLISTS

FEB21 = "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
DEC17 = "IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv"


def csv_sums(name: str) -> dict[str, int]:
    with open(MASTERLISTS / name, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("Families")]
    return {
        "individuals": int(sum(float(r["Individuals"]) for r in rows)),
        "families": int(sum(float(r["Families"]) for r in rows)),
        "camp_families": int(sum(float(r["Camp"] or 0) for r in rows)),
    }


def national(engine, date: str) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    "SELECT uf.individuals, uf.published_individuals, uf.families FROM unit_figure uf "
                    "JOIN round r ON r.id = uf.round_id WHERE r.population = 'idp' AND r.reporting_date = :d "
                    "AND uf.level = 0"
                ),
                {"d": dt.date.fromisoformat(date)},
            )
            .mappings()
            .one()
        )


def test_shelter_keys_as_stored(figures_engine):
    """The rule names the shelter as the stored breakdown does (``location_figure.shelter``)."""
    with figures_engine.connect() as conn:
        keys = set(
            conn.execute(
                text(
                    "SELECT DISTINCT k FROM location_figure f JOIN round r ON r.id = f.round_id, "
                    "jsonb_object_keys(f.shelter) k WHERE r.population = 'idp' AND r.reporting_date = '2021-02-28'"
                )
            ).scalars()
        )
    assert "Camp" in keys, keys
    assert sizes_for("IRQ", "idp", dt.date(2021, 2, 28), extra="").shelters == {"Camp": 5}


def test_feb_2021_published_is_file_minus_camp_families(figures_engine):
    sums = csv_sums(FEB21)
    assert sums["individuals"] == 1_243_278 and sums["camp_families"] == 37_511
    got = national(figures_engine, "2021-02-28")
    assert got["individuals"] == sums["individuals"]  # the file's count, as read
    assert got["published_individuals"] == sums["individuals"] - sums["camp_families"] == 1_205_767


def test_dec_2017_unchanged(figures_engine):
    sums = csv_sums(DEC17)
    assert sums["camp_families"] > 0  # there were camps, but the rule was not in force
    got = national(figures_engine, "2017-12-31")
    assert got["individuals"] == got["published_individuals"] == sums["individuals"] == 2_615_988


def test_every_level_sums_to_the_national_published_count(figures_engine):
    with figures_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT uf.level, sum(uf.published_individuals), sum(uf.individuals) FROM unit_figure uf "
                "JOIN round r ON r.id = uf.round_id WHERE r.population = 'idp' AND r.reporting_date = '2021-02-28' "
                "GROUP BY uf.level ORDER BY uf.level"
            )
        ).all()
    assert [lvl for lvl, _, _ in rows] == [0, 1, 2, 3]
    assert {int(p) for _, p, _ in rows} == {1_205_767}
    assert {int(i) for _, _, i in rows} == {1_243_278}


def test_returnees_have_no_shelter_rule(figures_engine):
    with figures_engine.connect() as conn:
        diff = conn.execute(
            text(
                "SELECT count(*) FROM unit_figure uf JOIN round r ON r.id = uf.round_id "
                "WHERE r.population = 'returnee' AND uf.published_individuals <> uf.individuals"
            )
        ).scalar_one()
    assert diff == 0


def test_rules_by_date_and_extra_file(tmp_path):
    assert sizes_for("IRQ", "idp", dt.date(2020, 8, 30), extra="").adjustments() == {}
    assert sizes_for("IRQ", "idp", dt.date(2020, 8, 31), extra="").adjustments() == {"Camp": 1}
    assert sizes_for("IRQ", "returnee", dt.date(2021, 2, 28), extra="").default is None
    extra = tmp_path / "sizes.csv"
    extra.write_text(
        "country,population,shelter,first_date,last_date,persons_per_family,dtm_rounds,source\n"
        "IRQ,idp,Camp,2020-08-31,2020-12-31,4,117-119,test\n"
        "IRQ,idp,Informalsettlements,2021-01-01,,5,120-,test\n",
        encoding="utf-8",
    )
    assert sizes_for("IRQ", "idp", dt.date(2020, 9, 1), extra=str(extra)).adjustments() == {"Camp": 2}
    # the extra row replaced the project's Camp row (same key), which then ended in 2020
    assert sizes_for("IRQ", "idp", dt.date(2021, 2, 28), extra=str(extra)).adjustments() == {"Informalsettlements": 1}


@pytest.mark.parametrize(
    "row, message",
    [
        ("IRQ,idp,Camp,2020-31-08,,5", "line 2: first_date must be YYYY-MM-DD, got '2020-31-08'"),
        ("IRQ,idp,Camp,2020-08-31,,five", "line 2: persons_per_family must be a whole number above 0"),
        ("IRQ,idp,,2020-08-31,,5", "line 2: country and shelter are required"),
        ("IRQ,idp,Camp,2020-08-31,2020-01-01,5", "line 2: last_date 2020-01-01 is before first_date"),
    ],
)
def test_bad_rule_files_name_file_line_and_column(tmp_path, row, message):
    bad = tmp_path / "bad.csv"
    bad.write_text("country,population,shelter,first_date,last_date,persons_per_family\n" + row + "\n")
    with pytest.raises(HouseholdSizeError) as err:
        read_rules(bad)
    assert str(bad) in str(err.value) and message in str(err.value)


def test_migration_fills_existing_rounds(iraq_fresh_engine):
    """A database whose rounds were aggregated before migration 0011 gets the published count
    from their stored rows: taken back to 0009 (the column dropped, and 0010's foreign keys
    back), then migrated to the head."""
    from alembic import command

    from service import db
    from service.ingest.rounds import import_masterlist

    engine = iraq_fresh_engine
    import_masterlist(engine, MASTERLISTS / FEB21, population="idp")
    import_masterlist(engine, MASTERLISTS / DEC17, population="idp")
    cfg = db.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    with engine.connect() as conn:
        columns = conn.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = 'unit_figure'")
        ).scalars()
        assert "published_individuals" not in set(columns)
    assert db.migrate(engine) == db.head_revision(engine)
    assert national(engine, "2021-02-28") == {
        "individuals": 1_243_278,
        "published_individuals": 1_205_767,
        "families": 207_213,
    }
    assert national(engine, "2017-12-31")["published_individuals"] == 2_615_988
    with engine.connect() as conn:
        sums = conn.execute(
            text(
                "SELECT level, sum(published_individuals) FROM unit_figure uf JOIN round r ON r.id = uf.round_id "
                "WHERE r.reporting_date = '2021-02-28' GROUP BY level"
            )
        ).all()
    assert {int(s) for _, s in sums} == {1_205_767}
    # the parser path (not the fast COPY path) stores the shelter under the same key
    res = import_masterlist(engine, MASTERLISTS / FEB21, population="idp", fast=False)
    assert res.staging == "python"
    assert national(engine, "2021-02-28")["published_individuals"] == 1_205_767


# ---------------------------------------------------------------------------- served


def test_choropleth_shows_which_count(figures_client):
    file_count = figures_client.get("/choropleth/1.geojson", params={"round": 120}).json()
    published = figures_client.get("/choropleth/1.geojson", params={"round": 120, "indicator": "published"}).json()
    assert "master list's own count" in file_count["round"]["counts"]
    assert published["round"]["indicator"] == "published"
    assert sum(f["properties"]["value"] for f in published["features"] if f["properties"]["value"]) == 1_205_767
    assert sum(f["properties"]["individuals"] or 0 for f in published["features"]) == 1_243_278
    assert sum(f["properties"]["value"] or 0 for f in file_count["features"]) == 1_243_278
    indicators = {i["key"]: i for i in figures_client.get("/indicators").json()}
    assert "DTM publishes" in indicators["published"]["description"]


def test_exports_and_ogc_carry_both_counts(figures_client, tmp_path):
    import pyogrio

    rows = figures_client.get("/exports/figures-adm1.csv", params={"round": 120}).content.decode("utf-8-sig")
    table = list(csv.DictReader(rows.splitlines()))
    assert table[0]["published_individuals"] == "#affected+idps+ind+published"  # the HXL row
    data = table[1:]
    assert sum(int(r["individuals"]) for r in data) == 1_243_278
    assert sum(int(r["published_individuals"]) for r in data) == 1_205_767
    gpkg = tmp_path / "adm2.gpkg"
    gpkg.write_bytes(figures_client.get("/exports/figures-adm2.gpkg", params={"round": 120}).content)
    df = pyogrio.read_dataframe(gpkg)
    assert int(df["published_individuals"].sum()) == 1_205_767 and int(df["individuals"].sum()) == 1_243_278
    shp = tmp_path / "adm2.shp.zip"
    shp.write_bytes(figures_client.get("/exports/figures-adm2.shp", params={"round": 86}).content)
    old = pyogrio.read_dataframe(shp)
    assert int(old["pub_ind"].sum()) == int(old["indiv"].sum()) == 2_615_988  # Dec 2017: no camp rule yet
    items = figures_client.get("/ogc/collections/idp-r120-adm1/items", params={"limit": 100}).json()
    assert sum(f["properties"]["published_individuals"] for f in items["features"]) == 1_205_767
    # Ninewa over time: both counts; Feb 2021 differs by the governorate's families in camps
    series = figures_client.get("/admin-units/IQG15/timeseries", params={"population": "idp"}).json()["series"]
    by_date = {p["reporting_date"][:10]: p for p in series}
    dec, feb = by_date["2017-12-31"], by_date["2021-02-28"]
    assert dec["published_individuals"] == dec["individuals"]
    shelter = figures_client.get("/admin-units/IQG15/breakdown", params={"round": 120}).json()
    camps = shelter["shelter"]["Camp"]
    assert camps > 0 and feb["published_individuals"] == feb["individuals"] - camps


def test_recount_after_the_rules_change(iraq_fresh_engine, tmp_path, monkeypatch):
    """``rounds recount`` applies changed rules to the rounds already imported; the file's own
    count stays as read."""
    from typer.testing import CliRunner

    import service.cli
    import service.cli.rounds
    from service.core.settings import get_settings
    from service.ingest.rounds import import_masterlist

    import_masterlist(iraq_fresh_engine, MASTERLISTS / FEB21, population="idp")
    monkeypatch.setattr(service.cli.rounds, "open_engine", lambda migrate=True: iraq_fresh_engine)
    extra = tmp_path / "sizes.csv"
    extra.write_text(
        "country,population,shelter,first_date,last_date,persons_per_family\nIRQ,idp,Camp,2020-08-31,,4\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DTM_ATLAS_HOUSEHOLD_SIZES", str(extra))
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke(service.cli.app, ["rounds", "recount"])
    finally:
        monkeypatch.delenv("DTM_ATLAS_HOUSEHOLD_SIZES")
        get_settings.cache_clear()
    assert run.exit_code == 0, run.output
    assert "1 rounds recounted, 1 changed" in run.output and "1,205,767" in run.output
    assert national(iraq_fresh_engine, "2021-02-28")["published_individuals"] == 1_243_278 - 2 * 37_511
    assert national(iraq_fresh_engine, "2021-02-28")["individuals"] == 1_243_278
    # back to the shipped rules
    again = CliRunner().invoke(service.cli.app, ["rounds", "recount"])
    assert again.exit_code == 0 and "1 changed" in again.output
    assert national(iraq_fresh_engine, "2021-02-28")["published_individuals"] == 1_205_767


def test_tiles_value_with_indicator_published(figures_client, figures_engine):
    """The governorate tiles' ``value`` is the published count with ``?indicator=published``;
    their ``individuals`` stay the file's."""
    from tests.tiles import IRAQ_BOUNDS, TMS, by_pcode, decode

    props: dict[str, dict] = {}
    for t in TMS.tiles(*IRAQ_BOUNDS, [5]):
        r = figures_client.get(f"/tiles/governorates/5/{t.x}/{t.y}.mvt?indicator=published&round=120")
        if r.status_code == 200:
            props.update(by_pcode(decode(r.content).get("governorates", [])))
    with figures_engine.connect() as conn:
        stored = dict(
            conn.execute(
                text(
                    "SELECT uf.pcode, uf.published_individuals FROM unit_figure uf JOIN round r ON r.id = uf.round_id "
                    "WHERE r.population = 'idp' AND r.round_number = 120 AND uf.level = 1 AND uf.pcode <> 'UNASSIGNED'"
                )
            ).all()
        )
    assert {p: v["value"] for p, v in props.items() if "value" in v} == stored
    assert sum(v["value"] for v in props.values() if "value" in v) == 1_205_767
    assert sum(v["individuals"] for v in props.values() if "individuals" in v) == 1_243_278


def test_unreadable_rules_reject_the_import_naming_them(iraq_fresh_engine, tmp_path):
    """A broken DTM_ATLAS_HOUSEHOLD_SIZES file (the settings' import rules): the import is
    rejected (nothing written) with a message naming the rules file and its line, not a traceback."""
    import pytest
    from sqlalchemy import text

    from service.core.settings import Settings
    from service.ingest.rounds import ImportRejected, import_masterlist

    bad = tmp_path / "sizes.csv"
    bad.write_text(
        "country,population,shelter,first_date,last_date,persons_per_family\nIRQ,idp,Camp,31/08/2020,,5\n",
        encoding="utf-8",
    )
    rules = Settings(household_sizes=bad).imports
    with pytest.raises(ImportRejected, match=r"household sizes cannot be read: .*sizes.csv, line 2"):
        import_masterlist(iraq_fresh_engine, MASTERLISTS / FEB21, population="idp", rules=rules)
    with iraq_fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM round")).scalar_one() == 0


def test_the_mismatch_flag_follows_the_rules(iraq_fresh_engine, tmp_path):
    """``individuals_mismatch`` checks the household sizes in force: a camp row counted at 5 per
    family is right from 31 Aug 2020 (the camp rule) and flagged before it; rows at 6 never."""
    from service.ingest.rounds import import_masterlist

    with open(MASTERLISTS / FEB21, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    fam, ind, camp = header.index("Families"), header.index("Individuals"), header.index("Camp")
    row = next(
        i for i, r in enumerate(rows[1:], 1) if r and float(r[camp] or 0) > 0 and float(r[fam]) == float(r[camp])
    )
    rows[row][ind] = str(float(rows[row][fam]) * 5)
    flagged = {}
    for date in ("Feb 28, 2021", "Jan 31, 2019"):
        path = tmp_path / f"list_{date[:3]}.csv"
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([r[:-1] + [date] if i and r else r for i, r in enumerate(rows)])
        res = import_masterlist(iraq_fresh_engine, path, population="idp")
        with iraq_fresh_engine.connect() as conn:
            flagged[date[-4:]] = (
                conn.execute(
                    text(
                        "SELECT source_row FROM location_figure "
                        "WHERE round_id = :r AND 'individuals_mismatch' = ANY(flags)"
                    ),
                    {"r": res.round_id},
                )
                .scalars()
                .all()
            )
    assert flagged["2021"] == []
    assert len(flagged["2019"]) == 1
