"""The grade record: one output's score in [0, 1], why (a judge's reason), and whether grading
itself failed. Imports nothing of the project."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grade:
    """One output's score in [0, 1], why (from a judge), and whether grading itself failed."""

    score: float
    reason: str = ""
    failed: bool = False
