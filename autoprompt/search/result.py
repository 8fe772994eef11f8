"""Results: what a search found, how it compares with the start, and exporting it.

Contract:
- ``Finalist``: a candidate with its composed (calibrated) prompt and full-dev score.
- ``TestReport``: starting prompt and winner scored once each on the test set, with
  95% bootstrap intervals and the paired difference.
- ``OptimizationResult``: ``.best``, ``.baseline``, ``.trials``, ``.test``,
  ``.leaderboard`` (a pandas DataFrame, one row per distinct candidate), ``.history``
  (a DataFrame of every trial, with each choice as a column), ``.study`` (the Optuna
  study; for the refinement strategy, a study recording its trials), ``.pareto`` (complete trials that no other
  beats on both dev score and prompt tokens), ``.accepted`` (trials that became the
  incumbent, in order), ``.rejected`` (proposals thrown away before any call, with the
  reason) and ``.export(dir)``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoprompt.data.dataset import Dataset
from autoprompt.evaluate.stats import Interval, pareto_front
from autoprompt.export.manifest import MANIFEST_FILE, check_output_folder, write_prompt
from autoprompt.prompts.prompt import Prompt
from autoprompt.propose.operator import Rejection
from autoprompt.records.candidate import Candidate
from autoprompt.records.prediction import Prediction
from autoprompt.records.trial import Trial, TrialState, leaderboard_order, trial_record
from autoprompt.report.files import write_report
from autoprompt.search.selection import Selection

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

    def consistency(self) -> tuple[float, float] | None:
        """Mean agreement of sampled answers (start, winner), when it was measured."""
        means = [_mean_agreement(p) for p in (self.baseline_predictions, self.winner_predictions)]
        return None if means[0] is None or means[1] is None else (means[0], means[1])

    def as_dict(self) -> dict[str, Any]:
        agreement = self.consistency()
        return {
            **({"consistency": list(agreement)} if agreement else {}),
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
    dev_set: Dataset | None = None
    tokens: int = 0
    usd: float = 0.0
    paid_calls: int = 0
    study: optuna.Study | None = field(default=None, compare=False)
    strategy: str = "refine"
    optimizer_calls: int = 0
    judge_calls: int = 0
    accepted: tuple[int, ...] = ()
    rejected: tuple[Rejection, ...] = ()
    selection: Selection | None = None

    @property
    def pareto(self) -> list[Trial]:
        """Complete trials not beaten on both dev score and prompt tokens, shortest first."""
        return pareto_front(completed(self.trials))

    @property
    def leaderboard(self) -> pd.DataFrame:
        """One row per distinct candidate, best first; full-dev scores rank above partial ones."""
        import pandas as pd

        rows = [
            {"trial": t.number, "candidate": t.candidate.describe(), "dev_score": round(t.score, 4),
             "n_dev": t.n, "state": t.state.value, "calls": t.calls, "prompt_chars": t.prompt_chars,
             "prompt_tokens": t.prompt_tokens, "operator": t.operator, "parent": t.parent,
             "winner": t.candidate == self.best.candidate,
             **({"consistency": round(t.consistency, 4)} if t.consistency is not None else {})}
            for t in leaderboard_order(self.trials, lambda t: t.candidate, self.dev_size)
        ]
        frame = pd.DataFrame(rows)
        if not frame.empty:
            frame["parent"] = frame["parent"].astype("Int64")
        return frame

    @property
    def history(self) -> pd.DataFrame:
        """Every trial in order: state, score, examples scored, calls, time and each choice."""
        import pandas as pd

        return pd.DataFrame([trial_record(t) | {f"choice_{k}": v for k, v in
                                                 dataclasses.asdict(t.candidate).items()}
                             for t in self.trials]).drop(columns="candidate")

    def summary(self) -> str:
        """A short text report: start vs winner on dev and test, and what it cost."""
        lines = [
            f"metric: {self.metric} | model: {self.model} | seed: {self.seed} | stop: {self.stop_reason}",
            f"model calls: {self.calls} during search ({self.optimizer_calls} by the optimizer model, "
            f"{self.judge_calls} by the judge; "
            f"+{self.test_calls} on test; {self.paid_calls} not from the cache), {len(self.trials)} trials, "
            f"{self.seconds:.0f}s, {self.tokens} tokens, ${self.usd:.4f}",
            f"dev ({self.dev_size}): start {self.baseline.dev_score:.3f} -> winner {self.best.dev_score:.3f}",
            f"winner: {self.best.candidate.describe()}",
        ]
        if self.selection is not None:
            lines.append(f"chosen: {self.selection.how}")
        if self.test:
            lines.append(f"test ({self.test.n}): start {self.test.baseline} -> winner {self.test.winner}; "
                         f"paired difference {self.test.difference}")
            lines.append(f"dev-to-test gap of the winner: {self.best.dev_score - self.test.winner_score:+.3f}"
                         + (f" (held-out rows: {self.selection.holdout_scores[self.best.trial_number]:.3f})"
                            if self.selection and self.best.trial_number in self.selection.holdout_scores else ""))
            agreement = self.test.consistency()
            if agreement is not None:
                lines.append(f"consistency on test (agreement of sampled answers): start {agreement[0]:.3f} -> "
                             f"winner {agreement[1]:.3f}")
        return "\n".join(lines)

    def export(self, directory: str | Path) -> Path:
        """Write the winner (``winner.jinja`` + ``winner.json``), the start (``baseline/``), the
        leaderboard, every trial (``trials.jsonl``), the test set and both prompts' answers on it
        (``predictions.jsonl``), the winner's answers on dev (``dev_predictions.jsonl``, what
        ``autoprompt review`` shows), and the reports (``report.md``, ``report.html``)."""
        out = Path(directory)
        from autoprompt import __version__

        check_output_folder(out, ours=(MANIFEST_FILE, "run.json", "run.lock"))

        metadata = {
            "task": self.kind,
            "target": self.target,
            "metric": self.metric,
            "model": self.model,
            "seed": self.seed,
            "library_version": __version__,
            "candidate": dataclasses.asdict(self.best.candidate),
            "scores": {"dev": {"score": self.best.dev_score, "n": self.dev_size,
                               "baseline": self.baseline.dev_score,
                               **({"holdout": self.selection.holdout_scores.get(self.best.trial_number),
                                   "how": self.selection.how} if self.selection else {})},
                       "test": self.test.as_dict() if self.test else None},
            "data_hashes": dict(self.data_hashes),
            "model_calls": {"search": self.calls, "test": self.test_calls, "paid": self.paid_calls},
            "cost": {"tokens": self.tokens, "usd": self.usd},
            "strategy": self.strategy,
            "stop_reason": self.stop_reason,
            "optimizer_calls": self.optimizer_calls,
            "judge_calls": self.judge_calls,
            "seconds": round(self.seconds, 1),
            "trial": self.best.trial_number,
            "accepted": list(self.accepted),
            "selection": self.selection.as_dict() if self.selection else None,
            "rejected": [{"operator": r.operator, "reason": r.reason} for r in self.rejected],
            "lineage": [{"trial": t.number, "operator": t.operator, "dev_score": t.score, "n": t.n}
                        for t in self.lineage()],
        }
        path = write_prompt(out, self.best.prompt, metadata)
        write_prompt(out / "baseline", self.baseline.prompt, {**metadata, "candidate": dataclasses.asdict(
            self.baseline.candidate)})
        self.leaderboard.to_csv(out / "leaderboard.csv", index=False)
        (out / "trials.jsonl").write_text(
            "".join(json.dumps(trial_record(t)) + "\n" for t in self.trials), encoding="utf-8")
        if self.test_set is not None and len(self.test_set):
            _write_dataset(out / "data" / "test.csv", self.test_set)
        if self.test is not None and self.test_set is not None:
            (out / "predictions.jsonl").write_text("".join(
                json.dumps({"id": ex.id, "target": ex.target, "start": a.output, "winner": b.output}) + "\n"
                for ex, a, b in zip(self.test_set.examples, self.test.baseline_predictions,
                                    self.test.winner_predictions)), encoding="utf-8")
        self._write_dev_predictions(out / "dev_predictions.jsonl")
        write_report(out)
        return path

    def _write_dev_predictions(self, path: Path) -> None:
        """The winner's answers on the dev examples it was scored on, for ``autoprompt review``."""
        winner = next((t for t in self.trials if t.number == self.best.trial_number), None)
        if winner is None or self.dev_set is None:
            return
        examples = {ex.id: ex for ex in self.dev_set.examples}
        path.write_text("".join(json.dumps({
            "id": p.example_id, "inputs": dict(examples[p.example_id].inputs), "target": examples[p.example_id].target,
            "output": p.output, "score": round(p.score, 4), "reason": p.reason, "failed": p.failed,
            **({"agreement": round(p.agreement, 4)} if p.agreement is not None else {}),
        }) + "\n" for p in winner.predictions if p.example_id in examples), encoding="utf-8")

    def save_study(self, path: str | Path) -> str:
        """Write the Optuna study to a SQLite file for optuna-dashboard; return its storage URL."""
        from autoprompt.errors import ConfigError
        from autoprompt.search.strategy import save_study

        if self.study is None:
            raise ConfigError("this result holds no Optuna study (it was built by hand, not by optimize)")
        return save_study(self.study, path)

    def lineage(self, number: int | None = None) -> list[Trial]:
        """The chain of parents down to trial ``number`` (default: the winner); one trial when it has no parent."""
        chain: list[Trial] = []
        current: int | None = self.best.trial_number if number is None else number
        while current is not None and 0 <= current < len(self.trials) and len(chain) <= len(self.trials):
            chain.append(self.trials[current])
            current = self.trials[current].parent
        return chain[::-1]

    def operator_table(self) -> pd.DataFrame:
        """Per operator: trials proposed, completed on the whole dev set, accepted as incumbent, best score."""
        import pandas as pd

        rows: dict[str, dict[str, Any]] = {}
        for t in self.trials:
            row = rows.setdefault(t.operator, {"operator": t.operator, "trials": 0, "complete": 0, "accepted": 0,
                                               "best_dev": 0.0, "calls": 0, "rejected": 0})
            row["trials"] += 1
            row["complete"] += t.state is TrialState.COMPLETE
            row["accepted"] += t.number in self.accepted
            row["calls"] += t.calls
            if t.state is TrialState.COMPLETE:
                row["best_dev"] = round(max(row["best_dev"], t.score), 4)
        for r in self.rejected:
            rows.setdefault(r.operator, {"operator": r.operator, "trials": 0, "complete": 0, "accepted": 0,
                                         "best_dev": 0.0, "calls": 0, "rejected": 0})["rejected"] += 1
        return pd.DataFrame(list(rows.values()))


def _mean_agreement(predictions: tuple[Prediction, ...]) -> float | None:
    measured = [p.agreement for p in predictions if p.agreement is not None]
    return sum(measured) / len(measured) if measured else None


def _write_dataset(path: Path, dataset: Dataset) -> None:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**ex.inputs, dataset.target_column: ex.target} for ex in dataset.examples]
    pd.DataFrame(rows).to_csv(path, index=False)


def completed(trials: tuple[Trial, ...] | list[Trial]) -> list[Trial]:
    return [t for t in trials if t.state is TrialState.COMPLETE]
