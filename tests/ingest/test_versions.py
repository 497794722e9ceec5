"""Imports never destroy a round: versions kept, suspicious lists held, restores byte-identical.

The real Feb 2021 IDP master list (round 120: 2,897 locations, 1,243,278 individuals) and the
same file cut at 418,905 bytes (as a broken download would be: 1,462 rows, the last one cut).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from service.ingest import guards
from service.ingest.rounds import import_masterlist
from service.ingest.versions import VersionError, history, resolve_key, restore
from tests.conftest import MASTERLISTS, client_for

FEB_2021 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
CUT_AT = 418_905


def _round_120(engine) -> tuple[int, int]:
    with engine.connect() as c:
        return tuple(
            c.execute(
                text(
                    "SELECT u.locations, u.individuals FROM round r JOIN unit_figure u ON u.round_id = r.id "
                    "AND u.level = 0 WHERE r.population = 'idp' AND r.round_number = 120"
                )
            ).one()
        )


def _exports(client) -> dict[str, bytes]:
    out = {}
    for url in (
        "/exports/locations.csv?round=120&population=idp",
        "/exports/figures-adm3.csv?round=120&population=idp",
        "/exports/figures-adm1.geojson?round=120&population=idp",
    ):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        # (a GeoJSON export says when it was made: the one byte range that may differ)
        out[url] = re.sub(rb'"exported_at":"[^"]*"', b'"exported_at":""', r.content)
    return out


def test_truncated_list_is_held_and_a_replaced_round_restores_byte_identically(iraq_fresh_engine, tmp_path):
    engine = iraq_fresh_engine
    first = import_masterlist(engine, FEB_2021, population="idp")
    assert (first.version, first.held) == (1, False)
    assert _round_120(engine) == (2897, 1_243_278)
    with client_for(engine) as client:
        before = _exports(client)

    cut = tmp_path / FEB_2021.name
    cut.write_bytes(FEB_2021.read_bytes()[:CUT_AT])
    held = import_masterlist(engine, cut, population="idp")
    assert held.held and held.version == 2
    assert "middle of a row" in held.held_reason and "fewer" in held.held_reason, held.held_reason
    assert _round_120(engine) == (2897, 1_243_278)  # the round that stood still stands
    with engine.connect() as c:
        log = c.execute(text("SELECT outcome, message, details FROM import_log ORDER BY id DESC LIMIT 1")).one()
        key = resolve_key(c, "120", "idp")
        states = [(v["version"], v["state"]) for v in history(c, key)]
    assert log.outcome == "held" and "held, not published" in log.message and log.details["version"] == 2
    assert states == [(1, "current"), (2, "held")]

    # an editor confirms the held list: it is published, version 1 kept
    done = restore(engine, key, None, username="editor")
    assert (done.version, done.superseded) == (2, 1)
    assert _round_120(engine)[0] == held.rows < 2897
    # and goes back: version 1 restored, exactly as it was
    back = restore(engine, key, 1)
    assert (back.round_id, back.superseded) == (first.round_id, 2)
    assert _round_120(engine) == (2897, 1_243_278)
    with client_for(engine) as client:
        after = _exports(client)
    for url in before:
        assert after[url] == before[url], f"{url} differs after the restore"
    with engine.connect() as c:
        states = [(v["version"], v["state"]) for v in history(c, key)]
        logged = c.execute(text("SELECT details FROM import_log WHERE kind = 'restore' ORDER BY id")).scalars().all()
    assert states == [(1, "current"), (2, "superseded")]
    assert [(d["restored_version"], d["superseded_version"], d["confirmed_held"]) for d in logged] == [
        (2, 1, True),
        (1, 2, False),
    ]
    with pytest.raises(VersionError, match="already the current"):
        restore(engine, key, 1)


def test_replacing_a_round_keeps_the_old_version_and_accept_shrink_publishes(iraq_fresh_engine, tmp_path):
    engine = iraq_fresh_engine
    import_masterlist(engine, FEB_2021, population="idp")
    lines = FEB_2021.read_bytes().splitlines(keepends=True)
    short = tmp_path / FEB_2021.name
    short.write_bytes(b"".join(lines[:1000]))  # whole rows: only the fall of the rows tells
    res = import_masterlist(engine, short, population="idp", accept_shrink=True)
    assert not res.held and res.superseded_version == 1 and res.version == 2
    assert _round_120(engine)[0] == 999
    with engine.connect() as c:
        key = resolve_key(c, "2021-02-28", "idp")
        states = [(v["version"], v["state"], v["rows"]) for v in history(c, key)]
        kept = c.execute(text("SELECT count(*) FROM location_figure_r1")).scalar()  # detached, kept
    assert states == [(1, "superseded", 2897), (2, "current", 999)]
    assert kept == 2897


def test_cli_history_restore_and_held_import(iraq_fresh_engine, tmp_path, monkeypatch):
    from service.cli import app

    engine = iraq_fresh_engine
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    from service.core.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    try:
        r = runner.invoke(app, ["import", "masterlist", str(FEB_2021), "--population", "idp"])
        assert r.exit_code == 0, r.output
        cut = tmp_path / FEB_2021.name
        data = FEB_2021.read_bytes()[:CUT_AT]
        cut.write_bytes(data[: data.rindex(b'"Feb 28') + 5])  # inside the quoted date of row 1,460
        r = runner.invoke(app, ["import", "masterlist", str(cut), "--population", "idp"])
        assert r.exit_code == 1
        assert "HELD, not published" in r.output and "quoted field" in r.output and "rounds confirm 120" in r.output
        assert _round_120(engine) == (2897, 1_243_278)
        r = runner.invoke(app, ["rounds", "history", "120", "--population", "idp"])
        assert r.exit_code == 0 and "confirm the held import" in r.output, r.output
        r = runner.invoke(app, ["rounds", "confirm", "120"])
        assert r.exit_code == 0 and "version 2 published" in r.output, r.output
        r = runner.invoke(app, ["rounds", "restore", "120", "--version", "1"])
        assert r.exit_code == 0 and "version 1 published" in r.output, r.output
        assert _round_120(engine) == (2897, 1_243_278)
        r = runner.invoke(app, ["rounds", "restore", "120", "--version", "7"])
        assert r.exit_code == 2 and "no version 7" in r.output
        r = runner.invoke(app, ["rounds", "prune"])
        assert r.exit_code == 0 and "1 superseded version deleted" in r.output, r.output
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    "body,why",
    [
        (b"a,b,c\n1,2,3\n4,5", "middle of a row"),
        (b'a,b,c\n1,2,"x\n', "quoted field"),
        (b'a,b,c\n1,2,"x, y"\n4,5,"Feb 28', "quoted field"),
        (b"a,b,c\n1,2,3\n4,5,6", None),  # no line break at the end, but a whole row
        (b"a,b,c\n1,2,3\n", None),
        (b'a,b,c\n1,"say ""hi""",3\n', None),
    ],
)
def test_truncation_is_found_from_the_bytes(tmp_path, body, why):
    path = tmp_path / "list.csv"
    path.write_bytes(body)
    found = guards.truncation(path)
    assert (found is None) if why is None else (why in found), found


def test_the_real_lists_are_not_suspicious():
    for f in MASTERLISTS.glob("*MasterList*.csv"):
        assert guards.truncation(f) is None, f
