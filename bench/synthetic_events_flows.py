"""SYNTHETIC Emergency Tracking and Flow Monitoring files, of any size, for tests and benchmarks.

No public ETT or FMP file exists to share: these files are made up. Their shapes follow what
DTM publishes (docs/events-flows.md says where each comes from); their numbers follow no real
crisis or route. Every file says so: the ETT file's crisis code and location names start with
``SYN``, the FMP registry's names with ``SYNTHETIC``.

- ``ett``: a Mosul-like onset in Iraq (real COD-AB P-codes and points inside their sub-districts,
  read from the shared ``irq_cod_ab``): thousands of families a day for weeks, then returns.
  HXL-tagged CSV (a row of names, a row of HXL tags), one row per location and day.
- ``fmp``: a West-Africa-like network of flow monitoring points: the point registry and the daily
  registry as DTM West and Central Africa publishes it (``t, route, fmp, fmp_country, from, to,
  n, reason_*``); 66 points over 7 years make ~870,000 rows.
- ``fmp-monthly``: a few points in the East and Horn of Africa shape (``t, fmp, fmp_country,
  route, subroute, movement, origin, previous, next, final, nat, n, reason_*``) and their registry.

    python bench/synthetic_events_flows.py ett /tmp/mosul.csv --days 60 --rows-per-day 300
    python bench/synthetic_events_flows.py fmp /tmp/wca --points 66 --years 7
    python bench/synthetic_events_flows.py fmp-monthly /tmp/ehoa
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
COD_AB = SHARED / "irq_cod_ab"
PLACES = SHARED / "natural_earth" / "ne_10m_populated_places.json.gz"

ETT_COLUMNS = [
    ("Date", "#date"),
    ("Crisis", "#crisis+code"),
    ("Governorate P-code", "#adm1+code"),
    ("District P-code", "#adm2+code"),
    ("Sub-district P-code", "#adm3+code"),
    ("Location", "#loc+name"),
    ("Location ID", "#loc+code"),
    ("Latitude", "#geo+lat"),
    ("Longitude", "#geo+lon"),
    ("IDP families", "#affected+hh+idps"),
    ("IDP individuals", "#affected+ind+idps"),
    ("Returnee families", "#affected+hh+returnees"),
    ("Returnee individuals", "#affected+ind+returnees"),
    ("Origin governorate", "#adm1+code+origin"),
    ("Origin district", "#adm2+code+origin"),
    ("Shelter", "#indicator+shelter"),
    ("Cause", "#cause"),
]

# where the families of a Mosul-like onset went (governorate: share of the locations)
HOSTS = {"IQG15": 0.55, "IQG09": 0.15, "IQG11": 0.15, "IQG13": 0.08, "IQG16": 0.07}
MOSUL = "IQG15Q05"
SHELTERS = ["camp", "emergency site", "out of camp"]


def _sample_points(geom, k: int, rng) -> list[tuple[float, float]]:
    import shapely

    x0, y0, x1, y1 = geom.bounds
    out: list[tuple[float, float]] = []
    while len(out) < k:
        xs = rng.uniform(x0, x1, 4 * k)
        ys = rng.uniform(y0, y1, 4 * k)
        inside = shapely.contains_xy(geom, xs, ys)
        out.extend(zip(xs[inside].round(5), ys[inside].round(5)))
    return out[:k]


def ett_locations(n: int, rng) -> list[dict]:
    """``n`` synthetic locations in the host governorates, each a point inside its real sub-district."""
    from shapely.geometry import shape
    from shapely.prepared import prep  # noqa: F401 - shapely 2 prepares on contains_xy

    feats = json.loads((COD_AB / "irq_admbnda_adm3_cso_20190603.geojson").read_text(encoding="utf-8"))["features"]
    by_gov: dict[str, list[dict]] = {}
    for f in feats:
        p = f["properties"]
        if p["ADM1_PCODE"] in HOSTS:
            by_gov.setdefault(p["ADM1_PCODE"], []).append(f)
    locs: list[dict] = []
    govs = list(HOSTS)
    counts = rng.multinomial(n, [HOSTS[g] for g in govs])
    for gov, k in zip(govs, counts):
        units = by_gov[gov]
        picks = rng.integers(0, len(units), k)
        for ui in np.unique(picks):
            f = units[ui]
            p = f["properties"]
            m = int((picks == ui).sum())
            for lon, lat in _sample_points(shape(f["geometry"]), m, rng):
                locs.append(
                    {
                        "adm1": p["ADM1_PCODE"],
                        "adm2": p["ADM2_PCODE"],
                        "adm3": p["ADM3_PCODE"],
                        "lat": float(lat),
                        "lon": float(lon),
                        "name": f"SYN {p['ADM3_EN']} {len(locs) + 1}",
                    }
                )
    rng.shuffle(locs)
    for i, loc in enumerate(locs):
        loc["code"] = f"SYN-L{i + 1:05d}"
    return locs


def onset_curve(days: int) -> tuple[np.ndarray, np.ndarray]:
    """New IDP families and returning families per day: a rise to ~3,000 a day within three
    weeks, weeks at that level, a decline; returns from the second half on."""
    d = np.arange(days, dtype=float)
    peak = max(days * 0.35, 1)
    idp = 3000 * np.exp(-0.5 * ((d - peak) / (days * 0.22)) ** 2)
    ret = np.where(d > days * 0.5, 1500 * (d - days * 0.5) / max(days * 0.5, 1), 0.0)
    return idp.round().astype(int) + 200, ret.round().astype(int)


def write_ett(
    out: Path,
    *,
    days: int = 60,
    rows_per_day: int = 300,
    onset: dt.date = dt.date(2016, 10, 17),
    crisis: str = "SYN-MOSUL-2016",
    seed: int = 1,
    point_only: float = 0.02,
    unplaced: float = 0.005,
) -> Path:
    """Write a Mosul-like ETT file (HXL-tagged CSV). ``point_only``: share of rows with a point
    and no P-codes (placed by the point); ``unplaced``: share with neither (UNASSIGNED)."""
    rng = np.random.default_rng(seed)
    locs = ett_locations(max(rows_per_day * 2, 50), rng)
    idp_days, ret_days = onset_curve(days)
    mosul_locs = [i for i, loc in enumerate(locs) if loc["adm2"] == MOSUL]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([c for c, _ in ETT_COLUMNS])
        w.writerow([t for _, t in ETT_COLUMNS])
        for di in range(days):
            day = (onset + dt.timedelta(days=di)).isoformat()
            chosen = rng.choice(len(locs), size=min(rows_per_day, len(locs)), replace=False)
            idp_hh = rng.multinomial(idp_days[di], rng.dirichlet(np.ones(len(chosen))))
            ret_hh = np.zeros(len(chosen), dtype=int)
            if ret_days[di] and mosul_locs:
                is_mosul = np.isin(chosen, mosul_locs)
                if is_mosul.any():
                    ret_hh[is_mosul] = rng.multinomial(ret_days[di], rng.dirichlet(np.ones(is_mosul.sum())))
            size = rng.uniform(5.2, 6.8, len(chosen))
            kind = rng.random(len(chosen))
            for j, li in enumerate(chosen):
                loc = locs[li]
                codes = (loc["adm1"], loc["adm2"], loc["adm3"])
                lat, lon = loc["lat"], loc["lon"]
                if kind[j] < unplaced:
                    codes, lat, lon = ("", "", ""), "", ""
                elif kind[j] < unplaced + point_only:
                    codes = ("", "", "")
                hh, rh = int(idp_hh[j]), int(ret_hh[j])
                w.writerow(
                    [
                        day,
                        crisis,
                        *codes,
                        loc["name"],
                        loc["code"],
                        lat,
                        lon,
                        hh,
                        int(round(hh * size[j])),
                        rh,
                        int(round(rh * size[j])),
                        "IQG15",
                        MOSUL if rng.random() < 0.85 else "IQG15Q09",
                        SHELTERS[int(li) % 3],
                        "conflict",
                    ]
                )
    return out


# ------------------------------------------------------------------------------ flow monitoring

WCA = ["NER", "MLI", "BFA", "TCD", "NGA", "GIN", "SEN", "CMR", "MRT", "CIV"]
WCA_ELSEWHERE = ["LBY", "DZA", "GHA", "TGO", "BEN", "GMB", "SDN", "CAF"]
DAILY_COLUMNS = [
    "t",
    "route",
    "fmp",
    "fmp_country",
    "from",
    "to",
    "n",
    "reason_seasonal",
    "reason_disaster",
    "reason_conflict",
    "reason_economic",
]
MONTHLY_COLUMNS = [
    "t",
    "fmp",
    "fmp_country",
    "route",
    "subroute",
    "movement",
    "origin",
    "previous",
    "next",
    "final",
    "nat",
    "n",
    "reason_seasonal",
    "reason_disaster",
    "reason_conflict",
    "reason_economic",
]
REGISTRY_COLUMNS = ["id", "name", "type", "country", "adm1", "adm2", "lat", "lon"]
POINT_TYPES = ["bus station", "border crossing", "transit hub"]


def _places(countries: list[str]) -> dict[str, list[tuple[str, float, float]]]:
    """Real towns (Natural Earth) per country, largest first: where the synthetic points stand."""
    with gzip.open(PLACES, "rt", encoding="utf-8") as fh:
        feats = json.load(fh)["features"]
    out: dict[str, list] = {c: [] for c in countries}
    for f in sorted(feats, key=lambda f: -(f["properties"].get("POP_MAX") or 0)):
        p = f["properties"]
        if p.get("ADM0_A3") in out:
            lon, lat = f["geometry"]["coordinates"][:2]
            out[p["ADM0_A3"]].append((p.get("NAME") or "", float(lon), float(lat)))
    return out


def network(points: int, countries: list[str], rng, prefix: str) -> list[dict]:
    places = _places(countries)
    regs = []
    for i in range(points):
        c = countries[i % len(countries)]
        name, lon, lat = places[c][(i // len(countries)) % max(len(places[c]), 1)]
        regs.append(
            {
                "id": f"{prefix}{i + 1:03d}",
                "name": f"SYNTHETIC {name} {i + 1}",
                "type": POINT_TYPES[i % 3],
                "country": c,
                "adm1": "",
                "adm2": "",
                "lat": round(lat + rng.uniform(-0.05, 0.05), 5),
                "lon": round(lon + rng.uniform(-0.05, 0.05), 5),
            }
        )
    return regs


def _write_registry(path: Path, regs: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, REGISTRY_COLUMNS)
        w.writeheader()
        w.writerows(regs)


def _reasons(n: np.ndarray, rng) -> list[np.ndarray]:
    p = [0.25, 0.05, 0.15, 0.55]
    left = n.copy()
    out = []
    share = 1.0
    for q in p[:-1]:
        k = rng.binomial(left, min(q / share, 1.0))
        out.append(k)
        left = left - k
        share -= q
    out.append(left)
    return out


def write_fmp_daily(
    out_dir: Path,
    *,
    points: int = 66,
    years: float = 7,
    start: dt.date = dt.date(2016, 2, 1),
    pairs_per_point: int = 8,
    rows_per_point_day: float = 5.16,
    seed: int = 2,
) -> tuple[Path, Path]:
    """Write ``registry.csv`` and ``daily.csv`` (West and Central Africa's shape) into ``out_dir``;
    66 points over 7 years: ~870,000 rows."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    regs = network(points, WCA, rng, "SYN-FMP-")
    _write_registry(out_dir / "registry.csv", regs)
    days = int(round(years * 365))
    others = WCA + WCA_ELSEWHERE
    # each point's (from, to) pairs and their mean daily counts
    frm = np.empty((points, pairs_per_point), dtype=object)
    to = np.empty((points, pairs_per_point), dtype=object)
    lam = rng.gamma(2.0, 40.0, (points, pairs_per_point))
    for i, r in enumerate(regs):
        seen: set[tuple[str, str]] = set()
        for j in range(pairs_per_point):
            while True:
                a, b = rng.choice([c for c in others if c != r["country"]], 2, replace=False)
                pair = (r["country"], str(a)) if j % 2 else (str(a), str(b))
                if pair not in seen:
                    break
            seen.add(pair)
            frm[i, j], to[i, j] = pair
    t = np.array([start + dt.timedelta(days=d) for d in range(days)], dtype="datetime64[D]")
    season = 1 + 0.4 * np.sin(2 * np.pi * np.arange(days) / 365.25)
    mask = rng.random((days, points, pairs_per_point)) < rows_per_point_day / pairs_per_point
    di, pi, ji = np.nonzero(mask)
    n = rng.poisson(lam[pi, ji] * season[di])
    reasons = _reasons(n, rng)
    ids = np.array([r["id"] for r in regs], dtype=object)
    ctry = np.array([r["country"] for r in regs], dtype=object)
    f, tt = frm[pi, ji], to[pi, ji]
    df = pd.DataFrame(
        {
            "t": t[di],
            "route": f + "-" + tt,
            "fmp": ids[pi],
            "fmp_country": ctry[pi],
            "from": f,
            "to": tt,
            "n": n,
            "reason_seasonal": reasons[0],
            "reason_disaster": reasons[1],
            "reason_conflict": reasons[2],
            "reason_economic": reasons[3],
        }
    )
    daily = out_dir / "daily.csv"
    df.to_csv(daily, index=False, date_format="%Y-%m-%d")
    return out_dir / "registry.csv", daily


EHOA = ["ETH", "DJI", "SOM", "KEN"]
EHOA_ELSEWHERE = ["YEM", "SAU", "SDN", "SSD", "UGA"]


def write_fmp_monthly(out_dir: Path, *, points: int = 8, months: int = 24, seed: int = 3) -> tuple[Path, Path]:
    """Write ``registry.csv`` and ``monthly.csv`` (East and Horn of Africa's shape) into ``out_dir``."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    regs = network(points, EHOA, rng, "SYN-EHOA-")
    _write_registry(out_dir / "registry.csv", regs)
    path = out_dir / "monthly.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(MONTHLY_COLUMNS)
        for m in range(months):
            month = dt.date(2019 + m // 12, m % 12 + 1, 1).isoformat()
            for r in regs:
                for movement in ("incoming", "outgoing"):
                    for final in rng.choice(EHOA_ELSEWHERE, 2, replace=False):
                        origin = rng.choice([c for c in EHOA if c != r["country"]])
                        n = int(rng.poisson(400))
                        rs = _reasons(np.array([n]), rng)
                        w.writerow(
                            [month, r["id"], r["country"], f"{origin}-{final}", "", movement, origin, origin]
                            + [r["country"], final, origin, n]
                            + [int(x[0]) for x in rs]
                        )
    return out_dir / "registry.csv", path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    e = sub.add_parser("ett", help="a Mosul-like ETT file (HXL-tagged CSV)")
    e.add_argument("out", type=Path)
    e.add_argument("--days", type=int, default=60)
    e.add_argument("--rows-per-day", type=int, default=300)
    e.add_argument("--onset", type=dt.date.fromisoformat, default=dt.date(2016, 10, 17))
    e.add_argument("--crisis", default="SYN-MOSUL-2016")
    e.add_argument("--seed", type=int, default=1)
    f = sub.add_parser("fmp", help="a West-Africa-like FMP network: registry.csv + daily.csv")
    f.add_argument("out", type=Path)
    f.add_argument("--points", type=int, default=66)
    f.add_argument("--years", type=float, default=7)
    f.add_argument("--seed", type=int, default=2)
    m = sub.add_parser("fmp-monthly", help="East and Horn of Africa's monthly shape: registry.csv + monthly.csv")
    m.add_argument("out", type=Path)
    m.add_argument("--points", type=int, default=8)
    m.add_argument("--months", type=int, default=24)
    a = ap.parse_args()
    if a.what == "ett":
        write_ett(a.out, days=a.days, rows_per_day=a.rows_per_day, onset=a.onset, crisis=a.crisis, seed=a.seed)
        print(a.out)
    elif a.what == "fmp":
        print(*write_fmp_daily(a.out, points=a.points, years=a.years, seed=a.seed))
    else:
        print(*write_fmp_monthly(a.out, points=a.points, months=a.months))


if __name__ == "__main__":
    main()
