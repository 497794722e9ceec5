"""Files imported side by side (``import_many(workers=...)``, ``import masterlist --jobs``)
end as if imported one by one: the same rounds, figures and changes, no lock waits that
deadlock, a round replaced while others import, and of two files with one date always the
first in the command's order imported."""

from __future__ import annotations

import datetime as dt
import gzip
import threading

from sqlalchemy import text

from service.figures import placement
from service.figures.aggregate import refresh_changes
from service.ingest.batch import import_many
from tests.conftest import MASTERLISTS

SERIES = MASTERLISTS / "series" / "idp"
# small 2014 rounds, and two of 2015 a year after two of them (change over twelve months)
NAMES = [
    "May_01_2014",
    "Jul_02_2014",
    "Jul_31_2014",
    "Sep_01_2014",
    "Sep_28_2014",
    "Oct_26_2014",
    "Jul_02_2015",
    "Jul_30_2015",
]
FILES = [SERIES / f"IDPs_MasterList_dataset_DTM_IOM{n}.csv.gz" for n in NAMES]

_FIGURES = """
    SELECT r.reporting_date, f.level, f.pcode, f.families, f.individuals, f.locations,
           pr.reporting_date AS prev_date, f.prev_individuals, f.change_individuals, f.change_share,
           rr.reporting_date AS ref12_date, f.individuals_12m_ago, f.change_12m_individuals, f.share_national
    FROM unit_figure f JOIN round r ON r.id = f.round_id
    LEFT JOIN round pr ON pr.id = f.prev_round_id LEFT JOIN round rr ON rr.id = f.ref12_round_id
    ORDER BY 1, 2, 3
"""


def _figures(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(_FIGURES))]


def _partitions_and_rounds(engine) -> tuple[list[str], list[str], int]:
    with engine.connect() as conn:
        parts = (
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'location_figure'::regclass ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )
        tables = (
            conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relname ~ '^location_figure_r[0-9]+$' AND relkind = 'r' "
                    "ORDER BY 1"
                )
            )
            .scalars()
            .all()
        )
        rounds = conn.execute(text("SELECT count(*) FROM round")).scalar_one()
    return parts, tables, rounds


def test_side_by_side_equals_one_by_one(iraq_fresh_engine, monkeypatch):
    engine = iraq_fresh_engine
    files = [FILES[i] for i in (0, 1, 2, 3, 6, 7)]
    # three at a time, and each three reach their turns together, none committed yet (a
    # barrier before the turn): each import's turn must see the rounds committed in the turns
    # before it, and make right the changes they made stale; newest first, so rounds commit
    # out of date order
    barrier = threading.Barrier(3, timeout=120)
    take_turn = placement.lock_partitions

    def together(conn):
        barrier.wait()
        take_turn(conn)

    monkeypatch.setattr(placement, "lock_partitions", together)
    outcomes = import_many(engine, list(reversed(files)), population="idp", workers=3)
    assert [o.outcome for o in outcomes] == ["imported"] * len(files), [o.message for o in outcomes]
    side_by_side = _figures(engine)
    # what one-by-one imports would have left: every change computed again over all rounds
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE unit_figure SET prev_round_id = NULL, prev_individuals = NULL, change_individuals = NULL, "
                "change_share = NULL, ref12_round_id = NULL, individuals_12m_ago = NULL, "
                "change_12m_individuals = NULL, change_12m_share = NULL"
            )
        )
        refresh_changes(conn, "IRQ", "idp")
    assert _figures(engine) == side_by_side
    dates = sorted({row[0] for row in side_by_side})
    assert len(dates) == len(files)
    national = {row[0]: row for row in side_by_side if row[1] == 0}
    assert national[dates[1]][6] == dates[0]  # previous round by date
    assert national[dt.date(2015, 7, 2)][10] == dt.date(2014, 7, 2)  # a year earlier
    # each round's totals are its file's
    for o in outcomes:
        assert national[o.reporting_date][4] == o.result.individuals
    parts, tables, rounds = _partitions_and_rounds(engine)
    assert len(parts) == len(tables) == rounds == len(files)


def test_a_round_replaced_while_others_import(iraq_fresh_engine, tmp_path):
    engine = iraq_fresh_engine
    import_many(engine, FILES[:3], population="idp")
    # Jul 02 2014 again with other bytes (one location's families doubled), beside new rounds
    with gzip.open(FILES[1], "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    header = lines[0].split(",")
    cells = lines[1].split(",")
    fam, ind = header.index("Families"), header.index("Individuals")
    added = float(cells[fam])
    cells[fam], cells[ind] = str(2 * added), str(2 * float(cells[ind]))
    lines[1] = ",".join(cells)
    again = tmp_path / FILES[1].name.replace(".gz", "")
    again.write_text("\n".join(lines), encoding="utf-8")
    before = {r[0]: r for r in _figures(engine) if r[1] == 0}
    outcomes = import_many(engine, [FILES[3], again, FILES[4], FILES[5]], population="idp", workers=3)
    assert [o.outcome for o in outcomes] == ["imported"] * 4, [o.message for o in outcomes]
    after = {r[0]: r for r in _figures(engine) if r[1] == 0}
    jul = dt.date(2014, 7, 2)
    assert after[jul][3] == before[jul][3] + added
    assert after[dt.date(2014, 7, 31)][7] == after[jul][4]  # the next round's change is against the new figures
    parts, tables, rounds = _partitions_and_rounds(engine)
    assert len(parts) == rounds == 6  # the replaced round is no longer a partition
    # its table is kept, detached, as a superseded version (service.ingest.versions), until pruned
    assert len(tables) == 7 and len(set(tables) - set(parts)) == 1


def test_two_files_of_one_date_the_first_is_imported(iraq_fresh_engine, tmp_path):
    engine = iraq_fresh_engine
    copy = tmp_path / "copy_of_sep_01.csv"
    with gzip.open(FILES[3], "rt", encoding="utf-8") as fh:
        copy.write_text(fh.read() + "\n", encoding="utf-8")  # other bytes, same date
    # the copy is small and starts at once beside the first: it must still lose, every time
    outcomes = import_many(engine, [FILES[3], copy, FILES[4]], population="idp", workers=3)
    got = {o.file: o for o in outcomes}
    assert got[FILES[3].name].outcome == "imported"
    assert got[copy.name].outcome == "rejected" and f"also the date of {FILES[3].name}" in got[copy.name].message
    assert got[FILES[4].name].outcome == "imported"


def test_the_same_list_twice_in_one_command_is_unchanged(iraq_fresh_engine):
    """The list at the top of the shared folder and its twin in series/ (gzip), side by side:
    one round, the other file 'unchanged'."""
    top = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv"
    twin = SERIES / (top.name + ".gz")
    outcomes = import_many(iraq_fresh_engine, [twin, top], population="idp", workers=2)
    assert [o.outcome for o in outcomes] == ["imported", "unchanged"], [o.message for o in outcomes]
    assert outcomes[1].message == f"the same list as {twin.name}"
    with iraq_fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM round")).scalar_one() == 1
