"""What a report shows of a finished run: ``RunRecord`` and the rows it holds.

Contract: ``RunRecord`` is a finished run as records: its manifest (``winner.json``), the start and
the winner as ``PromptView`` (the text with each input's place, the labels, the model, the request as
sent for one test row), its trials (``TrialRow``, from ``trials.jsonl``) with the 95% interval of the
leading ones, the Pareto front, its test rows (``TestRow``, from ``predictions.jsonl``) and the
reviewers' feedback. ``search.run_report.read_run(directory)`` builds one from a run folder.
``read_trials(path)`` and ``read_tests(path)`` read those two files: they are untrusted, so a missing or
unreadable file is a ``ConfigError`` that names it and every row is read into a frozen record with its
fields checked for type; ``number(value)`` is the one check of a number read from such a file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.records.feedback import Feedback
from autoprompt.records.interval import Interval
from autoprompt.records.model_spec import ModelSpec


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
class PromptView:
    """A prompt as the report shows it."""

    text: str  # the prompt with ``{{name}}`` where each input goes
    labels: tuple[str, ...]  # the labels it answers with (none for free text)
    input_names: tuple[str, ...]
    model: ModelSpec
    request: tuple[str, str] | None = None  # (what it is, the request as text) for the first test row


@dataclass(frozen=True)
class RunRecord:
    """A finished run, as read back from its directory."""

    directory: Path
    manifest: Mapping[str, Any]
    winner: PromptView
    baseline: PromptView
    trials: tuple[TrialRow, ...]
    tests: tuple[TestRow, ...]
    feedback: tuple[Feedback, ...] = ()
    intervals: Mapping[int, Interval] = field(default_factory=dict)  # 95% bootstrap, by trial number
    pareto: tuple[TrialRow, ...] = ()  # complete trials no other beats on score and prompt tokens

    @property
    def dev_size(self) -> int:
        return int(self.manifest.get("scores", {}).get("dev", {}).get("n") or max((t.n for t in self.trials),
                                                                                  default=0))

    @property
    def complete(self) -> list[TrialRow]:
        return [t for t in self.trials if t.state == "complete"]


def read_trials(path: Path) -> tuple[TrialRow, ...]:
    """The rows of ``trials.jsonl`` (required)."""
    return tuple(_trial_row(r) for r in _jsonl(path, required=True))


def read_tests(path: Path) -> tuple[TestRow, ...]:
    """The rows of ``predictions.jsonl`` (none when the run kept no test set)."""
    return tuple(_test_row(r) for r in _jsonl(path, required=False))


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

    fields = tuple((str(k), str(v)) for k, v in inputs.items()) if isinstance(inputs, Mapping) else ()
    return TestRow(str(r["id"]), str(r["target"]), str(r["start"]), str(r["winner"]), line,
                   number(r.get("start_score")), number(r.get("winner_score")), fields)


def number(value: Any) -> float | None:
    """``value`` as a float when an untrusted file holds a JSON number there (not a bool), else None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _trial_row(r: Mapping[str, Any]) -> TrialRow:
    return TrialRow(int(r["number"]), str(r["state"]), float(r["score"]), int(r["n"]), int(r.get("calls", 0)),
                    str(r.get("operator", "start")), r.get("parent"), int(r.get("prompt_tokens", 0)),
                    str(r.get("label", "")), tuple(float(s) for s in r.get("scores", ())))


# ---- the figures and tables, as plain data -------------------------------------------------
