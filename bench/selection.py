"""Selection by simulation: how often each decision rule goes wrong, with no model.

Usage:

    python bench/selection.py            # about a minute

Two questions, each answered with the project's own decision code on simulated rows:

1. **One comparison, 0/1 accuracy against the Brier signal.** A parent and a challenger are scored
   on the same 36 search rows (a 2-label task). Each row has a latent difficulty; each prompt's
   gold-label probability is the sigmoid of that difficulty plus the prompt's own noise, plus
   ``delta`` for the challenger. The refinement rule (``RefinementStrategy._wins``: a one-sided
   paired bootstrap at 0.9) is run on the rows' accuracy and on their Brier scores. Reported: how
   often a better challenger is accepted (power) and how often one that is no better, or worse, is.
2. **A whole run under the null.** 30 challengers, each exchangeable with its parent, accepted by
   the search's rule on 36 search rows; then the final check on 18 held-out rows. The earlier rule
   (the last three accepted steps; a one-sided 95% paired bootstrap on search and held-out rows
   together; no loss on the held-out rows, ties passing) against today's (``selection.choose``: the
   last step only, a sign-flip test at 0.05 on the held-out rows only). Reported: how often a run
   returns a step that is no better than its start.

Figures go to ``bench/results/selection.md`` and ``selection.json``.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from autoprompt.evaluate.stats import paired_difference  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402
from autoprompt.records.prediction import Prediction  # noqa: E402
from autoprompt.records.trial import Trial, TrialState  # noqa: E402
from autoprompt.search.refine import RefinementStrategy  # noqa: E402
from autoprompt.search.selection import choose  # noqa: E402

SEARCH_ROWS, HELD_ROWS, CHALLENGERS = 36, 18, 30


def prompt_rows(latent: list[float], rng: random.Random, delta: float = 0.0) -> list[Prediction]:
    """A 2-label prompt's predictions: accuracy and Brier score from the gold label's probability."""
    rows = []
    for i, value in enumerate(latent):
        p = 1 / (1 + math.exp(-(value + delta + rng.gauss(0, 0.6))))
        rows.append(Prediction(str(i), "x", float(p > 0.5), signal=1 - (1 - p) ** 2))
    return rows


def trial(number: int, rows: list[Prediction], signal: bool = True) -> Trial:
    kept = tuple(rows) if signal else tuple(Prediction(p.example_id, p.output, p.score) for p in rows)
    return Trial(number, Candidate("fields", n_demos=number), TrialState.COMPLETE,
                 sum(p.score for p in rows) / len(rows), kept, len(rows), 0.0, 100)


def rule(seed: int) -> RefinementStrategy:
    return RefinementStrategy(context=None, operators=[], start=Candidate("fields"), confidence=0.9,  # type: ignore[arg-type]
                              seed=seed)


def one_comparison(delta: float, runs: int, rng: random.Random) -> dict[str, float]:
    accepted = {"accuracy": 0, "brier": 0}
    for run in range(runs):
        latent = [rng.gauss(0.3, 1.5) for _ in range(SEARCH_ROWS)]
        parent, challenger = prompt_rows(latent, rng), prompt_rows(latent, rng, delta)
        decide = rule(run)
        accepted["accuracy"] += decide._wins(trial(1, challenger, False), trial(0, parent, False))
        accepted["brier"] += decide._wins(trial(1, challenger), trial(0, parent))
    return {k: v / runs for k, v in accepted.items()}


def earlier_rule(base: Trial, chain: list[Trial], holdout: dict[int, list[Prediction]]) -> Trial:
    """The final check before this change: the latest of the last three steps that does not lose on the
    held-out rows and whose one-sided 95% bootstrap bound on every selection row is above zero."""
    def values(t: Trial) -> list[float]:
        return [p.score for p in t.predictions] + [p.score for p in holdout[t.number]]

    def mean(rows: list[Prediction]) -> float:
        return sum(p.score for p in rows) / len(rows)

    for step in reversed(chain[-3:]):
        if mean(holdout[step.number]) >= mean(holdout[base.number]) and \
                paired_difference(values(base), values(step), level=0.9).low > 0:
            return step
    return base


def whole_runs(runs: int, rng: random.Random) -> dict[str, float]:
    returned = {"earlier": 0, "today": 0}
    chains = 0
    for run in range(runs):
        search = [rng.gauss(0.3, 1.5) for _ in range(SEARCH_ROWS)]
        held = [rng.gauss(0.3, 1.5) for _ in range(HELD_ROWS)]
        base = trial(0, prompt_rows(search, rng), False)   # the search compared accuracy before
        decide = rule(run)
        incumbent, chain = base, []
        for number in range(1, CHALLENGERS + 1):
            challenger = trial(number, prompt_rows(search, rng), False)
            if decide._wins(challenger, incumbent):
                incumbent = challenger
                chain.append(challenger)
        holdout = {t.number: prompt_rows(held, rng) for t in [base, *chain]}
        chains += bool(chain)
        returned["earlier"] += earlier_rule(base, chain, holdout) is not base
        returned["today"] += choose(base, chain, holdout, HELD_ROWS)[0] is not base
    return {**{k: v / runs for k, v in returned.items()}, "runs_with_an_accepted_step": chains / runs}


def main() -> None:
    rng = random.Random(0)
    comparisons = {str(delta): one_comparison(delta, 1000, rng) for delta in (-0.3, 0.0, 0.3, 0.6, 1.0)}
    null = whole_runs(1000, rng)
    results: dict[str, Any] = {"comparisons": comparisons, "null_runs": null}
    lines = ["# Selection by simulation (no model)", "",
             f"One comparison on {SEARCH_ROWS} search rows of a 2-label task, the search's acceptance rule "
             "(one-sided paired bootstrap at 0.9), 1,000 simulated pairs per row; `delta` is the challenger's "
             "true gain in the gold label's log-odds (0: no better; negative: worse).", "",
             "| delta | accepted, 0/1 accuracy | accepted, Brier signal |", "|---|---|---|"]
    for delta, rates in comparisons.items():
        lines.append(f"| {float(delta):+.1f} | {rates['accuracy']:.3f} | {rates['brier']:.3f} |")
    lines += ["", f"Whole runs under the null ({CHALLENGERS} challengers no better than their parent, {SEARCH_ROWS} "
              f"search rows, {HELD_ROWS} held-out rows, 1,000 runs; the search accepted at least one step in "
              f"{null['runs_with_an_accepted_step']:.1%} of them): how often the run returns a step.", "",
              "| final check | runs that return a step no better than the start |", "|---|---|",
              f"| earlier: last three steps, bootstrap on search + held-out rows, no loss on held-out | "
              f"{null['earlier']:.1%} |",
              f"| today: last step, sign-flip test at 0.05 on held-out rows only | {null['today']:.1%} |"]
    text = "\n".join(lines) + "\n"
    out = HERE / "results"
    (out / "selection.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (out / "selection.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
