"""Indicator datasets as a source of values per admin unit for other kinds (the registry's
``UnitSource`` under the scheme ``dataset``, ``service.indicators.kind``): the fragility method's
``source: dataset:<id>:<indicator>`` reads a dataset's aggregate of one indicator per
sub-district through it, without importing this kind.

Only what anonymous readers may see is handed out (the reading kind publishes what it makes
of it): a dataset an editor has not published, or a column stricter than public, is refused
with a message saying so. The indicator must be aggregated per unit (its catalogue's rule is
not ``none``: every rule gives a number); the dataset must be of the country asked for. Units the dataset
has no aggregate for are left out (missing, not zero).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from service.core.access import ANONYMOUS, decide, visible_columns
from service.core.registry import UnitValues
from service.indicators.publish import resource


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
        rows = conn.execute(
            text(
                "SELECT pcode, value FROM indicator_aggregate WHERE dataset_id = :d AND level = :l AND column_id = :c "
                "ORDER BY pcode"
            ),
            {"d": ds_id, "l": level, "c": indicator},
        ).all()
        return UnitValues(
            {p: v for p, v in rows},
            col["label_en"],
            {
                "dataset_id": ds_id,
                "title": d["title"],
                "file": d["file_name"],
                "sha256": d["sha256"],
                "import_id": d["import_id"],
                "indicator": indicator,
                "aggregation": col["aggregation"],
                "units": len(rows),
            },
        )


SOURCE = DatasetValues()
