"""Boundary type checks: which outputs can feed which inputs, and the reasons given."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict

from agents.builtin import TextInput, TextOutput, WordCount
from agents.synthforge.models import (
    ClassifiedArchitecture,
    CombineInput,
    DetectionResult,
    ReviewedArchitecture,
)
from orchestration.patterns.typecheck import (
    admits,
    fields_incompatibility,
    incompatibility,
    type_name,
)


class Point(BaseModel):
    x: int
    y: int


class PointF(BaseModel):
    x: float
    y: float


class Shape(BaseModel):
    points: list[Point]
    label: str | None = None


class ShapeF(BaseModel):
    points: list[PointF]


class ShapeStr(BaseModel):
    points: list[str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: list[Point]


class Mode(BaseModel):
    mode: Literal["a", "b"]


class ModeWide(BaseModel):
    mode: Literal["a", "b", "c"]


class ModeStr(BaseModel):
    mode: str


@pytest.mark.parametrize(
    ("out_model", "in_model"),
    [
        pytest.param(TextOutput, TextInput, id="structural-same-field"),
        pytest.param(WordCount, TextInput, id="extra-fields-ignored"),
        pytest.param(ReviewedArchitecture, ClassifiedArchitecture, id="subclass"),
        pytest.param(Shape, ShapeF, id="nested-int-into-float"),
        pytest.param(Mode, ModeWide, id="literal-subset"),
        pytest.param(Mode, ModeStr, id="literal-into-str"),
    ],
)
def test_compatible_models_have_no_reason(
    out_model: type[BaseModel], in_model: type[BaseModel]
) -> None:
    assert incompatibility(out_model, in_model) is None


@pytest.mark.parametrize(
    ("out_model", "in_model", "expected"),
    [
        pytest.param(
            DetectionResult,
            TextInput,
            "field 'text' missing from DetectionResult (TextInput requires str)",
            id="missing-required-field",
        ),
        pytest.param(
            ClassifiedArchitecture,
            ReviewedArchitecture,
            "field 'review' missing from ClassifiedArchitecture (ReviewedArchitecture "
            "requires Review)",
            id="superclass-lacks-field",
        ),
        pytest.param(
            Shape,
            ShapeStr,
            "field 'points': Shape has list[Point], ShapeStr needs list[str]",
            id="list-item-clash",
        ),
        pytest.param(
            ShapeF,
            Shape,
            "field 'points': ShapeF has list[PointF], Shape needs list[Point]",
            id="float-not-into-int",
        ),
        pytest.param(
            ModeWide,
            Mode,
            "field 'mode': ModeWide has Literal['a', 'b', 'c'], Mode needs Literal['a', 'b']",
            id="literal-superset",
        ),
        pytest.param(
            Shape,
            Strict,
            "field 'label' of Shape is not accepted by Strict (extra forbidden)",
            id="extra-forbidden",
        ),
    ],
)
def test_incompatible_models_name_field_and_types(
    out_model: type[BaseModel], in_model: type[BaseModel], expected: str
) -> None:
    assert incompatibility(out_model, in_model) == expected


@pytest.mark.parametrize(
    ("target", "source", "expected"),
    [
        pytest.param(int | None, int, True, id="into-optional"),
        pytest.param(int, int | None, False, id="optional-into-required"),
        pytest.param(dict[str, float], dict[str, int], True, id="dict-values"),
        pytest.param(dict[str, int], dict[int, int], False, id="dict-keys-clash"),
        pytest.param(tuple[int, ...], tuple[int, int], True, id="tuple-variadic"),
        pytest.param(tuple[int, int], tuple[int, ...], False, id="tuple-unknown-length"),
        pytest.param(Any, DetectionResult, True, id="any-target"),
        pytest.param(list[int], set[int], False, id="set-is-not-list"),
    ],
)
def test_admits_annotations(target: Any, source: Any, expected: bool) -> None:
    assert admits(target, source) is expected


def test_fields_incompatibility_checks_an_assembled_document() -> None:
    fields = {"upstream": ReviewedArchitecture, "cost_estimation": WordCount | None}
    reason = fields_incompatibility(fields, "parallel group", CombineInput)
    assert reason == (
        "field 'cost_estimation': parallel group has WordCount | None, "
        "CombineInput needs CostEstimate | None"
    )


def test_type_name_renders_nested_annotations() -> None:
    assert type_name(dict[str, list[Point] | None]) == "dict[str, list[Point] | None]"
