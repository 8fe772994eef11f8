"""The search space: which choices a candidate can make, and drawing one from a trial.

Contract:
- ``SearchSpace.for_task(setup, supports_chat=..., custom=...)`` lists the options
  that fit the task: task skeletons, up to two clarifiers, each context block
  on or off, demonstration count and draw, label words, calibration, chat or raw.
- ``suggest(trial)`` draws a ``Candidate`` through an Optuna trial (define-by-run,
  so conditional choices such as the demo draw only exist when they apply).
- ``params_of(candidate)`` is the inverse, used to enqueue the starting prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoprompt.prompts.compose import CUSTOM_TASK, TaskSetup, verbalizers
from autoprompt.records.candidate import Candidate
from autoprompt.records.task_kind import TaskKind

if TYPE_CHECKING:
    import optuna

NONE = "none"


@dataclass(frozen=True)
class SearchSpace:
    """The options of every choice a candidate makes."""

    tasks: tuple[str, ...]
    clarifiers: tuple[str, ...]
    context: tuple[str, ...]
    demo_counts: tuple[int, ...]
    demo_draws: int = 3
    verbalizers: tuple[str, ...] = ("as_is",)
    calibration: bool = False
    label_spacing: bool = False
    chat: bool = False
    messages: bool = False  # every request is chat messages: system placement and demo turns always possible
    clarifier_slots: int = 2

    @classmethod
    def for_task(cls, setup: TaskSetup, *, supports_chat: bool, custom: bool = False,
                 messages: bool = False) -> SearchSpace:
        library = setup.library.for_kind(setup.kind.value)
        classification = setup.kind is TaskKind.CLASSIFICATION
        step = len(setup.labels) if classification and len(setup.labels) > 2 else 2
        counts = tuple(n for n in (0, step, 2 * step, 4 * step) if n <= len(setup.train) and n <= 16)
        return cls(
            tasks=((CUSTOM_TASK,) if custom else ()) + tuple(sorted(library.tasks)),
            clarifiers=tuple(sorted(library.clarifiers)),
            context=tuple(sorted(library.context)),
            demo_counts=counts or (0,),
            verbalizers=tuple(verbalizers(setup.labels, setup.label_words)) if classification else ("as_is",),
            calibration=classification,
            label_spacing=classification,
            chat=supports_chat,
            messages=messages,
        )

    def placements(self, candidate: Candidate) -> bool:
        """Whether the candidate's instructions and demonstrations may move between chat messages: on
        chat APIs. (A local model addressed through its chat template could take them too; the
        search leaves them out there, where the suite measured it without them.)"""
        return self.messages

    def suggest(self, trial: optuna.Trial) -> Candidate:
        """Draw a candidate; each choice is one Optuna parameter."""
        task = trial.suggest_categorical("task", list(self.tasks))
        picked = [trial.suggest_categorical(f"clarifier_{i + 1}", [NONE, *self.clarifiers])
                  for i in range(self.clarifier_slots)]
        context = tuple(c for c in self.context if trial.suggest_categorical(f"context_{c}", [False, True]))
        n_demos = int(trial.suggest_categorical("n_demos", list(self.demo_counts)))
        draw = int(trial.suggest_categorical("demo_draw", list(range(self.demo_draws)))) if n_demos else 0
        verbalizer = trial.suggest_categorical("verbalizer", list(self.verbalizers))
        calibrate = bool(trial.suggest_categorical("calibrate", [False, True])) if self.calibration else False
        chat = bool(trial.suggest_categorical("chat", [False, True])) if self.chat else False
        spacing = chat and self.label_spacing
        answer_space = bool(trial.suggest_categorical("answer_space", [True, False])) if spacing else True
        clarifiers = tuple(dict.fromkeys(c for c in picked if c != NONE))
        placed = self.messages
        system = bool(trial.suggest_categorical("system", [False, True])) if placed else False
        turns = bool(trial.suggest_categorical("demo_turns", [False, True])) if placed and n_demos else False
        return Candidate(task, clarifiers, context, n_demos, draw, verbalizer, calibrate, chat, answer_space,
                         system=system, demo_turns=turns)

    def params_of(self, candidate: Candidate) -> dict[str, Any]:
        """The Optuna parameters that make ``suggest`` return ``candidate``."""
        params: dict[str, Any] = {
            "task": candidate.task, "n_demos": candidate.n_demos, "verbalizer": candidate.verbalizer,
        }
        for i in range(self.clarifier_slots):
            params[f"clarifier_{i + 1}"] = candidate.clarifiers[i] if i < len(candidate.clarifiers) else NONE
        params.update({f"context_{c}": c in candidate.context for c in self.context})
        if candidate.n_demos:
            params["demo_draw"] = candidate.demo_seed
        if self.calibration:
            params["calibrate"] = candidate.calibrate
        if self.chat:
            params["chat"] = candidate.chat
            if candidate.chat and self.label_spacing:
                params["answer_space"] = candidate.answer_space
        if self.placements(candidate):
            params["system"] = candidate.system
            if candidate.n_demos:
                params["demo_turns"] = candidate.demo_turns
        return params
