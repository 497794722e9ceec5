"""Indicator datasets as a source of values per admin unit for other kinds (the registry's
``UnitSource`` under the scheme ``dataset``, ``service.indicators.kind``): the fragility method's
``source: dataset:<id>:<indicator>`` reads a dataset's aggregate of one indicator per
sub-district through it, without importing this kind.

Only what anonymous readers may see is handed out (the reading kind publishes what it makes
of it): a dataset an editor has not published, or a column stricter than public, is refused
with a message saying so. The indicator must be aggregated per unit (its catalogue's rule is
not ``none``: every rule gives a number); the dataset must be of the country asked for. Units the dataset
has no aggregate for are left out (missing, not zero); so are the units the public table
suppresses (``publish.public_table``: the values are what every public path publishes, so the
reading kind's public outputs give no suppressed cell back).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from service.core.access import ANONYMOUS, decide, visible_columns
from service.core.constants import UNASSIGNED
from service.core.disclosure import current_rule
from service.core.registry import UnitValues
from service.indicators.publish import public_table, resource


def _dataset_id(ref: str) -> int:
    if not ref.isdigit():
        raise LookupError(f"dataset {ref!r}: a dataset id is a number (GET /datasets lists them)")
    return int(ref)


def _dataset(conn: Connection, ref: str) -> dict:
    ds_id = _dataset_id(ref)
    row = (
        conn.execute(
            text(
                "SELECT d.id, d.country, d.title, d.file_name, d.sha256, d.import_id, d.round_label, d.reporting_date "
                "FROM indicator_dataset d WHERE d.id = :d"
            ),
            {"d": ds_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise LookupError(f"no dataset {ds_id} (GET /datasets lists them)")
    return dict(row)


class DatasetValues:
    """The ``dataset`` unit source (see the module's docstring)."""

    def stamp(self, conn: Connection, ref: str) -> list:
        d = _dataset(conn, ref)
        return [d["id"], d["import_id"], d["sha256"]]

    def values(self, conn: Connection, ref: str, indicator: str, *, level: int, country: str) -> UnitValues:
        d = _dataset(conn, ref)
        ds_id = d["id"]
        res = resource(conn, ds_id)
        if res is None or not decide(ANONYMOUS, res).allowed:
            raise ValueError(
                f"dataset {ds_id} is not public: an editor publishes it first (dtm-atlas datasets publish {ds_id})"
            )
        col = (
            conn.execute(
                text(
                    "SELECT column_id, label_en, type, aggregation, unit FROM indicator_column "
                    "WHERE dataset_id = :d AND column_id = :c"
                ),
                {"d": ds_id, "c": indicator},
            )
            .mappings()
            .first()
        )
        if col is None:
            known = conn.execute(
                text(
                    "SELECT column_id FROM indicator_column WHERE dataset_id = :d AND aggregation <> 'none' "
                    "ORDER BY position"
                ),
                {"d": ds_id},
            ).scalars()
            raise LookupError(f"dataset {ds_id} has no indicator {indicator!r}; indicators: {', '.join(known)}")
        if indicator not in visible_columns(ANONYMOUS, res, [indicator]):
            raise ValueError(f"dataset {ds_id}: indicator {indicator!r} is not public (its catalogue's sensitivity)")
        if col["aggregation"] == "none":
            raise ValueError(
                f"dataset {ds_id}: indicator {indicator!r} ({col['type']}) is not aggregated per unit (its "
                "catalogue's aggregation is none): no value per unit"
            )
        if d["country"].strip() != country:
            raise ValueError(f"dataset {ds_id} is of {d['country'].strip()}, not {country}")
        # what the public sees of it: the dataset's one published table (small cells suppressed)
        published = public_table(conn, ds_id, current_rule()).level(level, indicator)
        values = {p: v for p, v in sorted(published.items()) if v is not None and p != UNASSIGNED}
        return UnitValues(
            values,
            col["label_en"],
            {
                "dataset_id": ds_id,
                "title": d["title"],
                "file": d["file_name"],
                "sha256": d["sha256"],
                "import_id": d["import_id"],
                "indicator": indicator,
                "aggregation": col["aggregation"],
                "units": len(values),
                "suppressed": sum(1 for p, v in published.items() if v is None and p != UNASSIGNED),
            },
        )


SOURCE = DatasetValues()
