"""The feedback record: what a person (or a judge) said about one example's output.

Contract: ``Feedback`` is frozen: a ``rating`` (1-5, optional), a free-text ``note``
("too long"), a ``verdict`` (``Verdict.ACCEPT``/``REJECT``/``NONE``), the output that was
reviewed, the trial that produced it and that trial's candidate (a later search starts
from the reviewed prompt). ``to_json`` is its one serialized form. Imports nothing of
the project.
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
