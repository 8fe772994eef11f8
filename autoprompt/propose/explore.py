"""Exploration: component-space jumps from Optuna's TPE inside the refinement loop.

Contract: ``ExploreOperator`` (family ``explore``) asks a seeded TPE sampler for
``per_round`` points of the component search space (task skeleton, clarifiers,
context, demonstrations, label words, calibration, addressing), whatever the parent.
Targeted moves change one thing at a time; these change many at once, so the loop
also finds combinations no single step reaches. The sampler learns from every trial
it proposed (their dev scores, read back from ``context.trials``) and from the
starting prompt; a proposal equal to one already scored is answered from that score
at once and replaced.
"""

from __future__ import annotations

from typing import Any

from autoprompt.propose.operator import Child, RefineContext
from autoprompt.propose.tpe import optuna_module, tpe_sampler
from autoprompt.records.candidate import Candidate
from autoprompt.records.trial import Trial, TrialState

MAX_REDRAWS = 20


class ExploreOperator:
    """Multi-component jumps proposed by TPE."""

    family = "explore"

    def __init__(self, per_round: int = 2) -> None:
        self.per_round = per_round
        self._study: Any = None
        self._pending: dict[Candidate, list[Any]] = {}
        self._seen = 0

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]:
        study = self._ensure(context)
        self._catch_up(context)
        scored = {t.candidate: t for t in context.trials if t.state is TrialState.COMPLETE}
        children: list[Child] = []
        for _ in range(self.per_round * MAX_REDRAWS):
            if len(children) == self.per_round:
                break
            trial = study.ask()
            candidate = context.space.suggest(trial)
            if candidate in scored:
                study.tell(trial, scored[candidate].score)
                continue
            self._pending.setdefault(candidate, []).append(trial)
            children.append(Child(candidate, "explore.tpe"))
        return children

    def _ensure(self, context: RefineContext) -> Any:
        if self._study is None:
            sampler = tpe_sampler(context.rng.randrange(2**31), startup=8)
            self._study = optuna_module().create_study(direction="maximize", sampler=sampler)
            start = context.trials[0] if context.trials else None
            if start is not None and start.state is TrialState.COMPLETE and not start.candidate.instruction:
                self._study.enqueue_trial(context.space.params_of(start.candidate))
                trial = self._study.ask()
                context.space.suggest(trial)
                self._study.tell(trial, start.score)
        return self._study

    def _catch_up(self, context: RefineContext) -> None:
        optuna = optuna_module()
        for trial in context.trials[self._seen:]:
            for asked in self._pending.pop(trial.candidate, []):
                if trial.state is TrialState.COMPLETE:
                    self._study.tell(asked, trial.score)
                else:
                    self._study.tell(asked, state=optuna.trial.TrialState.PRUNED)
        self._seen = len(context.trials)
