"""Metrics by name and as callables."""

from __future__ import annotations

import re

import pytest

import autoprompt
from autoprompt.errors import ConfigError, DataError
from autoprompt.evaluate.metric import check_targets, macro_f1
from autoprompt.evaluate.registry import get_metric
from autoprompt.records.example import Example


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


def test_reference_metrics_come_from_their_libraries() -> None:
    import sacrebleu
    from rouge_score import rouge_scorer

    example = Example("1", {"text": "x"}, "the cat sat")
    output = "The cat sat on the mat"
    assert get_metric("rougeL")(example, output) == pytest.approx(2 * 0.5 * 1.0 / 1.5)  # P 3/6, R 3/3
    assert get_metric("rouge1")(example, output) == rouge_scorer.RougeScorer(["rouge1"]).score(
        "the cat sat", output)["rouge1"].fmeasure
    assert get_metric("chrf")(example, output) == pytest.approx(sacrebleu.sentence_chrf(output, ["the cat sat"]).score
                                                               / 100)
    assert get_metric("bleu")(example, "the cat sat") == pytest.approx(1.0)
    assert 0.0 <= get_metric("bleu")(example, output) < 1.0


def test_token_f1_is_squad_f1_on_normalized_text() -> None:
    example = Example("1", {"text": "x"}, "The order #42 shipped.")
    assert get_metric("token_f1")(example, "order 42 shipped today") == pytest.approx(2 * 0.75 * 0.75 / 1.5)
    assert get_metric("token_f1")(example, "nothing alike") == 0.0
    assert get_metric("token_f1")(Example("2", {}, ""), "") == 1.0


def test_weighted_combinations_are_normalized_means() -> None:
    example = Example("1", {"text": "x"}, "the cat sat")
    output = "the cat sat on the mat"
    rouge_l, f1 = get_metric("rougeL")(example, output), get_metric("token_f1")(example, output)
    assert get_metric("0.7*rougeL+0.3*token_f1")(example, output) == pytest.approx(0.7 * rouge_l + 0.3 * f1)
    assert get_metric("rougeL + token_f1")(example, output) == pytest.approx((rouge_l + f1) / 2)
    assert get_metric("2*rougeL+2*token_f1").name == "2*rougeL+2*token_f1"


@pytest.mark.parametrize(("spec", "message"), [
    ("rougeZ", "unknown metric 'rougeZ'"),
    ("0.5*rougeL+0.5*bertscore", "unknown metric 'bertscore' in"),
    ("0.5*rougeL+macro_f1", "unknown metric 'macro_f1' in"),
    ("rougeL+*chrf", "cannot read '*chrf'"),
    ("0*rougeL+0*chrf", "add up to 0.0"),
])
def test_bad_metric_specs_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        get_metric(spec)


def test_a_generation_run_optimizes_a_weighted_text_metric() -> None:
    result = autoprompt.optimize("past_tense", model="fake", budget=300, seed=0,
                                 answers=autoprompt.Answers(metric="0.5*chrf+0.5*token_f1"),
                                 search=autoprompt.Search(first_rung=8))
    assert result.metric == "0.5*chrf+0.5*token_f1"
    assert result.test is not None and 0.0 < result.test.winner_score <= 1.0
    assert all(0.0 <= p.score <= 1.0 for t in result.trials for p in t.predictions)


def test_json_metrics_compare_fields_in_normal_form() -> None:
    target = Example("e1", {}, '{"name": "Blue Spice", "area": "city centre", "food": "French"}')
    exact, f1 = get_metric("json_exact"), get_metric("json_f1")
    same = '{"food": "french", "name": "Blue Spice.", "area": "City  centre"}'
    assert exact(target, same) == 1.0 and f1(target, same) == 1.0
    partial = '{"name": "Blue Spice", "area": "riverside"}'  # 1 of 2 right, 1 of 3 found
    assert exact(target, partial) == 0.0 and f1(target, partial) == pytest.approx(2 * 1 / (3 + 2))
    assert f1(target, "not json") == 0.0 and f1(target, "{}") == 0.0
    assert f1(Example("e2", {}, "{}"), "{}") == 1.0
    lists = Example("e3", {}, '{"tags": ["a", "b"]}')
    assert f1(lists, '{"tags": ["b", "a"]}') == 1.0 and f1(lists, '{"tags": ["a"]}') == pytest.approx(2 / 3)


def test_json_metrics_refuse_targets_that_are_not_json_before_any_call() -> None:
    examples = [Example("ok", {}, '{"a": 1}'), Example("row7", {}, "plain text")]
    with pytest.raises(DataError, match=r"row7.*not JSON"):
        check_targets(get_metric("json_f1"), examples)
    check_targets(get_metric("exact_match"), examples)  # other metrics read any target
