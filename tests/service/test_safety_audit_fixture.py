"""The synthetic Safety Audit fixture: DTM's shape, labelled synthetic, restricted as a whole."""

from __future__ import annotations

from service.core.access import ANONYMOUS, Decision, Principal, Resource, Role, Sensitivity, decide
from tests.fixtures import safety_audit


def test_fixture_shape_labels_and_canary(tmp_path):
    out = tmp_path / "safety_audit_synthetic.csv"
    df = safety_audit.make(out, sites=25, canary="CANARY-SITE-x1")
    assert out.exists() and len(df) == 25 and df["site_id"].is_unique
    assert df["synthetic"].str.contains("SYNTHETIC").all() and df["site_name"].str.startswith("[SYNTHETIC]").all()
    assert df["admin3_pcode"].str.match(r"^NG\d{9}$").all() and df["latitude"].between(4, 14).all()
    assert set(df["lighting_latrines"]) <= {"Yes", "No"} and df["safety_perception_women"].between(1, 5).all()
    assert "CANARY-SITE-x1" in df.loc[0, "site_name"] and df.loc[0, "latrines_functional"] == safety_audit.CANARY_NUMBER
    catalogue = safety_audit.catalogue()
    assert {c["sensitivity"] for c in catalogue} == {"restricted"}
    assert {c["column"] for c in catalogue} <= set(df.columns)
    audit = Resource("nga_safety_audit", "NGA", Sensitivity.RESTRICTED)
    assert decide(ANONYMOUS, audit) is Decision.HIDDEN
    assert decide(Principal(Role.PARTNER, "p", frozenset({"NGA"}), "token"), audit) is Decision.HIDDEN
    assert decide(Principal(Role.ANALYST, "a", frozenset({"NGA"}), "oidc"), audit) is Decision.ALLOW
