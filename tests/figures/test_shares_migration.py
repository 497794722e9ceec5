"""Migration 0024 (issue 23, one convention): shares and relative changes are fractions in the
store. A database of the old convention (``change_pct`` 0-100, fragility completeness 0-100)
taken forward keeps every value, divided by 100, under the new names; taken back, the old."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import MASTERLISTS


def _changes(engine, column: str) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                text(
                    f"SELECT f.level || ' ' || f.pcode, f.{column} "
                    "FROM unit_figure f JOIN round r ON r.id = f.round_id "
                    f"WHERE r.reporting_date = '2021-02-28' AND f.{column} IS NOT NULL"
                )
            ).all()
        )


def test_change_pct_becomes_change_share_and_back(iraq_fresh_engine):
    from alembic import command

    from service import db
    from service.ingest.rounds import import_masterlist

    engine = iraq_fresh_engine
    import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv", population="idp")
    import_masterlist(engine, MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv", population="idp")
    shares = _changes(engine, "change_share")
    assert len(shares) > 100 and min(shares.values()) >= -1  # fractions: -1 is everyone left
    with engine.connect() as conn:  # the stored fraction is the change over the previous round's count
        ind, chg = conn.execute(
            text(
                "SELECT f.individuals, f.change_individuals FROM unit_figure f JOIN round r ON r.id = f.round_id "
                "WHERE r.reporting_date = '2021-02-28' AND f.level = 0"
            )
        ).one()
    assert shares[f"0 {_national(engine)}"] == pytest.approx(chg / (ind - chg), rel=1e-12)

    cfg = db.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0020")  # the revision before 0024
    pcts = _changes(engine, "change_pct")
    assert pcts.keys() == shares.keys()
    assert all(pcts[k] == pytest.approx(100 * v, rel=1e-12, abs=1e-12) for k, v in shares.items())

    assert db.migrate(engine) == db.head_revision(engine)
    again = _changes(engine, "change_share")
    assert all(again[k] == pytest.approx(v, rel=1e-12, abs=1e-15) for k, v in shares.items())


def _national(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pcode FROM unit_figure WHERE level = 0 LIMIT 1")).scalar_one()
