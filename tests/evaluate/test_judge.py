"""The judge: rubric metrics graded by a model through the run's client, budget and cache."""

from __future__ import annotations

from pathlib import Path

import pytest

import autoprompt
from autoprompt.errors import BudgetExhausted, ConfigError, ExampleFailed
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.judge import load_rubric, parse_grade
from autoprompt.evaluate.registry import get_metric
from autoprompt.export.manifest import load_prompt
from autoprompt.models.backend import FakeBackend
from autoprompt.models.budget import Budget
from autoprompt.models.cache import SQLiteCache
from autoprompt.models.client import Client
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind
from autoprompt.search.exported import evaluate_export
from tests.conftest import ScriptedWriter

EXAMPLE = Example("e1", {"verb": "walk"}, "walked")


def test_parse_grade_reads_score_and_reason_in_either_order() -> None:
    grade = parse_grade("Score: 4\nReason: Close, but the spelling is off.")
    assert (grade.score, grade.reason, grade.failed) == (0.75, "Close, but the spelling is off", False)
    assert parse_grade("Reason: exactly right.\nScore: 5").score == 1.0
    assert parse_grade("**Score:** 1 - it is wrong").score == 0.0
    assert parse_grade("3/5").score == 0.5


@pytest.mark.parametrize("reply", ["I think it is fine.", "Score: <1-5>\nReason: <one sentence>", "Score: 9",
                                   "", "Score: 1-5"])
def test_replies_without_a_usable_score_are_failed_grades(reply: str) -> None:
    grade = parse_grade(reply)
    assert grade.failed and grade.score == 0.0
    assert "holds no score from 1 to 5" in grade.reason


def test_bundled_rubrics_render_with_the_documented_variables() -> None:
    for name in ("correctness", "faithfulness", "concision", "tone"):
        text = load_rubric(name).render({"input": "walk", "inputs": {"verb": "walk"}, "reference": "walked",
                                         "output": "walked"})
        assert "Score: <1-5>" in text and "walk" in text


def test_unknown_rubrics_and_rubric_files_with_unknown_variables_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown judge rubric 'kindness'.*correctness"):
        get_metric("judge:kindness")
    bad = tmp_path / "mine.jinja"
    bad.write_text("Grade {{ output }} for {{ audience }}. Score:")
    with pytest.raises(ConfigError, match="uses audience; a rubric may use only"):
        get_metric(f"judge:{bad}")
    good = tmp_path / "short.jinja"
    good.write_text("Is the answer as short as the reference?\nAnswer to grade: {{ output }}\n"
                    "Reference answer: {{ reference }}\nScore:")
    metric = get_metric(f"judge:{good}").bind(Client(FakeBackend()))
    assert metric(EXAMPLE, "walked") == 1.0


def test_a_judge_model_without_a_judge_metric_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'exact_match' asks none; pass"):
        autoprompt.optimize("past_tense", model="fake", answers=autoprompt.Answers(judge_model="fake"))


def test_an_unbound_judge_metric_says_to_bind_it() -> None:
    metric = get_metric("judge:correctness")
    assert metric.needs_model and metric.model_graded
    with pytest.raises(ConfigError, match="bind it to a client"):
        metric(EXAMPLE, "walked")


def test_judge_calls_share_the_budget_and_the_cache(tmp_path: Path) -> None:
    judge = ScriptedWriter(["Score: 5\nReason: right."])
    cache = SQLiteCache(tmp_path / "cache.sqlite")
    client = Client(judge, Budget(2), cache=cache)
    metric = get_metric("judge:correctness").bind(client)
    assert metric.grade(EXAMPLE, "walked").reason == "right"
    assert metric.grade(EXAMPLE, "walked").score == 1.0  # the same request: free
    assert (client.calls, judge.calls) == (1, 1)
    metric.grade(EXAMPLE, "walks")
    with pytest.raises(BudgetExhausted):
        metric.grade(EXAMPLE, "walking")
    again = Client(ScriptedWriter(["never asked"]), cache=cache)
    again.backend.name = judge.name  # type: ignore[misc]
    assert get_metric("judge:correctness").bind(again).grade(EXAMPLE, "walks").reason == "right"
    assert again.backend_calls == 0


class FailingJudge(FakeBackend):
    def generate(self, text, **kwargs):  # type: ignore[no-untyped-def,override]
        raise ExampleFailed("the judge refused the request")


def test_a_judge_that_fails_or_rambles_is_a_recorded_failed_score() -> None:
    prompt = Prompt("Verb: {{ verb }}\nPast:", {}, ("verb",))
    for judge, expected in ((FailingJudge(), "the judge's request failed: the judge refused"),
                            (ScriptedWriter(["What a lovely answer!"]), "holds no score")):
        metric = get_metric("judge:correctness").bind(Client(judge))
        prediction = Evaluator(Client(FakeBackend()), metric, TaskKind.GENERATION).predict(prompt, EXAMPLE)
        assert prediction.output == "walked" and prediction.score == 0.0 and not prediction.failed
        assert expected in prediction.error and expected in prediction.reason


def test_weighted_sums_mix_a_judge_with_reference_metrics() -> None:
    metric = get_metric("0.5*judge:correctness+0.5*exact_match")
    assert metric.needs_model
    bound = metric.bind(Client(ScriptedWriter(["Score: 3\nReason: partly."])))
    grade = bound.grade(EXAMPLE, "walked")
    assert grade.score == pytest.approx(0.75) and grade.reason == "partly"


def test_a_run_with_a_separate_judge_model_counts_its_calls_and_steers_refinement(tmp_path: Path) -> None:
    judge = FakeBackend(name="fake-judge")
    result = autoprompt.optimize("past_tense", model="fake", budget=900, seed=0,
                                 answers=autoprompt.Answers(metric="judge:correctness", judge_model=judge),
                                 run=tmp_path / "run")
    assert result.metric == "judge:correctness"
    assert 0 < result.judge_calls <= result.calls and judge.calls > 0
    predictions = [p for t in result.trials for p in t.predictions]
    assert {p.reason for p in predictions} >= {"The answer matches the reference",
                                               "The answer does not match the reference"}
    assert any(m.reason for t in result.trials for m in (t.analysis.mistakes if t.analysis else ()))
    assert "by the judge" in result.summary()
    rows = (tmp_path / "run" / "dev_predictions.jsonl").read_text().splitlines()
    assert len(rows) == result.trials[result.best.trial_number].n == result.dev_size
    assert '"reason": "The answer' in rows[0]
    assert result.test is not None
    again = evaluate_export(load_prompt(tmp_path / "run"), tmp_path / "run" / "data" / "test.csv", model="fake",
                            judge_model=FakeBackend(name="fake-judge"))
    assert again["metric"] == "judge:correctness" and again["score"] == result.test.winner_score


def test_judge_reasons_that_match_a_rule_become_instruction_proposals() -> None:
    class WordyModel(FakeBackend):
        def generate(self, text, **kwargs):  # type: ignore[no-untyped-def,override]
            answer = super().generate(text, **kwargs)
            return answer if "Answer to grade:" in text or "shorter" in text else f"{answer} for sure"

    result = autoprompt.optimize("past_tense", model=WordyModel(), budget=700, seed=0,
                                 answers=autoprompt.Answers(metric="judge:correctness"))
    judged = [t for t in result.trials if t.operator == "feedback.judge"]
    assert judged, [t.operator for t in result.trials]
    assert "Provide a shorter, more abstract answer" in judged[0].candidate.instruction
    assert judged[0].score > result.trials[0].score


@pytest.mark.model
def test_the_local_model_as_judge_end_to_end(tmp_path: Path) -> None:
    """SmolLM2-135M is a weak judge: its replies mostly miss the format. The run must still
    finish, count the judge's calls, and record each unparseable reply as a failed grade."""
    import pandas as pd

    from autoprompt.data.bundled import bundled_path

    frame = pd.read_csv(bundled_path("past_tense"))
    result = autoprompt.optimize(frame.head(14), inputs="verb", target="past", model="local", budget=40, seed=0,
                                 search=autoprompt.Search(dev=frame.iloc[14:22], test=frame.iloc[22:26]),
                                 answers=autoprompt.Answers(metric="judge:correctness", judge_model="local"),
                                 run=tmp_path / "run")
    # the 8 dev rows and the 9 train rows outside the demo pool (round(14 × 0.375) = 5)
    assert result.judge_calls > 0 and result.trials[0].n == 8 + 9
    graded = [p for t in result.trials for p in t.predictions]
    assert all(p.reason for p in graded)
    assert all(0.0 <= p.score <= 1.0 for p in graded)
    failed = [p for p in graded if p.error.startswith("the judge's reply holds no score")]
    assert all(p.score == 0.0 for p in failed)
    assert (tmp_path / "run" / "report.html").is_file()
