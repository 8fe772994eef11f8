"""The files a finished run writes for people and production: the winner, the tables, the reports.

Contract:
- ``write_result(result, directory)`` writes the winner (``winner.jinja`` + ``winner.json``),
  the start (``baseline/``), the leaderboard, every trial (``trials.jsonl``), the test set and
  both prompts' answers on it (``predictions.jsonl``), the winner's answers on dev
  (``dev_predictions.jsonl``, what ``autoprompt review`` shows) and the reports
  (``report.md``, ``report.html``); it returns the path of ``winner.json``. A folder holding
  anything but an earlier export of a run is refused (``export.manifest.check_output_folder``).
- ``leaderboard_table``, ``history_table`` and ``operator_table`` are the result's tables as
  DataFrames; the leaderboard's order is ``records.trial.leaderboard_order``, the one the
  reports use. ``result_html`` is the summary and the leaderboard's head as HTML (what a
  notebook shows), every text escaped.

Reads an ``OptimizationResult``'s fields (the type is the search's; nothing of the search
runs here). Writes with the export's manifest writer and this part's report writer.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoprompt.export.manifest import MANIFEST_FILE, check_output_folder, write_prompt
from autoprompt.files import refuse_links, write_text
from autoprompt.records.trial import TrialState, leaderboard_order, trial_record
from autoprompt.report.files import write_report

if TYPE_CHECKING:
    import pandas as pd

    from autoprompt.data.dataset import Dataset
    from autoprompt.search.result import OptimizationResult


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


def write_result(result: OptimizationResult, directory: str | Path) -> Path:
    """Write the winner (``winner.jinja`` + ``winner.json``), the start (``baseline/``), the
    leaderboard, every trial (``trials.jsonl``), the test set and both prompts' answers on it
    (``predictions.jsonl``), the winner's answers on dev (``dev_predictions.jsonl``, what
    ``autoprompt review`` shows), and the reports (``report.md``, ``report.html``)."""
    out = Path(directory)
    from autoprompt import __version__

    check_output_folder(out, ours=(MANIFEST_FILE, "run.json", "run.lock"))
    refuse_links(out, "output folder")

    metadata = {
        "task": result.kind,
        "target": result.target,
        "metric": result.metric,
        "model": result.model,
        "seed": result.seed,
        "library_version": __version__,
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
    path = write_prompt(out, result.best.prompt, metadata)
    write_prompt(out / "baseline", result.baseline.prompt, {**metadata, "candidate": dataclasses.asdict(
        result.baseline.candidate)})
    write_text(out / "leaderboard.csv", leaderboard_table(result).to_csv(index=False))
    write_text(out / "trials.jsonl", "".join(json.dumps(trial_record(t)) + "\n" for t in result.trials))
    if result.test_set is not None and len(result.test_set):
        _write_dataset(out / "data" / "test.csv", result.test_set)
    if result.test is not None and result.test_set is not None:
        write_text(out / "predictions.jsonl", "".join(
            json.dumps({"id": ex.id, "target": ex.target, "start": a.output, "winner": b.output}) + "\n"
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
