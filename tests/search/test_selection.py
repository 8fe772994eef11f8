"""Choosing the winner: a challenger must beat the start beyond noise and hold on held-out rows."""

from __future__ import annotations

from autoprompt.records.candidate import Candidate
from autoprompt.records.prediction import Prediction
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.selection import choose, passes


def trial(number: int, outcomes: list[float]) -> Trial:
    predictions = tuple(Prediction(str(i), "x", s) for i, s in enumerate(outcomes))
    return Trial(number, Candidate("fields", n_demos=number), TrialState.COMPLETE, sum(outcomes) / len(outcomes),
                 predictions, len(outcomes), 0.0, 100)


BASE = trial(0, [1, 0] * 20)                 # 0.50 on 40 search rows
CLEAR = trial(5, [1, 1, 1, 0] * 10)          # 0.75
LUCKY = trial(9, [1, 0] * 19 + [1, 1])       # 0.525: within noise of the base


def test_a_clear_gain_that_holds_on_held_out_rows_wins() -> None:
    holdout = {0: [1.0, 0.0] * 5, 5: [1.0, 1.0, 1.0, 0.0, 1.0] * 2}
    winner, selection = choose(BASE, [CLEAR], holdout, 10)
    assert winner is CLEAR and selection.winner == 5 and selection.base == 0
    assert selection.holdout_scores == {0: 0.5, 5: 0.8}
    assert "trial 5 beat the start (trial 0)" in selection.how and "held-out 0.500 -> 0.800" in selection.how


def test_a_gain_within_noise_or_lost_on_held_out_rows_falls_back() -> None:
    assert not passes(BASE, LUCKY, {0: [], 9: []})
    lost = {0: [1.0] * 10, 5: [0.0] * 10}    # clear on the search rows, but worse on rows it never saw
    winner, selection = choose(BASE, [CLEAR], lost, 10)
    assert winner is BASE and "returned unchanged" in selection.how


def test_the_latest_passing_step_of_the_chain_wins_and_unscored_steps_are_skipped() -> None:
    later = trial(7, [1, 1, 1, 1, 0] * 8)
    holdout = {0: [0.5] * 4, 5: [1.0] * 4, 7: [0.0] * 4}
    winner, selection = choose(BASE, [CLEAR, later], holdout, 4)
    assert winner is CLEAR and selection.checked == (5, 7)
    winner, _ = choose(BASE, [CLEAR, later], {0: [0.5] * 4, 5: [1.0] * 4, 7: None}, 4)
    assert winner is CLEAR
    winner, selection = choose(BASE, [], {0: []}, 0)
    assert winner is BASE and selection.how.startswith("no challenger beat the start")


def test_a_check_the_budget_cut_short_says_so_and_names_the_fix() -> None:
    winner, selection = choose(BASE, [CLEAR], {0: [1.0, 0.0] * 5, 5: None}, 10)
    assert winner is BASE
    assert "the budget ran out before the held-out check was done: pass a larger --budget" in selection.how
    _, finished = choose(BASE, [CLEAR], {0: [1.0, 0.0] * 5, 5: [1.0] * 10}, 10)
    assert "budget ran out" not in finished.how
