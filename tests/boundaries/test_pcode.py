import pytest

from boundaries.pcode import (
    country_of_pcode,
    infer_level,
    iso2_from_iso3,
    iso3_from_iso2,
    level_pattern,
    normalize_country,
    normalize_pcode,
    to_dtm_pcode,
)


@pytest.mark.parametrize(
    "value", ["IRQ-G01Q01", "IQG01Q01", "iqg01q01", " IQ-G01Q01 ", "IRQG01Q01", "irq_g01 q01", "IRQ\u2013G01Q01"]
)
def test_forms_of_one_district_code_normalise_alike(value):
    assert normalize_pcode(value) == "IQG01Q01"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("IRQ", "IQ"),
        ("iq", "IQ"),
        ("IQ-G11", "IQG11"),  # old 3W form
        ("IRQ-G07", "IQG07"),
        ("IRQ-G07Q02N02", "IQG07Q02N02"),
        ("SOM-11", "SO11"),  # generic: any ISO3 prefix becomes ISO2
        ("AFG_01", "AF01"),
        ("MMR001", "MMR001"),  # Myanmar's COD-AB codes keep their ISO3 prefix
    ],
)
def test_normalize_pcode(value, expected):
    assert normalize_pcode(value) == expected


@pytest.mark.parametrize("bad", ["", "   ", "--", "IQ/G01", "??", "12", "IQ.G01", "Ä1", None, 17])
def test_normalize_pcode_rejects_garbage(bad):
    with pytest.raises(ValueError):
        normalize_pcode(bad)


@pytest.mark.parametrize(
    "cod, dtm", [("IQ", "IRQ"), ("IQG01", "IRQ-G01"), ("IQG01Q01", "IRQ-G01Q01"), ("IQG07Q02N02", "IRQ-G07Q02N02")]
)
def test_to_dtm_pcode_round_trips(cod, dtm):
    assert to_dtm_pcode(cod) == dtm
    assert normalize_pcode(dtm) == cod
    assert to_dtm_pcode(dtm) == dtm
    assert to_dtm_pcode(cod.lower()) == dtm


def test_country_helpers():
    assert iso3_from_iso2("IQ") == "IRQ"
    assert iso3_from_iso2("iq") == "IRQ"
    assert iso2_from_iso3("IRQ") == "IQ"
    assert iso2_from_iso3("syr") == "SY"
    assert normalize_country("iq") == "IRQ"
    assert normalize_country("Irq") == "IRQ"
    for bad in ("XX", "QQQ", "", "IRAQ"):
        with pytest.raises(ValueError):
            normalize_country(bad)
    with pytest.raises(ValueError):
        iso3_from_iso2("XX")
    with pytest.raises(ValueError):
        iso2_from_iso3("XXX")


def test_country_of_pcode():
    assert country_of_pcode("IQG07Q02") == "IRQ"
    assert country_of_pcode("IRQ-G07") == "IRQ"
    assert country_of_pcode("IQ") == "IRQ"
    assert country_of_pcode("SY0101") == "SYR"
    with pytest.raises(ValueError):
        country_of_pcode("XX01")


@pytest.mark.parametrize(
    "code, level",
    [("IQ", 0), ("IRQ", 0), ("IQG07", 1), ("IRQ-G07", 1), ("IQG07Q02", 2), ("IRQ-G07Q02", 2), ("IQG07Q02N02", 3)],
)
def test_infer_level_iraq(code, level):
    assert infer_level(code, "IRQ") == level
    assert infer_level(code, "IQ") == level


def test_infer_level_unknown():
    assert infer_level("IQG7", "IRQ") is None  # one digit: no Iraqi pattern
    assert infer_level("IQG07Q02N02X1", "IRQ") is None
    assert infer_level("SY0101", "SYR") is None  # no pattern table for Syria
    assert infer_level("IQG07", "XYZ") is None
    assert level_pattern("IRQ", 2) == "IQGnnQmm"
    assert level_pattern("IRQ", 4) is None
    assert level_pattern("SYR", 1) is None


def test_code_shape():
    from boundaries.pcode import code_shape

    assert code_shape("NG001001") == code_shape("ng-001-001") == code_shape("NGA001001") == "NGnnnnnn"
    assert code_shape("IRQ-G07Q02") == "IQGnnQnn"
    assert code_shape("MMR001") == "MMRnnn"  # the ISO3 prefix is Myanmar's own
    assert code_shape("") is None and code_shape("Ward 1!") is None
