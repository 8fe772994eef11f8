"""Phrase edits: GrIPS-style changes to an instruction that need no model.

Contract:
- ``phrases(source)`` splits instruction source into phrases (sentences, and the
  clauses after commas and semicolons) without ever cutting a Jinja expression.
- ``EditOperator`` (family ``edit``) proposes, for a parent whose skeleton shows an
  instruction: ``edit.add`` (append a phrase from the bank ``templates/phrases/add.txt``),
  ``edit.paraphrase`` (one substitution from ``templates/phrases/paraphrase.txt``),
  ``edit.delete`` (drop a phrase) and ``edit.swap`` (swap two neighbouring phrases).
  Kinds are interleaved and shuffled with the context's seeded generator.
- Phrase banks are plain text read with ``importlib.resources``; ``#`` starts a comment.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources

from autoprompt.prompts.template import Template
from autoprompt.propose.operator import Child, RefineContext, interleave
from autoprompt.records.task_kind import TaskKind
from autoprompt.records.trial import Trial

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_BOUNDARY = re.compile(r"(?<=[.!?;])\s+|(?<=,)\s+")


@lru_cache(maxsize=4)
def phrase_bank(name: str) -> tuple[str, ...]:
    """The non-comment lines of ``templates/phrases/NAME``."""
    text = resources.files("autoprompt.templates").joinpath("phrases").joinpath(name).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


def added_phrases(kind: TaskKind) -> tuple[str, ...]:
    """Phrases that may be added to an instruction of this task kind."""
    return tuple(p for p in phrase_bank("add.txt")
                 if kind is TaskKind.CLASSIFICATION or "labels" not in Template("phrase", p).variables())


def arrow_pairs(name: str) -> tuple[tuple[str, str], ...]:
    """The ``left => right`` lines of a phrase bank, as stripped pairs."""
    pairs = (line.split("=>", 1) for line in phrase_bank(name) if "=>" in line)
    return tuple((left.strip(), right.strip()) for left, right in pairs)


def substitutions() -> tuple[tuple[str, str], ...]:
    """``(old, new)`` pairs of the paraphrase bank."""
    return arrow_pairs("paraphrase.txt")


def phrases(source: str) -> list[str]:
    """Split instruction source into phrases; Jinja expressions stay whole."""
    shelter: list[str] = []

    def hide(match: re.Match[str]) -> str:
        shelter.append(match.group(0))
        return f"\x00{len(shelter) - 1}\x00"

    hidden = _JINJA.sub(hide, source.strip())
    parts = [p for p in _BOUNDARY.split(hidden) if p.strip()]
    return [re.sub(r"\x00(\d+)\x00", lambda m: shelter[int(m.group(1))], p) for p in parts]


def join(parts: list[str]) -> str:
    text = " ".join(p.strip() for p in parts if p.strip())
    return text[:1].upper() + text[1:]


def paraphrase(source: str, old: str, new: str) -> str | None:
    """``source`` with the first whole-word ``old`` outside Jinja replaced by ``new`` (keeping its capital)."""
    pattern = re.compile(rf"\b{re.escape(old)}\b", re.I)
    pieces = re.split(f"({_JINJA.pattern})", source, flags=re.S)  # odd indices are Jinja expressions
    for i in range(0, len(pieces), 2):
        match = pattern.search(pieces[i])
        if match:
            word = new[:1].upper() + new[1:] if match.group(0)[:1].isupper() else new
            pieces[i] = pieces[i][:match.start()] + word + pieces[i][match.end():]
            return "".join(pieces)
    return None


class EditOperator:
    """Add, paraphrase, delete and swap phrases of the parent's instruction."""

    family = "edit"

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]:
        setup, candidate = context.setup, parent.candidate
        source = setup.instruction_of(candidate)
        if not setup.uses_instruction(candidate.task):
            return []
        parts = phrases(source)
        rng = context.rng
        added = [join([*parts, p]) for p in added_phrases(setup.kind) if p not in parts]
        changed = [text for old, new in substitutions() if (text := paraphrase(source, old, new)) is not None]
        deleted = [join(parts[:i] + parts[i + 1:]) for i in range(len(parts))] if len(parts) > 1 else []
        swapped = [join([*parts[:i], parts[i + 1], parts[i], *parts[i + 2:]]) for i in range(len(parts) - 1)]
        groups = [[Child(replace(candidate, instruction=text), name) for text in pool if text.strip() != source.strip()]
                  for name, pool in (("edit.add", added), ("edit.paraphrase", changed), ("edit.delete", deleted),
                                     ("edit.swap", swapped))]
        for group in groups:
            rng.shuffle(group)
        return interleave(*groups)
