"""MLflow: a finished run directory as an MLflow run, and its winner in MLflow's Prompt Registry.

Contract:
- ``log_to_mlflow(directory, experiment=..., register=..., tracking_uri=...)`` reads what
  ``autoprompt optimize --out DIR`` wrote (``run_report.read_run``: a directory autoprompt did not write
  is a ``ConfigError`` naming the file) and logs one MLflow run in ``experiment``:
  - parameters: the run's settings (``run.json`` when the run kept one, else ``winner.json``'s model,
    metric, seed, strategy, task and target), the winner's label;
  - metrics: start and winner on dev, the held-out rows and test (with the paired difference and
    its 95% interval), calls, tokens, USD, tokens per production call and USD per 1,000 calls; and
    the search as curves: each trial's dev score and the best so far, stepped by trial number;
  - artifacts: the files the run wrote about its result (winner, start, leaderboard, trials,
    predictions, reports) and its exports (``export/FORMAT``, each format the prompt can take);
    never its data, cache or run log.
  - With ``register``, the winner goes to the Prompt Registry under that name, in MLflow's own
    ``{{ name }}`` form (chat messages when it was scored as a conversation), with the model and
    its request settings as the version's model config and the run's scores as tags.
  Returns a ``TrackedRun`` (run id, experiment id, prompt URI). The tracking URI is
  ``tracking_uri``, else MLflow's own default (``MLFLOW_TRACKING_URI``); it is used through an
  ``MlflowClient`` of its own, so the process's active MLflow run and settings are left as they were.
  A run whose logging fails half-way is marked FAILED in MLflow.
- MLflow is imported only here, when called (``pip install 'autoprompt[mlflow]'``); nothing is
  sent to a model and no search runs. An MLflow error (an unreachable server, a refused name) is a
  ``ConfigError`` that names the tracking URI; the run directory is left as it was.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoprompt.errors import ConfigError, MissingDependency
from autoprompt.export.formats import FORMATS, chat_messages, export_run, test_examples
from autoprompt.export.manifest import load_prompt
from autoprompt.report.run_record import RunRecord
from autoprompt.report.writer import production_spends
from autoprompt.search.run_report import read_run

# What a run directory holds about its result (``OptimizationResult.export``); data copies, the response
# cache and the trial log of an unfinished run are not logged.
ARTIFACTS = ("winner.jinja", "winner.json", "baseline/winner.jinja", "baseline/winner.json", "leaderboard.csv",
             "trials.jsonl", "predictions.jsonl", "dev_predictions.jsonl", "report.md", "report.html",
             "feedback.jsonl")
BATCH_PARAMS, BATCH_METRICS = 100, 1000  # what one MLflow log_batch call takes
PARAM_CHARS = 500  # MLflow keeps up to 6,000 characters of a parameter; long values are cut with a mark


@dataclass(frozen=True)
class TrackedRun:
    """Where a run went: the MLflow run and experiment, and the registered prompt's URI (or "")."""

    run_id: str
    experiment_id: str
    prompt_uri: str = ""


def log_to_mlflow(directory: str | Path, *, experiment: str = "autoprompt", register: str | None = None,
                  tracking_uri: str | None = None) -> TrackedRun:
    """Log the run in ``directory`` to MLflow (see the module's contract)."""
    run = read_run(directory)
    mlflow = mlflow_package()
    try:
        client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
        run_id = client.create_run(experiment_id, run_name=run.directory.resolve().name).info.run_id
        try:
            _log(client, run_id, run)
            uri = _register(client, run, register, run_id) if register else ""
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
        return TrackedRun(run_id, experiment_id, uri)
    except mlflow.exceptions.MlflowException as exc:
        where = tracking_uri or mlflow.get_tracking_uri()
        raise ConfigError(f"MLflow at {where} refused the run: {' '.join(str(exc).split())[:300]}; check "
                          "the tracking URI (--tracking-uri or MLFLOW_TRACKING_URI) and the names given") from None


def _log(client: Any, run_id: str, run: RunRecord) -> None:
    """Parameters, tags, metrics and curves in batches MLflow accepts, then the result's files."""
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    client.log_batch(run_id, params=[Param(k, v) for k, v in _params(run)][:BATCH_PARAMS],
                     tags=[RunTag("autoprompt.winner", _cut(_winner(run))),
                           RunTag("autoprompt.model", str(run.manifest.get("model", "")))])
    metrics = [Metric(k, v, now, 0) for k, v in _metrics(run)] + [Metric(k, v, now, step)
                                                                   for k, v, step in _curves(run)]
    for first in range(0, len(metrics), BATCH_METRICS):
        client.log_batch(run_id, metrics=metrics[first:first + BATCH_METRICS])
    for path in ARTIFACTS:
        if (run.directory / path).is_file():
            client.log_artifact(run_id, str(run.directory / path), str(Path(path).parent) if "/" in path else None)
    with tempfile.TemporaryDirectory(prefix="autoprompt-exports-") as scratch:
        for fmt in FORMATS:
            try:  # a format the prompt cannot take (or whose package is missing) is left out
                written = export_run(run.directory, fmt, Path(scratch) / fmt)
            except (ConfigError, MissingDependency):
                continue
            client.log_artifacts(run_id, str(written.parent), f"export/{fmt}")


def mlflow_package() -> Any:
    """The ``mlflow`` module, or a ``ConfigError`` naming the extra that installs it."""
    try:
        import mlflow
    except ImportError:
        raise ConfigError("logging to MLflow needs the mlflow package: pip install 'autoprompt[mlflow]'") from None
    return mlflow


def _params(run: RunRecord) -> Iterator[tuple[str, str]]:
    """The run's settings: ``run.json``'s when the run kept one, else what ``winner.json`` names."""
    settings: Mapping[str, Any] = {k: run.manifest.get(k) for k in ("model", "metric", "seed", "strategy", "task",
                                                                       "target", "model_options")}
    spec = run.directory / "run.json"
    if spec.is_file():
        try:
            kept = json.loads(spec.read_text(encoding="utf-8")).get("arguments")
        except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
            kept = None
        settings = {**settings, **(kept if isinstance(kept, dict) else {})}
    for key, value in sorted(settings.items()):
        if value not in (None, "", [], {}):
            yield key, _cut(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
    yield "winner", _cut(_winner(run))


def _winner(run: RunRecord) -> str:
    """The winning trial's label (its candidate, described), or "" when the trial log lacks it."""
    return next((t.label for t in run.trials if t.number == run.manifest.get("trial")), "")


def _cut(text: str) -> str:
    return text if len(text) <= PARAM_CHARS else text[:PARAM_CHARS - 1] + "…"


def _metrics(run: RunRecord) -> Iterator[tuple[str, float]]:
    """Scores and costs from ``winner.json``; a field that is missing or not a number is left out."""
    scores = run.manifest.get("scores") or {}
    dev, test = scores.get("dev") or {}, scores.get("test") or {}
    found = {"dev_start": dev.get("baseline"), "dev_winner": dev.get("score"), "holdout_winner": dev.get("holdout"),
             "test_start": test.get("baseline"), "test_winner": test.get("winner"),
             "test_difference": test.get("difference"), "test_rows": test.get("n")}
    for name, pair in (("test_difference", test.get("difference_ci")), ("test_winner", test.get("winner_ci"))):
        if isinstance(pair, list) and len(pair) == 2:
            found.update({f"{name}_low": pair[0], f"{name}_high": pair[1]})
    calls, cost = run.manifest.get("model_calls") or {}, run.manifest.get("cost") or {}
    found.update(calls_search=calls.get("search"), calls_test=calls.get("test"), calls_paid=calls.get("paid"),
                 tokens=cost.get("tokens"), usd=cost.get("usd"), seconds=run.manifest.get("seconds"),
                 trials=len(run.trials))
    spends = production_spends(test)
    if spends:
        for who, spend in zip(("start", "winner"), spends):
            found.update({f"tokens_per_call_{who}": spend.per_call, f"usd_per_1000_calls_{who}": spend.usd_per_1000})
    for name, value in found.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            yield name, float(value)


def _curves(run: RunRecord) -> Iterator[tuple[str, float, int]]:
    """Each trial's dev score (complete trials) and the best so far, by trial number."""
    best = None
    for trial in sorted(run.complete, key=lambda t: t.number):
        best = trial.score if best is None else max(best, trial.score)
        yield "trial_dev_score", trial.score, trial.number
        yield "best_dev_score", best, trial.number


def _register(client: Any, run: RunRecord, name: str, run_id: str) -> str:
    """The winner in the Prompt Registry under ``name``: its text with ``{{ input }}`` placeholders."""
    exported = load_prompt(run.directory)
    samples = [inputs for inputs, _ in test_examples(run.directory, exported)[:20]]
    messages = chat_messages(exported, samples)
    template: str | list[dict[str, str]] = messages[0]["content"] if len(messages) == 1 else messages
    scores = (run.manifest.get("scores") or {}).get("test") or {}
    tags = {"autoprompt_run_id": run_id, "autoprompt_winner": _cut(_winner(run)),
            **({"test_score": f"{scores['winner']:.4f}"} if isinstance(scores.get("winner"), float) else {})}
    config = {"provider": exported.model.provider, "model_name": exported.model.name,
              "temperature": 0.0, "max_tokens": exported.answer_tokens(),
              **({"extra_params": dict(exported.request_options().extra)} if exported.request_options().extra else {})}
    version = client.register_prompt(name=name, template=template, tags=tags, model_config=config,
                                           commit_message=f"autoprompt {run.directory.resolve().name}: "
                                           f"{_cut(_winner(run))}")
    return str(version.uri)
