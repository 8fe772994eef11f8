"""Trials: the record of one candidate's evaluation during the search.

Contract: ``Trial`` is frozen; ``TrialState`` says how its evaluation ended:
COMPLETE (scored on the whole dev set), PRUNED (stopped early by racing) or
INTERRUPTED (the budget ran out mid-evaluation; its partial predictions are kept).
A trial also records where its candidate came from (``operator`` and the ``parent``
trial's number), its score after each racing rung, its error analysis, the
prompt's length in tokens (the second objective), and ``failure``: why it could not be
scored at all, if so.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from autoprompt.records.analysis import ErrorAnalysis
from autoprompt.records.candidate import Candidate
from autoprompt.records.prediction import Prediction


class TrialState(str, enum.Enum):
    """How a trial's evaluation ended."""

    COMPLETE = "complete"
    PRUNED = "pruned"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Trial:
    """One candidate, its predictions on a prefix of the dev set and what they cost."""

    number: int
    candidate: Candidate
    state: TrialState
    score: float
    predictions: tuple[Prediction, ...]
    calls: int
    seconds: float
    prompt_chars: int
    prompt_tokens: int = 0
    rung_scores: tuple[tuple[int, float], ...] = ()
    analysis: ErrorAnalysis | None = None
    operator: str = "start"
    parent: int | None = None
    failure: str = ""

    @property
    def n(self) -> int:
        return len(self.predictions)

    @property
    def consistency(self) -> float | None:
        """Mean agreement of sampled answers over the predictions that measured it."""
        measured = [p.agreement for p in self.predictions if p.agreement is not None]
        return sum(measured) / len(measured) if measured else None

    @property
    def failures(self) -> int:
        return sum(p.failed for p in self.predictions)

    @property
    def values(self) -> tuple[float, ...]:
        """Each row's selection value (``Prediction.value``), in dev order."""
        return tuple(p.value for p in self.predictions)

    @property
    def signal(self) -> float:
        """The mean selection value: what the search compares (the score's mean for free text)."""
        return sum(self.values) / self.n if self.predictions else 0.0

    def signal_at(self, n: int) -> float | None:
        """The mean selection value on the first ``n`` rows, if the trial got that far."""
        return sum(self.values[:n]) / n if 0 < n <= self.n else None

    def score_at(self, n: int) -> float | None:
        """The score this trial reported after its first ``n`` dev examples, if it got that far."""
        return dict(self.rung_scores).get(n)


def trial_record(trial: Trial, *, answers: bool = False) -> dict[str, Any]:
    """A trial as one JSON line of ``trials.jsonl`` and the run's trial log; with ``answers``, also
    every prediction's output (and the prompt's length in characters), as a shared run keeps it so
    that another process can rebuild the trial (``trial_from_record``)."""
    analysis = trial.analysis
    kept = {"prompt_chars": trial.prompt_chars,
            "predictions": [[p.example_id, p.output, p.score, p.failed] for p in trial.predictions]}
    return {
        "number": trial.number, "state": trial.state.value, "score": trial.score, "n": trial.n,
        "calls": trial.calls, "seconds": round(trial.seconds, 3), "candidate": dataclasses.asdict(trial.candidate),
        "failures": trial.failures, "operator": trial.operator, "parent": trial.parent,
        "prompt_tokens": trial.prompt_tokens, "rung_scores": [list(r) for r in trial.rung_scores],
        "label": trial.candidate.describe(), "scores": [round(p.score, 4) for p in trial.predictions],
        "mistakes": [m.example_id for m in analysis.mistakes] if analysis else [],
        "confusions": [list(c) for c in analysis.confusions[:5]] if analysis else [],
        **({"consistency": round(trial.consistency, 4)} if trial.consistency is not None else {}),
        **({"failure": trial.failure} if trial.failure else {}),
        **(kept if answers else {}),
    }


def trial_from_record(record: Mapping[str, Any], *, number: int, candidate: Candidate, operator: str) -> Trial:
    """The trial ``trial_record(trial, answers=True)`` wrote; a state other than complete or pruned
    reads as interrupted."""
    predictions = tuple(Prediction(str(i), str(o), float(s), bool(f)) for i, o, s, f in record.get("predictions", []))
    state = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED}.get(str(record.get("state")),
                                                                                TrialState.INTERRUPTED)
    return Trial(number, candidate, state, float(record.get("score", 0.0)), predictions, int(record.get("calls", 0)),
                 float(record.get("seconds", 0.0)), int(record.get("prompt_chars", 0)),
                 int(record.get("prompt_tokens", 0)),
                 tuple((int(n), float(s)) for n, s in record.get("rung_scores", [])), operator=operator)


class Ranked(Protocol):
    """What the leaderboard reads of a trial (a ``Trial``, or a row of ``trials.jsonl``)."""

    @property
    def n(self) -> int: ...

    @property
    def score(self) -> float: ...

    @property
    def prompt_tokens(self) -> int: ...


R = TypeVar("R", bound=Ranked)


def leaderboard_order(items: Iterable[R], identity: Callable[[R], Hashable], dev_size: int) -> list[R]:
    """The one leaderboard order: one entry per candidate (the trial of it scored on the most rows,
    then the best), ranked by whether it was scored on every dev row, then score, then the shorter
    prompt in tokens; ties keep trial order. The CLI table, ``leaderboard.csv`` and both reports use it."""
    best: dict[Hashable, R] = {}
    for item in items:
        key = identity(item)
        if key not in best or (item.n, item.score) > (best[key].n, best[key].score):
            best[key] = item
    return sorted(best.values(), key=lambda t: (t.n < dev_size, -t.score, t.prompt_tokens))
