"""What an ``Optimizer`` is given beside its spec and task, in small frozen records: ``Models`` (the model
under optimization, the judge, the optimizer model), ``Grading`` (the metric, consistency, feedback),
``Spending`` (the budget, the response cache, the prices; ``client(backend)`` makes a client through them)
and ``Sharing`` (a shared run's place in the database, and what its first process saves there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autoprompt.evaluate.consistency import Consistency
from autoprompt.evaluate.metric import Metric
from autoprompt.models.backend import Backend
from autoprompt.models.budget import Budget, BudgetSpec
from autoprompt.models.cache import ResponseCache
from autoprompt.models.client import Client
from autoprompt.models.ratelimit import Limiter
from autoprompt.models.usage import PriceTable
from autoprompt.records.feedback import Feedback
from autoprompt.storage.shared import SharedRun


@dataclass(frozen=True)
class Grading:
    """How answers are scored: the metric, and the consistency sampling and reviewers' feedback when asked."""

    metric: Metric
    consistency: Consistency | None = None
    feedback: tuple[Feedback, ...] = ()


@dataclass(frozen=True)
class Spending:
    """What the run may spend and where its answers are kept: the budget, the response cache, the prices."""

    budget: BudgetSpec
    cache: ResponseCache | None = None
    prices: PriceTable | None = None

    def client(self, backend: Backend, budget: Budget | None = None, limiter: Limiter | None = None) -> Client:
        """A client of ``backend`` through the run's cache and prices, charging ``budget``."""
        return Client(backend, budget, cache=self.cache, prices=self.prices, limiter=limiter)


@dataclass(frozen=True)
class Sharing:
    """A shared run: its place in the database, and the arguments the first process saves there (a worker:
    None)."""

    run: SharedRun
    arguments: dict[str, Any] | None = None
    reopen: bool = False  # the first process restarted from its run folder: it takes up its run again


@dataclass(frozen=True)
class Models:
    """The models a run talks to: the one under optimization, a judge when it is another model,
    and the optimizer model that writes instructions (None: not used)."""

    backend: Backend
    judge: Backend | None = None
    writer: Backend | None = None
