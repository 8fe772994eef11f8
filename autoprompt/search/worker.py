"""A worker of a shared run: ``work(url)`` joins the run at ``url`` (its study and cache in a
database). In a component search it evaluates trials until all workers together have spent the
budget; in a refinement run it answers the model requests the run's first process hands out
(``search.farm``) until that process is done. It returns what it did here: trials, or requests
answered. The run's first process finalizes. Without a run name it joins the database's only run
(several: an error naming them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.models.backend import limits_of
from autoprompt.models.registry import get_backend
from autoprompt.search.assembly import build_optimizer
from autoprompt.search.farm import serve
from autoprompt.storage.jobs import JobQueue
from autoprompt.storage.shared import STUDY, SharedRun


def work(url: str, *, run: str | None = None, model: Any = None, progress: bool = False,
         callbacks: Sequence[Any] = ()) -> int:
    """Join the shared run named ``run`` at ``url`` (None: the database's only run) as a worker until
    its budget is spent; return the trials done here."""
    if run is None:
        names = SharedRun(url).runs()
        if len(names) > 1:
            raise ConfigError(f"{url} holds {len(names)} runs ({', '.join(names)}); name the one to join with "
                              "--run NAME")
        run = names[0] if names else STUDY  # none: spec() says the database holds no run yet
    shared = SharedRun(url, name=run)
    if model is None:
        spec = shared.spec()
        if isinstance(spec.model, dict):
            raise ConfigError("this run was given a model object, which cannot be shared; pass model=... to the "
                              "worker")
    else:
        spec = shared.spec({"model": model})
    spec = spec.model_copy(update={"storage": url, "cache": None})
    if spec.strategy == "refine":
        backend = get_backend(spec.model, seed=spec.seed, limits=spec.limits(), key_env=spec.api_key_env,
                              options=spec.model_settings())
        return serve(JobQueue(url, run), backend, concurrency=limits_of(backend).concurrency)
    return build_optimizer(spec, callbacks=callbacks, progress=progress, worker=True).work()
