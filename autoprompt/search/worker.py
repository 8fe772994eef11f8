"""A worker of a shared run: ``work(url)`` joins the run at ``url`` (its study and cache in a
database) and evaluates trials until all workers together have spent the budget; it returns the
trials done here. The run's first process finalizes.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.search.optimizer import build_optimizer, optimize
from autoprompt.storage.shared import SharedRun


def work(url: str, *, model: Any = None, progress: bool = False, callbacks: Sequence[Any] = ()) -> int:
    """Join the shared run at ``url`` as a worker until its budget is spent; return the trials done here."""
    arguments = SharedRun(url).arguments()
    if model is not None:
        arguments["model"] = model
    elif isinstance(arguments.get("model"), dict):
        raise ConfigError("this run was given a model object, which cannot be shared; pass model=... to the worker")
    defaults = {k: v.default for k, v in inspect.signature(optimize).parameters.items() if k != "data"}
    settings = {**defaults, **arguments, "storage": url, "worker": True, "progress": progress,
                "callbacks": list(callbacks), "cache": None}
    return build_optimizer(settings).work()
