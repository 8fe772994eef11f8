"""Reading a run directory: ``RunRecord.load(directory)`` and the rows it holds.

Contract: ``RunRecord.load(directory)`` reads what ``OptimizationResult.export`` wrote:
``winner.json``, ``baseline/winner.json``, ``trials.jsonl`` and, when the run had a test set,
``predictions.jsonl``; ``feedback.jsonl`` when someone reviewed it. A missing or unreadable file
is a ``ConfigError`` that names it. The files are untrusted: every row is read into a frozen record
(``TrialRow``, ``TestRow``) with its fields checked for type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.export.manifest import ExportedPrompt, load_prompt
from autoprompt.files import refuse_links
from autoprompt.records.feedback import Feedback
from autoprompt.storage.feedback_file import FEEDBACK_FILE, load_feedback


@dataclass(frozen=True)
class TrialRow:
    """One line of ``trials.jsonl``."""

    number: int
    state: str
    score: float
    n: int
    calls: int
    operator: str
    parent: int | None
    prompt_tokens: int
    label: str
    scores: tuple[float, ...]


@dataclass(frozen=True)
class TestRow:
    """One test example: its target and what the start and the winner answered."""

    example_id: str
    target: str
    start: str
    winner: str
    inputs: str = ""  # the inputs as one line (older runs kept none)
    start_score: float | None = None  # each answer's graded value (older runs kept none)
    winner_score: float | None = None
    fields: tuple[tuple[str, str], ...] = ()  # the inputs by name, as given

    @property
    def change(self) -> str:
        """``fixed`` / ``broken`` (the winner's score above / below the start's), ``changed`` (another
        answer, the same score), or ``same``."""
        if self.start_score is not None and self.winner_score is not None and self.start_score != self.winner_score:
            return "fixed" if self.winner_score > self.start_score else "broken"
        return "same" if self.start == self.winner else "changed"


@dataclass(frozen=True)
class RunRecord:
    """A finished run, as read back from its directory."""

    directory: Path
    manifest: Mapping[str, Any]
    winner: ExportedPrompt
    baseline: ExportedPrompt
    trials: tuple[TrialRow, ...]
    tests: tuple[TestRow, ...]
    feedback: tuple[Feedback, ...] = ()

    @classmethod
    def load(cls, directory: str | Path) -> RunRecord:
        directory = Path(directory)
        refuse_links(directory, "run folder")
        winner = load_prompt(directory)
        baseline = load_prompt(directory / "baseline") if (directory / "baseline").is_dir() else winner
        trials = tuple(_trial_row(r) for r in _jsonl(directory / "trials.jsonl", required=True))
        tests = tuple(_test_row(r) for r in _jsonl(directory / "predictions.jsonl", required=False))
        notes = directory / FEEDBACK_FILE
        feedback = tuple(load_feedback(notes)) if notes.is_file() else ()
        return cls(directory, winner.manifest, winner, baseline, trials, tests, feedback)

    @property
    def dev_size(self) -> int:
        return int(self.manifest.get("scores", {}).get("dev", {}).get("n") or max((t.n for t in self.trials),
                                                                                  default=0))

    @property
    def complete(self) -> list[TrialRow]:
        return [t for t in self.trials if t.state == "complete"]


def _jsonl(path: Path, *, required: bool) -> list[dict[str, Any]]:
    if not path.is_file():
        if required:
            raise ConfigError(f"{path} does not exist; pass a directory written by 'autoprompt optimize --out DIR'")
        return []
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON lines ({exc}); re-run the export") from None


def _test_row(r: Mapping[str, Any]) -> TestRow:
    inputs = r.get("inputs")
    line = " | ".join(" ".join(str(v).split()) for v in inputs.values()) if isinstance(inputs, Mapping) else ""

    def score(name: str) -> float | None:
        value = r.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    fields = tuple((str(k), str(v)) for k, v in inputs.items()) if isinstance(inputs, Mapping) else ()
    return TestRow(str(r["id"]), str(r["target"]), str(r["start"]), str(r["winner"]), line,
                   score("start_score"), score("winner_score"), fields)


def _trial_row(r: Mapping[str, Any]) -> TrialRow:
    return TrialRow(int(r["number"]), str(r["state"]), float(r["score"]), int(r["n"]), int(r.get("calls", 0)),
                    str(r.get("operator", "start")), r.get("parent"), int(r.get("prompt_tokens", 0)),
                    str(r.get("label", "")), tuple(float(s) for s in r.get("scores", ())))


# ---- the figures and tables, as plain data -------------------------------------------------
