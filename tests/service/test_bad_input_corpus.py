"""The bad-input corpus: every hostile or careless input of the reliability issue, generated small
in tmp_path, through the path an IM officer or a client takes (the CLI, the HTTP API). Each
case must end in a clear message naming the file (and row or field where there is one) and
leave the published data exactly as it was: round 120 (Feb 2021, real) keeps 2,897 locations
and 1,243,278 IDPs, and no round, figure, boundary or data version changes.
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.conftest import COD_AB, MASTERLISTS, client_for

FEB_2021 = MASTERLISTS / "IDPs_MasterList_dataset_DTM_IOMFeb_28_2021.csv"
ADM1 = COD_AB / "irq_admbnda_adm1_cso_20190603.geojson"
NAME = "irq_idp_feb2021.csv"


@pytest.fixture(scope="module")
def corpus_env(pg_server, round120_template):
    """A database of the module's own: Iraq's boundaries and round 120 (Feb 2021), cloned."""
    from tests.conftest import cloned_engine

    with cloned_engine(pg_server, round120_template, "dtm_atlas_test_corpus") as engine:
        yield engine


@pytest.fixture(scope="module")
def corpus_client(corpus_env):
    """One app over the module's database for every HTTP case."""
    with client_for(corpus_env) as client:
        yield client


def published(engine) -> str:
    """What readers see: the data version, the rounds, each round's national figures, the
    boundary sets and their units' geometry."""
    with engine.connect() as c:
        parts = [
            c.execute(text("SELECT version FROM data_version")).scalar(),
            c.execute(
                text(
                    "SELECT array_agg((r.id, r.round_number, r.population, r.reporting_date, u.locations, "
                    "u.individuals)::text ORDER BY r.id) FROM round r JOIN unit_figure u ON u.round_id = r.id "
                    "AND u.level = 0"
                )
            ).scalar(),
            c.execute(
                text("SELECT array_agg((id, revision, is_current)::text ORDER BY id) FROM boundary_set")
            ).scalar(),
            c.execute(
                text("SELECT md5(string_agg(ST_AsBinary(geom), ''::bytea ORDER BY id)) FROM admin_unit")
            ).scalar(),
        ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _round_120(engine):
    with engine.connect() as c:
        return tuple(
            c.execute(
                text(
                    "SELECT u.locations, u.individuals FROM round r JOIN unit_figure u ON u.round_id = r.id "
                    "AND u.level = 0 WHERE r.population = 'idp' AND r.round_number = 120"
                )
            ).one()
        )


# ------------------------------------------------------------------------- the corpus
def truncated(tmp: Path) -> Path:
    p = tmp / NAME
    p.write_bytes(FEB_2021.read_bytes()[:418_905])  # a broken download: 1,462 rows, the last cut
    return p


def cut_in_quote(tmp: Path) -> Path:
    data = FEB_2021.read_bytes()[:418_905]
    p = tmp / NAME
    p.write_bytes(data[: data.rindex(b'"Feb 28') + 5])  # inside a quoted date
    return p


def zip_bomb(tmp: Path) -> Path:
    header = FEB_2021.read_bytes().split(b"\n", 1)[0] + b"\n"
    p = tmp / "irq_idp_feb2021.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z, z.open(NAME, "w", force_zip64=True) as out:
        out.write(header)
        block = b",,,,,,,,,,,,,,,,,,,,\n" * 50_000  # ~1 MB
        for _ in range(12):  # 12 MB decompressed, over the 5 MB limit set below
            out.write(block)
    return p


def formulas(tmp: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(
        [
            "Location ID",
            "Governorate",
            "District",
            "Location Name",
            "Latitude",
            "Longitude",
            "Families",
            "Individuals",
            "date",
        ]
    )
    for i in range(3):
        ws.append([1101001 + i, "Anbar", "Falluja", f"Place {i}", 33.3, 43.7, 10 + i, f"=G{i + 2}*6", "Feb 28, 2021"])
    p = tmp / "irq_idp_feb2021.xlsx"
    wb.save(p)  # formulas with no cached values, as a script writes them
    return p


def duplicate_header(tmp: Path) -> Path:
    lines = FEB_2021.read_text(encoding="utf-8").split("\n")[:50]
    lines[0] = lines[0].replace("Individuals", "Families", 1)
    p = tmp / NAME
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def huge_header(tmp: Path) -> Path:
    p = tmp / NAME
    p.write_bytes(b"Location ID," + b"x" * (10 << 20) + b"\n1,2\n")  # a 10 MB header line
    return p


def no_crs_geojson(tmp: Path) -> Path:
    import geopandas as gpd

    frame = gpd.read_file(ADM1).head(2).to_crs(32638)
    frame["geometry"] = frame.geometry.simplify(1000)
    for col in frame.columns:
        if str(frame[col].dtype).startswith("datetime"):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    doc = json.loads(frame.to_json(drop_id=True))
    doc.pop("crs", None)
    p = tmp / "irq_adm1_utm.geojson"
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def same_valid_on(tmp: Path) -> Path:
    doc = json.loads(ADM1.read_text(encoding="utf-8"))
    geom = doc["features"][0]["geometry"]
    ring = geom["coordinates"][0][0] if geom["type"] == "MultiPolygon" else geom["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]
    p = tmp / ADM1.name
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


CLI_CASES = {  # case: (make, command, exit code, phrases the message must hold)
    "truncated list": (truncated, "masterlist", 1, [NAME, "HELD, not published", "middle of a row"]),
    "cut inside a quote": (cut_in_quote, "masterlist", 1, [NAME, "HELD, not published", "quoted field"]),
    "zip bomb": (zip_bomb, "masterlist", 2, ["irq_idp_feb2021.zip", "MB"]),
    "formulas without values": (formulas, "masterlist", 2, ["irq_idp_feb2021.xlsx", "formulas without values", "H2"]),
    "duplicate headers": (duplicate_header, "masterlist", 2, [NAME, "'Families' in columns"]),
    "10 MB header": (huge_header, "masterlist", 2, [NAME, "line 1", "DTM_ATLAS_MAX_ROW_KB"]),
    "no-CRS GeoJSON": (no_crs_geojson, "boundaries", 2, ["irq_adm1_utm.geojson", "not longitude/latitude", "--crs"]),
    "same validOn, other geometry": (same_valid_on, "boundaries", 1, [ADM1.name, "--replace", "database unchanged"]),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_refuses_or_holds_and_publishes_nothing(case, corpus_env, tmp_path, monkeypatch):
    from service.cli import app
    from service.core.settings import get_settings

    make, command, code, phrases = CLI_CASES[case]
    path = make(tmp_path)
    monkeypatch.setenv("DATABASE_URL", corpus_env.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DTM_ATLAS_MAX_LIST_MB", "5")
    get_settings.cache_clear()
    before = published(corpus_env)
    args = ["import", "masterlist", str(path), "--population", "idp"]
    if command == "boundaries":
        args = ["boundaries", "import", str(path)]
    try:
        started = time.monotonic()
        r = CliRunner().invoke(app, args)
        took = time.monotonic() - started
    finally:
        get_settings.cache_clear()
    out = " ".join(r.output.split())
    assert r.exit_code == code, (case, r.exit_code, r.output[-2000:])
    for phrase in phrases:
        assert phrase in out, (case, phrase, out[-2000:])
    assert "Traceback" not in r.output and len(r.output) < 20_000  # nothing echoed back whole
    assert published(corpus_env) == before and _round_120(corpus_env) == (2897, 1_243_278)
    assert took < 30, f"{case}: {took:.1f} s"


def test_a_stray_latin1_byte_keeps_the_arabic_and_names_the_cell(tmp_path):
    from service.ingest.masterlist import parse_masterlist

    lines = FEB_2021.read_bytes().split(b"\n")[:200]
    lines[5] = lines[5].replace(b",", b",Caf\xe9 ", 5).replace(b",Caf\xe9 ", b",", 4)
    p = tmp_path / NAME
    p.write_bytes(b"\n".join(lines) + b"\n")
    got = parse_masterlist(p, "idp")
    assert any("\u0639" in (r["name_ar"] or "") for r in got.records)  # Arabic, not cp1256 mojibake
    assert not any("ط¹" in (r["name_ar"] or "") for r in got.records)
    bad = [i for i in got.issues if i.code == "undecodable_bytes"]
    assert len(bad) == 1 and bad[0].row == 6 and "not UTF-8" in bad[0].message, bad


HTTP_CASES = {  # case: (url, status, phrases)
    "huge ?round=": ("/choropleth/2.geojson?round=" + "9" * 5000, 400, ["round", "out of range"]),
    "huge ?round= on /rounds/{ref}": ("/rounds/" + "1" * 150, 400, ["ref"]),
    "long path name": ("/static/" + "a" * 256 + ".js", 404, ["path segment", "200 bytes"]),
    "long glyph range": ("/glyphs/Noto%20Sans/" + "1" * 300 + ".pbf", 404, ["path segment"]),
}


@pytest.mark.parametrize("case", list(HTTP_CASES))
def test_http_answers_a_clear_4xx_and_changes_nothing(case, corpus_env, corpus_client):
    url, status, phrases = HTTP_CASES[case]
    before = published(corpus_env)
    r = corpus_client.get(url)
    assert r.status_code == status, (case, r.status_code, r.text[:500])
    body = r.json()
    assert body["status"] == status and len(body["detail"]) < 1000
    for phrase in phrases:
        assert phrase in body["detail"], (case, phrase, body["detail"])
    assert published(corpus_env) == before
