"""Settings checks: every number and object ``optimize`` takes, checked before any work.

Contract: ``check_settings(arguments)`` raises ``ConfigError`` for the first setting
that is the wrong type or out of range, naming the setting, the range and the value
it got. The CLI, YAML configs, ``run.json`` (resume) and shared runs all reach the
search through ``optimize``, so this one check covers every way a setting enters.
Imports the error hierarchy, the API limits record and the Backend protocol only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .api import Limits
from .backend import Backend
from .errors import ConfigError

MAX_SEED = 2**32 - 1  # numpy's and Optuna's samplers take seeds up to this


def _whole(name: str, value: Any, low: int, high: int | None = None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    in_range = isinstance(value, int) and not isinstance(value, bool) and value >= low \
        and (high is None or value <= high)
    if not in_range:
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ConfigError(f"{name} must be a whole number {bound}, got {value!r}")


def _positive(name: str, value: Any) -> None:
    if value is None:
        return
    usable = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not usable:
        raise ConfigError(f"{name} must be a finite number above 0, got {value!r}")


def check_settings(a: Mapping[str, Any]) -> None:
    """Raise ``ConfigError`` for the first unusable setting in ``optimize``'s arguments."""
    if a.get("budget") is None or (isinstance(a.get("budget"), int) and not isinstance(a.get("budget"), bool) \
            and a["budget"] <= 0):
        raise ConfigError(f"budget must be a positive number of model calls, got {a.get('budget')!r}; "
                          "pass e.g. --budget 500")
    _whole("budget", a.get("budget"), 1)
    _whole("seed", a.get("seed", 0), 0, MAX_SEED)
    _whole("first_rung", a.get("first_rung", 16), 1)
    _whole("top_k", a.get("top_k", 3), 1)
    _whole("max_tokens", a.get("max_tokens"), 1, optional=True)
    if a.get("max_prompt_tokens") is not None and not (isinstance(a["max_prompt_tokens"], int)
                                                       and a["max_prompt_tokens"] > 0):
        raise ConfigError(f"max_prompt_tokens must be a positive number of tokens, got {a['max_prompt_tokens']!r}")
    for name in ("max_seconds", "max_usd"):
        _positive(name, a.get(name))
    limits = a.get("limits")
    if limits is not None:
        if not isinstance(limits, Limits):
            raise ConfigError("limits must be autoprompt.api.Limits(concurrency, rpm, tpm), "
                              f"got {type(limits).__name__}")
        _whole("concurrency", limits.concurrency, 1)
        _positive("rpm", limits.rpm)
        _positive("tpm", limits.tpm)
    for name in ("model", "optimizer_model", "judge_model"):
        value = a.get(name)
        if value is not None and not isinstance(value, str | Backend):
            raise ConfigError(f"{name} must be a model spec like 'local' or 'openai:gpt-4o-mini', or an object with "
                              f"the Backend methods (name, supports_chat, score, generate); got "
                              f"{type(value).__name__}")
