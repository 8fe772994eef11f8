"""Optuna's TPE sampler, the one factory the explore operator and the component search share.

Contract: ``optuna_module()`` imports Optuna on first use (``MissingDependency`` without it)
and silences its per-trial log lines; ``tpe_sampler(seed, startup=10)`` is a seeded
multivariate TPE sampler, with Optuna's experimental-feature warning kept quiet.
"""

from __future__ import annotations

import warnings
from typing import Any

from autoprompt.errors import require


def optuna_module() -> Any:
    """Optuna, imported on first use, with its per-trial log lines off."""
    optuna = require("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def tpe_sampler(seed: int, *, startup: int = 10) -> Any:
    """Multivariate TPE, seeded; ``startup`` random trials before it models the space."""
    optuna = optuna_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True)
