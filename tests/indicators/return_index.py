"""A SYNTHETIC Return Index fixture (no public Return Index file exists): locations of return
scored the way DTM Iraq's Return Index methodology publishes them -- 16 indicators on
two scales (livelihoods and basic services; social cohesion and safety), each scale a score
0-100 (higher: more severe), an overall severity class low / medium / high -- with returnee
individuals per location. Values are random (seeded); the P-codes and points are real
sub-districts (Malawi's traditional authorities, which the test database holds), so the
file places like a real one. Used by tests/indicators/test_indices.py."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import Connection, text

SCALE1 = [  # livelihoods and basic services
    "employment_access",
    "business_recovery",
    "agriculture_recovery",
    "electricity",
    "water",
    "health_services",
    "schools",
    "housing_destruction",
]
SCALE2 = [  # social cohesion and safety
    "daily_public_life",
    "illegal_checkpoints",
    "explosive_hazards",
    "security_actors",
    "blocked_returns",
    "reconciliation",
    "community_tensions",
    "security_incidents",
]

MAPPING = """\
# The Return Index fixture's catalogue (synthetic file): what the file cannot say itself
country: {country}
roles: {{key: location_id, name: location_name, adm3: subdistrict_pcode, lat: latitude, lon: longitude}}
columns:
  - {{header: returnees_ind, label_en: Returnees (individuals), type: integer, aggregation: sum, unit: persons}}
  - {{header: scale1_livelihoods, label_en: "Scale 1: livelihoods and basic services (0-100)", type: number,
     aggregation: weighted_mean, weight: returnees_ind, unit: score}}
  - {{header: scale2_safety, label_en: "Scale 2: social cohesion and safety (0-100)", type: number,
     aggregation: weighted_mean, weight: returnees_ind, unit: score}}
  - {{header: severity, label_en: Share of locations of high severity, type: select_one, aggregation: share,
     share_of: high}}
# DTM Iraq's hotspot rule: a sub-district high on a scale, or medium with many returnees
hotspot: {{scales: [scale1_livelihoods, scale2_safety], high: 60, medium: 30, population: returnees_ind, many: {many}}}
"""
HOTSPOT = {"high": 60, "medium": 30}


def severity(s1: float, s2: float) -> str:
    """The overall class of a location from its two scale scores (the published cut-offs' shape)."""
    worst = max(s1, s2)
    return "high" if worst >= 60 else "medium" if worst >= 30 else "low"


def write_fixture(
    conn: Connection, out: Path, n: int = 150, seed: int = 21, country: str = "MWI", many: int = 19000
) -> tuple[Path, Path, list[dict]]:
    """(CSV, mapping YAML, the rows written) of ``n`` synthetic locations in real sub-districts
    of ``country`` (MWI: Malawi's traditional authorities; IRQ: Iraq's sub-districts); ``many``
    returnees make a medium sub-district a hotspot."""
    rnd = random.Random(seed)
    units = conn.execute(
        text(
            "SELECT pcode, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM admin_unit "
            "WHERE level = 3 AND country = :c AND pcode NOT LIKE '%UNASSIGNED%' ORDER BY pcode LIMIT 12"
        ),
        {"c": country},
    ).all()
    head = ["location_id", "location_name", "subdistrict_pcode", "latitude", "longitude", "returnees_ind"]
    head += [f"s1_{c}" for c in SCALE1] + [f"s2_{c}" for c in SCALE2] + ["scale1_livelihoods", "scale2_safety"]
    head += ["severity"]
    rows = []
    for i in range(n):
        pcode, lon, lat = units[i % len(units)]
        ind1 = [rnd.choice((0, 1, 2)) for _ in SCALE1]  # 0 none, 1 partly, 2 severe
        ind2 = [rnd.choice((0, 1, 2)) for _ in SCALE2]
        s1 = round(100 * sum(ind1) / (2 * len(ind1)), 1)
        s2 = round(100 * sum(ind2) / (2 * len(ind2)), 1)
        rows.append(
            {
                "location_id": f"RI{i:05d}",
                "location_name": f"Synthetic location {i}",
                "subdistrict_pcode": pcode,
                "latitude": f"{lat:.5f}",
                "longitude": f"{lon:.5f}",
                "returnees_ind": rnd.randint(20, 3000),
                **{f"s1_{c}": v for c, v in zip(SCALE1, ind1)},
                **{f"s2_{c}": v for c, v in zip(SCALE2, ind2)},
                "scale1_livelihoods": s1,
                "scale2_safety": s2,
                "severity": severity(s1, s2),
            }
        )
    csv = out / "synthetic_return_index.csv"
    csv.write_text(
        ",".join(head) + "\n" + "\n".join(",".join(str(r[h]) for h in head) for r in rows) + "\n", encoding="utf-8"
    )
    mapping = out / "synthetic_return_index.yaml"
    mapping.write_text(MAPPING.format(country=country, many=many), encoding="utf-8")
    return csv, mapping, rows
