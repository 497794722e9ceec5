"""A history of rounds: compressed lists, several files in one command, rounds named by their
date (DTM's number from the calendar, or none), the 12-month change."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import zipfile

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from service.ingest.batch import import_many
from service.ingest.calendar import round_number_for
from service.ingest.masterlist import MasterlistError
from service.ingest.rounds import import_masterlist
from tests.conftest import MASTERLISTS

FEB21 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"


def dated(tmp_path, name: str, date: str):
    """The Feb 2021 list under another reporting date (the file's date column rewritten)."""
    path = tmp_path / name
    path.write_text(FEB21.read_text(encoding="utf-8").replace("Feb 28, 2021", date), encoding="utf-8")
    return path


def test_calendar_numbers_exact_dates_only():
    assert round_number_for("IRQ", "idp", dt.date(2017, 12, 31)) == 86
    assert round_number_for("IRQ", "returnee", dt.date(2021, 2, 28)) == 120
    assert round_number_for("IRQ", "idp", dt.date(2019, 6, 29)) is None
    assert round_number_for("XXX", "idp", dt.date(2021, 2, 28)) is None


def test_gzip_and_zip_read_as_the_list_they_hold(iraq_fresh_engine, tmp_path):
    gz = tmp_path / (FEB21.name + ".gz")
    with open(FEB21, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    res = import_masterlist(iraq_fresh_engine, gz, population="idp")
    assert (res.round_number, res.rows, res.individuals, res.file) == (120, 2897, 1_243_278, gz.name)
    # the same bytes uncompressed: unchanged, not imported again
    (out,) = import_many(iraq_fresh_engine, [FEB21], population="idp")
    assert out.outcome == "unchanged" and out.round_number == 120
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.write(FEB21, "a.csv")
        zf.write(FEB21, "b.csv")
    with pytest.raises(MasterlistError, match=r"two.zip: a .zip must hold exactly one"):
        import_masterlist(iraq_fresh_engine, two, population="idp")
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w") as zf:
        zf.write(dated(tmp_path, "m.csv", "Mar 31, 2021"), "march.csv")
    res = import_masterlist(iraq_fresh_engine, one, population="idp")
    assert res.reporting_date == dt.date(2021, 3, 31) and res.round_number is None and res.rows == 2897


def test_a_batch_goes_on_past_bad_files(iraq_fresh_engine, tmp_path):
    good = dated(tmp_path, "a_good.csv", "Jan 31, 2020")
    same_day = dated(tmp_path, "b_same_day.csv", "Jan 31, 2020")
    same_day.write_text(same_day.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # other bytes
    not_a_list = tmp_path / "c_notes.csv"
    not_a_list.write_text("title,remarks\nhello,world\n", encoding="utf-8")
    empty = tmp_path / "d_empty.csv"
    empty.write_text("", encoding="utf-8")
    future = dated(tmp_path, "e_future.csv", (dt.date.today() + dt.timedelta(days=40)).strftime("%b %d, %Y"))
    ancient = dated(tmp_path, "f_ancient.csv", "Jan 31, 2003")
    before = _rounds(iraq_fresh_engine)
    outcomes = import_many(iraq_fresh_engine, [good, same_day, not_a_list, empty, future, ancient], population="idp")
    got = {o.file: (o.outcome, o.message or "") for o in outcomes}
    assert got["a_good.csv"][0] == "imported"
    assert got["b_same_day.csv"][0] == "rejected" and "also the date of a_good.csv" in got["b_same_day.csv"][1]
    assert got["c_notes.csv"][0] == "rejected" and "c_notes.csv" in got["c_notes.csv"][1]
    assert got["d_empty.csv"][0] == "rejected" and "empty" in got["d_empty.csv"][1]
    assert got["e_future.csv"][0] == "rejected" and "--allow-future-date" in got["e_future.csv"][1]
    assert got["f_ancient.csv"][0] == "rejected" and "before 2004" in got["f_ancient.csv"][1]
    assert _rounds(iraq_fresh_engine) == before + [dt.date(2020, 1, 31)]  # nothing of the rejected files
    (late,) = import_many(iraq_fresh_engine, [future], population="idp", allow_future_date=True)
    assert late.outcome == "imported"


def test_each_file_of_a_history_is_decompressed_and_hashed_once(iraq_fresh_engine, tmp_path, monkeypatch):
    """One opening per file serves the 'already imported' check and the import: the list is
    decompressed once, hashed on the way, never read again for its checksum; a file that
    cannot be opened is rejected and logged once."""
    from service.ingest import sources

    decompressed: list[str] = []
    hashed_again: list[str] = []
    copy_limited, sha256_of = sources._copy_limited, sources.sha256_of

    def counting_copy(src, dst, name, max_bytes, compressed=None):
        decompressed.append(name)
        return copy_limited(src, dst, name, max_bytes, compressed)

    def counting_sha(path):
        hashed_again.append(path.name)
        return sha256_of(path)

    monkeypatch.setattr(sources, "_copy_limited", counting_copy)
    monkeypatch.setattr(sources, "sha256_of", counting_sha)
    series = MASTERLISTS / "series" / "idp"
    files = [series / f"IDPs_MasterList_dataset_DTM_IOM{n}.csv.gz" for n in ("May_01_2014", "Jul_02_2014")]
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(files[0].read_bytes()[:-40])
    outcomes = import_many(iraq_fresh_engine, [*files, broken], population="idp", workers=2)
    assert [o.outcome for o in outcomes] == ["imported", "imported", "rejected"]
    assert "broken.csv.gz: not a readable gzip" in outcomes[2].message
    assert sorted(decompressed) == sorted([f.name for f in files] + [broken.name]) and hashed_again == []
    again = import_many(iraq_fresh_engine, files, population="idp")
    assert [o.outcome for o in again] == ["unchanged", "unchanged"] and hashed_again == []
    with iraq_fresh_engine.connect() as c:
        logged = c.execute(
            text("SELECT outcome, count(*) FROM import_log WHERE file_name = :f GROUP BY 1"), {"f": broken.name}
        ).all()
    assert logged == [("rejected", 1)]


def test_a_batch_refreshes_the_aggregates_statistics_once(iraq_fresh_engine, monkeypatch):
    """A history refreshes ``unit_figure``'s planner statistics once, when it ends (stale after
    each file of a small table: one ANALYZE per file before); a file alone still refreshes them."""
    from service.figures import aggregate

    analyzed: list[int] = []
    analyze = aggregate.analyze_unit_figure

    def counting(conn):
        analyzed.append(1)
        analyze(conn)

    monkeypatch.setattr(aggregate, "analyze_unit_figure", counting)
    series = MASTERLISTS / "series" / "idp"
    files = [
        series / f"IDPs_MasterList_dataset_DTM_IOM{n}.csv.gz" for n in ("May_01_2014", "Jul_02_2014", "Jul_31_2014")
    ]
    outcomes = import_many(iraq_fresh_engine, files, population="idp", workers=2)
    assert [o.outcome for o in outcomes] == ["imported"] * 3 and len(analyzed) == 1
    with iraq_fresh_engine.connect() as c:
        n_live = c.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'unit_figure'::regclass")).scalar()
        rows = c.execute(text("SELECT count(*) FROM unit_figure")).scalar()
    assert n_live == rows  # (the statistics count every row of the three rounds)
    import_masterlist(iraq_fresh_engine, FEB21, population="idp")
    assert len(analyzed) == 2


def _rounds(engine) -> list[dt.date]:
    with engine.connect() as c:
        return list(c.execute(text("SELECT reporting_date FROM round ORDER BY reporting_date")).scalars())


def test_change_over_twelve_months(iraq_fresh_engine, tmp_path):
    year_ago = dated(tmp_path, "y.csv", "Feb 29, 2020")
    half_year = dated(tmp_path, "h.csv", "Aug 31, 2020")
    # imported out of date order: the later rounds' references follow
    for path in (FEB21, half_year, year_ago):
        import_masterlist(iraq_fresh_engine, path, population="idp")
    with iraq_fresh_engine.connect() as c:
        rows = {
            d: (prev, ref, chg12)
            for d, prev, ref, chg12 in c.execute(
                text(
                    "SELECT r.reporting_date, p.reporting_date, q.reporting_date, f.change_12m_individuals "
                    "FROM unit_figure f JOIN round r ON r.id = f.round_id "
                    "LEFT JOIN round p ON p.id = f.prev_round_id LEFT JOIN round q ON q.id = f.ref12_round_id "
                    "WHERE f.level = 0"
                )
            )
        }
    feb20, aug20, feb21 = dt.date(2020, 2, 29), dt.date(2020, 8, 31), dt.date(2021, 2, 28)
    assert rows[feb21] == (aug20, feb20, 0)  # the same figures a year apart
    assert rows[aug20] == (feb20, None, None)  # no round within two months of a year before
    assert rows[feb20] == (None, None, None)


def test_cli_imports_several_files_with_a_table_and_an_exit_status(iraq_fresh_engine, tmp_path, monkeypatch):
    import service.cli
    import service.cli.imports

    monkeypatch.setattr(service.cli.imports, "open_engine", lambda migrate=True: iraq_fresh_engine)
    folder = tmp_path / "lists"
    folder.mkdir()
    with open(dated(tmp_path, "x.csv", "Apr 30, 2020"), "rb") as src, gzip.open(folder / "apr.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    shutil.copy(dated(tmp_path, "x2.csv", "May 31, 2020"), folder / "may.csv")
    (folder / "junk.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    run = CliRunner().invoke(
        service.cli.app, ["import", "masterlist", str(folder), "--population", "idp"], catch_exceptions=False
    )
    assert run.exit_code == 1, run.output  # some imported, one rejected
    assert "2 imported, 0 unchanged, 1 rejected" in run.output
    again = CliRunner().invoke(service.cli.app, ["import", "masterlist", str(folder / "*.gz"), "--population", "idp"])
    assert again.exit_code == 0 and "0 imported" not in again.output and "unchanged" in again.output
    none = CliRunner().invoke(
        service.cli.app, ["import", "masterlist", str(folder / "junk.csv"), "--population", "idp"]
    )
    assert none.exit_code == 2 and "nothing was imported" in none.output


def test_cli_reads_name_a_round_by_its_date(iraq_fresh_engine, tmp_path, monkeypatch):
    """``--round`` on the CLI's reads (export, tiles export) takes a reporting date, so a round
    DTM's calendar does not number can be exported; a bad value is a clear error."""
    import service.cli
    import service.cli.export
    import service.cli.tiles

    series = MASTERLISTS / "series" / "idp" / "IDPs_MasterList_dataset_DTM_IOMJul_31_2014.csv.gz"
    res = import_masterlist(iraq_fresh_engine, series, population="idp")
    assert res.round_number is None
    for module in (service.cli.export, service.cli.tiles):
        monkeypatch.setattr(module, "open_engine", lambda migrate=True: iraq_fresh_engine)
    runner = CliRunner()
    out = runner.invoke(
        service.cli.app, ["export", "figures-adm1", "-f", "csv", "--round", "2014-07-31", "-o", str(tmp_path)]
    )
    assert out.exit_code == 0, out.output
    (csv_file,) = tmp_path.glob("*.csv")
    assert "20140731" in csv_file.name and "None" not in csv_file.name
    rows = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) > 3
    out = runner.invoke(
        service.cli.app, ["tiles", "export", str(tmp_path / "jul.pmtiles"), "--round", "2014-07-31", "--max-zoom", "2"]
    )
    assert out.exit_code == 0, out.output
    assert "2014-07-31" in out.output and "None" not in out.output
    bad = runner.invoke(service.cli.app, ["export", "figures-adm1", "-f", "csv", "--round", "last-week"])
    assert bad.exit_code == 2 and "--round" in bad.output and "YYYY-MM-DD" in bad.output
