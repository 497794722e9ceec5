"""A dataset of a round over many rounds: one time-enabled OGC collection per population and level.

A per-round dataset (``Dataset.per_round``; its ``where_sql`` names the round as the
parameter ``:round_id``) becomes, for a list of rounds, a dataset whose rows are the rows of
every one of those rounds: its ``FROM`` gains the rounds (``tr``, ``rr``: the round row), its
``:round_id`` becomes the round of the row (``tr.trid``), its temporal property is the
round's reporting date, and its row id is prefixed by the round (``r120-IQG07Q02``; a round
the calendar does not number: ``d20210228-...``), unique across rounds. The round ids are
integers the service read from its own database; nothing of a request enters this SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from service.core.datasets import Dataset, Field

ROUND_PARAM = re.compile(r":round_id\b")
ROUND_PART_SQL = "coalesce('r' || rr.round_number, 'd' || to_char(rr.reporting_date, 'YYYYMMDD'))"
FEATURE_ID = re.compile(r"(r\d{1,9}|d\d{8})-(.+)")


def series_dataset(ds: Dataset, round_ids: Sequence[int]) -> Dataset:
    """``ds`` (per round) over the rounds ``round_ids``."""
    if not ds.per_round:
        raise ValueError(f"dataset {ds.key} is not of a round")
    ids = ",".join(str(int(i)) for i in round_ids)
    rounds = f"unnest(ARRAY[{ids}]::int[]) AS tr(trid) JOIN round rr ON rr.id = tr.trid"
    names = {f.name for f in ds.fields}
    extra = []
    if "round_number" not in names:
        extra.append(Field("round_number", "rr.round_number", "int", "round_num", "#round+code", "DTM round number"))
    if "reporting_date" not in names:
        extra.append(
            Field("reporting_date", "rr.reporting_date", "date", "rep_date", "#date+reported", "Reporting date")
        )

    def sub(sql: str) -> str:  # the round of the row where the dataset names the round
        return ROUND_PARAM.sub("tr.trid", sql)

    return replace(
        ds,
        per_round=False,
        from_sql=f"{rounds},\n{sub(ds.from_sql)}",
        where_sql=sub(ds.where_sql),
        geom_sql=sub(ds.geom_sql),
        id_sql=f"({ROUND_PART_SQL} || '-' || ({sub(ds.id_sql)})::text)",
        id_type="str",
        order_sql=f"rr.reporting_date, {sub(ds.order_sql)}",
        fields=tuple(replace(f, sql=sub(f.sql)) for f in (*ds.fields, *extra)),
        temporal_sql="rr.reporting_date",
        bucket_sql=sub(ds.bucket_sql) if ds.bucket_sql else None,
    )


def split_feature_id(fid: str) -> tuple[str, str] | None:
    """``r120-IQG07Q02`` -> ("r120", "IQG07Q02"); None when ``fid`` has no round part."""
    m = FEATURE_ID.fullmatch(fid)
    return (m.group(1), m.group(2)) if m else None
