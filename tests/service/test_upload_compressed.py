"""``POST /rounds`` takes the compressed forms the CLI takes: a ``.csv.gz`` and a ``.zip``
holding one list; a zip without a list or with two, a corrupt gzip and a list over the size
limit once decompressed are clear 422s naming the file."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MASTERLISTS, cloned_engine, settings_for

FEB21 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
DEC17 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMDec_31_2017.csv"


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def upload_engine(pg_server, iraq_template):
    with cloned_engine(pg_server, iraq_template, "dtm_atlas_test_upload") as engine:
        yield engine


@pytest.fixture(scope="module")
def upload(upload_engine):
    from service.app import create_app
    from service.auth import create_token

    token = create_token(upload_engine, "editor", "upload test")
    with TestClient(create_app(settings_for(upload_engine, max_upload_mb=2), upload_engine)) as c:

        def post(name: str, data: bytes, **form):
            return c.post(
                "/rounds",
                files={"file": (name, data, "application/octet-stream")},
                data={"population": "idp", **form},
                headers={"authorization": f"Bearer {token}"},
            )

        yield post


def test_gzip_and_zip_uploads_import_the_list_they_hold(upload, upload_engine):
    r = upload("feb21.csv.gz", gzip.compress(FEB21.read_bytes()))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["round_number"], body["reporting_date"], body["rows"]) == (120, "2021-02-28", 2897)
    assert body["individuals"] == 1_243_278
    r = upload("dec17.zip", zipped({"lists/dec17.csv": DEC17.read_bytes(), "README.txt": b"notes"}))
    assert r.status_code == 201, r.text
    assert (r.json()["round_number"], r.json()["individuals"]) == (86, 2_615_988)
    from sqlalchemy import text

    with upload_engine.connect() as conn:
        logged = conn.execute(
            text("SELECT file_name FROM import_log WHERE outcome = 'committed' AND kind = 'masterlist' ORDER BY id")
        ).scalars()
        assert list(logged) == ["feb21.csv.gz", "dec17.zip"]


def flipped(data: bytes, at: int) -> bytes:
    """``data`` with a few bytes inverted from ``at`` on: a corrupt compressed stream."""
    out = bytearray(data)
    for i in range(at, at + 8):
        out[i] ^= 0xFF
    return bytes(out)


LIST = FEB21.read_bytes()[:200_000]


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.zip", zipped({"README.txt": b"no list here"}), "empty.zip: a .zip must hold exactly one"),
        ("two.zip", zipped({"a.csv": b"x", "b.xlsx": b"y"}), "two.zip: a .zip must hold exactly one"),
        ("broken.csv.gz", gzip.compress(b"Location ID,Families\n" * 50)[:-30], "broken.csv.gz: not a readable gzip"),
        ("plain.csv.gz", b"Location ID,Families\n1,2\n", "plain.csv.gz: not a readable gzip"),
        ("bad.zip", b"PK\x03\x04 not really", "bad.zip: not a readable zip"),
        ("flipped.csv.gz", flipped(gzip.compress(LIST), 2000), "flipped.csv.gz: not a readable gzip"),
        ("flipped.zip", flipped(zipped({"list.csv": LIST}), 2000), "flipped.zip: not a readable zip"),
    ],
)
def test_bad_compressed_uploads_are_clear_422s(upload, name, data, message):
    r = upload(name, data)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["status"] == 422 and message in body["detail"], body


def test_decompressed_size_is_limited(upload):
    # 3 MB of list in a few kB of gzip: refused once decompression passes the 2 MB limit
    bomb = gzip.compress(FEB21.read_bytes()[:1000] + b"0" * (3 * 1024 * 1024))
    assert len(bomb) < 100_000
    r = upload("bomb.csv.gz", bomb)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("bomb.csv.gz: the list it holds is over the size limit")
    assert "(2 MB) once decompressed" in r.json()["detail"]
    zip_bomb = zipped({"list.csv": FEB21.read_bytes()[:1000] + b"0" * (3 * 1024 * 1024)})
    r = upload("bomb.zip", zip_bomb)
    assert r.status_code == 422 and r.json()["detail"].startswith("bomb.zip: the list it holds is over")
