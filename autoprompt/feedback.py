"""Feedback: what a person (or a judge) said about outputs, and the proposals it becomes.

Contract:
- ``Feedback`` is one frozen record about one example's output: a ``rating`` (1-5,
  optional), a free-text ``note`` ("too long", "mention the order number") and a
  ``verdict`` (``Verdict.ACCEPT``/``REJECT``/``NONE``), plus the output that was
  reviewed, the trial that produced it and that trial's candidate (a later search
  starts from the reviewed prompt). ``autoprompt review DIR`` writes them to
  ``DIR/feedback.jsonl`` (one JSON object a line, appended as each is given); from
  Python, pass records (or that file) as ``optimize(feedback=...)``.
- Reading records (``load_feedback``) raises ``DataError`` for a line that is not JSON,
  a record without ``example_id``, an unknown verdict or a rating that is no number;
  ``check_feedback(records, ids)`` raises ``ConfigError`` for ids the data does not
  have and ratings outside 1-5. Both happen before any model call.
- ``clarifier_text(note)`` turns a note into an added instruction: the first rule of
  the bank ``templates/phrases/feedback.txt`` that matches (``too detailed`` ->
  "Provide a shorter, more abstract answer..."), else the note in its own words. The
  text is sanitized: it can never be Jinja syntax.
- ``feedback_library(library, records)`` adds one clarifier per distinct note, named
  ``feedback1``, ``feedback2``... so both strategies can choose them.
- ``FeedbackOperator`` (family ``feedback``, proposed first) gives each parent:
  ``feedback.clarifier`` (the parent plus a feedback clarifier it lacks);
  ``feedback.judge`` (the parent's instruction plus the bank's clarifier for the
  judge's most frequent reason, when a rule matches it); and, with an optimizer model,
  ``feedback.critique`` (the model rewrites the instruction to answer the reviewers'
  notes and the outputs they rejected or rated 2 or lower).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .candidate import render_instruction, static_context
from .edit import arrow_pairs
from .errors import ConfigError, DataError, ExampleFailed, TemplateError
from .library import TemplateLibrary
from .operator import Child, RefineContext
from .template import Template
from .trial import Trial

FEEDBACK_FILE = "feedback.jsonl"
PREFIX = "feedback"
_IMPERATIVE = {"add", "always", "answer", "avoid", "be", "do", "don't", "dont", "end", "explain", "give", "include",
               "keep", "list", "mention", "never", "please", "say", "start", "state", "stop", "use", "write"}


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


def from_json(record: Any, where: str = "feedback") -> Feedback:
    """A record as written by ``Feedback.to_json``; ``DataError`` naming the problem otherwise."""
    if isinstance(record, Mapping):
        record = dict(record)
    if not isinstance(record, dict):
        raise DataError(f"{where}: a feedback record is a JSON object with an 'example_id', got a "
                        f"{type(record).__name__}; fix or delete that line")
    if record.get("candidate") is not None and not isinstance(record["candidate"], dict):
        raise DataError(f"{where}: 'candidate' must be an object as 'autoprompt review' writes it; fix that line")
    try:
        verdict = Verdict(record.get("verdict", "none") or "none")
    except ValueError:
        raise DataError(f"{where}: verdict '{record.get('verdict')}' is not one of accept, reject, none") from None
    if "example_id" not in record:
        raise DataError(f"{where}: a feedback record needs an 'example_id'")
    rating = record.get("rating")
    if rating not in (None, "") and not str(rating).strip().isdigit():
        raise DataError(f"{where}: rating '{rating}' is not a whole number from 1 to 5")
    return Feedback(str(record["example_id"]), str(record.get("note") or ""),
                    None if rating in (None, "") else int(rating), verdict, str(record.get("output") or ""),
                    record.get("trial"), record.get("candidate"))


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
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number} is not JSON ({exc.msg}); fix or delete that line") from None
        records.append(from_json(value, f"{path}:{number}"))
    return records


def append_feedback(path: str | Path, record: Feedback) -> None:
    """Add one record to a feedback file, flushed to disk at once."""
    from .run import append_line

    append_line(path, json.dumps(record.to_json()))


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


@lru_cache(maxsize=1)
def rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The feedback bank: (pattern, clarifier) pairs in order."""
    return tuple((re.compile(pattern, re.I), clarifier) for pattern, clarifier in arrow_pairs("feedback.txt"))


def matched_rule(text: str) -> str | None:
    """The clarifier of the first rule matching ``text``, if any."""
    return next((clarifier for pattern, clarifier in rules() if pattern.search(text)), None)


def clarifier_text(note: str) -> str:
    """The added instruction a reviewer's note becomes (never Jinja syntax)."""
    matched = matched_rule(note)
    if matched:
        return matched
    plain = " ".join(re.sub(r"[{}%#]", " ", note).split()).strip(" .")
    if not plain:
        return ""
    if plain.split()[0].lower() in _IMPERATIVE:
        return plain[:1].upper() + plain[1:] + "."
    return f"A reviewer said about earlier answers: {plain}. Take this into account."


def clarifier_names(records: Sequence[Feedback]) -> dict[str, str]:
    """``feedback1``... -> clarifier text, one per distinct clarifier, in the order notes were given."""
    texts: list[str] = []
    for record in records:
        text = clarifier_text(record.note) if record.note.strip() else ""
        if text and text not in texts:
            texts.append(text)
    return {f"{PREFIX}{i}": text for i, text in enumerate(texts, 1)}


def feedback_library(library: TemplateLibrary, records: Sequence[Feedback]) -> TemplateLibrary:
    """The library plus one clarifier per distinct note."""
    for name, text in clarifier_names(records).items():
        library = library.add("clarifiers", Template(name, text))
    return library


class FeedbackOperator:
    """Reviewer notes and judge reasons as clarifier, instruction and critique proposals."""

    family = "feedback"

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]:
        candidate = parent.candidate
        children = [Child(replace(candidate, clarifiers=(*candidate.clarifiers, name)), "feedback.clarifier")
                    for name in clarifier_names(context.feedback) if name not in candidate.clarifiers]
        setup = context.setup
        reasons = parent.analysis.reasons if parent.analysis else ()
        source = setup.instruction_of(candidate)
        added = next((text for reason in reasons if (text := matched_rule(reason)) and text not in source), None)
        if added and source:
            children.append(Child(replace(candidate, instruction=f"{source.strip()} {added}"), "feedback.judge"))
        critique = self._critique(parent, context)
        if critique:
            children.append(Child(replace(candidate, instruction=critique), "feedback.critique"))
        return children

    def _critique(self, parent: Trial, context: RefineContext) -> str:
        """The optimizer model's instruction answering the reviewers, or "" without one."""
        from .rewrite import parse_instruction

        setup, candidate = context.setup, parent.candidate
        notes = list(dict.fromkeys(r.note.strip() for r in context.feedback if r.note.strip()))
        if context.writer is None or not notes or not setup.uses_instruction(candidate.task):
            return ""
        words = setup.words(candidate.verbalizer, candidate.word_overrides)
        static = static_context(setup, words)
        rejected = [r for r in context.feedback if r.negative and r.example_id in context.dev][:3]
        rows = [{"input": " | ".join(context.dev[r.example_id].inputs.values()), "output": r.output,
                 "note": r.note} for r in rejected]
        text = setup.library.meta["apply_feedback"].render({
            "instruction": render_instruction(setup.instruction_of(candidate), static), "notes": notes,
            "rejected": rows, "labels": static["labels"]})
        try:
            reply = context.writer.generate(text, chat=context.writer.backend.supports_chat, max_tokens=80)
        except (ExampleFailed, TemplateError) as exc:
            context.reject("feedback.critique", f"the optimizer model's request failed: {exc}")
            return ""
        instruction = parse_instruction(reply)
        if len(instruction.split()) < 3:
            context.reject("feedback.critique", "the reply holds no instruction of 3 or more words", reply)
            return ""
        return instruction
