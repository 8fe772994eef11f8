"""What a task asks of the model: ``TaskKind``.

Contract: one enum, read by every part that behaves differently for labels and free text (data
loading, prompts, evaluation, proposers, the search, reports); it lives with the records so that
none of them imports the data part for it.
"""

from __future__ import annotations

import enum


class TaskKind(str, enum.Enum):
    """What the model must produce: one of a fixed set of labels, or free text."""

    CLASSIFICATION = "classification"
    GENERATION = "generation"
