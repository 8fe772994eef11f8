"""Results: what a search found, how it compares with the start, and exporting it.

Contract:
- ``Finalist``: a candidate with its composed (calibrated) prompt and full-dev score.
- ``TestReport``: starting prompt and winner scored once each on the test set, with
  95% bootstrap intervals and the paired difference.
- ``OptimizationResult``: ``.best``, ``.baseline``, ``.trials``, ``.test``,
  ``.leaderboard`` (a pandas DataFrame, one row per distinct candidate), ``.history``
  (a DataFrame of every trial, with each choice as a column), ``.study`` (the Optuna
  study) and ``.export(dir)``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .candidate import Candidate
from .dataset import Dataset
from .evaluator import Prediction
from .export import write_prompt
from .prompt import Prompt
from .stats import Interval
from .trial import Trial, TrialState

if TYPE_CHECKING:
    import optuna
    import pandas as pd


@dataclass(frozen=True)
class Finalist:
    """A fully evaluated candidate."""

    candidate: Candidate
    prompt: Prompt
    dev_score: float
    trial_number: int


@dataclass(frozen=True)
class TestReport:
    """Start and winner on the held-out test set."""

    n: int
    baseline: Interval
    winner: Interval
    difference: Interval
    baseline_score: float
    winner_score: float
    baseline_predictions: tuple[Prediction, ...]
    winner_predictions: tuple[Prediction, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "baseline": self.baseline_score,
            "winner": self.winner_score,
            "baseline_ci": [self.baseline.low, self.baseline.high],
            "winner_ci": [self.winner.low, self.winner.high],
            "difference": self.difference.estimate,
            "difference_ci": [self.difference.low, self.difference.high],
        }


@dataclass(frozen=True)
class OptimizationResult:
    """Everything a search produced."""

    best: Finalist
    baseline: Finalist
    trials: tuple[Trial, ...]
    test: TestReport | None
    metric: str
    model: str
    seed: int
    calls: int
    test_calls: int
    seconds: float
    stop_reason: str
    dev_size: int
    target: str
    kind: str
    data_hashes: Mapping[str, str] = field(default_factory=dict)
    test_set: Dataset | None = None
    tokens: int = 0
    usd: float = 0.0
    paid_calls: int = 0
    study: optuna.Study | None = field(default=None, compare=False)

    @property
    def leaderboard(self) -> pd.DataFrame:
        """One row per distinct candidate, best first; full-dev scores rank above partial ones."""
        import pandas as pd

        best: dict[Candidate, Trial] = {}
        for t in self.trials:
            if t.candidate not in best or (t.n, t.score) > (best[t.candidate].n, best[t.candidate].score):
                best[t.candidate] = t
        rows = [
            {"trial": t.number, "candidate": t.candidate.describe(), "dev_score": round(t.score, 4),
             "n_dev": t.n, "state": t.state.value, "calls": t.calls, "prompt_chars": t.prompt_chars,
             "winner": t.candidate == self.best.candidate}
            for t in best.values()
        ]
        frame = pd.DataFrame(rows)
        if frame.empty:
            return frame
        frame["complete"] = frame["n_dev"] >= self.dev_size
        frame = frame.sort_values(["complete", "dev_score", "prompt_chars"], ascending=[False, False, True])
        return frame.drop(columns="complete").reset_index(drop=True)

    @property
    def history(self) -> pd.DataFrame:
        """Every trial in order: state, score, examples scored, calls, time and each choice."""
        import pandas as pd

        return pd.DataFrame([_trial_record(t) | {f"choice_{k}": v for k, v in
                                                 dataclasses.asdict(t.candidate).items()}
                             for t in self.trials]).drop(columns="candidate")

    def summary(self) -> str:
        """A short text report: start vs winner on dev and test, and what it cost."""
        lines = [
            f"metric: {self.metric} | model: {self.model} | seed: {self.seed} | stop: {self.stop_reason}",
            f"model calls: {self.calls} during search (+{self.test_calls} on test; {self.paid_calls} not from the "
            f"cache), {len(self.trials)} trials, {self.seconds:.0f}s, {self.tokens} tokens, ${self.usd:.4f}",
            f"dev ({self.dev_size}): start {self.baseline.dev_score:.3f} -> winner {self.best.dev_score:.3f}",
            f"winner: {self.best.candidate.describe()}",
        ]
        if self.test:
            lines.append(f"test ({self.test.n}): start {self.test.baseline} -> winner {self.test.winner}; "
                         f"paired difference {self.test.difference}")
        return "\n".join(lines)

    def export(self, directory: str | Path) -> Path:
        """Write the winner (``winner.jinja`` + ``winner.json``), the leaderboard and a report."""
        out = Path(directory)
        from . import __version__

        metadata = {
            "task": self.kind,
            "target": self.target,
            "metric": self.metric,
            "model": self.model,
            "seed": self.seed,
            "library_version": __version__,
            "candidate": dataclasses.asdict(self.best.candidate),
            "scores": {"dev": {"score": self.best.dev_score, "n": self.dev_size,
                               "baseline": self.baseline.dev_score},
                       "test": self.test.as_dict() if self.test else None},
            "data_hashes": dict(self.data_hashes),
            "model_calls": {"search": self.calls, "test": self.test_calls, "paid": self.paid_calls},
            "cost": {"tokens": self.tokens, "usd": self.usd},
        }
        path = write_prompt(out, self.best.prompt, metadata)
        write_prompt(out / "baseline", self.baseline.prompt, {**metadata, "candidate": dataclasses.asdict(
            self.baseline.candidate)})
        self.leaderboard.to_csv(out / "leaderboard.csv", index=False)
        (out / "report.md").write_text(self._report_markdown(), encoding="utf-8")
        (out / "trials.jsonl").write_text(
            "".join(json.dumps(_trial_record(t)) + "\n" for t in self.trials), encoding="utf-8")
        if self.test_set is not None and len(self.test_set):
            _write_dataset(out / "data" / "test.csv", self.test_set)
        return path

    def _report_markdown(self) -> str:
        board = self.leaderboard.head(10)
        table = ["| " + " | ".join(board.columns) + " |", "|" + "---|" * len(board.columns)]
        table += ["| " + " | ".join(str(v) for v in row) + " |" for row in board.itertuples(index=False)]
        return "# autoprompt report\n\n```\n" + self.summary() + "\n```\n\n## Leaderboard (top 10)\n\n" + \
            "\n".join(table) + "\n"


def _trial_record(trial: Trial) -> dict[str, Any]:
    return {
        "number": trial.number, "state": trial.state.value, "score": trial.score, "n": trial.n,
        "calls": trial.calls, "seconds": round(trial.seconds, 3), "candidate": dataclasses.asdict(trial.candidate),
        "failures": trial.failures,
    }


def _write_dataset(path: Path, dataset: Dataset) -> None:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**ex.inputs, dataset.target_column: ex.target} for ex in dataset.examples]
    pd.DataFrame(rows).to_csv(path, index=False)


def completed(trials: tuple[Trial, ...] | list[Trial]) -> list[Trial]:
    return [t for t in trials if t.state is TrialState.COMPLETE]
