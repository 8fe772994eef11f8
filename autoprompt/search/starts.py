"""Starting prompts: where a search starts when the user gives no template, or gives one.

Contract: ``start_candidate(task)`` is the first start (the user's template, else a plain
instruction); ``plain_starts(task, limit)`` the other plain prompts refinement races against it
(bare skeletons, a few worked examples, ``fields`` under each answer field name worth trying);
``demo_starts(setup)`` the worked-example start; ``reviewed_candidates(feedback)`` the prompts a
reviewer gave feedback on. Pure functions of the task; no model is asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from autoprompt.prompts.compose import CUSTOM_TASK, TaskSetup, candidate_from
from autoprompt.prompts.fields import answer_titles
from autoprompt.records.candidate import Candidate
from autoprompt.records.feedback import Feedback
from autoprompt.records.task_kind import TaskKind
from autoprompt.search.task import Task

MAX_START_DEMOS = 16  # the demonstrations a start may show (one per label)
FREE_TEXT_START_DEMOS = (2, 4)  # the worked-example starts' sizes for free text


def plain_starts(task: Task, limit: int | None = None) -> list[Candidate]:
    """The plain prompts refinement also starts from when the user gives no template: every
    skeleton of the library that shows no instruction, with no clarifier or demonstration (first, with the
    task's ``description`` when it has one, ``fields`` under it as a ``Task:`` line), then (for
    labels) the ``fields`` skeleton under each answer field name worth trying (``prompts.fields``), at most
    ``limit`` in all. Each races against the best start so far, so most cost one rung."""
    if task.custom is not None:
        return []
    setup = task.setup
    bare = [Candidate(name) for name in sorted(setup.library.tasks) if not setup.uses_instruction(name)]
    if setup.description and "background" in setup.library.context and "fields" in setup.library.tasks:
        bare.insert(0, Candidate("fields", context=("background",)))  # --description's line, as "Task: ..."
    titled = [Candidate("fields", answer_title=name) for name in answer_titles(setup)[1:]
              if "fields" in setup.library.tasks and setup.kind is TaskKind.CLASSIFICATION]
    return [*bare, *demo_starts(setup), *titled][:limit]


def demo_starts(setup: TaskSetup) -> list[Candidate]:
    """A few worked examples under the ``fields`` skeleton, as a person pastes them: a balanced draw of
    one per label (two for two labels), or for free text two and four, when the training rows have that
    many. Racing keeps the better."""
    if setup.kind is TaskKind.CLASSIFICATION:
        counts = [len(setup.labels) if len(setup.labels) > 2 else 2]
    else:
        counts = list(FREE_TEXT_START_DEMOS)
    if "fields" not in setup.library.tasks:
        return []
    return [Candidate("fields", n_demos=n) for n in counts if n <= len(setup.train) and n <= MAX_START_DEMOS]


def start_candidate(task: Task) -> Candidate:
    """Where the search starts: the user's template, or a plain instruction built from columns and labels."""
    if task.custom is not None:
        return Candidate(CUSTOM_TASK)
    return Candidate("instruction" if task.setup.kind is TaskKind.CLASSIFICATION else "task_instruction")


def reviewed_candidates(feedback: Sequence[Feedback]) -> list[Candidate]:
    """The prompts reviewers commented on, each once, in the order reviewed."""
    seen: list[Candidate] = []
    for record in feedback:
        if record.candidate:
            candidate = candidate_from(record.candidate)
            if candidate not in seen:
                seen.append(candidate)
    return seen
