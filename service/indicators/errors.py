"""The one error of indicator files: it names the file, the row and the column."""

from __future__ import annotations


class IndicatorFileError(Exception):
    """A file that cannot be imported as it is; nothing of it is stored."""

    def __init__(self, file: str, row: int | None, column: str | None, message: str):
        self.file, self.row, self.column, self.message = file, row, column, message
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
