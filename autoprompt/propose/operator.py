"""Refinement operators: small plug-ins that turn a scored parent into new candidates.

Contract:
- An ``Operator`` has a ``family`` and one method, ``propose(parent, context)``,
  which returns ``Child`` records: a candidate and the name of the move that made it
  (e.g. ``edit.delete``, ``move.format``, ``rewrite.opro``). It reads the parent
  trial's error analysis to aim its proposals, and may return nothing.
- ``RefineContext`` (frozen) is everything a proposal may read: the task setup and custom
  template, the search space, the dev examples by id, the trials so far (a tuple, handed
  over fresh each round), a seeded random generator, reviewers' ``feedback`` records, and
  ``writer``: a ``Client`` for the optimizer model (``rewrite`` and ``feedback.critique``
  only), charged to the same budget and cache as every other call. Operators record
  proposals they had to throw away with ``context.reject``, the one thing they write.
- ``validate(candidate, context)`` says why a proposal is unusable ("" when it is
  fine): its instruction must parse, use only the task's constants, render in the
  sandbox, and for classification keep the label set (the ``labels`` placeholder or
  every label word) when the task's default instruction names it; label words
  must be distinct and non-empty; demo ids must exist.
- Families, in the order their proposals are interleaved: ``feedback`` (reviewers'
  notes and judges' reasons as clarifiers and rewrites; nothing without them), ``move`` (component moves
  aimed at the failures, and merges of improvements found side by side), ``demos``,
  ``explore`` (multi-component jumps from TPE), ``words`` (label words), ``edit``
  (GrIPS-style phrase edits, no model) and ``rewrite`` (needs an optimizer model).
  ``build_operators(families)`` makes them.
- ``reads_pool(operator)``: whether a move read the demonstration pool's rows beyond showing them;
  ``carries_pool_reading(candidate, trials)``: whether a candidate carries what such a move put
  into the run (the final check reads the pool rows a prompt does not show only when it does not).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from autoprompt.errors import TemplateError
from autoprompt.prompts.compose import TaskSetup, compose, static_context
from autoprompt.prompts.template import Template
from autoprompt.propose.space import SearchSpace
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind
from autoprompt.records.trial import Trial

if TYPE_CHECKING:
    from autoprompt.models.client import Client
    from autoprompt.records.feedback import Feedback

MAX_INSTRUCTION_CHARS = 600
REWRITE_MOVES = "rewrite."  # the optimizer model's moves, which show it pool rows
POOL_READERS = ("words.vocab", REWRITE_MOVES)  # moves that read pool rows beyond showing them (``reads_pool``)


def reads_pool(operator: str) -> bool:
    """Whether the move ``operator`` read the demonstration pool's rows beyond showing some as
    demonstrations: ``words.vocab`` fits label words to the model's answers on them, ``rewrite``
    shows some to the optimizer model."""
    return operator.startswith(POOL_READERS)


def carries_pool_reading(candidate: Candidate, trials: Sequence[Trial]) -> bool:
    """Whether ``candidate`` carries what a move that read the pool (``reads_pool``) put into a
    trial of ``trials``, by whichever route (that move's child, a later step, a merge): a label word
    ``words.vocab`` introduced, or any written instruction once ``rewrite`` has run. Erring on the
    safe side: the same word reached another way counts too."""
    by_number = {t.number: t for t in trials}
    for trial in (t for t in trials if reads_pool(t.operator)):
        if trial.operator.startswith(REWRITE_MOVES) and candidate.instruction:
            return True
        parent = by_number.get(trial.parent) if trial.parent is not None else None
        introduced = set(trial.candidate.word_overrides) - set(parent.candidate.word_overrides if parent else ())
        if introduced & set(candidate.word_overrides):
            return True
    return False


@dataclass(frozen=True)
class Child:
    """A proposed candidate and the move that made it."""

    candidate: Candidate
    operator: str


@dataclass(frozen=True)
class Rejection:
    """A proposal that was thrown away before any model call, and why."""

    operator: str
    reason: str
    text: str = ""


class RejectionLog:
    """Where proposals thrown away before any model call are written down, in order: the one output of
    proposing besides the children (``RefineContext.reject`` writes here; the strategy reports them)."""

    def __init__(self) -> None:
        self._rejections: list[Rejection] = []

    def add(self, rejection: Rejection) -> None:
        self._rejections.append(rejection)

    def __iter__(self) -> Iterator[Rejection]:
        return iter(tuple(self._rejections))

    def __len__(self) -> int:
        return len(self._rejections)

    def __getitem__(self, index: int) -> Rejection:
        return self._rejections[index]


@dataclass(frozen=True)
class RefineContext:
    """What operators read while proposing: the task, the component space, the dev rows, the models
    they may call, the call reserve, the trials so far (a snapshot: the strategy passes a fresh copy
    each round with ``dataclasses.replace``), reviewers' feedback and a seeded random generator. An
    operator writes nothing here but rejections, through ``reject`` (to ``rejected``, a ``RejectionLog``)."""

    setup: TaskSetup
    space: SearchSpace
    dev: Mapping[str, Example]
    custom: Template | None = None
    writer: Client | None = None
    scorer: Client | None = None  # the model under optimization, on the run's budget (label-word search)
    reserve: int = 0  # calls the search keeps back for its end: an operator's own calls never reach into them
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    trials: tuple[Trial, ...] = ()
    rejected: RejectionLog = field(default_factory=RejectionLog)
    feedback: Sequence[Feedback] = ()

    def reject(self, operator: str, reason: str, text: str = "") -> None:
        self.rejected.add(Rejection(operator, reason, text[:300]))


@runtime_checkable
class Operator(Protocol):
    """Proposes children of a parent trial."""

    family: str

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]: ...


def validate(candidate: Candidate, context: RefineContext) -> str:
    """Why ``candidate`` cannot be evaluated, or "" when it can."""
    setup = context.setup
    words = setup.words(candidate.verbalizer, candidate.word_overrides)
    if setup.kind is TaskKind.CLASSIFICATION and (
            len(set(words.values())) < len(words) or not all(w.strip() for w in words.values())):
        return "label words must be distinct and non-empty"
    missing = [i for i in candidate.demo_ids if i not in {ex.id for ex in setup.train}]
    if missing:
        return f"demonstration ids not in the training data: {', '.join(missing)}"
    if len(candidate.instruction) > MAX_INSTRUCTION_CHARS:
        return f"instruction longer than {MAX_INSTRUCTION_CHARS} characters"
    static = static_context(setup, words)
    source = setup.instruction_of(candidate)
    try:
        unknown = Template("proposal", source).variables() - set(static)
        if unknown:
            return f"instruction uses placeholders the task does not provide: {', '.join(sorted(unknown))}"
        compose(candidate, setup, context.custom)
    except TemplateError as exc:
        return str(exc)
    default = setup.default_instruction(candidate.task)
    if setup.kind is TaskKind.CLASSIFICATION and source and default and _keeps_labels(default, static, words) \
            and not _keeps_labels(source, static, words):
        return "instruction drops the label set (neither the labels placeholder nor every label word)"
    return ""


def _keeps_labels(source: str, static: dict[str, object], words: Mapping[str, str]) -> bool:
    if "labels" in Template("proposal", source).variables():
        return True
    text = Template("proposal", source).render(static).lower()
    return all(word.lower() in text for word in words.values())


def interleave(*groups: Sequence[Child]) -> list[Child]:
    """Round-robin over groups of children, so every kind of move gets an early turn."""
    return [child for row in zip_longest(*groups) for child in row if child is not None]


