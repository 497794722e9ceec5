"""The leak test: every operation of the OpenAPI document, with realistic parameters (read from
the service's own listings: export names and formats, styles, tile layers, OGC collections and
items, rounds, P-codes), asked by every kind of principal: anonymous, partners of two countries
(an API token and an OpenID Connect token; the first also by the web map's session cookie), an
analyst, an editor of one country, an admin.

Asserted over every answer:
* no server error; every answer says ``Vary: Authorization`` (and ``Cookie``);
* an answer that differs by who asks (another ETag than anonymous's) is never publicly
  cacheable (``Cache-Control: private``), so no shared cache hands it to someone else;
* refused tokens (revoked, expired, another issuer, another audience, a foreign signature) get
  401 on every operation, reads and writes, and nothing else;
* the write operation refuses anonymous (401) and partners and analysts (403);
* no canary appears in any answer: canary values are planted in the restricted rows the
  database holds (API token labels and revocation reasons, audit rows: admin-only records that
  no route may serve), and every answer is searched as bytes, decompressed (gzip), opened (ZIP
  members, recursively), decoded (vector tiles), read with GDAL (GeoPackage, FlatGeobuf,
  shapefiles), as PDF text (poppler) and PNG metadata.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import text

from service.auth.sessions import COOKIE
from service.core.settings import AuthSettings
from tests.conftest import settings_for

ISSUER = "https://id.example.org/realms/dtm"
AUDIENCE = "dtm-atlas"
CANARIES = ("CANARY-LABEL-5a1f", "CANARY-REASON-91be", "CANARY-AUDIT-77c2")
AUDIT_CANARIES = ("CANARY-AUDIT-SITE-d93a", "CANARY-COLUMN-SITE-0b6e", "987654321")
"""Planted in the synthetic Safety Audits: a site name of the restricted one, a site name (a
restricted column) of the published one, and ``safety_audit.CANARY_NUMBER`` in a restricted
count of both. Readers of restricted Iraqi data (analyst, admin, Iraq's editor) may see them."""
AUDIT_READERS = ("analyst", "editor-IRQ", "admin")
HEAVY = ("/maps/", "/packages/")  # rendered per request: walked as anonymous and admin only


# ------------------------------------------------------------------------------ reading answers
def _gdal_text(name: str, data: bytes) -> str:
    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        out = []
        for layer, _ in pyogrio.list_layers(path):
            df = pyogrio.read_dataframe(path, layer=layer)
            out.append(df.drop(columns="geometry", errors="ignore").to_csv())
        return "\n".join(out)


def readable_texts(name: str, data: bytes, media_type: str = "") -> list[str]:
    """Every text an answer holds, read the way its clients read it."""
    out = [data.decode("utf-8", "replace")]
    if data[:2] == b"\x1f\x8b":
        return out + readable_texts(name.removesuffix(".gz"), gzip.decompress(data), media_type)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            shp = {}
            for member in z.namelist():
                body = z.read(member)
                out += [f"[zip member] {member}"] + readable_texts(member, body)
                if Path(member).suffix.lower() in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                    shp[member] = body
            if any(m.lower().endswith(".shp") for m in shp):
                with tempfile.TemporaryDirectory() as tmp:
                    for member, body in shp.items():
                        (Path(tmp) / Path(member).name).write_bytes(body)
                    for f in Path(tmp).glob("*.shp"):
                        out.append(_read_path(f))
        return out
    if "json" not in media_type and ("vnd.mapbox-vector-tile" in media_type or name.endswith(".mvt")):
        import mapbox_vector_tile

        if data[:2] == b"\x1f\x8b":  # a tile stored gzip-compressed (PMTiles-style) and served as such
            data = gzip.decompress(data)
        out.append(json.dumps(mapbox_vector_tile.decode(data), default=str, ensure_ascii=False))
    elif data[:5] == b"%PDF-":
        out.append(subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode())
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        from PIL import Image

        out.append(json.dumps(Image.open(io.BytesIO(data)).info, default=str, ensure_ascii=False))
    elif data[:16] == b"SQLite format 3\x00" or data[:3] == b"fgb":
        out.append(_gdal_text(Path(name).name or "answer.gpkg", data))
    return out


def _read_path(path: Path) -> str:
    import pyogrio

    return pyogrio.read_dataframe(path).drop(columns="geometry", errors="ignore").to_csv()


_READ: dict[tuple, list[str]] = {}


def canaries_in(response, name: str, canaries=None) -> list[str]:
    """The canaries found in an answer. The same bytes are read (GDAL, poppler, tile decoding)
    once: most answers are the same for every principal."""
    media = response.headers.get("content-type", "")
    key = (hashlib.blake2b(response.content, digest_size=16).digest(), Path(name).suffix, media)
    texts = _READ.get(key)
    if texts is None:
        texts = _READ[key] = readable_texts(name, response.content, media)
    return [c for c in (CANARIES + AUDIT_CANARIES if canaries is None else canaries) if any(c in t for t in texts)]


# ------------------------------------------------------------------------------ the service and its principals
@pytest.fixture(scope="module")
def leak_env(pg_server, round120_template, tmp_path_factory):
    from service.app import create_app
    from service.auth import create_token
    from tests.conftest import cloned_engine

    key = RSAKey.generate_key(2048, parameters={"kid": "leak", "alg": "RS256", "use": "sig"})
    stranger = RSAKey.generate_key(2048, parameters={"kid": "leak", "alg": "RS256", "use": "sig"})
    jwks = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))

    def oidc(k=key, **claims):
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "leak", "iat": now, "exp": now + 3600, **claims}
        return jwt.encode({"alg": "RS256", "kid": "leak"}, body, k)

    with cloned_engine(pg_server, round120_template, "dtm_atlas_test_leak") as engine:  # round 120 imported
        audits = import_audits(engine, tmp_path_factory.mktemp("audit"))
        principals = {
            "anonymous": None,
            "partner-IRQ": create_token(engine, "partner", "partner irq", countries=["IRQ"]),
            "partner-NGA (oidc)": oidc(roles=["partner"], country="NGA"),
            "analyst": create_token(engine, "analyst", "analyst"),
            "editor-IRQ": create_token(engine, "editor", "editor irq", countries=["IRQ"]),
            "admin": create_token(engine, "admin", CANARIES[0]),
        }
        revoked = create_token(engine, "analyst", "revoked")
        expiring = create_token(engine, "analyst", "expiring", expires_in=timedelta(seconds=1))
        with engine.begin() as c:
            c.execute(
                text("UPDATE api_token SET revoked_at = now(), revoked_reason = :r WHERE label = 'revoked'"),
                {"r": CANARIES[1]},
            )
            c.execute(
                text(
                    "INSERT INTO access_audit (subject, role, via, method, path, resource, filter) "
                    "VALUES ('token:analyst', 'analyst', 'token', 'GET', '/x', 'safety audit', :f)"
                ),
                {"f": json.dumps({"site": CANARIES[2]})},
            )
        time.sleep(1.1)
        refused = {
            "revoked": revoked,
            "expired": expiring,
            "other issuer": oidc(iss="https://evil.example.org", roles=["admin"]),
            "other audience": oidc(aud="another-service", roles=["admin"]),
            "foreign signature": oidc(k=stranger, roles=["admin"]),
            "expired oidc": oidc(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600, roles=["admin"]),
        }
        settings = settings_for(
            engine,
            log_level="error",
            auth=AuthSettings(
                oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_file=jwks, failed_signins=1_000_000
            ),
            # the package route is walked like any other; a small package (one governorate, low
            # dpi) holds the same kinds of members as a full one, in a tenth of the time
            data_dir=tmp_path_factory.mktemp("data"),
            package_dpi=30,
            package_extents=["IQG07"],
            package_workers=1,
        )
        with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
            # the web map's session cookie of a partner (service/auth/sessions.py): walked as a role of its own
            r = client.post("/auth/session", headers=headers_for(principals["partner-IRQ"]))
            assert r.status_code == 200, r.text
            session = {"Cookie": f"{COOKIE}={r.cookies[COOKIE]}"}
            client.cookies.clear()  # each request names its own credentials
            walkers = {who: headers_for(token) for who, token in principals.items()}
            walkers["partner-IRQ (session)"] = session
            yield {
                "client": client,
                "principals": principals,
                "walkers": walkers,
                "refused": refused,
                "engine": engine,
                "audits": audits,
            }


def import_audits(engine, tmp: Path) -> dict[str, int]:
    """Two SYNTHETIC Safety Audits of Iraqi sites (``tests/fixtures/safety_audit.py``, moved onto
    Iraq's master-list locations): one restricted as a whole, one published with its site names
    and one count restricted and one count partner-only. Returns their dataset ids."""
    from service.indicators.store import import_dataset
    from tests.fixtures import safety_audit

    with engine.connect() as c:
        places = c.execute(
            text(
                "SELECT location_id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM location "
                "WHERE country = 'IRQ' AND geom IS NOT NULL ORDER BY location_id LIMIT 30"
            )
        ).all()
    ids = {}
    for which, canary, access in (
        ("restricted", AUDIT_CANARIES[0], "restricted"),
        ("public", AUDIT_CANARIES[1], "public"),
    ):
        path = tmp / f"irq_safety_audit_{which}_SYNTHETIC.csv"
        df = safety_audit.make(path, sites=len(places), seed=3, canary=canary)
        df["country"] = "IRQ"
        df["site_id"] = [f"SA-{p.location_id}" for p in places]
        df["longitude"] = [round(p.lon, 5) for p in places]
        df["latitude"] = [round(p.lat, 5) for p in places]
        df = df.drop(columns=["admin1_pcode", "admin2_pcode", "admin3_pcode"])  # placed by their points
        df.to_csv(path, index=False)
        mapping = tmp / "mapping.yaml"
        mapping.write_text(
            "columns:\n"
            "  - {header: site_name, sensitivity: restricted}\n"
            "  - {header: latrines_functional, sensitivity: restricted, aggregation: sum}\n"
            "  - {header: female_headed_households, sensitivity: partner, aggregation: sum}\n"
            "  - {header: households_audited, id: households, aggregation: sum}\n"
        )
        res = import_dataset(
            engine,
            path,
            unit="site",
            country="IRQ",
            access=access,
            mapping=mapping,
            title=f"Safety audit (SYNTHETIC, {which})",
        )
        ids[which] = res.dataset_id
    return ids


def headers_for(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def realistic_requests(client, admin: dict | None = None) -> list[tuple[str, str, str]]:
    """(method, operation path, URL) for every operation, path parameters from the service's
    listings as ``admin`` (headers) sees them: restricted collections and datasets are asked by
    everyone; plus the indicator datasets' choropleths and site maps of every indicator."""
    admin = admin or {}
    schema = client.get("/openapi.json").json()
    exports = client.get("/exports?f=json").json()
    names = [
        f"{d['dataset']}.{fmt['ext']}" + ("?round=120&population=idp" if d["per_round"] else "")
        for d in exports["datasets"]
        for fmt in exports["formats"]
    ]
    styles = [s["name"] if isinstance(s, dict) else s for s in _items(client.get("/styles?f=json").json())]
    collections = [c["id"] for c in client.get("/ogc/collections?f=json", headers=admin).json()["collections"]]
    datasets = client.get("/datasets?f=json", headers=admin).json()["datasets"]
    items = client.get(f"/ogc/collections/{collections[0]}/items?limit=1&f=json").json()["features"]
    boundary_set = client.get("/webmap/countries?f=json").json()
    set_id = str(_first_value(boundary_set, "boundary_set_id") or _first_value(boundary_set, "set_id") or 1)
    values = {
        "pcode": ["IQG07", "IQG07Q02"],
        "level": ["1", "2"],
        "round_id": ["1"],
        "layers": ["governorates,districts", "districts"],
        "z": ["6"],
        "x": ["39"],
        "y": ["25"],
        "name": names,
        "collection_id": collections,
        "feature_id": [str(items[0]["id"])] if items else ["IQG07Q02"],
        "set_id": [set_id],
        "round": ["120"],
        "ext": ["png", "pdf"],
        "dataset_id": [str(d["id"]) for d in datasets] or ["1"],
    }
    out = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            urls = [path]
            for p in op.get("parameters", []):
                if p["in"] != "path":
                    continue
                choices = values.get(p["name"], ["1"])
                if path.startswith("/maps/") and p["name"] == "name":
                    choices = ["choropleth"]
                if path.startswith("/styles/") and p["name"] == "name":
                    choices = styles
                urls = [u.replace("{" + p["name"] + "}", quote(v, safe="?=&.,")) for u in urls for v in choices]
            for url in urls:
                if url.startswith("/exports/") and "?" not in url:
                    url += "?"
                if path.startswith("/maps/"):
                    url += "?round=120&dpi=40"
                if path.startswith("/packages/"):
                    url += "?population=idp"
                if path == "/choropleth/{level}.geojson" or path.startswith("/webmap/figures"):
                    url += "?round=120&population=idp"
                out.append((method.upper(), path, url))
    # the datasets' own choropleth (same path as the master lists') and site map: the observation
    # count, and each column a canary or a partner figure is in (a choropleth of every public
    # column says nothing more: the walk reads the catalogue of each dataset as each principal)
    sensitive = ("observations", "households", "latrines_functional", "female_headed_households")
    for d in datasets:
        for ind in [i["id"] for i in d["indicators"] if i["id"] in sensitive]:
            out.append(
                ("GET", "/choropleth/{level}.geojson", f"/choropleth/1.geojson?dataset={d['id']}&indicator={ind}")
            )
        out.append(
            ("GET", "/datasets/{dataset_id}/map.png", f"/datasets/{d['id']}/map.png?indicator=latrines_functional")
        )
    return out


def _items(body):
    if isinstance(body, list):
        return body
    for key in ("styles", "items", "rows", "maps"):
        if isinstance(body.get(key), list):
            return body[key]
    return []


def _first_value(body, key):
    if isinstance(body, dict):
        if key in body:
            return body[key]
        body = next((v for v in body.values() if isinstance(v, list)), [])
    for row in body if isinstance(body, list) else []:
        if isinstance(row, dict) and key in row:
            return row[key]
    return None


WALKERS = 6
"""Operations walked at once (threads over the one app): renders, GDAL reads and the database
overlap, so the walk takes its share of a busy machine's CPUs; each operation's roles in turn."""


def walk(client, walkers: dict, path: str, url: str) -> tuple[list[str], int, set]:
    """One operation's URL asked by every role: (failures, answers that were 200, audit canaries
    the analyst found)."""
    failures, answered, planted = [], 0, set()
    base, stable = None, None
    for who, headers in walkers.items():
        if path.startswith(HEAVY) and who not in ("anonymous", "admin"):
            continue
        if path == "/exports/{name}" and who != "anonymous" and not url.split("?")[0].endswith(".csv"):
            continue  # every format anonymously (GDAL reads them); the others read each dataset as CSV
        r = client.get(url, headers=headers)
        where = f"{who} GET {url}"
        answered += r.status_code == 200
        if r.status_code >= 500:
            failures.append(f"{where}: {r.status_code} {r.text[:200]}")
            continue
        vary = r.headers.get("vary", "").lower()
        if "authorization" not in vary or "cookie" not in vary:
            failures.append(f"{where}: no Vary: Authorization, Cookie")
        found = canaries_in(r, url.split("?")[0], CANARIES + (() if who in AUDIT_READERS else AUDIT_CANARIES))
        if who == "analyst" and r.status_code == 200:  # the canaries are there to be found by who may
            planted.update(canaries_in(r, url.split("?")[0], AUDIT_CANARIES))
        if found:
            failures.append(f"{where}: canary {found} in the answer")
        if base is None:
            base = r
        elif r.status_code == 200 and base.status_code == 200:
            differs = r.headers.get("etag") != base.headers.get("etag")
            if differs and r.headers.get("etag") and "private" not in r.headers.get("cache-control", ""):
                if stable is None:  # an ETag that changes between two anonymous calls says nothing
                    stable = client.get(url).headers.get("etag") == base.headers.get("etag")
                if stable:
                    failures.append(f"{where}: answer differs from anonymous's but is cacheable publicly")
    return failures, answered, planted


def test_every_route_every_role(leak_env):
    from concurrent.futures import ThreadPoolExecutor

    client, principals = leak_env["client"], leak_env["principals"]
    requests_ = realistic_requests(client, headers_for(principals["admin"]))
    assert len({p for _, p, _ in requests_}) >= 45, "the OpenAPI document lost operations"
    assert any(u.startswith("/styles/") for _, _, u in requests_)
    gets = sorted(((p, u) for m, p, u in requests_ if m == "GET"), key=lambda pu: not pu[0].startswith(HEAVY))
    with ThreadPoolExecutor(WALKERS) as pool:  # the renders first: they overlap with the rest
        done = list(pool.map(lambda pu: walk(client, leak_env["walkers"], *pu), gets))
    failures = [f for fs, _, _ in done for f in fs]
    answered = sum(n for _, n, _ in done)
    planted = set().union(*(p for _, _, p in done))
    assert not failures, "\n".join(failures[:40])
    assert planted == set(AUDIT_CANARIES), f"an analyst reads the audits' canaries somewhere: found only {planted}"
    assert answered > 100, f"only {answered} answers were 200: the parameters are not realistic"


def test_refused_tokens_on_every_operation(leak_env):
    client, refused = leak_env["client"], leak_env["refused"]
    failures = []
    ops = {(m, p): u for m, p, u in realistic_requests(client)}  # one URL per operation
    for (method, _path), url in ops.items():
        for why, token in refused.items():
            r = client.request(method, url, headers=headers_for(token))
            if r.status_code != 401 or "www-authenticate" not in r.headers:
                failures.append(f"{why}: {method} {url}: {r.status_code}")
            elif any(c in r.text for c in CANARIES):
                failures.append(f"{why}: {method} {url}: canary in the refusal")
    assert not failures, "\n".join(failures[:40])


def test_write_needs_an_editor(leak_env):
    client, p = leak_env["client"], leak_env["principals"]
    assert client.post("/rounds").status_code == 401
    for who in ("partner-IRQ", "partner-NGA (oidc)", "analyst"):
        r = client.post("/rounds", headers=headers_for(p[who]))
        assert r.status_code == 403, (who, r.text)
    r = client.post("/rounds", headers=headers_for(p["editor-IRQ"]))
    assert r.status_code == 400  # past the sign-in: the missing file is the problem


def test_the_reader_finds_canaries():
    """The reading side of the harness: a canary is found inside every container it searches."""
    import mapbox_vector_tile

    class R:
        def __init__(self, content, media_type=""):
            self.content, self.headers = content, {"content-type": media_type}

    tile = mapbox_vector_tile.encode(
        [{"name": "sites", "features": [{"geometry": "POINT(1 1)", "properties": {"site": CANARIES[0]}}]}]
    )
    assert canaries_in(R(gzip.compress(tile), "application/vnd.mapbox-vector-tile"), "t.mvt") == [CANARIES[0]]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("inner.zip", _zip_of("README.txt", CANARIES[1]))
    assert canaries_in(R(buf.getvalue(), "application/zip"), "p.zip") == [CANARIES[1]]
    import geopandas as gpd
    from shapely.geometry import Point

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.gpkg"
        gpd.GeoDataFrame({"name": [CANARIES[2]]}, geometry=[Point(44, 33)], crs=4326).to_file(path)
        assert canaries_in(R(path.read_bytes()), "x.gpkg") == [CANARIES[2]]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.text(0.5, 0.5, CANARIES[0])
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf")
    png = io.BytesIO()
    fig.savefig(png, format="png", metadata={"Description": CANARIES[1]})
    plt.close(fig)
    assert canaries_in(R(pdf.getvalue()), "m.pdf") == [CANARIES[0]]
    assert canaries_in(R(png.getvalue()), "m.png") == [CANARIES[1]]


def _zip_of(name, content):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, content)
    return buf.getvalue()


def test_a_restricted_kind_does_not_exist_for_those_who_may_not_read_it(leak_env):
    """The registry's access level, applied by the policy: the fragility kind made restricted
    (the test's doing) vanishes from the export list and the OGC collections of anonymous callers
    and partners, its files and collections are 404 to them, an analyst reads them with
    ``Cache-Control: private, no-store`` and an audit row, and no shared cache entry serves them."""
    from dataclasses import replace

    from service import kinds
    from service.core.registry import install

    client, p, engine = leak_env["client"], leak_env["principals"], leak_env["engine"]
    restricted = tuple(replace(k, access="restricted") if k.name == "fragility" else k for k in kinds.KINDS)
    url = "/exports/fragility-adm3.csv?round=120&population=idp"
    assert client.get(url).status_code == 200  # public as the service ships it
    install(restricted)
    try:
        for who in ("anonymous", "partner-IRQ", "partner-NGA (oidc)"):
            listed = client.get("/exports?f=json", headers=headers_for(p[who])).json()["datasets"]
            assert not [d for d in listed if d["dataset"].startswith("fragility")], who
            assert [d for d in listed if d["dataset"] == "figures-adm2"], who  # master lists stay public
            r = client.get(url, headers=headers_for(p[who]))
            assert r.status_code == 404, (who, r.status_code)
            cols = client.get("/ogc/collections?f=json", headers=headers_for(p[who])).json()["collections"]
            assert not [c for c in cols if "fragility" in c["id"]], who
        with engine.connect() as c:
            before = c.execute(text("SELECT count(*) FROM access_audit")).scalar()
        r = client.get(url, headers=headers_for(p["analyst"]))
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
        listed = client.get("/exports?f=json", headers=headers_for(p["analyst"])).json()["datasets"]
        assert [d for d in listed if d["dataset"].startswith("fragility")]
        with engine.connect() as c:
            row = c.execute(text("SELECT * FROM access_audit ORDER BY id DESC LIMIT 1")).mappings().one()
            assert c.execute(text("SELECT count(*) FROM access_audit")).scalar() == before + 1
        assert row["subject"] == "token:analyst" and row["resource"] == "fragility-adm3"
        assert row["filter"]["round"] == "120" and row["path"] == "/exports/fragility-adm3.csv"
        assert client.get(url).status_code == 404  # and nothing the analyst read is served from a cache
        # tiles and TileJSON: the kind's layer does not exist below analyst
        tile = "/tiles/districts,fragility/6/39/25.mvt?round=120"
        for who in ("anonymous", "partner-IRQ"):
            assert client.get(tile, headers=headers_for(p[who])).status_code == 404, who
            r = client.get("/tiles/fragility.json?round=120", headers=headers_for(p[who]))
            assert r.status_code == 404, r.text
            layers = client.get("/tiles?f=json", headers=headers_for(p[who])).json()["layers"]
            assert not [x for x in layers if x["id"] == "fragility"], who
        r = client.get(tile, headers=headers_for(p["analyst"]))
        assert r.status_code in (200, 204) and r.headers["cache-control"] == "private, no-store"
        assert r.headers["x-tile-cache"] == "off"
        r = client.get("/tiles/fragility.json?round=120", headers=headers_for(p["analyst"]))
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
        # static maps and packages: public outputs hold public kinds only; the analyst's map is not cached
        from service.maps.data import map_hooks
        from service.static_publish import public_layers

        assert "fragility" not in map_hooks() and "fragility" not in public_layers()
        frag_map = "/maps/fragility.png?round=120&dpi=40"
        assert client.get(frag_map).status_code == 404
        r = client.get(frag_map, headers=headers_for(p["analyst"]))
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store", r.text[:200]
        assert r.headers["x-cache"] == "off"
        # a restricted export says who asked for it (README in the zip)
        r = client.get(url + "&zip=1", headers=headers_for(p["analyst"]))
        with zipfile.ZipFile(io.BytesIO(r.content)) as z:
            readme = z.read(next(n for n in z.namelist() if n.endswith("README.txt"))).decode()
        assert "Requested by:      token:analyst (analyst, every country; signed in by token)" in readme
    finally:
        kinds.install()


def test_static_publishing_holds_no_canary(leak_env, tmp_path):
    """What ``dtm-atlas publish`` writes for a CDN (choropleths, every export format, the
    PMTiles package) is asked anonymously and holds no canary; every file is read back."""
    from service.static_publish import publish_round
    from tests.conftest import settings_for

    engine = leak_env["engine"]
    done = publish_round(
        settings_for(engine, log_level="error"), engine, tmp_path, round_ref="120", package=False, max_zoom=4
    )
    assert len(done.files) > 10
    failures = []
    for f in done.files:
        path = tmp_path / f["key"]
        if path.suffix == ".pmtiles":
            from pmtiles.reader import MmapSource, all_tiles

            with open(path, "rb") as fh:
                tiles = list(all_tiles(MmapSource(fh)))
            assert tiles
            found = set()
            for _, data in tiles:
                fake = type(
                    "R", (), {"content": data, "headers": {"content-type": "application/vnd.mapbox-vector-tile"}}
                )
                found.update(canaries_in(fake, "t.mvt"))
        else:
            fake = type("R", (), {"content": path.read_bytes(), "headers": {"content-type": f["content_type"]}})
            found = set(canaries_in(fake, path.name))
        if found:
            failures.append(f"{f['key']}: {sorted(found)}")
    assert not failures, failures
