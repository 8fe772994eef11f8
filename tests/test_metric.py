"""Metrics by name and as callables."""

from __future__ import annotations

import pytest

from autoprompt.dataset import Example
from autoprompt.errors import ConfigError
from autoprompt.metric import get_metric, macro_f1


def ex(target: str) -> Example:
    return Example("0", {"x": "input"}, target)


def test_named_metrics() -> None:
    assert get_metric("accuracy")(ex("yes"), "yes") == 1.0
    assert get_metric("accuracy")(ex("yes"), "Yes") == 0.0
    assert get_metric("exact_match")(ex("Walked."), "  walked ") == 1.0
    assert get_metric("contains")(ex("walked"), "I walked home") == 1.0
    assert get_metric("contains")(ex("walked"), "I walk home") == 0.0
    assert get_metric("regex:^{target}$")(ex("a.b"), "a.b") == 1.0
    assert get_metric("regex:^{target}$")(ex("a.b"), "axb") == 0.0


def test_callable_metric_and_unknown_name() -> None:
    metric = get_metric(lambda example, output: len(output) / 10)
    assert metric(ex("y"), "abcde") == 0.5
    with pytest.raises(ConfigError, match="unknown metric 'f2'"):
        get_metric("f2")
    with pytest.raises(ConfigError, match="invalid"):
        get_metric("regex:(")


def test_macro_f1_by_hand() -> None:
    examples = [ex("a"), ex("a"), ex("b"), ex("b")]
    outputs = ["a", "b", "b", "b"]
    # a: tp=1 fp=0 fn=1 -> 2/3; b: tp=2 fp=1 fn=0 -> 4/5
    assert macro_f1(examples, outputs) == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert get_metric("macro_f1").aggregate(examples, outputs, [1, 0, 1, 1]) == pytest.approx((2 / 3 + 4 / 5) / 2)
