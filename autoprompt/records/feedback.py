"""The feedback record: what a person (or a judge) said about one example's output.

Contract: ``Feedback`` is frozen: a ``rating`` (1-5, optional), a free-text ``note``
("too long"), a ``verdict`` (``Verdict.ACCEPT``/``REJECT``/``NONE``), the output that was
reviewed, the trial that produced it and that trial's candidate (a later search starts
from the reviewed prompt). ``to_json`` is its one serialized form and ``from_json`` its one
parser (``ValueError`` naming what is wrong with a record). Imports nothing of the project.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


class Verdict(str, enum.Enum):
    """A reviewer's decision on one output."""

    ACCEPT = "accept"
    REJECT = "reject"
    NONE = "none"


@dataclass(frozen=True)
class Feedback:
    """What a reviewer said about one example's output."""

    example_id: str
    note: str = ""
    rating: int | None = None
    verdict: Verdict = Verdict.NONE
    output: str = ""
    trial: int | None = None
    candidate: Mapping[str, Any] | None = field(default=None, hash=False)

    @property
    def negative(self) -> bool:
        """Rejected, or rated 2 or lower."""
        return self.verdict is Verdict.REJECT or (self.rating is not None and self.rating <= 2)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict.value}

    @classmethod
    def from_json(cls, record: object) -> Feedback:
        """A record as ``to_json`` writes it; ``ValueError`` naming the problem otherwise."""
        if not isinstance(record, Mapping):
            raise ValueError(f"a feedback record is a JSON object with an 'example_id', got a {type(record).__name__}")
        if record.get("candidate") is not None and not isinstance(record["candidate"], Mapping):
            raise ValueError("'candidate' must be an object as 'autoprompt review' writes it")
        try:
            verdict = Verdict(record.get("verdict", "none") or "none")
        except ValueError:
            shown = str(record.get("verdict"))[:40]
            raise ValueError(f"verdict '{shown}' is not one of accept, reject, none") from None
        if "example_id" not in record:
            raise ValueError("a feedback record needs an 'example_id'")
        rating, trial = record.get("rating"), record.get("trial")
        if rating not in (None, "") and not str(rating).strip().isdigit():
            raise ValueError(f"rating '{str(rating)[:40]}' is not a whole number from 1 to 5")
        if trial is not None and (isinstance(trial, bool) or not isinstance(trial, int)):
            raise ValueError(f"trial '{str(trial)[:40]}' is not a trial number")
        candidate = record.get("candidate")
        return cls(str(record["example_id"]), str(record.get("note") or ""),
                   None if rating in (None, "") else int(str(rating)), verdict, str(record.get("output") or ""),
                   trial, dict(candidate) if candidate is not None else None)
