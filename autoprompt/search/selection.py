"""Selection: which prompt the search returns, checked on rows no search decision read.

Contract:
- ``choose(base, chain, holdout, holdout_rows)`` returns the winning trial and a ``Selection``
  record. ``base`` is the prompt the user gets for free (the best plain start, or the user's own
  template); ``chain`` the challengers refinement accepted after it, in order (each a step
  that beat its predecessor on the search rows); ``holdout`` each finalist's per-row scores on
  the held-out rows by trial number (None where the budget ran out before they were scored).
- A challenger can only win when, on the held-out rows, it is at least as good as the base
  (mean paired difference >= 0), and on every selection row (search and held-out together)
  its gain over the base has a one-sided paired-bootstrap lower bound (``CONFIDENCE``) above
  zero. The latest challenger that passes wins; when none does, the base is returned
  unchanged. A search can only make the prompt more complex, so falling back along the chain is
  the one-standard-error rule: the simpler prompt unless the evidence says otherwise.
- Without held-out rows (a small dev set), the same rule on the search rows alone.
- ``Selection.how`` says in one line how the winner was chosen; ``scores`` is each finalist's
  mean on every selection row, ``holdout_scores`` on the held-out rows alone (the estimate the
  search did not select on, to set against the test score); ``calls`` what the check cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autoprompt.evaluate.stats import paired_difference
from autoprompt.records.trial import Trial

CONFIDENCE = 0.95


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

    def as_dict(self) -> dict[str, object]:
        return {"base": self.base, "winner": self.winner, "search_rows": self.search_rows,
                "holdout_rows": self.holdout_rows, "how": self.how, "checked": list(self.checked),
                "calls": self.calls,
                "scores": {str(k): v for k, v in self.scores.items()},
                "holdout_scores": {str(k): v for k, v in self.holdout_scores.items()}}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _rows(trial: Trial, holdout: Sequence[float] | None) -> list[float]:
    return [p.score for p in trial.predictions] + list(holdout or [])


def passes(base: Trial, challenger: Trial, holdout: Mapping[int, Sequence[float] | None], *, seed: int = 0) -> bool:
    """True when the challenger beats the base beyond noise and does not lose on the held-out rows."""
    base_rows, rows = holdout.get(base.number), holdout.get(challenger.number)
    if challenger.n != base.n or (base_rows is not None and rows is None):
        return False
    if base_rows is not None and rows is not None and _mean(rows) < _mean(base_rows):
        return False
    difference = paired_difference(_rows(base, base_rows), _rows(challenger, rows), level=2 * CONFIDENCE - 1,
                                   seed=seed)
    return difference.low > 0


def choose(base: Trial, chain: Sequence[Trial], holdout: Mapping[int, Sequence[float] | None],
           holdout_rows: int) -> tuple[Trial, Selection]:
    """The latest accepted challenger that passes the check against the base, else the base."""
    checked = [t for t in chain if t.number in holdout]
    winner = next((t for t in reversed(checked) if passes(base, t, holdout)), base)
    scores = {t.number: _mean(_rows(t, holdout.get(t.number))) for t in [base, *checked]}
    held = {t.number: _mean(rows) for t in [base, *checked] if (rows := holdout.get(t.number)) is not None}
    cut = holdout_rows and any(holdout.get(t.number) is None for t in [base, *checked])
    where = (f"{base.n} search + {holdout_rows} held-out rows" if held else f"{base.n} search rows") + (
        " (the budget ran out before the held-out check was done: pass a larger --budget)" if cut else "")
    if winner is base and not chain:
        how = f"no challenger beat the start (trial {base.number}) on {base.n} rows; the start is returned unchanged"
    elif winner is base:
        how = (f"none of the {len(chain)} accepted step(s) beat the start (trial {base.number}) beyond noise on "
               f"{where} ({CONFIDENCE:.0%} one-sided paired bootstrap, no loss on held-out rows); "
               "the start is returned unchanged")
    else:
        how = (f"trial {winner.number} beat the start (trial {base.number}) on {where}: "
               f"{scores[base.number]:.3f} -> {scores[winner.number]:.3f}"
               + (f", held-out {held[base.number]:.3f} -> {held[winner.number]:.3f}" if held else "")
               + f" ({CONFIDENCE:.0%} one-sided paired bootstrap)")
    return winner, Selection(base.number, winner.number, base.n, holdout_rows, how, scores, held,
                             tuple(t.number for t in checked))
