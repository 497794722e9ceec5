"""Method files: the shipped default loads; bad files name the file and the key."""

from __future__ import annotations

import json

import pytest
import yaml

from service.fragility.method import MethodError, load_method
from tests.fragility.helpers import small


def write(tmp_path, data, name="m.yaml"):
    p = tmp_path / name
    p.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data), encoding="utf-8")
    return p


def test_default_method_loads():
    m, path = load_method()
    assert path.name == "default_method.yaml"
    assert m.id == "dtm-atlas-default" and m.version == "1.1.0"
    assert m.missing.min_indicator_share == pytest.approx(2 / 3)
    assert {i.dimension for i in m.indicators} == {d.id for d in m.dimensions}
    assert m.uncertainty.draws == 1000
    assert len(m.sha256) == 64


def test_json_and_yaml_give_the_same_method(tmp_path):
    a, _ = load_method(write(tmp_path, small(), "m.json"))
    b, _ = load_method(write(tmp_path, small(), "m.yaml"))
    assert a == b and a.sha256 == b.sha256


@pytest.mark.parametrize(
    "change, needle",
    [
        (
            lambda d: d["indicators"][1].update(column="idps_per_village"),
            "indicators[1]: Value error, unknown DTM indicator column 'idps_per_village'",
        ),
        (lambda d: d["indicators"][2].update(weight="heavy"), "indicators[2].weight: Input should be a valid number"),
        (
            lambda d: d["indicators"][0].update(goalposts={"min": 10, "max": 10}),
            "indicators[0].goalposts: min (10.0) must be below max (10.0)",
        ),
        (lambda d: d["indicators"][0].update(goalposts={"min": 5, "max": 1}), "min (5.0) must be below max (1.0)"),
        (lambda d: d["indicators"][0].update(colour="red"), "indicators[0].colour: unknown key"),
        (lambda d: d["indicators"][3].update(dimension="c"), "indicators[3] (b1): unknown dimension 'c'"),
        (lambda d: d["indicators"][3].update(direction="up"), "indicators[3].direction"),
        (lambda d: d["indicators"][3].update(source="table:rix"), "unknown table 'rix'"),
        (lambda d: d.pop("version"), "version: required key missing"),
        (lambda d: d["classes"].update(thresholds=[20, 40, 40, 80]), "classes.thresholds"),
        (lambda d: d["hotspot"]["all_of"][0].update(variable="wealth"), "hotspot.all_of[0].variable"),
    ],
)
def test_bad_method_names_file_and_key(tmp_path, change, needle):
    data = small()
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(MethodError) as e:
        load_method(path)
    msg = str(e.value).replace("Value error, ", "")
    assert str(path) in msg
    assert needle.replace("Value error, ", "") in msg, msg


def test_unreadable_method(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(MethodError, match="not valid YAML"):
        load_method(p)
    with pytest.raises(MethodError, match="cannot read the method file"):
        load_method(tmp_path / "missing.yaml")
    p.write_text("- a list", encoding="utf-8")
    with pytest.raises(MethodError, match="a method file is a mapping"):
        load_method(p)
