"""Selection: which prompt the search returns, decided on rows no search decision read.

Contract:
- ``choose(base, chain, holdout, holdout_rows, pool_rows=0, signal=None)`` returns the winning trial and a ``Selection``
  record. ``base`` is the prompt the user gets for free (the chosen start, or the user's own
  template); ``chain`` the challengers refinement accepted after it, in order (each a step
  that beat its predecessor on the search rows); ``holdout`` each finalist's predictions on
  the held-out rows by trial number (None where the budget ran out before they were scored);
  ``pool_rows`` of the ``holdout_rows`` are demonstration-pool rows neither finalist shows (the
  loop adds them unless a finalist carries what a move that read the pool put into the run), as
  unread as the rest.
- One test decides, so the level holds for the whole run however many challengers the search
  tried: the last accepted step (the search's incumbent) replaces the base only when, on the
  held-out rows alone, a one-sided paired sign-flip test of its per-row selection values
  (``Prediction.value``: the evaluator's ``signal`` where it has one, a label's Brier score or free
  text's closeness to the target, else the metric's score) against the base's
  gives a p-value at or below ``LEVEL``. Those rows were never read by a search decision, so
  under the null (a step no better than its start) a run returns a step at most ``LEVEL`` of
  the time; a tie (no row differs) never passes. When it fails, the base is returned unchanged.
- Without held-out rows (a small dev set), the same test on the search rows, which selected the
  step: the level then does not hold, and ``how`` says so.
- ``Selection.how`` says in one line what was tested, on which rows and at what level;
  ``scores`` is each finalist's mean score on every selection row, ``holdout_scores`` on the
  held-out rows alone (the estimate the search did not select on, to set against the test
  score); ``p_value`` the test's; ``calls`` what the check cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autoprompt.evaluate.stats import sign_flip_p
from autoprompt.records.prediction import Prediction, Signal
from autoprompt.records.trial import Trial

LEVEL = 0.05


@dataclass(frozen=True)
class Selection:
    """How the winner was chosen among the base and the accepted challengers."""

    base: int
    winner: int
    search_rows: int
    holdout_rows: int
    how: str
    scores: Mapping[int, float] = field(default_factory=dict)
    holdout_scores: Mapping[int, float] = field(default_factory=dict)
    checked: tuple[int, ...] = ()
    calls: int = 0
    p_value: float | None = None
    pool_rows: int = 0  # of ``holdout_rows``: demonstration-pool rows neither finalist shows

    def as_dict(self) -> dict[str, object]:
        return {"base": self.base, "winner": self.winner, "search_rows": self.search_rows,
                "holdout_rows": self.holdout_rows, "pool_rows": self.pool_rows, "how": self.how,
                "checked": list(self.checked), "calls": self.calls, "p_value": self.p_value, "level": LEVEL,
                "scores": {str(k): v for k, v in self.scores.items()},
                "holdout_scores": {str(k): v for k, v in self.holdout_scores.items()}}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def p_value(base: Trial, challenger: Trial, holdout: Mapping[int, Sequence[Prediction] | None], *,
            seed: int = 0) -> float | None:
    """The one-sided p-value that the challenger beats the base: on the held-out rows when both were
    scored there, else (no held-out rows) on the search rows; None when it cannot be tested."""
    base_rows, rows = holdout.get(base.number), holdout.get(challenger.number)
    if base_rows is None or rows is None or len(rows) != len(base_rows):
        return None
    if rows:
        return sign_flip_p([p.value for p in base_rows], [p.value for p in rows], seed=seed)
    if challenger.n != base.n:
        return None
    return sign_flip_p(base.values, challenger.values, seed=seed)


def passes(base: Trial, challenger: Trial, holdout: Mapping[int, Sequence[Prediction] | None], *,
           seed: int = 0) -> bool:
    """True when the challenger beats the base at ``LEVEL`` (see ``p_value``)."""
    p = p_value(base, challenger, holdout, seed=seed)
    return p is not None and p <= LEVEL


def _tested_rows(trial: Trial, holdout: Mapping[int, Sequence[Prediction] | None]) -> Sequence[Prediction]:
    """The rows the test reads for ``trial``: its held-out predictions, else its search predictions."""
    return holdout.get(trial.number) or trial.predictions


def _signalled(rows: Sequence[Prediction]) -> bool:
    """Whether the rows carry a selection signal the test compared."""
    return any(p.signal is not None for p in rows)


def _tested_value(base: Trial, holdout: Mapping[int, Sequence[Prediction] | None], signal: Signal | None) -> str:
    """What the test compares per row, in words: the signal where the rows carry one."""
    if signal is not None and _signalled(_tested_rows(base, holdout)):
        return f"each row's {signal.meaning}"
    return "each row's score"


def _signal_means(base: Trial, winner: Trial, holdout: Mapping[int, Sequence[Prediction] | None],
                  signal: Signal | None) -> str:
    """", Brier 0.61 -> 0.66" where the test compared a signal (which can rise while the score falls)."""
    rows = [_tested_rows(t, holdout) for t in (base, winner)]
    if signal is None or not all(_signalled(r) for r in rows):
        return ""
    before, after = (_mean([p.value for p in r]) for r in rows)
    return f", {signal.name} {before:.3f} -> {after:.3f}"


def choose(base: Trial, chain: Sequence[Trial], holdout: Mapping[int, Sequence[Prediction] | None],
           holdout_rows: int, pool_rows: int = 0, signal: Signal | None = None) -> tuple[Trial, Selection]:
    """The last accepted step when it passes the test against the base, else the base. ``signal`` names
    what the rows' ``Prediction.signal`` holds, for ``how``."""
    last = chain[-1] if chain else None
    checked = [last] if last is not None and last.number in holdout else []
    p = p_value(base, checked[0], holdout) if checked else None
    winner = checked[0] if checked and p is not None and p <= LEVEL else base
    scores = {t.number: _mean([p.score for p in t.predictions] + [p.score for p in holdout.get(t.number) or []])
              for t in [base, *checked]}
    held = {t.number: _mean([p.score for p in rows]) for t in [base, *checked] if (rows := holdout.get(t.number))}
    tested = f"one-sided paired sign-flip test of {_tested_value(base, holdout, signal)} at level {LEVEL:g}"
    pool = f" ({pool_rows} of them demonstration-pool rows neither prompt shows)" if pool_rows else ""
    where = (f"{holdout_rows} held-out rows no search decision read{pool}" if holdout_rows else
             f"the {base.n} search rows that selected it (too few rows to hold any out, so the level is not "
             "guaranteed)")
    if holdout_rows and last is not None and p is None:
        where += " (the budget ran out before the held-out check was done: pass a larger --budget)"
    if last is None:
        how = f"no challenger beat the start (trial {base.number}) on {base.n} rows; the start is returned unchanged"
    elif winner is base:
        how = (f"the search's best step (trial {last.number}, {len(chain)} accepted) was tested against the start "
               f"(trial {base.number}) on {where}" + (f" ({tested}: p = {p:.3f})" if p is not None else "")
               + "; it did not pass, so the start is returned unchanged")
    else:
        how = (f"trial {winner.number} beat the start (trial {base.number}) on {where}"
               + (f": held-out score {held[base.number]:.3f} -> {held[winner.number]:.3f}" if held else "")
               + _signal_means(base, winner, holdout, signal)
               + f" ({tested}: p = {p:.3f})")
    return winner, Selection(base.number, winner.number, base.n, holdout_rows, how, scores, held,
                             tuple(t.number for t in checked), p_value=p, pool_rows=pool_rows)
