"""Re-score a finished run's trials: does the selection signal on the search rows point where test does?

Usage:

    python bench/rescore.py runs/fewshot/subj/seed21/none 14,24,29,70

For each trial number, the trial's prompt (as the run composed it, calibrated the same way) is scored
through the run's own evaluator and cache on the run's search rows, its held-out rows and its test
rows; printed per part: accuracy (what is reported) and the mean selection value (what the search
compares: a label's Brier score, else the metric's score). Rows the run already scored come from its
cache; only the rest are model calls (a test set the run scored for its winner only, for instance).
Nothing is written. Model work runs one process at a time: run it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from autoprompt.evaluate.evaluator import Evaluator  # noqa: E402
from autoprompt.prompts.compose import candidate_from  # noqa: E402
from autoprompt.prompts.prompt import Prompt  # noqa: E402
from autoprompt.records.prediction import Prediction  # noqa: E402
from autoprompt.search.assembly import build_optimizer  # noqa: E402
from autoprompt.search.run_folder import run_directory, saved_spec  # noqa: E402


def _mean(rows: Sequence[Prediction], value: Callable[[Prediction], float]) -> str:
    return f"{sum(value(p) for p in rows) / len(rows):.3f}" if rows else "-"


@dataclass(frozen=True)
class FinishedRun:
    """A finished run opened for re-scoring: its optimizer (rows, prompts), an evaluator through the
    run's own cache with no budget, and its trials (``trials.jsonl``) by number."""

    optimizer: Any
    evaluator: Evaluator
    trials: dict[int, dict[str, Any]]

    def prompt(self, number: int) -> Prompt:
        """Trial ``number``'s prompt as the run composed it, calibrated the same way."""
        return self.evaluator.prepare(self.optimizer.prompt(candidate_from(self.trials[number]["candidate"])))


def open_run(run: Path) -> FinishedRun:
    optimizer = build_optimizer(saved_spec(run_directory(run)).updated(run_dir=None))
    evaluator = optimizer.evaluator(optimizer.spending.client(optimizer.backend))  # the run's cache, no budget
    with (run / "trials.jsonl").open(encoding="utf-8") as handle:
        trials = {t["number"]: t for t in map(json.loads, handle)}
    return FinishedRun(optimizer, evaluator, trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder autoprompt wrote (--out DIR)")
    parser.add_argument("trials", help="comma-separated trial numbers")
    args = parser.parse_args()
    finished = open_run(args.run)
    search, held = finished.optimizer.selection_rows()
    parts = {"search": search, "held-out": held, "test": list(finished.optimizer.task.data.test.examples)}
    for number in (int(n) for n in args.trials.split(",")):
        started = time.monotonic()
        prompt = finished.prompt(number)
        scored = {name: finished.evaluator.evaluate(prompt, rows) if rows else [] for name, rows in parts.items()}
        figures = " | ".join(f"{name} ({len(rows)}) accuracy {_mean(rows, lambda p: p.score)} value "
                             f"{_mean(rows, lambda p: p.value)}" for name, rows in scored.items())
        print(f"trial {number} {finished.trials[number]['label']}: {figures} ({time.monotonic() - started:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main()
