"""The test set, scored once at the end: ``score_test_set(evaluator, start, winner, rows)`` scores the start's
and the winner's prompts on the test rows, each from an empty model state (``score_fresh``, so that
``autoprompt eval`` reproduces the numbers exactly), and returns the ``TestReport``: both scores with
bootstrap intervals, their paired difference, every prediction and what each prompt's answers cost; given
the commonest label of the labelled rows, what always answering it scores (``Constant``), the floor any
classifier must clear (``constant_floor``, which ``autoprompt eval`` also prints).
``scoring`` hears how the rows go.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.stats import bootstrap, paired_difference
from autoprompt.models.backend import reset
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.example import Example
from autoprompt.records.prediction import Prediction
from autoprompt.records.progress import Scoring
from autoprompt.records.usage import Spend
from autoprompt.search.result import Constant, TestReport


def score_test_set(evaluator: Evaluator, start: Prompt, winner: Prompt, rows: Sequence[Example], *, seed: int,
                   scoring: Callable[[Scoring], None] | None = None,
                   commonest: tuple[str, float] | None = None) -> TestReport:
    """The start and the winner scored on ``rows`` (see the module contract); with ``commonest`` (a label and
    its share of the labelled rows), also that label answered to every row, graded by the metric."""
    base, base_spend = _scored(evaluator, start, rows, "the start on test", scoring)
    win, win_spend = _scored(evaluator, winner, rows, "the winner on test", scoring)
    base_scores, win_scores = [p.score for p in base], [p.score for p in win]
    return TestReport(
        n=len(rows), baseline=bootstrap(base_scores, seed=seed), winner=bootstrap(win_scores, seed=seed),
        difference=paired_difference(base_scores, win_scores, seed=seed),
        baseline_score=evaluator.aggregate(rows, base), winner_score=evaluator.aggregate(rows, win),
        baseline_predictions=tuple(base), winner_predictions=tuple(win), baseline_spend=base_spend,
        winner_spend=base_spend if winner == start else win_spend,
        constant=None if commonest is None else constant_floor(evaluator, rows, *commonest, win, seed),
    )


def constant_floor(evaluator: Evaluator, rows: Sequence[Example], label: str, share: float,
                   winner: Sequence[Prediction], seed: int) -> Constant:
    """``label`` answered to every row, graded as the winner's answers are (a model-graded metric never is)."""
    answers = [Prediction(ex.id, label, evaluator.metric.grade(ex, label).score) for ex in rows]
    return Constant(label, share, evaluator.aggregate(rows, answers),
                    paired_difference([p.score for p in answers], [p.score for p in winner], seed=seed))


def _scored(evaluator: Evaluator, prompt: Prompt, rows: Sequence[Example], what: str,
            hear: Callable[[Scoring], None] | None) -> tuple[list[Prediction], Spend]:
    """``score_fresh``'s predictions (reported to ``hear`` as ``what``), and what the model's answers to them
    cost (the judge's apart)."""
    before, started = evaluator.client.served, time.monotonic()
    on_rows = None if hear is None else \
        (lambda done, total: hear(Scoring(what, done, total, time.monotonic() - started)))
    predictions = score_fresh(evaluator, prompt, rows, on_rows=on_rows)
    return predictions, evaluator.client.served - before


def score_fresh(evaluator: Evaluator, prompt: Prompt, rows: Sequence[Example], *,
                on_rows: Callable[[int, int], None] | None = None) -> list[Prediction]:
    """Score from an empty model state, so ``autoprompt eval`` reproduces the numbers exactly."""
    reset(evaluator.client.backend)
    return evaluator.evaluate(prompt, rows, on_rows=on_rows)
