"""Refinement: the feedback-driven search strategy.

Contract:
- ``RefinementStrategy`` is a ``SearchStrategy`` (``ask``/``tell``). Its first proposals
  are the starting prompts (``start``, then each of ``alternatives``: without a user
  template, the bare skeletons and titled ``fields`` prompts); the first is scored on the whole
  dev set. The ``base``, the prompt the user gets for free and the first incumbent, is the first
  start, or a later one with a better mean signal that beats the first beyond noise (as any
  step must beat its incumbent). Right after
  the starts, each ``reviewed`` candidate (prompts a person gave feedback on, operator
  ``reviewed``) that is valid for the task. Then, round by
  round, it takes a parent from the beam (the incumbent first, the runners-up when
  the incumbent's children stop winning), lets every operator propose children
  aimed at the parent's error analysis, validates
  them (invalid ones go to ``context.rejected`` with the reason), skips any whose
  rendered prompt was already tried, and queues up to ``width`` per operator,
  interleaved across operators. When no operator has anything new, it tries a random
  point of the search space (operator ``random``).
- Starts race each other: each start after the first is raced against the best complete start
  so far with the narrow ``START_MARGIN``, so only a start about as good as the leader at every
  rung is scored on every row (successive halving against the leader); most stop at the first.
- Racing: a proposal's ``report(n, signal)`` compares its mean selection value on the first n dev
  examples with the incumbent's on the same n examples. At every rung it is pruned
  when it trails by more than ``margin / sqrt(n)``: a challenger that merely ties the
  incumbent on a small prefix goes on (a prefix the incumbent happened to do well on
  must not stop a real improvement), one that falls clearly behind stops. Successive
  halving against the incumbent, paired by example.
- Right after the starts, a classification task with calibration in its space gets every
  complete start, and the best ``calibrate_pruned`` pruned ones, with calibration (operator
  ``move.calibrate``; the prior is the evaluator's): the base's scored on the whole dev set,
  the others raced. For small
  models it is the single move that most often pays, and it can reorder the starts. They
  are accepted like any challenger.
- Selection: complete trials enter the beam (the best ``beam_width``). A challenger
  replaces the incumbent only when it wins on the same dev examples: the one-sided
  paired-bootstrap lower bound at ``confidence`` is above zero. So the search does not
  chase noise; ``incumbent`` is the winner and ``accepted`` lists every replacement
  (``chain``: the ones after the base, in order; the optimizer re-checks them on
  held-out rows before it trusts any).
  A new incumbent drops the proposals still queued from the old one (they may be
  proposed again later; the calibrated starts stay queued, now raced against it) and the
  next round starts from it.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from autoprompt.errors import BudgetExhausted
from autoprompt.evaluate.stats import paired_difference
from autoprompt.prompts.compose import compose
from autoprompt.propose.operator import Child, Operator, RefineContext, interleave, validate
from autoprompt.records.candidate import Candidate
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.strategy import StrategyState

START_MARGIN = 0.1  # a start goes on past a rung only while it is about as good as the best start there
MARGIN = 0.25  # a proposal goes on past a rung only while its signal is within MARGIN/sqrt(rows) of its rival's
BEAM_WIDTH = 4  # the trials a round refines from
WIDTH = 2  # the proposals each operator adds to a round from one trial


@dataclass(frozen=True)
class RefineProposal:
    """A child to evaluate, raced against the incumbent of the moment."""

    candidate: Candidate
    operator: str
    parent: int | None
    incumbent: Trial | None
    margin: float
    number: int | None = None  # numbered in order by the loop

    def report(self, n: int, signal: float) -> bool:
        reference = self.incumbent.signal_at(n) if self.incumbent is not None else None
        return reference is not None and signal < reference - self.margin / math.sqrt(n)


class _RandomTrial:
    """Answers ``SearchSpace.suggest``'s questions with uniform random choices."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self.rng.choice(list(choices))


class RefinementStrategy:
    """Beam search over operator proposals, raced and accepted by paired comparison."""

    def __init__(self, *, context: RefineContext, operators: Sequence[Operator], start: Candidate,
                 confidence: float = 0.9, seed: int = 0, reviewed: Sequence[Candidate] = (),
                 alternatives: Sequence[Candidate] = (), calibrate_pruned: int = 0) -> None:
        self.context = context
        self.operators = list(operators)
        self.start = start
        self.alternatives = [c for c in alternatives if c != start]
        self.confidence = confidence
        self.seed = seed
        self.reviewed = list(reviewed)
        self.calibrate_pruned = calibrate_pruned
        self.trials: list[Trial] = []  # every trial told, in order
        self.incumbent: Trial | None = None
        self.base: Trial | None = None
        self.chain: list[Trial] = []
        self.accepted: list[int] = []
        self.beam: list[Trial] = []
        self._queue: deque[RefineProposal] = deque()
        self._seen: set[str] = set()
        self._round = 0
        self._calibration_pending = True

    def ask(self) -> RefineProposal:
        if not self._seen:
            self._seen.add(self._key(self.start))
            return RefineProposal(self.start, "start", None, None, MARGIN)
        while self.alternatives:
            candidate = self.alternatives.pop(0)
            if self._key(candidate) not in self._seen:
                self._seen.add(self._key(candidate))
                return RefineProposal(candidate, "start", None, self._leading_start(), START_MARGIN)
        if self._calibration_pending and self.base is not None:
            self._calibration_pending = False
            self._queue_calibrated_starts()
        while self.reviewed:
            candidate = self.reviewed.pop(0)
            reason = validate(candidate, self.context)
            if reason:
                self.context.reject("reviewed", reason, candidate.describe())
            elif self._key(candidate) not in self._seen:
                self._seen.add(self._key(candidate))
                return RefineProposal(candidate, "reviewed", 0, self.incumbent, MARGIN)
        while not self._queue:
            self._plan_round()
        return self._queue.popleft()

    def _queue_calibrated_starts(self) -> None:
        """Each complete start with calibration, and the best ``calibrate_pruned`` pruned ones
        (calibration reorders the starts: a prompt whose raw answers lean to one label loses the
        first rung and may lead once calibrated): the base's scored in full, the others raced. The
        rows a start was scored on are cached, so its calibrated copy pays only for the prior's other
        inputs."""
        if not self.context.space.calibration:
            return
        tried = [t for t in self.trials if t.operator == "start" and t.n]
        pruned = sorted((t for t in tried if t.state is not TrialState.COMPLETE), key=lambda t: (-t.signal, t.number))
        kept = {t.number for t in pruned[:self.calibrate_pruned]}
        starts = sorted((t for t in tried if t.state is TrialState.COMPLETE or t.number in kept),
                        key=lambda t: (t is not self.base, t.state is not TrialState.COMPLETE, -t.signal, t.number))
        for trial in starts:
            calibrated = replace(trial.candidate, calibrate=True)
            if not trial.candidate.calibrate and self._key(calibrated) not in self._seen:
                self._seen.add(self._key(calibrated))
                rival = None if trial is self.base else self.incumbent
                self._queue.append(RefineProposal(calibrated, "move.calibrate", trial.number, rival, MARGIN))

    def settle(self, evaluate: Callable[[], Trial]) -> StrategyState:
        return StrategyState(base=self.base, chain=tuple(self.chain), accepted=tuple(self.accepted),
                             rejected=tuple(self.context.rejected))

    def tell(self, proposal: Any, trial: Trial) -> None:
        self.trials.append(trial)
        if trial.state is not TrialState.COMPLETE:
            return
        self.beam = sorted([*self.beam, trial], key=lambda t: (-t.signal, t.prompt_tokens, t.number))[: BEAM_WIDTH]
        starting = isinstance(proposal, RefineProposal) and proposal.operator == "start"
        if starting and self._better_start(trial):
            self.base = trial
        if self.incumbent is None or (starting and trial is self.base) or self._wins(trial, self.incumbent):
            self.incumbent = trial
            self.accepted.append(trial.number)
            if not starting:
                self.chain.append(trial)
            self._round = 0
            kept = deque(replace(p, incumbent=trial) for p in self._queue if p.operator == "move.calibrate")
            for stale in self._queue:  # children of the old incumbent: plan afresh from the new one
                if stale.operator != "move.calibrate":
                    self._seen.discard(self._key(stale.candidate))
            self._queue = kept  # the calibrated starts still race, now against the new incumbent

    def _starts(self) -> list[Trial]:
        return [t for t in self.trials if t.operator == "start" and t.state is TrialState.COMPLETE]

    def _leading_start(self) -> Trial | None:
        """The start the next one races against: the best complete start so far."""
        return max(self._starts(), key=lambda t: (t.signal, -t.number), default=None)

    def _better_start(self, trial: Trial) -> bool:
        """Whether a start replaces the base: the first start is the base; a later one must do better than
        the base and beat the first start beyond noise, as any step must (ties keep the earlier prompt)."""
        first = self._starts()[0]
        return self.base is None or (trial.signal > self.base.signal and self._wins(trial, first))

    def _plan_round(self) -> None:
        parents = [t for t in [self.incumbent, *self.beam] if t is not None]
        parents = list({t.number: t for t in parents}.values())
        parent = parents[self._round % len(parents)] if parents else None
        self._round += 1
        groups = [self._fresh(op, parent) for op in self.operators] if parent is not None else []
        children = interleave(*groups) or [Child(self._random(), "random")]
        for child in children:
            self._queue.append(RefineProposal(child.candidate, child.operator, parent.number if parent else None,
                                              self.incumbent, MARGIN))

    def _fresh(self, operator: Operator, parent: Trial) -> list[Child]:
        try:
            proposed = operator.propose(parent, replace(self.context, trials=tuple(self.trials)))
        except BudgetExhausted:
            self.context.reject(operator.family, "the budget ran out while the optimizer model was writing")
            return []
        fresh: list[Child] = []
        for child in proposed:
            if len(fresh) >= WIDTH:
                break
            reason = validate(child.candidate, self.context)
            if reason:
                self.context.reject(child.operator, reason, child.candidate.instruction)
                continue
            key = self._key(child.candidate)
            if key not in self._seen:
                self._seen.add(key)
                fresh.append(child)
        return fresh

    def _random(self) -> Candidate:
        for _ in range(50):
            candidate = self.context.space.suggest(_RandomTrial(self.context.rng))  # type: ignore[arg-type]
            if self._key(candidate) not in self._seen:
                self._seen.add(self._key(candidate))
                return candidate
        return candidate

    def _key(self, candidate: Candidate) -> str:
        return compose(candidate, self.context.setup, self.context.custom).key()

    def _wins(self, challenger: Trial, incumbent: Trial) -> bool:
        """True when the challenger is better on the same dev examples beyond the confidence bound,
        compared by each row's selection value (``Prediction.value``)."""
        if challenger.signal <= incumbent.signal or challenger.n != incumbent.n:
            return False
        difference = paired_difference(incumbent.values, challenger.values,
                                        level=2 * self.confidence - 1, seed=self.seed)
        return difference.low > 0
