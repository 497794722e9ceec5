"""Uploads and imports that cannot exhaust the machine or destroy a round, over HTTP and the CLI:
the token before the body (no byte of an anonymous upload reaches the disk), the size limit
while streaming, uploads removed and swept, a held list answered 202 and confirmed by an
editor, a round being imported is a 409, zip bombs refused by the CLI in well under a second."""

from __future__ import annotations

import os
import socket
import threading
import time
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import MASTERLISTS, cloned_engine, settings_for

FEB21 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"


@pytest.fixture(scope="module")
def engine(pg_server, iraq_template):
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_safe") as engine:
        yield engine


@pytest.fixture(scope="module")
def token(engine):
    from service.auth import create_token

    return create_token(engine, "editor", "safe uploads")


def _empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def _app(engine, data_dir: Path, **overrides):
    from service.app import create_app

    return create_app(settings_for(engine, data_dir=data_dir, **overrides), engine)


def test_no_token_no_bytes_on_disk(engine, tmp_path):
    """A raw HTTP client announces 200 MB without a token: the 401 comes back after the first
    64 kB, and the uploads folder never holds a file."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(_app(engine, tmp_path), host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(
                b"POST /rounds HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\n"
                b'Content-Length: 200000000\r\n\r\n--B\r\nContent-Disposition: form-data; name="file"; '
                b'filename="big.csv"\r\n\r\n' + b"a,b,c\n" * 10_000
            )
            answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        uploads = tmp_path / "uploads"
        assert not uploads.exists() or not any(uploads.iterdir())
    finally:
        server.should_exit = True
        thread.join(10)


def test_over_the_limit_is_a_413_and_nothing_is_left(engine, token, tmp_path):
    with TestClient(_app(engine, tmp_path, max_upload_mb=1)) as c:
        r = c.post(
            "/rounds",
            files={"file": ("big.csv", b"a,b,c\n" * 400_000)},
            data={"population": "idp"},
            headers={"authorization": f"Bearer {token}"},
        )
    assert r.status_code == 413 and "size limit of 1 MB" in r.json()["detail"]
    assert _empty(tmp_path / "uploads")


def test_left_over_uploads_of_dead_processes_are_swept(engine, tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    dead = folder / "upload-999999999-abc.csv"  # (no such process)
    mine = folder / f"upload-{os.getpid()}-def.csv"
    dead.write_bytes(b"x")
    mine.write_bytes(b"x")
    _app(engine, tmp_path)
    assert not dead.exists() and mine.exists()


def test_held_upload_is_202_and_an_editor_confirms_and_restores(engine, token, tmp_path):
    auth = {"authorization": f"Bearer {token}"}
    with TestClient(_app(engine, tmp_path)) as c:
        r = c.post(
            "/rounds", files={"file": (FEB21.name, FEB21.read_bytes())}, data={"population": "idp"}, headers=auth
        )
        assert r.status_code == 201 and r.json()["rows"] == 2897, r.text
        lines = FEB21.read_bytes().splitlines(keepends=True)
        r = c.post(
            "/rounds", files={"file": ("feb21.csv", b"".join(lines[:1400]))}, data={"population": "idp"}, headers=auth
        )
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["held"] and "HELD, not published" in body["message"] and "fewer" in body["message"]
        assert body["confirm"] == "/rounds/120/confirm?population=idp"
        assert c.get("/rounds?population=idp").json()[0]["locations"] == 2897
        assert c.get("/rounds/120/history").status_code == 401
        h = c.get("/rounds/120/history", headers=auth).json()
        assert [(v["version"], v["state"]) for v in h["versions"]] == [(1, "current"), (2, "held")]
        r = c.post(body["confirm"], headers=auth)
        assert r.status_code == 200 and r.json()["superseded_version"] == 1, r.text
        assert c.get("/rounds?population=idp").json()[0]["locations"] == 1399
        assert c.post("/rounds/120/confirm", headers=auth).status_code == 409  # nothing held now
        r = c.post("/rounds/120/restore?version=1", headers=auth)
        assert r.status_code == 200 and r.json()["version"] == 1
        assert c.get("/rounds?population=idp").json()[0]["locations"] == 2897
        assert c.post("/rounds/120/restore?version=9", headers=auth).status_code == 404
        assert c.get("/rounds/" + "9" * 11 + "/history", headers=auth).status_code in (400, 404)

        # a round being imported elsewhere: 409 at once, the round that stands unchanged
        with engine.connect() as other:
            other.execute(text("BEGIN"))
            other.execute(text("SELECT pg_advisory_xact_lock(hashtext('round:IRQ:idp:2021-02-28'))"))
            r = c.post(
                "/rounds", files={"file": (FEB21.name, FEB21.read_bytes())}, data={"population": "idp"}, headers=auth
            )
            other.execute(text("ROLLBACK"))
        assert r.status_code == 409 and "in progress" in r.json()["detail"]
        r = c.post(
            "/rounds", files={"file": ("x.csv", b"a")}, data={"population": "idp", "round": "9" * 4301}, headers=auth
        )
        assert r.status_code == 400 and "round" in r.json()["detail"]
    assert _empty(tmp_path / "uploads")


def _bomb(path: Path, megabytes: int) -> None:
    header = FEB21.read_bytes().split(b"\n", 1)[0] + b"\n"
    row = b"," * header.count(b",") + b"\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("list.csv", "w") as out:
        out.write(header)
        block = row * ((1 << 20) // len(row) + 1)
        for _ in range(megabytes):
            out.write(block)


def test_zip_bomb_is_refused_by_the_cli_at_once(engine, tmp_path, monkeypatch):
    import resource

    from typer.testing import CliRunner

    from service.cli import app
    from service.core.settings import get_settings

    bomb = tmp_path / "bomb.zip"
    _bomb(bomb, 200)  # ~200 MB of empty rows in a few hundred kB
    assert bomb.stat().st_size < 2 * 2**20
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        r = CliRunner().invoke(app, ["import", "masterlist", str(bomb), "--population", "idp"])
        seconds = time.perf_counter() - t
        grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 2 and "decompression bomb" in r.output, r.output
    assert seconds < 1.0 and grown_mb < 50, (seconds, grown_mb)


def test_a_long_line_is_refused_naming_it(engine, tmp_path):
    from service.ingest.rounds import import_masterlist
    from service.ingest.stage import MasterlistError

    f = tmp_path / "wide.csv"
    f.write_bytes(b"Location ID," + b"x" * (1 << 20) + b"\n1,2\n")
    t = time.perf_counter()
    with pytest.raises(MasterlistError, match="line 1 is 1,048,588 bytes long") as e:
        import_masterlist(engine, f, population="idp")
    assert time.perf_counter() - t < 1 and len(str(e.value)) < 300
