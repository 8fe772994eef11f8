"""Component moves: change which library components a candidate uses, aimed at its failures.

Contract: ``MoveOperator`` (family ``move``) reads the parent's error analysis and
proposes, most targeted first:
- ``move.merge``: the parent plus what a sibling changed, for every sibling (same
  grandparent) that beat the grandparent: improvements found side by side are combined;
- ``move.format``: outputs that did not parse, generations far longer than the
  reference, or sampled answers that mostly disagree (consistency), bring in a format
  clarifier (``one_word``, ``answer_with_label``, ``short``, ``only_answer``, whichever the
  library has);
- ``move.definitions``: confused label pairs bring in the label definitions as context
  (when the task has definitions), else the clarifier naming the labels;
- ``move.calibrate``: a label predicted far more often than it is right turns on
  calibration (its prior is the evaluator's: the task's own inputs, or content-free ones);
- ``move.drop``: remove one clarifier or context block (what does not help goes);
- ``move.task``: switch the task skeleton; ``move.chat``: switch chat/raw addressing;
  ``move.system``: move the instruction, context and clarifiers into (or out of) the system
  message, and ``move.turns``: demonstrations as user/assistant turns (or inline), where the
  model takes chat messages;
- ``move.add``: add another clarifier or context block.
The untargeted moves are shuffled with the context's seeded generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from autoprompt.propose.operator import Child, RefineContext, interleave
from autoprompt.records.analysis import ErrorAnalysis
from autoprompt.records.candidate import Candidate
from autoprompt.records.task_kind import TaskKind
from autoprompt.records.trial import Trial, TrialState

FORMAT_CLARIFIERS = ("answer_with_label", "one_word", "only_answer", "short")
MAX_CLARIFIERS = 3


class MoveOperator:
    """Targeted and exploratory changes of task skeleton, clarifiers, context and addressing."""

    family = "move"

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]:
        candidate, space = parent.candidate, context.space
        analysis = parent.analysis or ErrorAnalysis(parent.n)
        targeted = merges(parent, context.trials) + self._targeted(candidate, analysis, context)
        drops = [Child(replace(candidate, clarifiers=tuple(c for c in candidate.clarifiers if c != name)), "move.drop")
                 for name in candidate.clarifiers]
        drops += [Child(replace(candidate, context=tuple(c for c in candidate.context if c != name)), "move.drop")
                  for name in candidate.context]
        tasks = [Child(replace(candidate, task=task), "move.task") for task in space.tasks if task != candidate.task]
        adds = [Child(_with_clarifier(candidate, name), "move.add") for name in space.clarifiers
                if name not in candidate.clarifiers and len(candidate.clarifiers) < MAX_CLARIFIERS]
        adds += [Child(replace(candidate, context=(*candidate.context, name)), "move.add")
                 for name in space.context if name not in candidate.context]
        chat = [Child(replace(candidate, chat=not candidate.chat), "move.chat")] if space.chat else []
        if space.placements(candidate):
            chat.append(Child(replace(candidate, system=not candidate.system), "move.system"))
            if candidate.n_demos or candidate.demo_ids:
                chat.append(Child(replace(candidate, demo_turns=not candidate.demo_turns), "move.turns"))
        for group in (drops, tasks, adds):
            context.rng.shuffle(group)
        return targeted + interleave(drops, tasks, adds, chat)

    def _targeted(self, candidate: Candidate, analysis: ErrorAnalysis, context: RefineContext) -> list[Child]:
        space, setup = context.space, context.setup
        children: list[Child] = []
        if analysis.failed or analysis.too_long or analysis.unsteady:
            children += [Child(_with_clarifier(candidate, name), "move.format") for name in FORMAT_CLARIFIERS
                         if name in space.clarifiers and name not in candidate.clarifiers]
        if analysis.confusions:
            if setup.definitions and "label_definitions" in space.context and \
                    "label_definitions" not in candidate.context:
                children.append(Child(replace(candidate, context=(*candidate.context, "label_definitions")),
                                      "move.definitions"))
            elif "answer_with_label" in space.clarifiers and "answer_with_label" not in candidate.clarifiers:
                children.append(Child(_with_clarifier(candidate, "answer_with_label"), "move.definitions"))
        if setup.kind is TaskKind.CLASSIFICATION and analysis.skewed_label() and not candidate.calibrate:
            children.append(Child(replace(candidate, calibrate=True), "move.calibrate"))
        return children


DEMO_FIELDS = ("n_demos", "demo_seed", "demo_ids")


def merges(parent: Trial, trials: Sequence[Trial]) -> list[Child]:
    """The parent combined with each sibling's change that beat their common parent."""
    if parent.parent is None or not 0 <= parent.parent < len(trials):
        return []
    base = trials[parent.parent]
    better = [t for t in trials if t.parent == base.number and t.number != parent.number
              and t.state is TrialState.COMPLETE and t.signal > base.signal]
    children = [Child(combine(parent.candidate, base.candidate, t.candidate), "move.merge")
                for t in sorted(better, key=lambda t: -t.signal)]
    return [c for c in children if c.candidate != parent.candidate]


def combine(target: Candidate, base: Candidate, changed: Candidate) -> Candidate:
    """``target`` with every choice that ``changed`` made differently from ``base``."""
    updates: dict[str, Any] = {}
    for name in ("task", "instruction", "verbalizer", "calibrate", "chat", "answer_space", "system", "demo_turns"):
        if getattr(changed, name) != getattr(base, name):
            updates[name] = getattr(changed, name)
    for name in ("clarifiers", "context"):
        added = [c for c in getattr(changed, name) if c not in getattr(base, name)]
        dropped = [c for c in getattr(base, name) if c not in getattr(changed, name)]
        updates[name] = tuple(c for c in dict.fromkeys([*getattr(target, name), *added]) if c not in dropped)
    if any(getattr(changed, name) != getattr(base, name) for name in DEMO_FIELDS):
        updates.update({name: getattr(changed, name) for name in DEMO_FIELDS})
    if changed.word_overrides != base.word_overrides:
        updates["word_overrides"] = tuple(sorted({**dict(target.word_overrides),
                                                  **dict(changed.word_overrides)}.items()))
    return replace(target, **updates)


def _with_clarifier(candidate: Candidate, name: str) -> Candidate:
    kept = candidate.clarifiers if len(candidate.clarifiers) < MAX_CLARIFIERS else candidate.clarifiers[1:]
    return replace(candidate, clarifiers=(*kept, name))
