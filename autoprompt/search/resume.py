"""Resuming a run from its directory (see ``autoprompt.storage.run`` for what the directory holds).

Contract: ``resume(directory)`` runs the saved arguments again against the same cache:
every answer that arrived before the interruption is replayed for free, requests that were
in flight are asked again, and with a deterministic model the result equals that of an
uninterrupted run. Objects that could not be saved (a model, a metric) are passed again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoprompt.errors import ConfigError
from autoprompt.records.progress import Progress
from autoprompt.records.trial import Trial
from autoprompt.search.run_folder import run_directory, saved_spec

if TYPE_CHECKING:
    from autoprompt.search.result import OptimizationResult


def resume(directory: str | Path, *, model: Any = None, metric: Any = None, optimizer_model: Any = None,
           judge_model: Any = None, callbacks: list[Callable[[Trial, Progress], bool | None]] | None = None,
           progress: bool = False, budget: int | None = None) -> OptimizationResult:
    """Continue the run in ``directory`` (see the module contract). ``model``, ``metric``,
    ``optimizer_model`` and ``judge_model`` must be passed again when the run was given objects rather than names.
    ``budget`` replaces the run's budget (to go on after a finished run, e.g. with new feedback)."""
    from autoprompt.search.assembly import run_spec

    run = run_directory(directory)
    saved = run.record()["arguments"]
    given = {"model": model, "metric": metric, "optimizer_model": optimizer_model, "judge_model": judge_model}
    overrides: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    for name in given:
        if name not in overrides and isinstance(saved.get(name), dict):
            raise ConfigError(f"this run was given a {name} object ({saved[name].get('object')}), which cannot be "
                              f"saved; pass it again: autoprompt.resume({str(directory)!r}, {name}=...)")
    if budget is not None:
        overrides["budget"] = budget
    spec = saved_spec(run, overrides).updated(run_dir=str(run.path))
    return run_spec(spec, callbacks=callbacks or (), progress=progress)
