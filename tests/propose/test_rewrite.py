"""Model-written instructions: defensive parsing, the sandbox, and failures that never stop the search."""

from __future__ import annotations

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ExampleFailed
from autoprompt.prompts.compose import compose
from autoprompt.propose.rewrite import RewriteOperator, parse_instruction
from autoprompt.records.candidate import Candidate
from autoprompt.records.trial import TrialState
from autoprompt.search.refine import RefinementStrategy
from tests.conftest import ScriptedWriter, refine_context, scored_parent

ATTACKS = [
    "Answer yes, no or maybe. {{ ''.__class__.__mro__[1].__subclasses__() }}",
    "Answer yes, no or maybe. {{ cycler.__init__.__globals__.os }}",
    "Answer yes, no or maybe. {{ self.__init__.__globals__ }}",
    "Answer yes, no or maybe. {% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
]


@pytest.mark.parametrize(("reply", "expected"), [
    ("Decide if the review is positive or negative.", "Decide if the review is positive or negative."),
    ("Here is the new instruction:\n\n\"Decide if it is positive.\"\n\nThis works because...",
     "Decide if it is positive."),
    ("Instruction: Label the text as yes or no.", "Label the text as yes or no."),
    ("<instruction>Say yes or no.</instruction> trailing", "Say yes or no."),
    ("**Classify the sentence**", "Classify the sentence"),
    ("", ""),
])
def test_parse_instruction(reply: str, expected: str) -> None:
    assert parse_instruction(reply) == expected


def strategy_with(frame: pd.DataFrame, replies: list[str]) -> RefinementStrategy:
    context = refine_context(frame, writer=ScriptedWriter(replies))
    strategy = RefinementStrategy(context=context, operators=[RewriteOperator(per_round=4)],
                                  start=Candidate("instruction"))
    start = strategy.ask()
    strategy.tell(start, scored_parent(context, start.candidate))
    assert strategy.ask().operator == "move.calibrate"  # the calibrated base comes before the rounds
    return strategy


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_proposal_cannot_reach_python_objects(keyword_frame: pd.DataFrame, attack: str) -> None:
    strategy = strategy_with(keyword_frame, [attack])
    proposal = strategy.ask()
    assert proposal.operator == "random"  # every rewrite was thrown away, so the search goes on
    reasons = [r.reason for r in strategy.context.rejected]
    assert len(reasons) >= 3 and all("unsafe" in r or "failed to render" in r or "placeholders" in r
                                     for r in reasons), reasons
    assert all(attack[:20] in r.text for r in strategy.context.rejected)


def test_sandbox_error_is_raised_when_such_a_candidate_is_composed_anyway(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    with pytest.raises(autoprompt.TemplateError):
        compose(Candidate("instruction", instruction=ATTACKS[0]), context.setup).render({"text": "x"})


def test_poor_replies_are_rejected_with_reasons(keyword_frame: pd.DataFrame) -> None:
    strategy = strategy_with(keyword_frame, ["ok", "Classify the text.", "Say yes, no or maybe please."])
    queued = [strategy.ask() for _ in range(1)]
    assert queued[0].operator.startswith("rewrite.")
    assert "Say yes, no or maybe please." in queued[0].candidate.instruction
    reasons = " | ".join(r.reason for r in strategy.context.rejected)
    assert "no instruction of 3 or more words" in reasons and "drops the label set" in reasons


class FailingWriter(ScriptedWriter):
    def generate(self, text, **kwargs):  # type: ignore[no-untyped-def]
        raise ExampleFailed("HTTP 500 after 3 attempts", cacheable=False)


def test_a_failing_optimizer_model_is_recorded_not_fatal(keyword_frame: pd.DataFrame) -> None:
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=autoprompt.FakeBackend(),
                                 budget=150, search=autoprompt.Search(optimizer_model=FailingWriter([]),
                                                                      operators=["rewrite", "move"], first_rung=4))
    assert any("request failed" in r.reason for r in result.rejected)
    assert result.best.dev_score >= result.baseline.dev_score


def test_optimizer_model_calls_are_charged_to_the_budget(keyword_frame: pd.DataFrame) -> None:
    writer = ScriptedWriter(["Say yes, no or maybe for each text."])
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=autoprompt.FakeBackend(),
                                 budget=300,
                                 search=autoprompt.Search(optimizer_model=writer, operators=["rewrite"], first_rung=4))
    assert writer.calls > 0
    assert result.calls <= 300
    assert result.optimizer_calls == len(set(writer.prompts)) > 0
    assert result.selection is not None and result.selection.calls > 0
    assert result.calls == sum(t.calls for t in result.trials) + result.optimizer_calls + result.selection.calls


@pytest.mark.model
def test_a_weak_local_optimizer_model_runs_end_to_end() -> None:
    """SmolLM2 writes the instructions for itself: poor ones are rejected or scored, and the search goes on."""
    import pandas as pd

    from autoprompt.data.bundled import bundled_path

    frame = pd.read_csv(bundled_path("sentiment")).head(60)
    result = autoprompt.optimize(frame, inputs="text", target="label", model="local", budget=150, seed=0,
                                 search=autoprompt.Search(optimizer_model="local", operators=["rewrite"], first_rung=8))
    assert result.optimizer_calls > 0
    written = [t for t in result.trials if t.operator.startswith("rewrite.")]
    rejected = [r for r in result.rejected if r.operator.startswith("rewrite.")]
    assert written or rejected
    assert all(t.n > 0 or t.state is TrialState.INTERRUPTED for t in written)  # scored honestly, not skipped
    assert all(r.reason for r in rejected)
    assert result.best.dev_score >= result.baseline.dev_score
