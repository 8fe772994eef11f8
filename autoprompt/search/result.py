"""Results: what a search found and how it compares with the start, as data.

Contract:
- ``Finalist``: a candidate with its composed (calibrated) prompt and full-dev score.
- ``TestReport``: starting prompt and winner scored once each on the test set, with
  95% bootstrap intervals and the paired difference; for labels, ``Constant``: always answering the
  commonest label, and the winner's paired difference against that.
- ``OptimizationResult``: ``.best``, ``.baseline``, ``.trials``, ``.test``,
  ``.leaderboard`` (a pandas DataFrame, one row per distinct candidate), ``.history``
  (a DataFrame of every trial, with each choice as a column), ``.study`` (the Optuna
  study; for the refinement strategy, a study recording its trials), ``.pareto`` (complete trials that no other
  beats on both dev score and prompt tokens), ``.accepted`` (trials that became the
  incumbent, in order), ``.rejected`` (proposals thrown away before any call, with the
  reason). ``.export(dir)``, ``.leaderboard``, ``.history`` and ``.operator_table()`` are
  the public face of the functions below.
- ``write_result(result, directory)`` writes the winner (``winner.jinja`` + ``winner.json``),
  the start (``baseline/``), the leaderboard, every trial (``trials.jsonl``), the test set and
  both prompts' answers on it (``predictions.jsonl``), the winner's answers on dev
  (``dev_predictions.jsonl``, what ``autoprompt review`` shows) and the reports (the report
  part's ``write_report``); it returns the path of ``winner.json``. A folder holding anything
  but an earlier export of a run is refused (``files.check_output_folder``).
- ``leaderboard_table``, ``history_table`` and ``operator_table`` are the result's tables as
  DataFrames; the leaderboard's order is ``records.trial.leaderboard_order``, the one the
  reports use. ``result_html`` is the summary and the leaderboard's head as HTML (what a
  notebook shows), every text escaped.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoprompt.data.dataset import Dataset
from autoprompt.evaluate.stats import pareto_front
from autoprompt.export.manifest import MANIFEST_FILE, write_prompt
from autoprompt.files import check_output_folder, refuse_links, write_text
from autoprompt.prompts.prompt import Prompt
from autoprompt.propose.operator import Rejection
from autoprompt.records.candidate import Candidate
from autoprompt.records.interval import Interval
from autoprompt.records.prediction import Prediction
from autoprompt.records.trial import Trial, TrialState, leaderboard_order, trial_record
from autoprompt.records.usage import Spend
from autoprompt.report.writer import production_line, run_summary
from autoprompt.search.run_report import write_report
from autoprompt.search.selection import Selection
from autoprompt.version import __version__

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
class Constant:
    """Always answering one label on the test set: the label (the commonest of the labelled rows), its share
    of those rows, the score it gets, and the winner's paired difference against it."""

    label: str
    share: float
    score: float
    difference: Interval

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "share": self.share, "score": self.score, "difference": self.difference.estimate,
                "difference_ci": [self.difference.low, self.difference.high]}


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
    baseline_spend: Spend = field(default_factory=Spend)  # the model's answers on test (a judge's apart)
    winner_spend: Spend = field(default_factory=Spend)
    constant: Constant | None = None  # labels: always answering the commonest one, the floor a prompt must clear

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
            "production": {"start": self.baseline_spend.as_dict(), "winner": self.winner_spend.as_dict()},
            **({"constant": self.constant.as_dict()} if self.constant else {}),
        }

    def production(self) -> str:
        """Start against winner per production call: tokens, and USD per 1,000 calls."""
        return production_line(self.baseline_spend, self.winner_spend)


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
    model_options: Mapping[str, object] = field(default_factory=dict)  # --model-option, as every request sent them

    @property
    def pareto(self) -> list[Trial]:
        """Complete trials not beaten on both dev score and prompt tokens, shortest first."""
        return pareto_front(completed(self.trials))

    @property
    def leaderboard(self) -> pd.DataFrame:
        """One row per distinct candidate, best first; full-dev scores rank above partial ones."""
        return leaderboard_table(self)

    @property
    def history(self) -> pd.DataFrame:
        """Every trial in order: state, score, examples scored, calls, time and each choice."""
        return history_table(self)

    def __repr__(self) -> str:
        test = f", test {self.test.baseline_score:.3f} -> {self.test.winner_score:.3f}" if self.test else ""
        return (f"<OptimizationResult {self.metric} on {self.model}: dev {self.baseline.dev_score:.3f} -> "
                f"{self.best.dev_score:.3f}{test}; {len(self.trials)} trials, {self.calls} calls; winner: "
                f"{self.best.candidate.describe()}>")

    def _repr_html_(self) -> str:
        """The summary and the leaderboard's head, for Jupyter."""
        return result_html(self)

    def summary(self) -> str:
        """A short text report: start vs winner on dev and test, what chose it, and what it cost (the lines of
        ``report.md``'s summary, from the record ``winner.json`` keeps), then any failed examples."""
        lines = run_summary(run_manifest(self), trials=len(self.trials), winner=self.best.candidate.describe())
        failed = self._failed_line()
        return "\n".join(lines + ([failed] if failed else []))

    def _failed_line(self) -> str:
        """How many of the winner's examples failed (no answer to grade: scored 0), and the first reason."""
        trial = next((t for t in self.trials if t.number == self.best.trial_number), None)
        parts = ([("dev", trial.predictions)] if trial else []) + \
            ([("test", self.test.winner_predictions)] if self.test else [])
        failed = [(name, [p for p in predictions if p.failed], len(predictions)) for name, predictions in parts]
        if not any(bad for _, bad, _ in failed):
            return ""
        first = next(bad[0].error for _, bad, _ in failed if bad)
        counts = ", ".join(f"{len(bad)} of {n} on {name}" for name, bad, n in failed)
        return f"failed examples of the winner (scored 0): {counts}; first: {' '.join(first.split())[:100]}"

    def export(self, directory: str | Path) -> Path:
        """Write the run's files into ``directory`` (``result_files.write_result``); return winner.json."""
        return write_result(self, directory)

    def save_study(self, path: str | Path) -> str:
        """Write the Optuna study to a SQLite file for optuna-dashboard; return its storage URL."""
        from autoprompt.errors import ConfigError
        from autoprompt.search.strategy import save_study

        if self.study is None:
            raise ConfigError("this result holds no Optuna study (it was built by hand, not by optimize)")
        from autoprompt.propose.tpe import quiet_optuna

        with quiet_optuna():
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
        return operator_table(self)


def _mean_agreement(predictions: tuple[Prediction, ...]) -> float | None:
    measured = [p.agreement for p in predictions if p.agreement is not None]
    return sum(measured) / len(measured) if measured else None


def completed(trials: tuple[Trial, ...] | list[Trial]) -> list[Trial]:
    return [t for t in trials if t.state is TrialState.COMPLETE]


def leaderboard_table(result: OptimizationResult) -> pd.DataFrame:
    """One row per distinct candidate, best first; full-dev scores rank above partial ones."""
    import pandas as pd

    rows = [
        {"trial": t.number, "candidate": t.candidate.describe(), "dev_score": round(t.score, 4),
         "n_dev": t.n, "state": t.state.value, "calls": t.calls, "prompt_chars": t.prompt_chars,
         "prompt_tokens": t.prompt_tokens, "operator": t.operator, "parent": t.parent,
         "winner": t.candidate == result.best.candidate,
         **({"consistency": round(t.consistency, 4)} if t.consistency is not None else {})}
        for t in leaderboard_order(result.trials, lambda t: t.candidate, result.dev_size)
    ]
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["parent"] = frame["parent"].astype("Int64")
    return frame


def history_table(result: OptimizationResult) -> pd.DataFrame:
    """Every trial in order: state, score, examples scored, calls, time and each choice."""
    import pandas as pd

    return pd.DataFrame([trial_record(t) | {f"choice_{k}": v for k, v in
                                             dataclasses.asdict(t.candidate).items()}
                         for t in result.trials]).drop(columns="candidate")


def run_manifest(result: OptimizationResult) -> dict[str, Any]:
    """What ``winner.json`` records of the run beside the prompt: task, model, scores, calls, cost, selection
    and lineage (``summary`` renders the same record, as ``report.md`` does)."""
    return {
        "task": result.kind,
        "target": result.target,
        "metric": result.metric,
        "model": result.model,
        "model_options": dict(result.model_options),
        "seed": result.seed,
        "library_version": __version__,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "candidate": dataclasses.asdict(result.best.candidate),
        "scores": {"dev": {"score": result.best.dev_score, "n": result.dev_size,
                           "baseline": result.baseline.dev_score,
                           **({"holdout": result.selection.holdout_scores.get(result.best.trial_number),
                               "how": result.selection.how} if result.selection else {})},
                   "test": result.test.as_dict() if result.test else None},
        "data_hashes": dict(result.data_hashes),
        "model_calls": {"search": result.calls, "test": result.test_calls, "paid": result.paid_calls},
        "cost": {"tokens": result.tokens, "usd": result.usd},
        "strategy": result.strategy,
        "stop_reason": result.stop_reason,
        "optimizer_calls": result.optimizer_calls,
        "judge_calls": result.judge_calls,
        "seconds": round(result.seconds, 1),
        "trial": result.best.trial_number,
        "accepted": list(result.accepted),
        "selection": result.selection.as_dict() if result.selection else None,
        "rejected": [{"operator": r.operator, "reason": r.reason} for r in result.rejected],
        "lineage": [{"trial": t.number, "operator": t.operator, "dev_score": t.score, "n": t.n}
                    for t in result.lineage()],
    }


def write_result(result: OptimizationResult, directory: str | Path) -> Path:
    """Write the winner (``winner.jinja`` + ``winner.json``), the start (``baseline/``), the
    leaderboard, every trial (``trials.jsonl``), the test set and both prompts' answers on it
    (``predictions.jsonl``), the winner's answers on dev (``dev_predictions.jsonl``, what
    ``autoprompt review`` shows), and the reports (``report.md``, ``report.html``)."""
    out = Path(directory)

    check_output_folder(out, ours=(MANIFEST_FILE, "run.json", "run.lock"))
    refuse_links(out, "output folder")

    metadata = run_manifest(result)
    path = write_prompt(out, result.best.prompt, metadata)
    write_prompt(out / "baseline", result.baseline.prompt, {**metadata, "candidate": dataclasses.asdict(
        result.baseline.candidate)})
    write_text(out / "leaderboard.csv", leaderboard_table(result).to_csv(index=False))
    write_text(out / "trials.jsonl", "".join(json.dumps(trial_record(t)) + "\n" for t in result.trials))
    if result.test_set is not None and len(result.test_set):
        _write_dataset(out / "data" / "test.csv", result.test_set)
    if result.test is not None and result.test_set is not None:
        write_text(out / "predictions.jsonl", "".join(
            json.dumps({"id": ex.id, "inputs": dict(ex.inputs), "target": ex.target, "start": a.output,
                        "winner": b.output, "start_score": round(a.score, 4), "winner_score": round(b.score, 4)}) + "\n"
            for ex, a, b in zip(result.test_set.examples, result.test.baseline_predictions,
                                result.test.winner_predictions)))
    _write_dev_predictions(result, out / "dev_predictions.jsonl")
    write_report(out)
    return path


def _write_dev_predictions(result: OptimizationResult, path: Path) -> None:
    """The winner's answers on the dev examples it was scored on, for ``autoprompt review``."""
    winner = next((t for t in result.trials if t.number == result.best.trial_number), None)
    if winner is None or result.dev_set is None:
        return
    examples = {ex.id: ex for ex in result.dev_set.examples}
    write_text(path, "".join(json.dumps({
        "id": p.example_id, "inputs": dict(examples[p.example_id].inputs), "target": examples[p.example_id].target,
        "output": p.output, "score": round(p.score, 4), "reason": p.reason, "failed": p.failed,
        **({"agreement": round(p.agreement, 4)} if p.agreement is not None else {}),
    }) + "\n" for p in winner.predictions if p.example_id in examples))


def operator_table(result: OptimizationResult) -> pd.DataFrame:
    """Per operator: trials proposed, completed on the whole dev set, accepted as incumbent, best score."""
    import pandas as pd

    rows: dict[str, dict[str, Any]] = {}
    for t in result.trials:
        row = rows.setdefault(t.operator, {"operator": t.operator, "trials": 0, "complete": 0, "accepted": 0,
                                           "best_dev": 0.0, "calls": 0, "rejected": 0})
        row["trials"] += 1
        row["complete"] += t.state is TrialState.COMPLETE
        row["accepted"] += t.number in result.accepted
        row["calls"] += t.calls
        if t.state is TrialState.COMPLETE:
            row["best_dev"] = round(max(row["best_dev"], t.score), 4)
    for r in result.rejected:
        rows.setdefault(r.operator, {"operator": r.operator, "trials": 0, "complete": 0, "accepted": 0,
                                     "best_dev": 0.0, "calls": 0, "rejected": 0})["rejected"] += 1
    return pd.DataFrame(list(rows.values()))


def _write_dataset(path: Path, dataset: Dataset) -> None:
    import pandas as pd

    rows = [{**ex.inputs, dataset.target_column: ex.target} for ex in dataset.examples]
    write_text(path, pd.DataFrame(rows).to_csv(index=False))


def result_html(result: OptimizationResult, rows: int = 10) -> str:
    """The summary and the leaderboard's first ``rows`` rows as one HTML fragment."""
    import html

    board = leaderboard_table(result).head(rows).to_html(index=False, escape=True, border=0)
    return (f"<div class=\"autoprompt-result\"><pre>{html.escape(result.summary())}</pre>"
            f"<p>leaderboard (first {rows} of {len(result.trials)} trials)</p>{board}</div>")
