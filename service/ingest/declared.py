"""The declared P-code columns of a staged master list, checked against the country's own codes.

A master list of any operation declares each location's admin units in P-code columns
(governorate / district, state / LGA / ward, state / county / payam, region / district / TA),
found by header name or HXL tag (``header.PCODE_FIELDS``) and staged as ``adm1_code`` ..
``adm3_code``. Which level a column really holds is told by its codes: the shapes of each
level's P-codes are learned from the country's current boundaries
(``boundaries.pcode.code_shape``: Nigeria's states ``NGnnn``, LGAs ``NGnnnnnn``, wards
``NGnnnnnnnnn``; Iraq's ``IQGnn``, ``IQGnnQnn``, ``IQGnnQnnNnn``).

* A column whose codes are of another level than its name or tag says (``#adm1+code`` over
  LGA codes) is read as the level of its codes, and the mismatch is reported: a warning of
  the import naming the file, the column, its tag and the level it was read as.
* A column none of whose codes is a P-code of any level of the country is an error
  (``MasterlistError`` naming the file, the column and the first row): nothing is imported.
* Codes the boundaries do not hold (of the right shape, a typo, a newer code) are reported;
  placement flags their rows (``unresolved_declared_name``) and places them without them (by
  their other declared units, names or codes, else by their point).

Both staging paths build the same ``stage``; this check runs on it, after either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from boundaries.pcode import code_shape, normalize_pcode
from service.ingest.stage import CodeColumn, MasterlistError

#: The stage column of each declared P-code field.
STAGE_CODE: dict[str, str] = {"admin1_pcode": "adm1_code", "admin2_pcode": "adm2_code", "admin3_pcode": "adm3_code"}
EXAMPLES = 5  # codes shown in a message


@dataclass
class LevelShapes:
    """The P-codes of a boundary set per level, and the level each code shape stands for."""

    known: dict[int, set[str]] = field(default_factory=dict)
    by_shape: dict[str, int] = field(default_factory=dict)
    shown: dict[int, str] = field(default_factory=dict)  # the usual shape of each level, for messages

    @classmethod
    def learn(cls, units: Iterable[tuple[int, str]]) -> LevelShapes:
        """From (level, P-code) pairs: a shape is the level most of its codes are at."""
        out = cls()
        per_shape: dict[str, Counter[int]] = {}
        for level, pcode in units:
            out.known.setdefault(level, set()).add(pcode)
            shape = code_shape(pcode)
            if shape is not None:
                per_shape.setdefault(shape, Counter())[level] += 1
        for shape, levels in per_shape.items():
            out.by_shape[shape] = levels.most_common(1)[0][0]
        for level in out.known:
            shapes = Counter({s: c[level] for s, c in per_shape.items() if c[level]})
            if shapes:
                out.shown[level] = shapes.most_common(1)[0][0]
        return out

    def level_of(self, code: str) -> int | None:
        """The level a code is at: the boundaries' own, else the level of its shape."""
        try:
            canonical = normalize_pcode(code)
        except ValueError:
            return None
        for level, codes in self.known.items():
            if canonical in codes:
                return level
        return self.by_shape.get(code_shape(canonical) or "")

    def holds(self, level: int, code: str) -> bool:
        try:
            return normalize_pcode(code) in self.known.get(level, ())
        except ValueError:
            return False

    def patterns(self) -> str:
        return ", ".join(f"admin{level} {shape}" for level, shape in sorted(self.shown.items()))


def _named(col: CodeColumn) -> str:
    return f"column {col.label!r}" + (f" (HXL tag {col.tag})" if col.tag else "")


def _examples(codes: list[str]) -> str:
    shown = ", ".join(repr(c) for c in codes[:EXAMPLES])
    return shown + (f" and {len(codes) - EXAMPLES} more" if len(codes) > EXAMPLES else "")


def check_code_columns(conn: Connection, set_id: int, country: str, file: str, columns: list[CodeColumn]) -> list[str]:
    """Check the staged P-code ``columns`` against boundary set ``set_id``; move a column read
    as another level to that level's stage column; return the warnings (one line each).
    Raises ``MasterlistError`` for a column that holds no P-code of the country."""
    if not columns:
        return []
    shapes = LevelShapes.learn(
        conn.execute(
            text("SELECT level, pcode FROM admin_unit WHERE boundary_set_id = :s AND level BETWEEN 1 AND 3"),
            {"s": set_id},
        ).all()
    )
    warnings: list[str] = []
    read_as: dict[str, int] = {}  # stage column -> the level it is read as
    for col in columns:
        stage_col = STAGE_CODE[col.field]
        declared = int(col.field[5])
        distinct = conn.execute(
            text(f"SELECT {stage_col}, count(*), min(source_row) FROM stage WHERE {stage_col} IS NOT NULL GROUP BY 1")
        ).all()
        rows_at: Counter[int] = Counter()
        level_of: dict[str, int | None] = {}
        for code, n, _first in distinct:
            level_of[code] = shapes.level_of(code)
            if level_of[code] is not None:
                rows_at[level_of[code]] += n
        if distinct and not rows_at:
            first, code = min((first, code) for code, _n, first in distinct)
            raise MasterlistError(
                file,
                f"{code!r} is not a P-code of any {country} admin level, nor is any other value of the column "
                f"(the {country} boundaries' P-codes look like {shapes.patterns() or 'nothing: none imported'}); "
                "is it the right column, and the right --country?",
                row=first,
                field=col.label,
            )
        if not rows_at:
            continue  # an empty column
        # the level of most rows (a tie: the declared one)
        level = max(rows_at, key=lambda lv: (rows_at[lv], lv == declared))
        read_as[stage_col] = level
        if level != declared:
            warnings.append(
                f"{file}: {_named(col)} says admin{declared} P-codes but holds admin{level} P-codes "
                f"({country} admin{level} codes look like {shapes.shown.get(level, '?')}): read as admin{level}"
            )
        unknown = sorted(c for c, lv in level_of.items() if not shapes.holds(level, c))
        if unknown:
            rows = sum(n for code, n, _ in distinct if code in set(unknown))
            warnings.append(
                f"{file}: {_named(col)}: {len(unknown)} P-code(s) on {rows} row(s) are not admin{level} units of the "
                f"current {country} boundaries ({_examples(unknown)}): those rows are placed without them (by their "
                "other declared units, else by their point)"
            )
    if any(int(stage_col[3]) != level for stage_col, level in read_as.items()):
        _move(conn, read_as)
    return warnings


def _move(conn: Connection, read_as: dict[str, int]) -> None:
    """Each stage code column to the level it is read as; of two columns read as one level,
    the one declared at that level first (the other fills its empty cells)."""
    sets = []
    for level in (1, 2, 3):
        sources = sorted((c for c, lv in read_as.items() if lv == level), key=lambda c: int(c[3]) != level)
        target = f"adm{level}_code"
        if sources:
            sets.append(f"{target} = coalesce({', '.join(sources)})")  # (one argument: the value itself)
        elif target in read_as:  # moved away and nothing moved in
            sets.append(f"{target} = NULL")
    conn.execute(text(f"UPDATE stage SET {', '.join(sets)}"))
