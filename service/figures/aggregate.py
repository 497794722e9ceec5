"""Owner of ``unit_figure``, ``unit_breakdown`` and ``origin_flow``: aggregation per round.

Set-based SQL over ``location_figure``. Every level sums the same rows, so national = sum of
governorates = sum of districts = sum of sub-districts = sum of locations, with the
``UNASSIGNED`` bucket as an explicit unit at each level.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, text

from boundaries.crosswalk import Crosswalk
from service.core.bulk import copy_rows, execute_literal
from service.core.importlog import bump_data_version
from service.figures.household import RoundSizes, sizes_for
from service.figures.placement import UNASSIGNED, round_table
from service.figures.tables import unit_breakdown


def aggregate_round(
    conn: Connection,
    round_id: int,
    crosswalk: Crosswalk,
    sizes: RoundSizes | None = None,
    categories: dict[str, list[str]] | None = None,
) -> None:
    """The aggregates of a round just placed (it has none yet in the tables written here).
    Its rows are read from the round's own table (``placement.round_table``), attached as a
    partition of ``location_figure`` or not yet: an import aggregates before its turn
    (``placement.lock_partitions``). ``categories``: the keys its breakdown documents may
    hold, per dimension, when the staging knows them (``categories_of``)."""
    p = {"r": round_id}
    rows = round_table(round_id)
    national = conn.execute(
        text(
            """
            SELECT coalesce((SELECT u.pcode FROM admin_unit u JOIN round r ON r.boundary_set_id = u.boundary_set_id
                             WHERE r.id = :r AND u.level = 0 LIMIT 1),
                            (SELECT country FROM round WHERE id = :r))
            """
        ),
        p,
    ).scalar_one()
    p["n"] = national
    published = published_sum(conn, round_id, p, sizes)
    # one pass over the rows: sub-district groups, then rolled up with GROUPING SETS; each
    # unit's share of the national figure from the same pass (the national row is one of them)
    conn.execute(
        text(
            f"""
            INSERT INTO unit_figure (round_id, level, pcode, families, individuals, locations, published_individuals,
                                     share_national)
            SELECT :r, level, pcode, families, individuals, locations, published,
                   individuals::float8 / NULLIF(max(individuals) FILTER (WHERE level = 0) OVER (), 0)
            FROM (
              SELECT CASE WHEN GROUPING(adm3) = 0 THEN 3 WHEN GROUPING(adm2) = 0 THEN 2
                          WHEN GROUPING(adm1) = 0 THEN 1 ELSE 0 END AS level,
                     CASE WHEN GROUPING(adm3) = 0 THEN adm3 WHEN GROUPING(adm2) = 0 THEN adm2
                          WHEN GROUPING(adm1) = 0 THEN adm1 ELSE :n END AS pcode,
                     coalesce(sum(families), 0) AS families, coalesce(sum(individuals), 0) AS individuals,
                     count(*) AS locations, {published} AS published
              FROM {rows} WHERE round_id = :r
              GROUP BY GROUPING SETS ((adm1), (adm2), (adm3), ())
            ) g
            """
        ),
        p,
    )
    # breakdowns: families by origin governorate, shelter type and period, per unit. The pass
    # over the rows sums each category's value per sub-district (a key looked up in each
    # row's document: no document is opened into rows), as a CREATE TABLE AS, which
    # PostgreSQL may run with parallel workers (an INSERT ... SELECT never is); the sums are
    # then unfolded, a category kept where some row holds it, and rolled up to every level.
    # (Opening every document with jsonb_each_text and grouping its entries on five keys
    # cost 2-3x more.) The values are whole counts below 1e15: staging writes nothing else.
    pairs = [
        (dim, key)
        for dim in BREAKDOWN_DIMENSIONS
        for key in dict.fromkeys(categories_of(conn, rows, p, categories)[dim])
    ]
    if not pairs:
        return _origin_flows(conn, round_id, crosswalk, p)
    sums = []
    for i, (dim, key) in enumerate(pairs):
        p[f"k{i}"] = key
        sums.append(f"sum(({dim} ->> CAST(:k{i} AS text))::int8)")
    p["dims"], p["cats"] = [d for d, _ in pairs], [k for _, k in pairs]
    execute_literal(
        conn,
        f"""
            CREATE TEMP TABLE breakdown_leaf ON COMMIT DROP AS
            SELECT adm1, adm2, adm3, ARRAY[{", ".join(sums)}] AS sums
            FROM {rows} WHERE round_id = :r
            GROUP BY adm3, adm2, adm1
        """,
        p,
    )
    conn.execute(
        text(
            """
            INSERT INTO unit_breakdown (round_id, level, pcode, dimension, category, families)
            SELECT :r,
                   CASE WHEN GROUPING(adm3) = 0 THEN 3 WHEN GROUPING(adm2) = 0 THEN 2
                        WHEN GROUPING(adm1) = 0 THEN 1 ELSE 0 END,
                   CASE WHEN GROUPING(adm3) = 0 THEN adm3 WHEN GROUPING(adm2) = 0 THEN adm2
                        WHEN GROUPING(adm1) = 0 THEN adm1 ELSE :n END,
                   dimension, category, sum(v)::bigint
            FROM breakdown_leaf l,
                 unnest(CAST(:dims AS text[]), CAST(:cats AS text[]), l.sums) AS u(dimension, category, v)
            WHERE u.v IS NOT NULL
            GROUP BY GROUPING SETS ((dimension, category, adm1), (dimension, category, adm2),
                                    (dimension, category, adm3), (dimension, category))
            ORDER BY 2, 3, 4, 5
            """
        ),
        p,
    )
    _origin_flows(conn, round_id, crosswalk, p)


#: The breakdown documents of ``location_figure`` (``unit_breakdown.dimension``).
BREAKDOWN_DIMENSIONS = ("origin", "shelter", "period")


def categories_of(conn: Connection, rows: str, params: dict, given: dict | None = None) -> dict[str, list[str]]:
    """The keys the round's breakdown documents may hold, per dimension: ``given`` (what the
    staging can write: the breakdown columns' names; a key no row holds costs a lookup and
    gives no row), else read from the rows."""
    if given is not None:
        return {dim: list(given.get(dim, ())) for dim in BREAKDOWN_DIMENSIONS}
    found: dict[str, list[str]] = {dim: [] for dim in BREAKDOWN_DIMENSIONS}
    union = " UNION ".join(
        f"SELECT '{dim}' AS d, k FROM {rows} f, jsonb_object_keys(f.{dim}) k "
        f"WHERE f.round_id = :r AND f.{dim} <> '{{}}'"
        for dim in BREAKDOWN_DIMENSIONS
    )
    for dim, key in conn.execute(text(f"SELECT d, k FROM ({union}) x ORDER BY d, k"), params):
        found[dim].append(key)
    return found


def _origin_flows(conn: Connection, round_id: int, crosswalk: Crosswalk, p: dict) -> None:
    # origin governorate -> current district; origin names resolved through the crosswalk
    names = (
        conn.execute(
            text(
                "SELECT DISTINCT category FROM unit_breakdown "
                "WHERE round_id = :r AND dimension = 'origin' AND level = 0"
            ),
            p,
        )
        .scalars()
        .all()
    )
    conn.execute(text("CREATE TEMP TABLE origin_names (name text, pcode text) ON COMMIT DROP"))
    copy_rows(conn, "origin_names", ["name", "pcode"], [(n, crosswalk.resolve(1, n)) for n in names])
    conn.execute(
        text(
            """
            INSERT INTO origin_flow (round_id, origin_name, origin_adm1, adm2, families)
            SELECT :r, b.category, o.pcode, b.pcode, b.families
            FROM unit_breakdown b LEFT JOIN origin_names o ON o.name = b.category
            WHERE b.round_id = :r AND b.level = 2 AND b.dimension = 'origin' AND b.families <> 0
            """
        ),
        p,
    )


def delete_round_aggregates(conn: Connection, round_id: int) -> None:
    """The aggregates of a round about to be deleted that its row's deletion does not take
    with it: ``unit_breakdown`` has no foreign key to ``round`` (migration 0010). (``unit_figure``
    and ``origin_flow`` go by ``ON DELETE CASCADE``.)"""
    conn.execute(delete(unit_breakdown).where(unit_breakdown.c.round_id == round_id))


def published_sum(
    conn: Connection,
    round_id: int,
    params: dict,
    sizes: RoundSizes | None = None,
    household_sizes: str | None = None,
) -> str:
    """The SQL aggregate of DTM's published count over the round's rows (``location_figure``
    or the round's own table) (``service.figures.household``): the file's individuals minus, on the rows counted
    at the default household size, each differing shelter's families x (default - its size).
    Without a shelter rule in force it is the file's sum. Adds its bound values to ``params``.
    ``sizes``: the round's household sizes, when the caller has them already (the import);
    else read with the rules of ``household_sizes`` (the setting's CSV) over the project's."""
    if sizes is None:
        country, population, date = conn.execute(
            text("SELECT country, population, reporting_date FROM round WHERE id = :r"), {"r": round_id}
        ).one()
        sizes = sizes_for(country.strip(), population, date, household_sizes)
    adjust = sizes.adjustments()
    if not adjust:
        return "coalesce(sum(individuals), 0)"
    params["hh_default"] = sizes.default
    # one filtered sum per differing shelter: only the rows holding it at the default size open
    # their JSON for it (+0.15-0.2 s over 1M rows, against 0.35 s for a CASE on every row)
    terms = []
    for i, (shelter, persons) in enumerate(adjust.items()):
        params[f"hh_k{i}"], params[f"hh_d{i}"] = shelter, persons
        key = f"CAST(:hh_k{i} AS text)"
        terms.append(
            f" - :hh_d{i} * coalesce(sum((shelter ->> {key})::float8) FILTER (WHERE individuals = families * "
            f":hh_default AND jsonb_typeof(shelter -> {key}) = 'number'), 0)"
        )
    return f"(coalesce(sum(individuals), 0){''.join(terms)})::bigint"


def recount_published(conn: Connection, household_sizes: str | None = None) -> tuple[int, list[dict]]:
    """Recompute every round's DTM published count (``refresh_published``) with the rules of
    ``household_sizes`` over the project's; bumps the data version when a national figure
    changed. Returns the number of rounds and the changed ones (the round's ``id``, ``country``,
    ``population``, ``round_number``, ``reporting_date``, national ``before`` and ``after``).
    Raises ``HouseholdSizeError`` when the rules cannot be read (the caller's transaction is
    then rolled back)."""
    national = text("SELECT published_individuals FROM unit_figure WHERE round_id = :r AND level = 0")
    rounds = (
        conn.execute(
            text("SELECT id, country, population, round_number, reporting_date FROM round ORDER BY reporting_date, id")
        )
        .mappings()
        .all()
    )
    changed = []
    for r in rounds:
        before = conn.execute(national, {"r": r["id"]}).scalar()
        refresh_published(conn, r["id"], household_sizes)
        after = conn.execute(national, {"r": r["id"]}).scalar()
        if after != before:
            changed.append({**r, "country": r["country"].strip(), "before": before, "after": after})
    if changed:
        bump_data_version(conn)
    return len(rounds), changed


def refresh_published(conn: Connection, round_id: int, household_sizes: str | None = None) -> None:
    """Recompute the round's ``published_individuals`` (every level) from its rows, with the
    household sizes in force now: for rounds aggregated before the column existed (migration
    0011) or after the rules changed (``household_sizes``: the setting's CSV of more rules)."""
    p = {"r": round_id}
    published = published_sum(conn, round_id, p, household_sizes=household_sizes)
    conn.execute(
        text(
            f"""
            UPDATE unit_figure f SET published_individuals = s.published
            FROM (SELECT CASE WHEN GROUPING(adm3) = 0 THEN 3 WHEN GROUPING(adm2) = 0 THEN 2
                              WHEN GROUPING(adm1) = 0 THEN 1 ELSE 0 END AS level,
                         CASE WHEN GROUPING(adm3) = 0 THEN adm3 WHEN GROUPING(adm2) = 0 THEN adm2
                              WHEN GROUPING(adm1) = 0 THEN adm1 END AS pcode,
                         {published} AS published
                  FROM location_figure WHERE round_id = :r
                  GROUP BY GROUPING SETS ((adm1), (adm2), (adm3), ())) s
            WHERE f.round_id = :r AND f.level = s.level AND (f.pcode = s.pcode OR s.level = 0)
            """
        ),
        p,
    )


def round_totals(conn: Connection, round_id: int) -> dict:
    """Rows (locations), families and individuals of an aggregated round, and its rows in the
    unassigned bucket of each level (``u1``, ``u2``, ``u3``): read from ``unit_figure``."""
    return dict(
        conn.execute(
            text(
                """
                SELECT max(locations) FILTER (WHERE level = 0) AS rows,  -- (the one national row)
                       max(families) FILTER (WHERE level = 0) AS families,
                       max(individuals) FILTER (WHERE level = 0) AS individuals,
                       coalesce(sum(locations) FILTER (WHERE level = 1 AND pcode = :U), 0) AS u1,
                       coalesce(sum(locations) FILTER (WHERE level = 2 AND pcode = :U), 0) AS u2,
                       coalesce(sum(locations) FILTER (WHERE level = 3 AND pcode = :U), 0) AS u3
                FROM unit_figure WHERE round_id = :r AND (level = 0 OR pcode = :U)
                """
            ),
            {"r": round_id, "U": UNASSIGNED},
        )
        .mappings()
        .one()
    )


#: How far from one year before a round the round it is compared with over twelve months may
#: be: the history has fortnightly, monthly and bimonthly rounds, and gaps.
TWELVE_MONTHS_TOLERANCE_DAYS = 62


def refresh_changes(conn: Connection, country: str, population: str) -> None:
    """Change against the previous round (by reporting date) of the same population, and
    against the round closest to one year earlier (``change_12m``, within
    ``TWELVE_MONTHS_TOLERANCE_DAYS``). An import can be older than rounds already there, so
    every round of the population is looked at, but only the rounds whose previous or
    twelve-month round changed are rewritten (the new one and its successors in time): an
    import of a long history stays linear. The few stale rounds are found first, so the
    update is planned for them alone (index probes, not scans of every round's figures)."""
    stale = conn.execute(
        text(
            """
            WITH ordered AS (
              SELECT id, reporting_date, lag(id) OVER (ORDER BY reporting_date, round_number) AS prev_id
              FROM round WHERE country = :c AND population = :p
            ), refs AS (
              SELECT o.id, o.prev_id, (
                SELECT q.id FROM ordered q
                WHERE q.reporting_date < o.reporting_date
                  AND abs(q.reporting_date - CAST(o.reporting_date - interval '1 year' AS date)) <= :tol
                ORDER BY abs(q.reporting_date - CAST(o.reporting_date - interval '1 year' AS date)), q.reporting_date
                LIMIT 1) AS ref_id
              FROM ordered o
            )
            SELECT r.id, r.prev_id, r.ref_id FROM refs r
            LEFT JOIN LATERAL (SELECT n.prev_round_id, n.ref12_round_id FROM unit_figure n
                               WHERE n.round_id = r.id AND n.level = 0 LIMIT 1) n ON true
            WHERE (r.prev_id, r.ref_id) IS DISTINCT FROM (n.prev_round_id, n.ref12_round_id)
            """
        ),
        {"c": country, "p": population, "tol": TWELVE_MONTHS_TOLERANCE_DAYS},
    ).all()
    if not stale:
        return
    conn.execute(
        text(
            """
            WITH calc AS (
              SELECT f.round_id, f.level, f.pcode, s.prev_id, s.ref_id,
                     pf.individuals AS prev_ind, rf.individuals AS ref_ind
              FROM unnest(CAST(:ids AS int[]), CAST(:prevs AS int[]), CAST(:refs AS int[])) AS s(id, prev_id, ref_id)
              JOIN unit_figure f ON f.round_id = s.id
              LEFT JOIN unit_figure pf ON pf.round_id = s.prev_id AND pf.level = f.level AND pf.pcode = f.pcode
              LEFT JOIN unit_figure rf ON rf.round_id = s.ref_id AND rf.level = f.level AND rf.pcode = f.pcode
            )
            UPDATE unit_figure f SET
              prev_round_id = c.prev_id,
              prev_individuals = CASE WHEN c.prev_id IS NOT NULL THEN coalesce(c.prev_ind, 0) END,
              change_individuals = CASE WHEN c.prev_id IS NOT NULL THEN f.individuals - coalesce(c.prev_ind, 0) END,
              change_share = CASE WHEN c.prev_id IS NOT NULL AND coalesce(c.prev_ind, 0) > 0
                                  THEN (f.individuals - c.prev_ind)::float8 / c.prev_ind END,
              ref12_round_id = c.ref_id,
              individuals_12m_ago = CASE WHEN c.ref_id IS NOT NULL THEN coalesce(c.ref_ind, 0) END,
              change_12m_individuals = CASE WHEN c.ref_id IS NOT NULL THEN f.individuals - coalesce(c.ref_ind, 0) END,
              change_12m_share = CASE WHEN c.ref_id IS NOT NULL AND coalesce(c.ref_ind, 0) > 0
                                      THEN (f.individuals - c.ref_ind)::float8 / c.ref_ind END
            FROM calc c
            WHERE f.round_id = c.round_id AND f.level = c.level AND f.pcode = c.pcode
            """
        ),
        {"ids": [r.id for r in stale], "prevs": [r.prev_id for r in stale], "refs": [r.ref_id for r in stale]},
    )


def unit_figure_stats_stale(conn: Connection) -> bool:
    """Whether ``unit_figure``'s planner statistics are missing or older than a tenth of its
    rows (counting the rows changed by earlier, committed imports and by this transaction's)."""
    return conn.execute(
        text(
            """
        SELECT c.reltuples < 10000 OR coalesce(s.n_mod_since_analyze, 0) + coalesce(x.n_tup_ins, 0)
                                       + coalesce(x.n_tup_upd, 0) + coalesce(x.n_tup_del, 0) > 0.1 * c.reltuples
        FROM pg_class c
        LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
        LEFT JOIN pg_stat_xact_user_tables x ON x.relid = c.oid
        WHERE c.oid = 'unit_figure'::regclass
        """
        )
    ).scalar_one()


def analyze_unit_figure(conn: Connection) -> None:
    conn.execute(text("ANALYZE unit_figure"))
