"""Values as DTM files write them: areas, thousands separators, Yes/No, multi-select answers,
dates as text and as Excel serial days; types inferred from the values."""

from __future__ import annotations

import datetime as dt

import pytest

from service.indicators.catalogue import infer_type
from service.indicators.parse import parse_value


@pytest.mark.parametrize(
    "typ, raw, want",
    [
        ("area", "31,533 sq.m", 31533.0),
        ("area", "30, 720 sq.m", 30720.0),
        ("area", "2 ha", 20000.0),
        ("area", 1200, 1200.0),
        ("integer", "1,234", 1234),
        ("integer", "12", 12),
        ("integer", 7.0, 7),
        ("number", "1,234.5", 1234.5),
        ("boolean", "Yes", True),
        ("boolean", "no", False),
        ("boolean", "1", True),
        ("select_multiple", "drinking_water electricity health", ["drinking_water", "electricity", "health"]),
        ("date", "Oct-31-2021", "2021-10-31"),
        ("date", 44500, "2021-10-31"),
        ("date", "44500", "2021-10-31"),
        ("date", dt.datetime(2021, 10, 14), "2021-10-14"),
        ("date", "2024-12-04 00:00:00.000000", "2024-12-04"),
        ("text", "  two   words ", "two words"),
        ("integer", "NULL", None),
        ("date", "NaT", None),
        ("text", "", None),
    ],
)
def test_values(typ, raw, want):
    assert parse_value(typ, raw) == want


@pytest.mark.parametrize(
    "typ, raw", [("integer", "12.5"), ("integer", "many"), ("boolean", "maybe"), ("date", "soon"), ("area", "New Camp")]
)
def test_values_that_do_not_fit(typ, raw):
    with pytest.raises(ValueError, match=repr(raw)):
        parse_value(typ, raw)


def test_inferred_types():
    assert infer_type("x", ["1", "2,000", "3"]) == "integer"
    assert infer_type("x", ["1.5", "2"]) == "number"
    assert infer_type("x", ["yes", "No", "yes"]) == "boolean"
    assert infer_type("q/option", ["0", "1"]) == "boolean"
    assert infer_type("x", ["31,533 sq.m", "800 sq.m"]) == "area"
    assert infer_type("x", ["Oct-31-2021", "Nov-01-2021"]) == "date"
    assert infer_type("x", ["a_b c", "c"]) == "select_multiple"
    assert infer_type("x", [f"free text {i}" for i in range(100)]) == "text"
