"""Feedback files: ``feedback.jsonl``, one ``Feedback`` record a line, as ``autoprompt review`` writes it.

Contract:
- ``load_feedback(source)`` reads a file (or takes the records, or their JSON form) and
  raises ``DataError`` for a line that is not JSON or not an object, a record without
  ``example_id``, an unknown verdict or a rating that is no number.
- ``append_feedback(path, record)`` adds one record, flushed and fsynced at once.
- ``check_feedback(records, ids)`` raises ``ConfigError`` for ids the data does not have and
  ratings outside 1-5. Reading and checking happen before any model call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from autoprompt.errors import ConfigError, DataError
from autoprompt.files import append_line, json_lines
from autoprompt.records.feedback import Feedback

FEEDBACK_FILE = "feedback.jsonl"


def from_json(record: Any, where: str = "feedback") -> Feedback:
    """A record as written by ``Feedback.to_json``; ``DataError`` naming the problem and ``where`` otherwise."""
    try:
        return Feedback.from_json(record)
    except ValueError as exc:
        raise DataError(f"{where}: {exc}; fix or delete that line") from None


def load_feedback(source: str | Path | Iterable[Feedback | Mapping[str, Any]]) -> list[Feedback]:
    """Records from a ``feedback.jsonl`` file, or the records themselves (or their JSON form)."""
    if not isinstance(source, str | Path):
        return [r if isinstance(r, Feedback) else from_json(r) for r in source]
    path = Path(source)
    if not path.is_file():
        raise DataError(f"feedback file {path} does not exist; write one with 'autoprompt review RUN_DIR'")
    records = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"feedback file {path} is not UTF-8 text; write it with 'autoprompt review RUN_DIR'") from None
    for number, value in json_lines(text, lambda n: f"{path}:{n}"):
        records.append(from_json(value, f"{path}:{number}"))
    return records


def append_feedback(path: str | Path, record: Feedback) -> None:
    """Add one record to a feedback file, flushed to disk at once."""
    append_line(Path(path), json.dumps(record.to_json()))


def check_feedback(records: Sequence[Feedback], ids: Iterable[str]) -> None:
    """Every record refers to a known example and has a usable rating."""
    known = set(ids)
    unknown = sorted({r.example_id for r in records} - known)
    if unknown:
        sample = ", ".join(sorted(known)[:3])
        raise ConfigError(f"feedback refers to {len(unknown)} example id(s) not in the data: "
                          f"{', '.join(unknown[:5])}; ids look like {sample}; fix or drop those records")
    bad = [r for r in records if r.rating is not None and not 1 <= r.rating <= 5]
    if bad:
        raise ConfigError(f"feedback on example {bad[0].example_id} has rating {bad[0].rating}; ratings go from 1 to 5")
