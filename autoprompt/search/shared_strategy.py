"""The component search on a shared study in a database, several processes at once.

Contract: ``SharedStrategy`` wraps ``OptunaStrategy`` on the shared study: it fails stale
trials before asking, records a heartbeat while a trial is evaluated, and stores each
trial's record for the other workers; a trial another process failed as stale meanwhile (this
one was silent past the grace period) is left to its retry, unstored; ``shared_trials`` rebuilds
every worker's trials from the study; ``StopWhenSpent`` stops a worker once all of them
together have spent the budget. ``SharedBudget`` is the ``Budget`` every process of the run
charges in its database, call by call, so the caps hold for all of them together.
``SharedRateLimiter`` is the ``Limiter`` they share: a request waits until it fits the requests
and tokens per minute of all processes together (``SharedRun.admit``). A worker
process is ``autoprompt.search.worker``; the study and its database are
``autoprompt.storage.shared``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autoprompt.errors import BudgetExhausted
from autoprompt.models.budget import Budget, BudgetSpec
from autoprompt.models.ratelimit import wait_time
from autoprompt.models.usage import Usage
from autoprompt.propose.space import SearchSpace
from autoprompt.records.candidate import Candidate
from autoprompt.records.progress import Progress
from autoprompt.records.trial import Trial, trial_from_record, trial_record
from autoprompt.search.strategy import StrategyState
from autoprompt.storage.shared import SharedRun

LOG = logging.getLogger("autoprompt.search")


@dataclass
class HeartbeatProposal:
    """An Optuna proposal whose worker records a heartbeat while it is evaluated."""

    inner: Any
    storage: Any
    interval: float
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        trial_id = self.inner.trial._trial_id
        self.storage.record_heartbeat(trial_id)

        def beat() -> None:
            while not self.stop.wait(self.interval):
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception as exc:  # a lost connection: beat again next time
                    LOG.warning("could not record the heartbeat of trial %d: %s", self.number, exc)

        threading.Thread(target=beat, daemon=True).start()

    def taken(self) -> bool:
        """True when another process failed this trial as stale (this one was silent too long) and
        queued it again: its retry is evaluated elsewhere, so this process stops and stores nothing."""
        trial = self.storage.get_trial(self.inner.trial._trial_id)
        return bool(trial.state.is_finished())

    @property
    def candidate(self) -> Candidate:
        return self.inner.candidate

    @property
    def operator(self) -> str:
        return self.inner.operator

    @property
    def parent(self) -> int | None:
        return None

    @property
    def number(self) -> int:
        return self.inner.trial.number

    def report(self, n: int, score: float) -> bool:
        return self.taken() or self.inner.report(n, score)


class SharedStrategy:
    """``OptunaStrategy`` on a shared study: fails stale trials before asking, beats while
    evaluating, and stores each trial's record for the other workers."""

    def __init__(self, inner: Any, run: SharedRun) -> None:
        self.inner = inner
        self.run = run

    def ask(self) -> HeartbeatProposal:
        import optuna

        optuna.storages.fail_stale_trials(self.inner.study)
        return HeartbeatProposal(self.inner.ask(), self.run.storage, self.run.heartbeat)

    def settle(self, evaluate: Callable[[], Trial]) -> StrategyState:
        """Evaluate what dead workers left, wait for the living, then every worker's trials."""
        self.run.settle(evaluate)
        return StrategyState(trials=tuple(shared_trials(self.run, self.inner.space)))

    def tell(self, proposal: Any, trial: Trial) -> None:
        assert isinstance(proposal, HeartbeatProposal)
        proposal.stop.set()
        if proposal.taken():
            LOG.warning("trial %d was failed as stale by another process and is evaluated again there",
                        proposal.number)
            return
        optuna_trial = proposal.inner.trial
        for key, value in {**trial_record(trial, answers=True), "worker": os.getpid()}.items():
            optuna_trial.set_user_attr(key, value)
        self.inner.tell(proposal.inner, trial)


def shared_trials(run: SharedRun, space: SearchSpace) -> list[Trial]:
    """Every worker's finished trials in the run's study, numbered as there; failed ones as INTERRUPTED."""
    import optuna

    out = []
    for frozen in run.study().get_trials(deepcopy=False):
        candidate = space.suggest(optuna.trial.FixedTrial(frozen.params))  # type: ignore[arg-type]
        out.append(trial_from_record(frozen.user_attrs, number=frozen.number, candidate=candidate,
                                     operator="start" if frozen.number == 0 else "tpe"))
    return out


class SharedBudget(Budget):
    """A ``Budget`` counted in the shared run's database: each charge is one conditional UPDATE
    there (``SharedRun.charge``), so the calls, tokens and USD of all processes together stop at
    the caps. The time limit counts from ``started``, when the run was created (``SharedRun.started``,
    wall clock), so a worker that joins late stops with the others; ``calls`` counts this process's."""

    def __init__(self, run: SharedRun, caps: BudgetSpec, *, started: float | None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(caps.calls, caps.seconds, max_tokens=caps.tokens, max_usd=caps.usd)
        self.run = run
        self.run_started = started
        self.clock = clock

    def elapsed(self) -> float:
        if self.run_started is None:  # a run an older version created: each process's own clock
            return super().elapsed()
        return self.clock() - self.run_started

    @property
    def remaining(self) -> float:
        return float("inf") if self.max_calls is None else self.max_calls - self.run.spent()

    def charge(self, n: int = 1) -> None:
        with self._lock:
            if self.out_of_time():
                raise BudgetExhausted(str(self._spent()))  # Budget's own message for the time limit
            if not self.run.charge(n, calls=self.max_calls, tokens=self.max_tokens, usd=self.max_usd):
                calls, tokens, usd = self.run.totals()
                raise BudgetExhausted(
                    f"USD budget of {self.max_usd:g} spent by all processes (${usd:.4f})"
                    if self.max_usd is not None and usd >= self.max_usd else
                    f"token budget of {self.max_tokens} spent by all processes ({tokens} tokens)"
                    if self.max_tokens is not None and tokens >= self.max_tokens else
                    f"budget of {self.max_calls} model calls spent by all processes ({calls} charged)")
            self.calls += n

    def record(self, usage: Usage, usd: float = 0.0) -> None:
        super().record(usage, usd)
        if usage.total or usd:
            self.run.add_usage(usage.total, usd)


class SharedRateLimiter:
    """Requests and tokens per minute counted over every process of the shared run."""

    def __init__(self, run: SharedRun, rpm: float | None, tpm: float | None, *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.run = run
        self.rpm = rpm
        self.tpm = tpm
        self.clock = clock  # a wall clock: every machine's must agree
        self.sleep = sleep

    def acquire(self, tokens: int = 0) -> None:
        if self.rpm is None and self.tpm is None:
            return

        def wait(events: list[tuple[float, int]], now: float) -> float:
            return wait_time(events, now, self.rpm, self.tpm, tokens)

        while (seconds := self.run.admit(tokens, wait, now=self.clock())) > 0:
            self.sleep(seconds)


class StopWhenSpent:
    """Stops a worker once all workers together have spent ``calls``."""

    def __init__(self, run: SharedRun, calls: int) -> None:
        self.run = run
        self.calls = calls

    def __call__(self, trial: Trial, progress: Progress) -> bool:
        return self.run.spent() >= self.calls
