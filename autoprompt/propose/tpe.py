"""Optuna's TPE sampler, the one factory the explore operator and the component search share.

Contract: ``optuna_module()`` imports Optuna on first use (``MissingDependency`` without it);
``quiet_optuna()`` turns Optuna's per-trial log lines off while a block runs (a search's own
studies) and puts the ``optuna`` logger's level back afterwards, so a user's own studies keep
the verbosity they chose; ``tpe_sampler(seed, startup=10)`` is a seeded multivariate TPE
sampler, with Optuna's experimental-feature warning kept quiet.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from autoprompt.errors import require


def optuna_module() -> Any:
    """Optuna, imported on first use."""
    return require("optuna")


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's INFO lines (a study created, each trial finished) off inside the block; the
    ``optuna`` logger's own level, whatever the user set, back on leaving it."""
    optuna_module()  # Optuna sets its logger up on import; import it first, so the level restored is its own
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def tpe_sampler(seed: int, *, startup: int = 10) -> Any:
    """Multivariate TPE, seeded; ``startup`` random trials before it models the space."""
    optuna = optuna_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True)
