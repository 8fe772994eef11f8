"""Choosing the winner: one test, on held-out rows no search decision read, at a level that holds
for the whole run."""

from __future__ import annotations

import math
import random

from autoprompt.evaluate.evaluator import BRIER
from autoprompt.records.candidate import Candidate
from autoprompt.records.prediction import Prediction
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.refine import RefinementStrategy
from autoprompt.search.selection import LEVEL, choose, passes


def rows(outcomes: list[float], signals: list[float] | None = None) -> list[Prediction]:
    return [Prediction(str(i), "x", s, signal=None if signals is None else signals[i]) for i, s in enumerate(outcomes)]


def trial(number: int, outcomes: list[float], signals: list[float] | None = None) -> Trial:
    predictions = tuple(rows(outcomes, signals))
    return Trial(number, Candidate("fields", n_demos=number), TrialState.COMPLETE, sum(outcomes) / len(outcomes),
                 predictions, len(outcomes), 0.0, 100)


BASE = trial(0, [1, 0] * 20)                 # 0.50 on 40 search rows
CLEAR = trial(5, [1, 1, 1, 0] * 10)          # 0.75
LUCKY = trial(9, [1, 0] * 19 + [1, 1])       # 0.525


def test_a_clear_gain_on_held_out_rows_wins_and_says_what_was_tested() -> None:
    holdout = {0: rows([1.0, 0.0] * 10), 5: rows([1.0] * 12 + [1.0, 0.0] * 4)}   # 6 rows better, none worse
    winner, selection = choose(BASE, [CLEAR], holdout, 20)
    assert winner is CLEAR and selection.winner == 5 and selection.base == 0
    assert selection.holdout_scores == {0: 0.5, 5: 0.8}
    assert selection.p_value is not None and selection.p_value <= LEVEL
    assert "trial 5 beat the start (trial 0) on 20 held-out rows no search decision read" in selection.how
    assert "held-out score 0.500 -> 0.800" in selection.how
    assert "sign-flip test of each row's score at level 0.05" in selection.how
    assert "Brier" not in selection.how   # no signal on these rows: the score itself was tested
    _, pooled = choose(BASE, [CLEAR], holdout, 20, pool_rows=6)
    assert "on 20 held-out rows no search decision read (6 of them demonstration-pool rows neither prompt " \
           "shows)" in pooled.how and pooled.as_dict()["pool_rows"] == 6 and selection.pool_rows == 0


def test_search_rows_do_not_count_and_a_tie_or_a_loss_on_held_out_rows_falls_back() -> None:
    tie = {0: rows([1.0, 0.0] * 10), 5: rows([1.0, 0.0] * 10)}   # clear on the search rows, even on held-out ones
    assert not passes(BASE, CLEAR, tie)
    lost = {0: rows([1.0] * 10), 5: rows([0.0] * 10)}
    winner, selection = choose(BASE, [CLEAR], lost, 10)
    assert winner is BASE and "did not pass" in selection.how and "returned unchanged" in selection.how
    assert not passes(BASE, LUCKY, {0: [], 9: []})      # no held-out rows: the search rows, and no clear gain


def test_the_signal_decides_where_accuracy_ties() -> None:
    """Same right answers on every held-out row, but the step is surer of them: the Brier signal sees it."""
    outcomes = [1.0, 0.0] * 10
    holdout = {0: rows(outcomes, [0.55, 0.45] * 10), 5: rows(outcomes, [0.8, 0.48] * 10)}
    assert passes(BASE, CLEAR, holdout)
    _, selection = choose(BASE, [CLEAR], holdout, 20, signal=BRIER)   # the line names the tested value and its move
    assert "held-out score 0.500 -> 0.500, Brier 0.500 -> 0.640" in selection.how
    assert "sign-flip test of each row's Brier score" in selection.how
    flat = {0: rows(outcomes), 5: rows(outcomes)}
    assert not passes(BASE, CLEAR, flat)


def test_only_the_last_step_is_tested_and_an_unscored_one_says_so() -> None:
    later = trial(7, [1, 1, 1, 1, 0] * 8)
    winner, selection = choose(BASE, [CLEAR, later], {0: rows([0.0] * 12), 7: rows([1.0] * 12)}, 12)
    assert winner is later and selection.checked == (7,)
    winner, selection = choose(BASE, [CLEAR, later], {0: rows([1.0, 0.0] * 5), 7: None}, 10)
    assert winner is BASE
    assert "the budget ran out before the held-out check was done: pass a larger --budget" in selection.how
    winner, selection = choose(BASE, [], {0: []}, 0)
    assert winner is BASE and selection.how.startswith("no challenger beat the start")


def _null_prompt(latent: list[float], rng: random.Random, classes: int = 2) -> tuple[list[float], list[float]]:
    """One prompt's rows under the null: every prompt draws its gold-label probability around the same
    per-row value, so a challenger is exchangeable with its parent on every row."""
    outcomes, signals = [], []
    for value in latent:
        p = 1 / (1 + math.exp(-(value + rng.gauss(0, 0.6))))
        wrong = (1 - p) / (classes - 1)
        outcomes.append(float(p > wrong))
        signals.append(1 - 0.5 * ((1 - p) ** 2 + (classes - 1) * wrong ** 2))
    return outcomes, signals


def test_a_whole_run_under_the_null_returns_a_step_at_most_five_percent_of_the_time() -> None:
    """Runs of 30 challengers, each no better than its parent, accepted by the search's own rule on 36
    search rows, then the final check on 18 held-out rows: how often does the run return a step?"""
    rng = random.Random(7)
    runs, returned, chains = 600, 0, 0
    for run in range(runs):
        search_latent = [rng.gauss(0.3, 1.5) for _ in range(36)]
        held_latent = [rng.gauss(0.3, 1.5) for _ in range(18)]
        base = trial(0, *_null_prompt(search_latent, rng))
        strategy = RefinementStrategy(context=None, operators=[], start=base.candidate, confidence=0.9,  # type: ignore[arg-type]
                                      seed=run)
        incumbent, chain = base, []
        for number in range(1, 31):
            challenger = trial(number, *_null_prompt(search_latent, rng))
            if strategy._wins(challenger, incumbent):
                incumbent = challenger
                chain.append(challenger)
        holdout = {0: rows(*_null_prompt(held_latent, rng))}
        if chain:
            holdout[chain[-1].number] = rows(*_null_prompt(held_latent, rng))
        winner, _ = choose(base, chain, holdout, 18)
        chains += bool(chain)
        returned += winner is not base
    assert chains > runs // 2          # the search itself accepts lucky steps often: the final check must hold
    assert returned / runs <= LEVEL
