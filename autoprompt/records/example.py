"""The example record: one labeled row (id, input fields, target). Imports nothing of the project."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    """One labeled example: named input fields and the expected target."""

    id: str
    inputs: Mapping[str, str] = field(hash=False)
    target: str
