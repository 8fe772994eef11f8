"""The refinement strategy: racing against the incumbent, paired acceptance, rounds and fallbacks."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pandas as pd

import autoprompt
from autoprompt.propose.operator import Child, RefineContext
from autoprompt.records.candidate import Candidate
from autoprompt.records.prediction import Prediction
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.refine import RefinementStrategy, RefineProposal
from tests.conftest import refine_context


def trial(number: int, outcomes: list[float], candidate: Candidate | None = None) -> Trial:
    predictions = tuple(Prediction(str(i), "x", s) for i, s in enumerate(outcomes))
    n = len(outcomes)
    rungs = tuple((r, sum(outcomes[:r]) / r) for r in (4, 8, n) if r <= n)
    return Trial(number, candidate or Candidate("instruction", n_demos=number), TrialState.COMPLETE,
                 sum(outcomes) / n, predictions, n, 0.0, 100, prompt_tokens=100 - number, rung_scores=rungs)


class Fixed:
    """An operator that proposes the same children every time."""

    family = "move"

    def __init__(self, children: list[Candidate]) -> None:
        self.children = children

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]:
        return [Child(c, "move.fixed") for c in self.children]


def test_racing_prunes_only_what_trails_the_incumbent_on_the_same_examples() -> None:
    incumbent = trial(0, [1, 1, 0, 0, 1, 1, 1, 1, 0, 0])
    proposal = RefineProposal(Candidate("fields"), "move.task", 0, incumbent, margin=0.25)
    assert incumbent.score_at(4) == 0.5
    assert proposal.report(4, 0.25)       # 0.25 < 0.5 - 0.25 / 2
    assert not proposal.report(4, 0.5)
    assert proposal.report(5, 0.0)        # the incumbent's own first 5 rows: 0.6 - 0.25 / sqrt(5) > 0
    assert not proposal.report(11, 0.0)   # the incumbent was never scored on 11 rows: never prune blind
    assert incumbent.score_at(8) == 0.75
    assert proposal.report(8, 0.625) and not proposal.report(8, 0.75)  # a tie goes on, clearly behind stops
    assert not RefineProposal(Candidate("fields"), "start", None, None, 0.25).report(4, 0.0)


def test_a_challenger_must_win_by_the_paired_bound_to_replace_the_incumbent(keyword_frame: pd.DataFrame) -> None:
    strategy = RefinementStrategy(context=refine_context(keyword_frame), operators=[], start=Candidate("instruction"))
    base = [1.0] * 30 + [0.0] * 30
    strategy.tell(None, trial(0, base))
    noisy = [1.0] * 31 + [0.0] * 29  # one more right: better, but not beyond noise
    strategy.tell(None, trial(1, noisy))
    assert strategy.incumbent is not None and strategy.incumbent.number == 0
    clear = [1.0] * 45 + [0.0] * 15
    strategy.tell(None, trial(2, clear))
    assert strategy.incumbent.number == 2
    assert strategy.accepted == [0, 2]
    assert [t.number for t in strategy.beam] == [2, 1, 0]


def test_rounds_interleave_validate_and_never_repeat(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    good = [Candidate("instruction", clarifiers=("one_word",)), Candidate("fields")]
    bad = Candidate("instruction", instruction="Pick {{ labels ")
    strategy = RefinementStrategy(context=context, operators=[Fixed([bad, *good])], start=Candidate("instruction"))
    assert strategy.ask().operator == "start"
    strategy.tell(None, trial(0, [1.0, 0.0] * 6, Candidate("instruction")))
    first = [strategy.ask(), strategy.ask()]
    assert [p.candidate for p in first] == good
    assert all(p.parent == 0 for p in first)
    assert context.rejected[0].operator == "move.fixed" and "syntax error" in context.rejected[0].reason
    assert strategy.ask().operator == "random"  # nothing new: explore the space instead of repeating


def test_reviewed_prompts_come_right_after_the_start_and_invalid_ones_are_rejected(
        keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    reviewed = Candidate("instruction", clarifiers=("one_word",), n_demos=2)
    gone = Candidate("instruction", demo_ids=("no-such-id",))
    strategy = RefinementStrategy(context=context, operators=[Fixed([Candidate("fields")])],
                                  start=Candidate("instruction"), reviewed=[gone, reviewed, Candidate("instruction")])
    assert strategy.ask().operator == "start"
    start = trial(0, [1.0, 0.0] * 6, Candidate("instruction"))
    strategy.tell(None, start)
    second = strategy.ask()
    assert (second.operator, second.candidate, second.parent, second.incumbent) == ("reviewed", reviewed, 0, start)
    assert context.rejected[0].operator == "reviewed" and "no-such-id" in context.rejected[0].reason
    assert strategy.ask().operator == "move.fixed"  # the start itself is not proposed again


def test_the_refined_winner_is_the_incumbent(keyword_frame: pd.DataFrame) -> None:
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=autoprompt.FakeBackend(),
                                 budget=300, template="Text: {{ text }}\nLabel:",
                                 search=autoprompt.Search(first_rung=4))
    assert result.strategy == "refine"
    assert result.best.trial_number == result.accepted[-1]
    lineage = result.lineage()
    assert lineage[0].number == 0 and lineage[-1].number == result.best.trial_number
    assert all(child.parent == parent.number for parent, child in itertools.pairwise(lineage))
    assert result.trials[0].operator == "start"
    assert all(t.parent is not None for t in result.trials[1:] if t.operator != "random")
    assert len(result.study.trials) == len(result.trials)  # type: ignore[union-attr]
    table = result.operator_table()
    assert table["trials"].sum() == len(result.trials)
    assert table.loc[table["operator"] == "start", "accepted"].item() == 1


def test_pareto_front_and_prompt_length_cap(keyword_frame: pd.DataFrame) -> None:
    base = {"inputs": "text", "target": "label", "model": autoprompt.FakeBackend(), "budget": 300}
    free = autoprompt.optimize(keyword_frame, search=autoprompt.Search(first_rung=4), **base)  # type: ignore[arg-type]
    front = free.pareto
    assert front and [t.prompt_tokens for t in front] == sorted(t.prompt_tokens for t in front)
    assert [t.score for t in front] == sorted(t.score for t in front)  # longer prompts on the front score higher
    start_tokens = free.trials[0].prompt_tokens
    capped = autoprompt.optimize(keyword_frame, search=autoprompt.Search(first_rung=4, max_prompt_tokens=start_tokens),
                                 **base)  # type: ignore[arg-type]
    over = [t for t in capped.trials[1:] if t.prompt_tokens > start_tokens]
    assert over and all(t.state is TrialState.PRUNED and t.calls == 0 for t in over)
    assert capped.trials[0].state is TrialState.COMPLETE


def test_same_seed_same_refinement(keyword_frame: pd.DataFrame) -> None:
    runs = [autoprompt.optimize(keyword_frame, inputs="text", target="label", model=autoprompt.FakeBackend(),
                                budget=200, seed=3, search=autoprompt.Search(first_rung=4)) for _ in range(2)]
    assert [replace(t, seconds=0) for t in runs[0].trials] == [replace(t, seconds=0) for t in runs[1].trials]


def test_complete_starts_and_the_best_pruned_ones_are_raced_again_calibrated(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    starts = [Candidate("instruction"), Candidate("fields"), Candidate("question"), Candidate("quoted")]
    strategy = RefinementStrategy(context=context, operators=[], start=starts[0], alternatives=starts[1:],
                                  calibrate_pruned=1)
    outcomes = {0: [1.0, 0.0] * 8, 1: [1.0, 0.0, 0.0, 0.0], 2: [0.0] * 4, 3: [1.0, 1.0, 0.0, 0.0]}
    for number in range(4):
        proposal = strategy.ask()
        assert proposal.operator == "start"
        done = trial(number, outcomes[number], proposal.candidate)
        done = done if number == 0 else replace(done, state=TrialState.PRUNED)
        strategy.tell(proposal, done)
    calibrated = [strategy.ask() for _ in range(2)]
    assert [(p.operator, p.candidate) for p in calibrated] == [
        ("move.calibrate", replace(starts[0], calibrate=True)),   # the base first, scored in full
        ("move.calibrate", replace(starts[3], calibrate=True))]   # then the best pruned start (0.5 of 4 rows)
    assert calibrated[0].incumbent is None and calibrated[1].incumbent is not None
    assert strategy.ask().operator != "move.calibrate"  # no budget for the other pruned starts
