"""Scoring an exported prompt on a data file: what ``autoprompt eval`` does.

Contract: ``evaluate_export(exported, data, model=...)`` (default: the run's own model, as
``winner.json`` names it) loads the data with the
prompt's own input and target columns, scores it from an empty model state in
file order (as the search scored its test set), and returns a dict with at least
``accuracy`` and ``n``; for labels graded without a model, ``constant``: what always answering the
commonest label of the data scores, and the prompt's paired difference with it (``testset.constant_floor``,
as the test report). When every row failed, nothing was scored: a prompt that does not
render is a ``TemplateError``, any other failure of every row a ``ModelError``. A judge
metric grades with ``judge_model`` (default: ``model``); a run that optimized
``METRIC~W*consistency`` is scored on the metric alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from autoprompt.data.dataset import load_data
from autoprompt.data.splits import commonest_label
from autoprompt.errors import ConfigError, DataError, ModelError, TemplateError, excerpt
from autoprompt.evaluate.evaluator import NO_RENDER, Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.export.manifest import ExportedPrompt
from autoprompt.models.backend import Backend
from autoprompt.models.client import Client
from autoprompt.models.registry import get_backend
from autoprompt.records.prediction import Prediction
from autoprompt.records.task_kind import TaskKind
from autoprompt.search.testset import constant_floor


def evaluate_export(exported: ExportedPrompt, data: str | Path, *, model: str | Backend | None = None,
                    metric: str | None = None, judge_model: str | Backend | None = None,
                    on_rows: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Score the exported prompt on ``data`` with ``model`` (default: the model the run optimized for,
    as ``winner.json`` names it) and ``metric`` (default: the run's); ``on_rows(done, total)`` hears
    how far it is."""
    manifest = exported.manifest
    try:
        kind = TaskKind(manifest.get("task", "classification"))
    except ValueError:
        raise ConfigError(f"the exported prompt's task {manifest.get('task')!r} is neither classification nor "
                          "generation; re-export it") from None
    target = manifest.get("target")
    if not isinstance(target, str):
        raise ConfigError("the exported prompt names no target column ('target' in winner.json); re-export it")
    try:
        dataset = load_data(data, inputs=list(exported.input_names), target=target, kind=kind)
    except DataError as exc:
        if "column" not in str(exc):
            raise
        raise DataError(f"{exc}".split(". Pass")[0] + f"; eval reads the columns the prompt was optimized on "
                        f"({', '.join(exported.input_names)} and {target}): pass --data with those columns") from None
    backend = _backend(model, manifest)
    # a run that weighed in consistency saved "METRIC~W*consistency"; eval scores the metric itself
    chosen = get_metric(metric or manifest.get("metric", "accuracy").split("~")[0])
    judge = Client(get_backend(judge_model) if judge_model is not None else backend) if chosen.needs_model else None
    evaluator = Evaluator(Client(backend), chosen.bind(judge) if judge else chosen, kind, judge_client=judge)
    predictions = evaluator.evaluate(exported.prompt, dataset.examples, on_rows=on_rows)
    _check_any_answered(predictions)
    outputs_correct = [float(p.output == ex.target) for p, ex in zip(predictions, dataset.examples)]
    commonest = commonest_label(dataset.examples) if kind is TaskKind.CLASSIFICATION and not chosen.needs_model \
        else None
    floor = {} if commonest is None else {"constant": constant_floor(
        evaluator, dataset.examples, *commonest, predictions, seed=0).as_dict()}
    return {
        "metric": evaluator.metric.name,
        "score": evaluator.aggregate(dataset.examples, predictions),
        "accuracy": sum(outputs_correct) / len(outputs_correct),
        "n": len(predictions),
        "failed": sum(p.failed for p in predictions),
        "calls": evaluator.client.calls + (judge.calls if judge else 0),
        **floor,
    }


def _check_any_answered(predictions: list[Prediction]) -> None:
    """A score of 0 from a prompt that never reached the model is not a score: when every row failed,
    the first failure is the error (a template that cannot render is bad input, the rest a runtime failure)."""
    if not predictions or not all(p.failed for p in predictions):
        return
    first = " ".join(predictions[0].error.split())[:200]
    if all(p.error.startswith(NO_RENDER) for p in predictions):
        raise TemplateError(f"{first} (nor for any of the {len(predictions)} rows); fix the exported template "
                            "(winner.jinja / winner.json) or export the run again")
    raise ModelError(f"every one of the {len(predictions)} rows failed; the first: {first}")


def _backend(model: str | Backend | None, manifest: Mapping[str, Any]) -> Backend:
    """``model``, or the run's own model (``local`` for an export that names none)."""
    if model is not None:
        return get_backend(model)
    recorded = manifest.get("model") or "local"
    try:
        return get_backend(str(recorded))
    except ConfigError as exc:
        raise ConfigError(f"the prompt was optimized for {excerpt(recorded)}, which cannot be reached from here "
                          f"({exc}); pass --model") from None
