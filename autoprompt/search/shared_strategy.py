"""The component search on a shared study in a database, several processes at once.

Contract: ``SharedStrategy`` wraps ``OptunaStrategy`` on the shared study: it fails stale
trials before asking, records a heartbeat while a trial is evaluated, and stores each
trial's record for the other workers; ``StopWhenSpent`` stops a worker once all of them
together have spent the budget. A worker process is ``autoprompt.search.worker``; the
study and its database are ``autoprompt.storage.shared``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autoprompt.records.candidate import Candidate
from autoprompt.records.progress import Progress
from autoprompt.records.trial import Trial, trial_record
from autoprompt.search.strategy import StrategyState
from autoprompt.storage.shared import SharedRun


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
                self.storage.record_heartbeat(trial_id)

        threading.Thread(target=beat, daemon=True).start()

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
        return self.inner.report(n, score)


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
        return StrategyState(trials=tuple(self.run.trials(self.inner.space)))

    def tell(self, proposal: Any, trial: Trial) -> None:
        assert isinstance(proposal, HeartbeatProposal)
        proposal.stop.set()
        optuna_trial = proposal.inner.trial
        for key, value in {**trial_record(trial, answers=True), "worker": os.getpid()}.items():
            optuna_trial.set_user_attr(key, value)
        self.inner.tell(proposal.inner, trial)


class StopWhenSpent:
    """Stops a worker once all workers together have spent ``calls``."""

    def __init__(self, run: SharedRun, calls: int) -> None:
        self.run = run
        self.calls = calls

    def __call__(self, trial: Trial, progress: Progress) -> bool:
        return self.run.spent() >= self.calls


