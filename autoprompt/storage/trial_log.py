"""The trial log (``trials.log.jsonl`` in a run folder): ``TrialLog(path)`` is a callback that appends each
finished trial as one JSON line, flushed as it finishes, and skips the trials a resumed run replays. A last
line a kill cut short is dropped before the next append; a damaged line before it is a ``ConfigError``.

Imports the errors, the files helpers and the records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from autoprompt.errors import ConfigError
from autoprompt.files import append_line, write_text
from autoprompt.records.progress import Progress
from autoprompt.records.trial import Trial


class TrialLog:
    """A callback that appends each finished trial to the log (skipping trials a resumed run replays)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.logged: set[int] | None = None
        self.trimmed = False

    def read(self) -> set[int]:
        """The numbers of the trials already logged; a damaged line is a ``ConfigError``."""
        if self.logged is None:
            self.logged = {json.loads(line)["number"] for line in _lines(self.path)}
        return self.logged

    def __call__(self, trial: Trial, progress: Progress | None = None) -> None:
        from autoprompt.records.trial import trial_record

        if not self.trimmed:
            _drop_cut_line(self.path)
            self.trimmed = True
        if trial.number in self.read():
            return
        append_line(self.path, json.dumps(trial_record(trial)))
        self.read().add(trial.number)

    def complete(self, trials: Sequence[Trial]) -> None:
        """Append the trials the search loop did not report (the one the budget cut short)."""
        for trial in trials:
            self(trial)


def _lines(path: Path) -> list[str]:
    """The log's records; a last line a kill cut short is left out, a damaged line before it is an error."""
    if not path.is_file():
        return []
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("number"), int):
            if number == len(lines):
                return lines[:-1]  # a line cut short by a kill
            raise ConfigError(f"{path} line {number} is damaged (not a trial record); delete that line, or start "
                              "a new run with another --out")
    return lines


def _drop_cut_line(path: Path) -> None:
    """Remove a last line that a kill cut short, so the next append starts on a fresh line."""
    if path.is_file():
        lines = _lines(path)
        if path.read_bytes() != "".join(line + "\n" for line in lines).encode():
            write_text(path, "".join(line + "\n" for line in lines))
