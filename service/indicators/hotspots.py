"""The indices' hotspot rule, published with the index dataset (a column ``hotspot``).

DTM Iraq's Return Index classifies a **sub-district** as a hotspot when it scores high in
severity on at least one of its two scales (livelihoods and basic services; social cohesion
and safety), or scores medium while hosting a large number of returnees. Its reports give the
words, not one fixed set of numbers, so the cut-offs are data: the dataset's mapping file
declares them::

    hotspot:
      scales: [scale1_livelihoods, scale2_safety]   # the scale scores (headers), aggregated per unit
      high: 60        # a scale's score >= high: high severity
      medium: 30      # >= medium: medium
      population: returnees_ind                     # the returnees per unit (a summed column)
      many: 20000     # medium with at least this many returnees: a hotspot

Each sub-district's scale scores and returnees are the dataset's own aggregates (each column
by its catalogue's rule, e.g. returnee-weighted means of the location scores). The rule writes
the derived column ``hotspot``, aggregated as a share: 1 or 0 per sub-district with a score, and
per district, governorate and nationally the share of its scored sub-districts that are
hotspots (the catalogue's "share of units meeting a condition"; ``n`` is the locations it rests
on, as for the other columns, so public answers suppress small units alike). Its sensitivity is
the strictest of the columns it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from service.core.constants import UNASSIGNED
from service.indicators.errors import IndicatorFileError

COLUMN = "hotspot"
KEYS = {"scales", "high", "medium", "population", "many"}
ORDER = ("public", "partner", "restricted")


@dataclass(frozen=True)
class HotspotRule:
    file: str  # the mapping file (for messages)
    scales: tuple[str, ...]  # headers
    high: float
    medium: float
    population: str  # header
    many: float

    def describe(self) -> str:
        return (
            f"Hotspot sub-district (DTM Iraq's Return Index rule): a scale ({', '.join(self.scales)}) at or above "
            f"{self.high:g} (high), or at or above {self.medium:g} (medium) with at least {self.many:,.0f} "
            f"{self.population}; 1 or 0 per sub-district, above it the share of its sub-districts that are hotspots"
        )


def parse_rule(doc: object, file: str) -> HotspotRule | None:
    """The mapping file's ``hotspot:`` section (None when it has none); errors name the file and key."""
    if doc is None:
        return None

    def bad(key: str, msg: str) -> IndicatorFileError:
        return IndicatorFileError(file, None, f"hotspot.{key}" if key else "hotspot", msg)

    if not isinstance(doc, dict):
        raise bad("", "a mapping of scales, high, medium, population, many")
    unknown = sorted(set(doc) - KEYS)
    if unknown:
        raise bad(unknown[0], f"unknown key; keys: {', '.join(sorted(KEYS))}")
    missing = sorted(KEYS - set(doc))
    if missing:
        raise bad(missing[0], "required key missing")
    scales = doc["scales"]
    if not isinstance(scales, list) or not scales or not all(isinstance(s, str) and s for s in scales):
        raise bad("scales", "a list of the scale scores' column headers")
    nums = {}
    for key in ("high", "medium", "many"):
        v = doc[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad(key, f"a number, got {v!r}")
        nums[key] = float(v)
    if not nums["medium"] < nums["high"]:
        raise bad("medium", f"medium ({nums['medium']:g}) must be below high ({nums['high']:g})")
    if nums["many"] < 0:
        raise bad("many", "a number of returnees, not negative")
    if not isinstance(doc["population"], str) or not doc["population"]:
        raise bad("population", "the returnees' column header")
    return HotspotRule(file, tuple(scales), nums["high"], nums["medium"], doc["population"], nums["many"])


def check(rule: HotspotRule, cat) -> None:
    """The rule's columns are in the catalogue and aggregated (scores by any rule, the returnees
    summed); the file has no column of the derived one's id."""
    by_header = {e.header: e for e in cat.entries}
    for key, header in [*(("scales", s) for s in rule.scales), ("population", rule.population)]:
        e = by_header.get(header)
        if e is None:
            raise IndicatorFileError(rule.file, None, f"hotspot.{key}", f"no column {header!r} in the file")
        if e.aggregation == "none":
            raise IndicatorFileError(rule.file, None, f"hotspot.{key}", f"{header!r} is not aggregated per unit")
        if key == "population" and e.aggregation != "sum":
            raise IndicatorFileError(
                rule.file, None, "hotspot.population", f"{header!r} must be summed per unit (aggregation: sum)"
            )
    if cat.by_id(COLUMN) is not None:
        raise IndicatorFileError(
            rule.file, None, "hotspot", f"the file has a column {COLUMN!r}: the rule's column would take its id"
        )


def publish(conn: Connection, ds_id: int, rule: HotspotRule, cat) -> int:
    """Write the rule's catalogue entry and its values per unit (set-based); the number of hotspots."""
    by_header = {e.header: e for e in cat.entries}
    scales = [by_header[s].column_id for s in rule.scales]
    pop = by_header[rule.population].column_id
    sensitivity = max((by_header[h].sensitivity for h in (*rule.scales, rule.population)), key=ORDER.index)
    conn.execute(
        text(
            "INSERT INTO indicator_column (dataset_id, column_id, position, header, label_en, label_ar, type, unit, "
            "hxl, aggregation, sensitivity, source, description) VALUES (:d, :c, "
            "(SELECT coalesce(max(position), 0) + 1 FROM indicator_column WHERE dataset_id = :d), '', "
            "'Hotspot sub-districts', 'النواحي الساخنة', 'number', 'share', '#indicator+hotspot', 'share', "
            ":s, 'derived', :desc)"
        ),
        {"d": ds_id, "c": COLUMN, "s": sensitivity, "desc": rule.describe()},
    )
    params = {
        "d": ds_id,
        "c": COLUMN,
        "scales": scales,
        "pop": pop,
        "high": rule.high,
        "medium": rule.medium,
        "many": rule.many,
        "u": UNASSIGNED,
    }
    # per sub-district: 1 or 0 where a scale has a score (n: its locations, as the other columns)
    conn.execute(
        text(
            """INSERT INTO indicator_aggregate (dataset_id, level, pcode, column_id, value, n)
            SELECT :d, 3, s.pcode, :c,
                   CASE WHEN worst >= :high OR (worst >= :medium AND coalesce(people, 0) >= :many) THEN 1 ELSE 0 END,
                   s.n
            FROM (SELECT pcode, max(value) FILTER (WHERE column_id = ANY(:scales)) AS worst,
                         max(value) FILTER (WHERE column_id = :pop) AS people, max(n) AS n
                  FROM indicator_aggregate
                  WHERE dataset_id = :d AND level = 3 AND pcode <> :u AND (column_id = ANY(:scales) OR column_id = :pop)
                  GROUP BY pcode) s
            WHERE worst IS NOT NULL"""
        ),
        params,
    )
    # above: the share of the unit's scored sub-districts that are hotspots (the observations' own parents)
    conn.execute(
        text(
            """WITH h AS (SELECT pcode, value, n FROM indicator_aggregate WHERE dataset_id = :d AND level = 3
                           AND column_id = :c),
                 p AS (SELECT DISTINCT ON (adm3) adm3, adm2, adm1 FROM indicator_observation
                       WHERE dataset_id = :d AND adm3 IS NOT NULL ORDER BY adm3, adm2 NULLS LAST, adm1 NULLS LAST)
            INSERT INTO indicator_aggregate (dataset_id, level, pcode, column_id, value, n)
            SELECT :d, lvl, code, :c, avg(h.value), sum(h.n)
            FROM h JOIN p ON p.adm3 = h.pcode,
                 LATERAL (VALUES (2, coalesce(p.adm2, :u)), (1, coalesce(p.adm1, :u)),
                                 (0, (SELECT country FROM indicator_dataset WHERE id = :d))) v(lvl, code)
            GROUP BY lvl, code"""
        ),
        params,
    )
    return int(
        conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE value = 1) FROM indicator_aggregate "
                "WHERE dataset_id = :d AND level = 3 AND column_id = :c"
            ),
            params,
        ).scalar_one()
    )
