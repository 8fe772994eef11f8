"""A worker of a shared run: ``work(url)`` joins the run at ``url`` (its study and cache in a
database). In a component search it evaluates trials until all workers together have spent the
budget; in a refinement run it answers the model requests the run's first process hands out
(``search.farm``) until that process is done. It returns what it did here, a ``WorkDone``: trials run,
or model requests answered. The run's first process finalizes. Without a run name it joins the database's only run
(several: an error naming them). With ``wait``, a worker started before its run waits up to that many
seconds for the run's first process to open it (a farm's workers are started first).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.models.backend import limits_of
from autoprompt.models.registry import get_backend
from autoprompt.search.assembly import build_optimizer
from autoprompt.search.farm import serve
from autoprompt.spec import spec_from
from autoprompt.storage.jobs import JobQueue
from autoprompt.storage.shared import STUDY, SharedRun, opened_runs, shown

LOG = logging.getLogger("autoprompt.search")


class Unit(enum.Enum):
    """What a worker counts: trials of a component search, or model requests of a refinement run."""

    TRIALS = "trial"
    REQUESTS = "model request"


@dataclass(frozen=True)
class WorkDone:
    """What one worker did for a shared run: ``count`` trials or requests."""

    unit: Unit
    count: int

    def __str__(self) -> str:
        return f"{self.count} {self.unit.value}{'' if self.count == 1 else 's'}"


def work(url: str, *, run: str | None = None, model: Any = None, progress: bool = False,
         callbacks: Sequence[Any] = (), wait: float = 0.0) -> WorkDone:
    """Join the shared run named ``run`` at ``url`` (None: the database's only run) as a worker until
    its budget is spent, waiting up to ``wait`` seconds for it to open; return the trials (component
    search) or model requests (refinement) done here."""
    shared = SharedRun(url, name=_joined(url, run, wait))
    saved = {**shared.arguments(), **({} if model is None else {"model": model})}
    spec = spec_from(saved, f"the shared run at {shown(url)}")
    if model is None and isinstance(spec.model, dict):
        raise ConfigError("this run was given a model object, which cannot be shared; pass model=... to the worker")
    spec = spec.updated(storage=url, cache=None)
    if spec.search.strategy == "refine":
        backend = get_backend(spec.model, seed=spec.seed, limits=spec.limits(), key_env=spec.calls.api_key_env,
                              options=spec.model_settings())
        answered = serve(JobQueue(url, shared.name), backend, concurrency=limits_of(backend).concurrency)
        return WorkDone(Unit.REQUESTS, answered)
    return WorkDone(Unit.TRIALS, build_optimizer(spec, callbacks=callbacks, progress=progress, worker=True).work())


def _joined(url: str, run: str | None, wait: float) -> str:
    """The name of the run to join: ``run``, else the database's only run, waiting up to ``wait`` seconds
    for it to open (after that, ``spec()`` says what the database holds)."""
    deadline = time.monotonic() + wait
    if wait > 0 and not _open(url, run):
        LOG.warning("waiting up to %g s for the run %s at %s to open", wait, run or "(any)", shown(url))
        while not _open(url, run) and time.monotonic() < deadline:
            time.sleep(0.2)
    names = SharedRun(url).runs()
    if run is None and len(names) > 1:
        raise ConfigError(f"{shown(url)} holds {len(names)} runs ({', '.join(names)}); name the one to join with "
                          "--run NAME")
    return run or (names[0] if names else STUDY)  # none: spec() says the database holds no run yet


def _open(url: str, run: str | None) -> bool:
    names = opened_runs(url)
    return run in names if run else bool(names)
