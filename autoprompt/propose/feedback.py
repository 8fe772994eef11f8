"""Feedback operators: what a person (or a judge) said about outputs, and the proposals it becomes.

Contract:
- The record is ``autoprompt.records.feedback.Feedback``; ``autoprompt review DIR`` writes
  them to ``DIR/feedback.jsonl`` (``autoprompt.storage.feedback_file``); from Python, pass
  records (or that file) as ``optimize(feedback=...)``.
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

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from autoprompt.prompts.compose import render_instruction, static_context
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.prompts.template import Template
from autoprompt.propose.edit import arrow_pairs
from autoprompt.propose.operator import Child, RefineContext
from autoprompt.records.feedback import Feedback
from autoprompt.records.trial import Trial

PREFIX = "feedback"
_IMPERATIVE = {"add", "always", "answer", "avoid", "be", "do", "don't", "dont", "end", "explain", "give", "include",
               "keep", "list", "mention", "never", "please", "say", "start", "state", "stop", "use", "write"}


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
        from autoprompt.propose.rewrite import instruction_from

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
        writer = context.writer
        return instruction_from("feedback.critique", lambda: writer.generate(
            text, chat=writer.backend.supports_chat, max_tokens=80), context)
