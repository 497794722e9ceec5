"""The access policy feeds the indicator datasets' publishers: a dataset and a column are seen
only by the roles their level lets read them, on every dataset path (the catalogue, the
choropleth, the site map, OGC collections and items), and the public choropleth is an aggregate
with its small cells suppressed.

Two SYNTHETIC Safety Audits (``tests/fixtures/safety_audit.py``) are imported beside Nigeria's
and Malawi's real assessments: one restricted as a whole, one published with its site names
and one count restricted; both hold canaries (a site name, a number no public figure has)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from service.core.disclosure import TOTAL, Rule, feasible_ranges
from service.core.importlog import bump_data_version
from tests.fixtures import safety_audit

CANARY = "CANARY-AUDIT-SITE-3f7e"
CANARY_COLUMN = "CANARY-COLUMN-SITE-c41d"
NUMBER = str(safety_audit.CANARY_NUMBER)


@pytest.fixture(scope="module")
def audit_env(pg_server, assessments_template, tmp_path_factory):
    """(client, tokens, ids): the assessments plus the two synthetic audits, and a principal of each kind."""
    from service.auth import create_token
    from service.indicators.store import import_dataset
    from tests.conftest import client_for, cloned_engine

    tmp = tmp_path_factory.mktemp("audit")
    whole = tmp / "nga_safety_audit_SYNTHETIC.csv"
    safety_audit.make(whole, sites=40, canary=CANARY)
    cols = tmp / "nga_safety_audit_columns_SYNTHETIC.csv"
    safety_audit.make(cols, sites=40, seed=11, canary=CANARY_COLUMN)
    mapping = tmp / "mapping.yaml"
    mapping.write_text(
        "columns:\n"
        "  - {header: site_name, sensitivity: restricted}\n"
        "  - {header: latrines_functional, sensitivity: restricted, aggregation: sum}\n"
        "  - {header: female_headed_households, sensitivity: partner, aggregation: sum}\n"
        "  - {header: households_audited, id: households, aggregation: sum}\n"
    )
    name, results = assessments_template
    with cloned_engine(pg_server, name) as engine:
        restricted = import_dataset(
            engine, whole, unit="site", country="NGA", access="restricted", title="Safety audit (SYNTHETIC)"
        )
        public = import_dataset(
            engine,
            cols,
            unit="site",
            country="NGA",
            access="public",
            mapping=mapping,
            title="Safety audit, columns (SYNTHETIC)",
        )
        tokens = {
            "anonymous": None,
            "partner-NGA": create_token(engine, "partner", "partner nga", countries=["NGA"]),
            "partner-MWI": create_token(engine, "partner", "partner mwi", countries=["MWI"]),
            "analyst-NGA": create_token(engine, "analyst", "analyst nga", countries=["NGA"]),
            "analyst-MWI": create_token(engine, "analyst", "analyst mwi", countries=["MWI"]),
        }
        ids = {"restricted": restricted.dataset_id, "public": public.dataset_id, "nga": results["NGA"].dataset_id}
        with client_for(engine) as client:
            yield client, tokens, ids, engine


def h(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def test_datasets_and_columns_by_role(audit_env):
    client, tokens, ids, _ = audit_env
    seen = {}
    for who, token in tokens.items():
        r = client.get("/datasets?f=json", headers=h(token))
        assert r.status_code == 200
        listed = {d["id"]: d for d in r.json()["datasets"]}
        seen[who] = listed
        assert ids["public"] in listed and ids["nga"] in listed, who
        cols = {c["id"] for c in listed[ids["public"]]["indicators"]}
        assert ("latrines_functional" in cols) == (who == "analyst-NGA"), who
        assert ("female_headed_households" in cols) == (who in ("partner-NGA", "analyst-NGA")), who
        assert (ids["restricted"] in listed) == (who == "analyst-NGA"), who
        assert CANARY not in r.text and CANARY_COLUMN not in r.text
    # what differs by who asks is never shared: partner data private, restricted data not stored
    assert "private" not in client.get("/datasets?f=json").headers.get("cache-control", "")
    r = client.get("/datasets?f=json", headers=h(tokens["partner-NGA"]))
    assert r.headers["cache-control"].startswith("private")
    r = client.get("/datasets?f=json", headers=h(tokens["analyst-NGA"]))
    assert r.headers["cache-control"] == "private, no-store"
    # the restricted audit does not exist below an analyst of its country
    for who in ("anonymous", "partner-NGA", "analyst-MWI"):
        r = client.get(f"/datasets/{ids['restricted']}?f=json", headers=h(tokens[who]))
        assert r.status_code == 404, (who, r.status_code)
        r = client.get(
            f"/choropleth/1.geojson?dataset={ids['restricted']}&indicator=observations", headers=h(tokens[who])
        )
        assert r.status_code == 404, (who, r.status_code)
        assert client.get(f"/datasets/{ids['restricted']}/map.png", headers=h(tokens[who])).status_code == 404
    r = client.get(f"/datasets/{ids['restricted']}?f=json", headers=h(tokens["analyst-NGA"]))
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    assert {c["id"] for c in r.json()["catalogue"]} >= {"latrines_functional", "lighting_latrines"}


def test_ogc_collections_and_items_follow_the_policy(audit_env):
    client, tokens, ids, engine = audit_env
    public_sites, restricted_sites = f"dataset{ids['public']}-sites", f"dataset{ids['restricted']}-sites"
    for who, token in tokens.items():
        cols = {c["id"] for c in client.get("/ogc/collections?f=json", headers=h(token)).json()["collections"]}
        assert public_sites in cols
        assert (restricted_sites in cols) == (who == "analyst-NGA"), who
        r = client.get(f"/ogc/collections/{public_sites}/items?limit=100&f=json", headers=h(token))
        assert r.status_code == 200, r.text
        props = r.json()["features"][0]["properties"]
        assert ("latrines_functional" in props) == (who == "analyst-NGA"), who
        assert ("female_headed_households" in props) == (who in ("partner-NGA", "analyst-NGA")), who
        assert ("name" in props) == (who == "analyst-NGA"), who  # the site name column is restricted
        if who != "analyst-NGA":
            assert CANARY_COLUMN not in r.text and NUMBER not in r.text, who
            r = client.get(f"/ogc/collections/{restricted_sites}/items?f=json", headers=h(token))
            assert r.status_code == 404 and CANARY not in r.text, who
    r = client.get(f"/ogc/collections/{public_sites}/items?limit=100&f=json", headers=h(tokens["analyst-NGA"]))
    assert CANARY_COLUMN in r.text and r.headers["cache-control"] == "private, no-store"
    with engine.connect() as c:
        before = c.execute(text("SELECT count(*) FROM access_audit")).scalar()
    r = client.get(f"/ogc/collections/{restricted_sites}/items?limit=100&f=json", headers=h(tokens["analyst-NGA"]))
    assert r.status_code == 200 and CANARY in r.text and NUMBER in r.text
    with engine.connect() as c:
        row = c.execute(text("SELECT * FROM access_audit ORDER BY id DESC LIMIT 1")).mappings().one()
        assert c.execute(text("SELECT count(*) FROM access_audit")).scalar() == before + 1
    assert row["resource"] == restricted_sites and row["subject"] == "token:analyst nga"


def test_public_choropleth_suppresses_small_cells(audit_env):
    """No public cell below 5 households, the suppression complementary (no suppressed value is
    recoverable from the national total: checked by solving the published table), the rule in
    the legend; a partner of the country reads the unsuppressed figures, privately."""
    client, tokens, ids, engine = audit_env
    rule = Rule()
    ds = ids["public"]
    with engine.connect() as c:
        hh = dict(
            c.execute(
                text(
                    "SELECT pcode, value FROM indicator_aggregate WHERE dataset_id = :d AND level = 2 "
                    "AND column_id = 'households'"
                ),
                {"d": ds},
            ).all()
        )
        truth = dict(
            c.execute(
                text(
                    "SELECT pcode, value FROM indicator_aggregate WHERE dataset_id = :d AND level = 2 "
                    "AND column_id = 'observations'"
                ),
                {"d": ds},
            ).all()
        )
    # make a small cell: the first LGA's households set under the threshold (what a small site gives)
    small = sorted(p for p in hh if p != "UNASSIGNED")[:1]
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE indicator_aggregate SET value = 3 WHERE dataset_id = :d AND level = 2 "
                "AND column_id = 'households' AND pcode = ANY(:p)"
            ),
            {"d": ds, "p": small},
        )
        bump_data_version(c)  # what an import does: every cache of the dataset's published table moves on
    hh.update({p: 3 for p in small})
    url = f"/choropleth/2.geojson?dataset={ds}&indicator=observations&zoom=4"
    doc = client.get(url).json()
    legend = doc["legend"]
    assert "fewer than 5 households" in legend["disclosure"]["rule"] and legend["disclosure"]["basis"] == "households"
    shown = {f["properties"]["pcode"]: f["properties"] for f in doc["features"]}
    suppressed = {p for p, f in shown.items() if f.get("suppressed")}
    if legend["unassigned"] and legend["unassigned"].get("suppressed"):
        suppressed.add("UNASSIGNED")
    assert set(small) <= suppressed and len(suppressed) >= 2  # a small cell never alone: a complement
    for p, f in shown.items():
        if f["value"] is not None:
            assert hh.get(p, 0) >= rule.min_households or hh.get(p, 0) == 0, p
        if p in suppressed:
            assert f["value"] is None and f["n"] is None and f["class"] is None
    published = {p: f["value"] for p, f in shown.items() if f["value"] is not None and p not in suppressed}
    if legend["unassigned"] and legend["unassigned"]["value"] is not None and "UNASSIGNED" not in suppressed:
        published["UNASSIGNED"] = legend["unassigned"]["value"]
    values = {**{p: truth[p] for p in suppressed}, **published, TOTAL: legend["national"]}
    ranges = feasible_ranges(values, [(TOTAL, [*published, *suppressed])], suppressed)
    assert all(hi - lo > 1 for lo, hi in ranges.values()), ranges  # no suppressed cell solves out
    # a partner of Nigeria reads the figures as they are, and not from the public cache entry
    r = client.get(url, headers=h(tokens["partner-NGA"]))
    assert r.headers["cache-control"].startswith("private") and "disclosure" not in r.json()["legend"]
    assert {f["properties"]["pcode"]: f["properties"]["value"] for f in r.json()["features"]}[small[0]] == truth[
        small[0]
    ]
    again = client.get(url)  # and anonymous again gets the public answer, not the partner's
    assert json.loads(again.content)["legend"]["disclosure"]["suppressed"] == len(suppressed)
    # a restricted column is 404 to anonymous and a partner, and no canary is in any public answer
    for who in ("anonymous", "partner-NGA"):
        r = client.get(f"/choropleth/1.geojson?dataset={ds}&indicator=latrines_functional", headers=h(tokens[who]))
        assert r.status_code == 404 and NUMBER not in r.text, who
    r = client.get(
        f"/choropleth/1.geojson?dataset={ds}&indicator=latrines_functional", headers=h(tokens["analyst-NGA"])
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"


def test_every_public_aggregate_path_publishes_one_suppressed_table(audit_env, tmp_path):
    """The choropleth of every level, the OGC ``dataset{ID}-adm{N}`` collections and their exports
    are one published table: no cell below 5 households in any of them, the same suppressed units
    everywhere, the rule in the export's README, and no suppressed value recoverable by solving
    everything anonymous reads at once (the country = its states, each state = its LGAs, each LGA =
    its wards, per additive column)."""
    import csv
    import io
    import zipfile

    from service.indicators.store import import_dataset

    client, _, _, engine = audit_env
    path = tmp_path / "nga_safety_audit_small_units_SYNTHETIC.csv"
    df = safety_audit.make(path, sites=40, seed=23)
    # one small LGA in every state (1-2 households in its sites): with the country's equation alone each
    # state would hold one lone suppressed LGA, its state's figure minus its siblings
    sites = df.groupby(["admin1_pcode", "admin2_pcode"]).size().reset_index(name="n").sort_values(["n", "admin2_pcode"])
    small = list(sites.groupby("admin1_pcode").first()["admin2_pcode"])
    assert len(small) >= 2
    mask = df["admin2_pcode"].isin(small)
    df.loc[mask, "households_audited"] = [1 + i % 2 for i in range(mask.sum())]
    df.to_csv(path, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  - {header: households_audited, id: households, aggregation: sum}\n")
    ds = import_dataset(
        engine, path, unit="site", country="NGA", access="public", mapping=mapping, title="Small units (SYNTHETIC)"
    ).dataset_id
    with engine.connect() as c:
        truth = {
            (lvl, p, col): v
            for lvl, p, col, v in c.execute(
                text("SELECT level, pcode, column_id, value FROM indicator_aggregate WHERE dataset_id = :d"), {"d": ds}
            )
        }
        placements = c.execute(
            text(
                "SELECT DISTINCT coalesce(adm1, 'UNASSIGNED'), coalesce(adm2, 'UNASSIGNED'), "
                "coalesce(adm3, 'UNASSIGNED') FROM indicator_observation WHERE dataset_id = :d"
            ),
            {"d": ds},
        ).all()
    described = client.get(f"/datasets/{ds}?f=json").json()
    levels = described["levels"]
    additive = [c["id"] for c in described["catalogue"] if c["aggregation"] in ("sum", "count")] + ["observations"]
    assert "households" in additive and levels
    hh = {(lvl, p): v or 0 for (lvl, p, col), v in truth.items() if col == "households"}
    assert any(0 < h < 5 for (lvl, _), h in hh.items() if lvl == 2), "the fixture must hold small LGAs"

    published: dict[tuple, float | None] = {}
    for lvl in levels:
        r = client.get(f"/ogc/collections/dataset{ds}-adm{lvl}/items?limit=1000&f=json")
        assert r.status_code == 200 and "private" not in r.headers.get("cache-control", ""), r.text[:200]
        ogc = {f["properties"]["pcode"]: f["properties"] for f in r.json()["features"]}
        for col in additive:
            doc = client.get(f"/choropleth/{lvl}.geojson?dataset={ds}&indicator={col}&zoom=4").json()
            shown = {f["properties"]["pcode"]: f["properties"] for f in doc["features"]}
            for p, props in ogc.items():  # the OGC collection and the choropleth publish the same table
                assert props[col] == shown[p]["value"], (lvl, p, col)
                assert bool(props["suppressed"]) == bool(shown[p].get("suppressed")), (lvl, p)
                published[(lvl, p, col)] = props[col]
            legend = doc["legend"]
            published[(0, "NGA", col)] = legend["national"]
            if legend["unassigned"]:
                published[(lvl, "UNASSIGNED", col)] = legend["unassigned"]["value"]
    # the export of an aggregate is the same table, with the rule in its README
    r = client.get(f"/exports/dataset{ds}-adm2.csv?zip=1")
    assert r.status_code == 200, r.text[:300]
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        readme = z.read(next(n for n in z.namelist() if n.endswith("README.txt"))).decode()
        body = z.read(next(n for n in z.namelist() if n.endswith(".csv"))).decode("utf-8-sig")
    rows = [r for r in csv.DictReader(io.StringIO(body)) if not r["pcode"].startswith("#")]  # the HXL row
    assert rows
    assert "Disclosure control" in readme and "fewer than 5 households" in readme
    for row in rows:
        for col in additive:
            want = published[(2, row["pcode"], col)]
            assert (row[col] in ("", "x")) if want is None else float(row[col]) == want, (row["pcode"], col)
    # no published cell counts 1-4 households
    for (lvl, p, col), v in published.items():
        if v is not None:
            assert not 0 < hh.get((lvl, p), 0) < 5, (lvl, p, col, hh.get((lvl, p)))
    hidden_cells = {(lvl, p) for (lvl, p, _), v in published.items() if v is None and truth.get((lvl, p, _))}
    assert {(2, u) for u in small if 0 < hh.get((2, u), 0) < 5} <= hidden_cells
    # solve everything published: the hierarchy the observations give, per additive column
    children: dict[tuple, set] = {}
    for codes in placements:
        parent = (0, "NGA")
        for lvl in levels:
            children.setdefault(parent, set()).add((lvl, codes[lvl - 1]))
            parent = (lvl, codes[lvl - 1])
    for col in additive:
        values = {(lvl, p): truth.get((lvl, p, col)) or 0.0 for (lvl, p, c) in truth if c == col}
        eqs = [
            (parent, sorted(kids))
            for parent, kids in children.items()
            if abs(values.get(parent, 0) - sum(values.get(k, 0) for k in kids)) < 1e-6
        ]
        hidden = {cell for cell in values if published.get((*cell, col)) is None}
        known = {cell: (values[cell] if cell in hidden else published[(*cell, col)]) for cell in values}
        ranges = feasible_ranges(known, eqs, hidden)
        pinned = {cell: r for cell, r in ranges.items() if r[1] - r[0] < 1 and values[cell] != 0}
        assert not pinned, (col, pinned)
