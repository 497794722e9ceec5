"""Bad input: a clear error naming file, row and column; nothing stored (the database unchanged,
the rejection logged). New datasets are not public until an editor publishes them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from service.indicators.errors import IndicatorFileError
from service.indicators.store import import_dataset, set_access

GOOD = "SiteID,Site Name,Country_Code,State_Pcode,Latitude,Longitude,Number of Individuals,WASH Support\n" + "\n".join(
    f"S{i},Site {i},NGA,NG008,11.8{i},13.1{i},{100 * i},{'yes' if i % 2 else 'no'}" for i in range(1, 6)
)


def _counts(engine) -> tuple:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM indicator_dataset), (SELECT count(*) FROM indicator_observation), "
                "(SELECT count(*) FROM indicator_column), (SELECT version FROM data_version)"
            )
        ).one()


def _write(tmp_path, name, content):
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    return p


CASES = [
    # (file content, mapping, error fragments)
    (
        "Site Name,Country_Code,Latitude,Longitude\nA,NGA,11,13\nB,NGA,11,13\n",
        None,
        ["bad.csv:", "no site or location key"],
    ),
    ("SiteID,Latitude,Longitude\nA,11,13\n", None, ["bad.csv:", "no country"]),
    (GOOD.replace("S3,", "S2,"), None, ["bad.csv, row 4, column 'SiteID'", "repeats row 3"]),
    (
        GOOD,
        "columns:\n  - {header: WASH Support, type: boolean}\n  - {header: WASH Support, label_en: WASH}\n",
        ["map.yaml, column 'WASH Support'", "two catalogue entries for one column"],
    ),
    (
        GOOD,
        "columns:\n  - {header: Number of People, aggregation: sum}\n",
        ["map.yaml, column 'Number of People'", "does not have"],
    ),
    (GOOD, "roles:\n  key: Site Code\n", ["map.yaml, column 'Site Code'", "does not have"]),
    (
        GOOD,
        "columns:\n  - {header: Site Name, type: integer}\n",
        ["bad.csv, row 2, column 'Site Name'", "'Site 1' is not a whole number"],
    ),
    (GOOD, "columns:\n  - {header: Site Name, type: currency}\n", ["map.yaml, column 'Site Name'", "type 'currency'"]),
]


@pytest.fixture(scope="module")
def bad_engine(pg_server, assessments_template):
    """One database of its own for the rejections (they write only the import log)."""
    from tests.conftest import cloned_engine

    with cloned_engine(pg_server, assessments_template[0]) as engine:
        yield engine


@pytest.mark.parametrize("content, mapping, fragments", CASES)
def test_bad_input_names_file_row_column_and_changes_nothing(bad_engine, tmp_path, content, mapping, fragments):
    engine = bad_engine
    path = _write(tmp_path, "bad.csv", content)
    mp = _write(tmp_path, "map.yaml", mapping) if mapping else None
    before = _counts(engine)
    with pytest.raises(IndicatorFileError) as exc:
        import_dataset(engine, path, unit="site", mapping=mp)
    for frag in fragments:
        assert frag in str(exc.value), str(exc.value)
    assert _counts(engine) == before
    with engine.connect() as conn:
        last = conn.execute(text("SELECT outcome, message FROM import_log ORDER BY id DESC LIMIT 1")).one()
    assert last.outcome == "rejected" and fragments[0] in last.message


def test_new_datasets_are_not_public_until_published(assessments_fresh, tmp_path):
    from tests.conftest import client_for

    engine, _ = assessments_fresh
    res = import_dataset(engine, _write(tmp_path, "ok.csv", GOOD), unit="site")
    assert res.access == "restricted" and res.rows == 5
    ds = res.dataset_id
    urls = [
        f"/datasets/{ds}",
        f"/choropleth/1.geojson?dataset={ds}&indicator=individuals",
        f"/ogc/collections/dataset{ds}-sites/items",
    ]
    with client_for(engine) as c:
        assert ds not in [d["id"] for d in c.get("/datasets").json()["datasets"]]
        assert [c.get(u).status_code for u in urls] == [404, 404, 404]
        set_access(engine, ds, "public")
        assert [c.get(u).status_code for u in urls] == [200, 200, 200]
        feature = c.get(urls[1]).json()["features"]
        borno = next(f for f in feature if f["properties"]["pcode"] == "NG008")
        assert borno["properties"]["value"] == 1500.0
        share = c.get(f"/choropleth/1.geojson?dataset={ds}&indicator=wash_support").json()
        assert next(f for f in share["features"] if f["properties"]["pcode"] == "NG008")["properties"]["value"] == 0.6


def test_mapping_labels_and_rules(assessments_fresh, tmp_path):
    engine, _ = assessments_fresh
    mapping = _write(
        tmp_path,
        "map.yaml",
        "columns:\n"
        "  - {header: WASH Support, id: wash, label_en: WASH support, label_ar: دعم المياه, aggregation: share,"
        " share_of: true, sensitivity: partner}\n"
        "  - {header: Number of Individuals, aggregation: mean}\n",
    )
    res = import_dataset(engine, _write(tmp_path, "ok.csv", GOOD), unit="site", mapping=mapping, access="public")
    with engine.connect() as conn:
        cols = {
            r.column_id: r
            for r in conn.execute(text("SELECT * FROM indicator_column WHERE dataset_id = :d"), {"d": res.dataset_id})
        }
        mean = conn.execute(
            text(
                "SELECT value FROM indicator_aggregate "
                "WHERE dataset_id = :d AND level = 0 AND column_id = 'individuals'"
            ),
            {"d": res.dataset_id},
        ).scalar_one()
    assert (cols["wash"].label_ar, cols["wash"].sensitivity, cols["wash"].source) == (
        "دعم المياه",
        "partner",
        "mapping",
    )
    assert mean == 300.0
    from tests.conftest import client_for

    with client_for(engine) as c:  # a partner column is not in the public catalogue
        ids = [c["id"] for c in c.get(f"/datasets/{res.dataset_id}").json()["catalogue"]]
        assert "wash" not in ids and "individuals" in ids


def test_editors_upload_a_dataset(assessments_fresh):
    from service.auth import create_token
    from tests.conftest import client_for

    engine, _ = assessments_fresh
    token = create_token(engine, "editor", "assessments test")
    with client_for(engine) as c:
        files = {"file": ("sites.csv", GOOD.encode(), "text/csv")}
        assert c.post("/datasets", files=files, data={"unit": "site"}).status_code == 401
        auth = {"authorization": f"Bearer {token}"}
        r = c.post("/datasets", files=files, data={"unit": "site", "round": "R2", "access": "public"}, headers=auth)
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["country"], body["round"], body["rows"], body["access"]) == ("NGA", "R2", 5, "public")
        assert body["dataset_id"] in [d["id"] for d in c.get("/datasets").json()["datasets"]]
        bad = {"file": ("bad.csv", b"Site Name,Latitude,Longitude\nA,11,13\n", "text/csv")}
        r = c.post("/datasets", files=bad, data={"unit": "site", "country": "NGA"}, headers=auth)
        assert r.status_code == 422 and "bad.csv: no site or location key" in r.json()["detail"]


def test_dataset_uploads_are_streamed_after_the_token_and_held_to_the_editors_countries(assessments_fresh, tmp_path):
    """POST /datasets reads no byte of the body before the token is checked (nothing reaches the
    uploads folder), streams within the size limit (413), takes a mapping file beside the data,
    and an editor of one country neither imports nor publishes another's."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.auth import create_token
    from tests.conftest import settings_for

    engine, _ = assessments_fresh
    before = _counts(engine)
    data_dir = tmp_path / "data"
    uploads = data_dir / "uploads"
    nga = {"authorization": f"Bearer {create_token(engine, 'editor', 'nga', countries='NGA')}"}
    irq = {"authorization": f"Bearer {create_token(engine, 'editor', 'irq', countries='IRQ')}"}
    files = {"file": ("sites.csv", GOOD.encode(), "text/csv")}
    with TestClient(create_app(settings_for(engine, data_dir=data_dir, max_upload_mb=1), engine)) as c:
        assert c.post("/datasets", files=files, data={"unit": "site"}).status_code == 401
        big = {"file": ("big.csv", b"a,b\n" * 400_000, "text/csv")}
        r = c.post("/datasets", files=big, data={"unit": "site"}, headers=nga)
        assert r.status_code == 413 and "size limit" in r.text, r.text
        assert not uploads.exists() or not any(uploads.iterdir())

        r = c.post("/datasets", files=files, data={"unit": "site", "country": "NGA"}, headers=irq)
        assert r.status_code == 403 and "IRQ only, not for NGA" in r.json()["detail"], r.text
        r = c.post("/datasets", files=files, data={"unit": "site"}, headers=irq)
        assert r.status_code == 400 and "name the country" in r.text, r.text
        r = c.post("/datasets", files=files, data={"unit": "camp", "country": "NGA"}, headers=nga)
        assert r.status_code == 400 and "unit" in r.text, r.text
        assert _counts(engine) == before

        mapping = "columns:\n  - {header: WASH Support, id: wash, label_en: WASH support, sensitivity: partner}\n"
        with_mapping = {**files, "mapping": ("m.yaml", mapping.encode(), "application/yaml")}
        r = c.post("/datasets", files=with_mapping, data={"unit": "site", "country": "NGA"}, headers=nga)
        assert r.status_code == 201, r.text
        ds = r.json()["dataset_id"]
        assert not any(uploads.iterdir())  # the upload and its named copy are gone
        r = c.post(f"/datasets/{ds}/access", data={"access": "public"}, headers=irq)
        assert r.status_code == 403 and "NGA's" in r.json()["detail"], r.text
        assert c.post(f"/datasets/{ds}/access", data={"access": "public"}, headers=nga).status_code == 200
        ids = [col["id"] for col in c.get(f"/datasets/{ds}").json()["catalogue"]]
        assert "wash" not in ids and "individuals" in ids  # the mapping's partner column stays partner
