"""What the static maps and the information package take from the fragility layer
(``service.maps.hooks``): the classes of a round's stored default run as a map, its overlay
table and its method card. Reads only: a round without a stored run has none of them
(``dtm-atlas fragility compute`` makes it)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text

from service.core.errors import NotFound
from service.fragility import store
from styles.classify import Classification
from styles.fragility import legend


def _run(conn: Connection, round_id: int) -> dict | None:
    row = (
        conn.execute(
            text(f"SELECT * FROM fragility_run WHERE id = {store.run_of_round_sql('CAST(:r AS int)')}"), {"r": round_id}
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def map_values(conn: Connection, *, round_id: int, level: int, population: str):
    """(Classification, {pcode: class number 1-5}) of the round's stored default run: the
    map shows each unit's stored class (a unit without one is "No data": insufficient data),
    in the colours and with the labels of the fragility legend (``styles.fragility``)."""
    run = _run(conn, round_id)
    if run is None:
        raise NotFound(  # a 404 on /maps/fragility.*, not a 500 (the web map's fragility mode computes it)
            f"no fragility is stored for round id {round_id}: open the web map's fragility mode or run "
            "`dtm-atlas fragility compute` first"
        )
    m = run["method"]
    leg = legend(m["classes"]["thresholds"], m["classes"]["labels"])
    classes = [c for c in leg["classes"] if c["class"] is not None]
    rows = conn.execute(
        text("SELECT pcode, class FROM fragility_result WHERE run_id = :r AND level = :l"), {"r": run["id"], "l": level}
    ).all()
    values = {pcode: cls for pcode, cls in rows if cls is not None}
    counts = [sum(1 for v in values.values() if v == c["class"]) for c in classes]
    cls = Classification(
        method="fixed",
        k=len(classes),
        breaks=[float(c["class"]) for c in classes],
        lower=None,
        colors=[c["color"] for c in classes],
        labels=[f"{c['label']} ({c['range']})" for c in classes],
        counts=counts,
        palette="fragility",
        number_format="integer",
        no_data_count=len(rows) - len(values),
    )
    cls.title = leg["title"].replace("index (0-100)", "class") if "index" in leg["title"] else leg["title"]
    cls.indicator, cls.population, cls.unit = "fragility", population, "class"
    return cls, values


def overlay_table(conn: Connection, *, round_id: int) -> list[dict]:
    """The overlay (IDPs, returnees and locations per fragility class, national then per
    governorate) of the IDP round's stored default run; none for other rounds."""
    run = _run(conn, round_id)
    # once per package: with the IDP round the run was computed for (it covers its returnees too)
    return store.overlay(conn, run["id"]) if run and run["idp_round_id"] == round_id else []


def method_card(conn: Connection | None = None, *, round_id: int | None = None) -> str:
    """The Markdown method card of the round's stored default run."""
    from service.fragility.card import markdown

    run = _run(conn, round_id) if conn is not None and round_id is not None else None
    if run is None:
        raise ValueError("the method card needs a round with a stored fragility run")
    return markdown(run)


def run_status(conn: Connection, *, round_id: int) -> str | None:
    """The state of the round's stored default run: ``"current"``, ``"stale"`` (an import changed
    its inputs since: ``refresh`` recomputes it) or None when no run is stored for the round."""
    run = _run(conn, round_id)
    if run is None:
        return None
    return "stale" if run["stale"] else "current"


def refresh(engine, *, round_id: int, shared_dir: Path) -> dict:
    """Recompute the round's stored default run when it is stale (``run.ensure_run``: the
    default method, the inputs in ``shared_dir``, the setting ``shared_data_dir``). Returns the
    run row; raises the layer's errors (``FragilityError``, ``InputError``, ``MethodError``)
    when it cannot."""
    from service.fragility.run import ensure_run

    with engine.connect() as conn:
        run = _run(conn, round_id)
    if run is None:
        raise ValueError(f"no fragility is stored for round id {round_id}")
    fresh, _ = ensure_run(engine, shared_dir=shared_dir, round_number=run["round_number"])
    return fresh
