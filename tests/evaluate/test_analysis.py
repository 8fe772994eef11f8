"""Error analysis of a prompt's predictions."""

from __future__ import annotations

from autoprompt.evaluate.analysis import analyze
from autoprompt.records.example import Example
from autoprompt.records.prediction import Prediction
from autoprompt.records.task_kind import TaskKind


def ex(i: int, target: str, text: str = "x") -> Example:
    return Example(str(i), {"text": text}, target)


def test_confusions_failures_and_skew() -> None:
    examples = [ex(0, "a"), ex(1, "a"), ex(2, "b"), ex(3, "b"), ex(4, "c"), ex(5, "c")]
    predictions = [Prediction("0", "a", 1.0), Prediction("1", "b", 0.0), Prediction("2", "b", 1.0),
                   Prediction("3", "", 0.0, failed=True), Prediction("4", "b", 0.0), Prediction("5", "b", 0.0)]
    analysis = analyze(examples, predictions, TaskKind.CLASSIFICATION)
    assert analysis.n == 6
    assert [m.example_id for m in analysis.mistakes] == ["1", "3", "4", "5"]
    assert [m.example_id for m in analysis.failed] == ["3"]
    assert analysis.confusions[0] == ("c", "b", 2)
    assert ("a", "b", 1) in analysis.confusions
    assert dict(analysis.predicted) == {"a": 1, "b": 4}
    assert analysis.skewed_label() == "b"


def test_balanced_predictions_are_not_skewed() -> None:
    examples = [ex(i, "ab"[i % 2]) for i in range(8)]
    predictions = [Prediction(str(i), "ab"[i % 2], 1.0) for i in range(8)]
    assert analyze(examples, predictions, TaskKind.CLASSIFICATION).skewed_label() is None


def test_generation_flags_outputs_far_longer_than_the_reference() -> None:
    examples = [ex(0, "walked"), ex(1, "ran")]
    predictions = [Prediction("0", "walked", 1.0), Prediction("1", "he ran away very fast", 0.0)]
    analysis = analyze(examples, predictions, TaskKind.GENERATION)
    assert analysis.too_long == ("1",)
    assert analysis.confusions == ()


def test_only_the_scored_prefix_is_analysed() -> None:
    examples = [ex(0, "a"), ex(1, "b"), ex(2, "b")]
    analysis = analyze(examples, [Prediction("0", "b", 0.0)], TaskKind.CLASSIFICATION)
    assert analysis.n == 1 and dict(analysis.expected) == {"a": 1}


def test_rows_whose_samples_mostly_disagree_are_unsteady() -> None:
    examples = [ex(0, "walked"), ex(1, "ran"), ex(2, "sang")]
    predictions = [Prediction("0", "walked", 1.0, agreement=1.0), Prediction("1", "ran", 1.0, agreement=0.25),
                   Prediction("2", "sang", 1.0)]
    assert analyze(examples, predictions, TaskKind.GENERATION).unsteady == ("1",)
    assert analyze(examples, predictions, TaskKind.CLASSIFICATION).unsteady == ("1",)
