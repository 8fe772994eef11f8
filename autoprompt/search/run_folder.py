"""The run folder as the search keeps it: a ``RunSpec`` into ``run.json`` and back.

Contract:
- ``run_directory(path)``: the ``RunDirectory`` at ``path`` that compares saved arguments through the run
  specification (``spec_from(...).record()``, the resumable settings of ``options()``) and counts the
  answers in its SQLite response cache.
- ``saved_spec(run, overrides)``: the run's saved settings, with ``overrides`` replacing some, parsed by
  ``spec_from``.
- ``run_record(run, spec)``: the spec as ``run.json`` keeps it, in-memory tables named by the files
  ``RunDirectory.claim`` saves them to, paths inside the folder as ``$RUN/...``.
- ``frames(spec)``: the settings given as a DataFrame or ``Dataset``, as the JSONL text ``claim`` saves.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from autoprompt.data.dataset import Dataset
from autoprompt.models.cache import SQLiteCache
from autoprompt.spec import RunSpec, options, spec_from
from autoprompt.storage.run import ARGUMENTS_FILE, RunDirectory


class SpecSettings:
    """``storage.run.SavedSettings`` through the run specification."""

    def __init__(self, where: str) -> None:
        self.where = where

    def written(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        return spec_from(dict(arguments), self.where).record()

    def resumable(self) -> Collection[str]:
        return {name for name, (_, opt) in options().items() if opt.resumable}


def _answers(path: Path) -> int:
    cache = SQLiteCache(path)
    try:
        return len(cache)
    finally:
        cache.close()


def run_directory(path: str | Path) -> RunDirectory:
    path = Path(path)
    return RunDirectory(path, settings=SpecSettings(str(path / ARGUMENTS_FILE)), answers=_answers)


def saved_spec(run: RunDirectory, overrides: Mapping[str, Any] | None = None) -> RunSpec:
    return spec_from({**run.arguments(), **(overrides or {})}, str(run.path / ARGUMENTS_FILE))


def run_record(run: RunDirectory, spec: RunSpec) -> dict[str, Any]:
    record = spec.record({name: str(run.data_path(name)) for name in spec.tables()})
    return {name: run.portable(value) for name, value in record.items()}


def frames(spec: RunSpec) -> dict[str, str]:
    return {name: _frame_text(value) for name, value in spec.tables().items()}


def _frame_text(data: Any) -> str:
    import pandas as pd

    if isinstance(data, Dataset):
        data = pd.DataFrame([{**ex.inputs, data.target_column: ex.target} for ex in data.examples])
    text: str = data.to_json(orient="records", lines=True, force_ascii=False)
    return text
