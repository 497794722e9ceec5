"""The fragility method file: a versioned YAML or JSON document, validated on load.

A method is data, not code: it lists the indicators (source, column, direction, transform,
goalposts, weight, dimension), the aggregation, the missing-data rule, the five classes, the
hotspot rule, the uncertainty draws and the inputs (population, indicator tables). Loading
validates every key with pydantic; a bad file gives a ``MethodError`` whose message names the
file and the key (``indicators[2].goalposts: min (1.0) must be below max (1.0)``).

``method_sha256`` (of the canonical JSON of the validated method) is part of every run's
fingerprint: editing the file makes the stored results stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from service.core.errors import Unprocessable

# the DTM figures the service computes per sub-district and round (service.fragility.inputs)
DTM_VARIABLES = {
    "idps": "IDP individuals in the unit (IDP round)",
    "idp_families": "IDP families in the unit (IDP round)",
    "returnees": "returnee individuals in the unit (returnee round)",
    "idp_locations": "assessed locations with IDPs",
    "returnee_locations": "assessed locations with returnees",
    "critical_shelter_share": "share of IDP families in critical shelter (shelter categories of the method)",
    "protracted_share": "share of IDP families displaced in the periods the method calls protracted",
    "returnees_per_idp": "returnee individuals per IDP individual",
    "idp_change_share": "change in IDP individuals since the previous IDP round, a fraction (0.5 = +50 %)",
    "residents": "resident population (population input)",
    "idps_per_1000": "IDP individuals per 1,000 residents",
    "returnees_per_1000": "returnee individuals per 1,000 residents",
}
CLASS_KEYS = ("very_low", "low", "medium", "high", "very_high")
# an indicator of an imported dataset (the registry's unit source "dataset", service.indicators)
DATASET_SOURCE = re.compile(r"dataset:([0-9]+):([a-z0-9_]+)")


class MethodError(Unprocessable):
    """A method file that cannot be used; the message names the file and the key (HTTP 422)."""

    @property
    def detail(self) -> str:
        return f"the fragility method's inputs cannot be used: {self}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Goalposts(_Strict):
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self):
        if not self.min < self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class Indicator(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    source: Annotated[str, Field(description="'dtm', 'table:<id>' or 'dataset:<dataset id>:<indicator>'")]
    column: str = Field("", description="the DTM variable or the table's column (a dataset source names its own)")
    direction: Literal["higher_is_worse", "higher_is_better"]
    transform: Literal["none", "log1p"] = "none"
    goalposts: Goalposts
    weight: Annotated[float, Field(gt=0)] = 1.0
    dimension: str
    when_undefined: float | None = Field(
        None,
        description="value used when the indicator is undefined for a unit (e.g. a share of zero IDPs); "
        "null keeps it missing",
    )
    description: str = ""

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if v != "dtm" and not (v.startswith("table:") and len(v) > 6) and not DATASET_SOURCE.fullmatch(v):
            raise ValueError(
                f"unknown source {v!r}: use 'dtm', 'table:<table id>' or 'dataset:<dataset id>:<indicator>' "
                "(an indicator of an imported dataset, GET /datasets)"
            )
        return v

    @model_validator(mode="after")
    def _dtm_column(self):
        if self.source == "dtm" and self.column not in DTM_VARIABLES:
            raise ValueError(f"unknown DTM indicator column {self.column!r}; known: {', '.join(DTM_VARIABLES)}")
        if self.dataset is not None:
            if self.column and self.column != self.dataset[1]:
                raise ValueError(
                    f"column {self.column!r} is not the indicator its source names ({self.dataset[1]!r}): leave it out"
                )
        elif not self.column:
            raise ValueError(f"column: required for source {self.source!r}")
        return self

    @property
    def dataset(self) -> tuple[str, str] | None:
        """(dataset id, indicator) of a ``dataset:<id>:<indicator>`` source, else None."""
        m = DATASET_SOURCE.fullmatch(self.source)
        return (m.group(1), m.group(2)) if m else None


class Dimension(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    weight: Annotated[float, Field(gt=0)] = 1.0


class Aggregation(_Strict):
    within: Literal["arithmetic_mean"] = "arithmetic_mean"
    across: Literal["shifted_geometric_mean", "arithmetic_mean"] = "shifted_geometric_mean"
    shift: Annotated[float, Field(gt=0)] = 1.0


class Missing(_Strict):
    min_indicator_share: Annotated[float, Field(gt=0, le=1)] = 2 / 3

    @field_validator("min_indicator_share", mode="before")
    @classmethod
    def _fraction(cls, v):
        """``"2/3"`` is read as the fraction (a decimal like 0.667 would not be two thirds)."""
        if isinstance(v, str) and re.fullmatch(r"\s*\d+\s*/\s*\d+\s*", v):
            a, b = (int(x) for x in v.split("/"))
            if b == 0:
                raise ValueError("a fraction needs a non-zero denominator")
            return a / b
        return v


class Classes(_Strict):
    thresholds: list[float] = Field(description="four ascending index values; class i holds t[i-1] <= index < t[i]")
    labels: list[str] = ["Very low", "Low", "Medium", "High", "Very high"]

    @field_validator("thresholds")
    @classmethod
    def _four(cls, v: list[float]) -> list[float]:
        if len(v) != 4 or any(not a < b for a, b in zip(v, v[1:])):
            raise ValueError(f"thresholds must be four strictly ascending numbers (five classes), got {v}")
        return v

    @field_validator("labels")
    @classmethod
    def _five(cls, v: list[str]) -> list[str]:
        if len(v) != 5:
            raise ValueError(f"labels must name the five classes, got {len(v)}")
        return v


class HotspotCondition(_Strict):
    variable: str
    min: float

    @field_validator("variable")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in DTM_VARIABLES:
            raise ValueError(f"unknown variable {v!r}; known: {', '.join(DTM_VARIABLES)}")
        return v


class Hotspot(_Strict):
    min_class: Annotated[int, Field(ge=1, le=5)] = 4
    all_of: list[HotspotCondition] = []
    description: str = ""


class Uncertainty(_Strict):
    draws: Annotated[int, Field(ge=10, le=100_000)] = 1000
    seed: int = 20210228
    weight_spread: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.5, description="each weight is multiplied by a uniform draw in [1 - spread, 1 + spread]"
    )
    across_choices: list[Literal["shifted_geometric_mean", "arithmetic_mean"]] = [
        "shifted_geometric_mean",
        "arithmetic_mean",
    ]
    high_class: Annotated[int, Field(ge=1, le=5)] = 4


class CategoryRule(_Strict):
    """Breakdown categories (column names of the master lists) matched by keywords."""

    keywords: list[str] = Field(min_length=1)


class DtmRules(_Strict):
    critical_shelter: CategoryRule = CategoryRule(
        keywords=["informal", "unfinished", "abandoned", "religious", "school"]
    )
    protracted_periods: CategoryRule = CategoryRule(
        keywords=["prejune14", "junejuly14", "august14", "postseptember14", "postapril15", "postmarch16"]
    )
    protracted_label: str = "displaced before October 2016"


class Population(_Strict):
    source: Literal["table", "raster"]
    path: str
    kind: Literal["count", "density_per_km2"] = "count"
    column: str = "total.pop"
    label: str = ""
    year: int | None = None


class Table(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    path: str
    key: Literal["pcode", "name", "location_id"]
    key_column: str
    parent_column: str | None = Field(None, description="for key 'name': the district name column")
    aggregate: Literal["mean", "population_weighted_mean", "sum"] = "mean"
    weight_column: str | None = None
    sheet: str | None = None
    label: str = ""


class Method(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
    version: Annotated[str, Field(min_length=1)]
    title: str
    purpose: str
    limits: str
    disclaimer: str
    dimensions: list[Dimension] = Field(min_length=1)
    indicators: list[Indicator] = Field(min_length=1)
    aggregation: Aggregation = Aggregation()
    missing: Missing = Missing()
    classes: Classes
    hotspot: Hotspot = Hotspot()
    uncertainty: Uncertainty = Uncertainty()
    dtm: DtmRules = DtmRules()
    population: Population | None = None
    tables: list[Table] = []

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v):
        """``version: 1`` or ``1.0`` in YAML is a number: kept as its text."""
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _references(self):
        dims = [d.id for d in self.dimensions]
        if len(set(dims)) != len(dims):
            raise ValueError(f"dimension ids repeat: {dims}")
        ids = [i.id for i in self.indicators]
        if len(set(ids)) != len(ids):
            raise ValueError(f"indicator ids repeat: {ids}")
        tables = {t.id for t in self.tables}
        for n, ind in enumerate(self.indicators):
            if ind.dimension not in dims:
                raise ValueError(
                    f"indicators[{n}] ({ind.id}): unknown dimension {ind.dimension!r}; dimensions: {', '.join(dims)}"
                )
            if ind.source.startswith("table:") and ind.source[6:] not in tables:
                raise ValueError(
                    f"indicators[{n}] ({ind.id}): unknown table {ind.source[6:]!r}; "
                    f"tables: {', '.join(sorted(tables)) or 'none'}"
                )
            if (
                ind.source == "dtm"
                and ind.column in ("residents", "idps_per_1000", "returnees_per_1000")
                and self.population is None
            ):
                raise ValueError(f"indicators[{n}] ({ind.id}): {ind.column} needs a population input")
        for d in dims:
            if not any(i.dimension == d for i in self.indicators):
                raise ValueError(f"dimension {d!r} has no indicator")
        return self

    # ------------------------------------------------------------------ helpers
    def dimension_indicators(self, dim: str) -> list[Indicator]:
        return [i for i in self.indicators if i.dimension == dim]

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def _loc(loc: tuple) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def parse_method(data: object, source: str = "method") -> Method:
    if not isinstance(data, dict):
        raise MethodError(
            f"{source}: a method file is a mapping of keys (id, version, indicators, ...), got {type(data).__name__}"
        )
    try:
        return Method.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown key"
            elif e["type"] == "missing":
                msg = "required key missing"
            problems.append(
                f"{_loc(e['loc'])}: {msg}"
                + (
                    f" (got {e['input']!r})"
                    if e["type"] in ("float_parsing", "int_parsing", "literal_error", "string_pattern_mismatch")
                    else ""
                )
            )
        raise MethodError(f"{source}: " + "; ".join(problems)) from None


def load_method(path: str | Path | None = None) -> tuple[Method, Path]:
    """The method in ``path`` (YAML or JSON), or the shipped default; with the file's path
    (relative input paths in the method are resolved against its folder)."""
    if path is None:
        p = Path(str(resources.files(__package__).joinpath("default_method.yaml")))
    else:
        p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise MethodError(f"{p}: cannot read the method file ({exc.strerror})") from None
    try:
        data = json.loads(raw) if p.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise MethodError(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'}: {exc}") from None
    return parse_method(data, str(p)), p
