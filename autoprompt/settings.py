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

from autoprompt.models.backend import Backend
from autoprompt.models.hosted import Limits

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
    budget = a.get("budget")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget <= 0:
        raise ConfigError(f"budget must be a positive number of model calls, got {budget!r}; pass e.g. --budget 500")
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
            raise ConfigError("limits must be autoprompt.models.hosted.Limits(concurrency, rpm, tpm), "
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


def check_saved(arguments: Any, where: str) -> dict[str, Any]:
    """``run.json``'s (or a shared run's) saved arguments, checked for shape before they become
    ``optimize``'s: an unknown name or a value of the wrong type is a ``ConfigError`` naming it."""
    from pydantic import ValidationError

    if not isinstance(arguments, dict):
        raise ConfigError(f"{where} is damaged (its arguments are not a mapping); start a new run")
    try:
        _saved_model().model_validate(arguments)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        got = repr(error.get("input"))[:80]
        fix = "remove it" if error["type"] == "extra_forbidden" else "fix it, or start a new run"
        raise ConfigError(f"{where}: argument {key}: {error['msg']} (got {got}); {fix}") from None
    return dict(arguments)


def _saved_model() -> Any:
    """The JSON shape of every ``optimize`` argument as ``run.json`` keeps it."""
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

    number = StrictInt | StrictFloat
    marker = dict[Literal["object"], StrictStr]  # an object that could not be saved: passed again on resume

    class Saved(BaseModel):
        model_config = ConfigDict(extra="forbid")

        data: StrictStr
        inputs: StrictStr | list[StrictStr] | None = None
        target: StrictStr | None = None
        dev: StrictStr | None = None
        test: StrictStr | None = None
        template: StrictStr | None = None
        model: StrictStr | marker = "local"
        metric: StrictStr | marker | None = None
        budget: Any = 500  # its range is check_settings'
        max_seconds: Any = None
        max_tokens: Any = None
        max_usd: Any = None
        cache: StrictStr | marker | None = None
        prices: dict[Literal["prices"], dict[StrictStr, list[number]]] | marker | None = None
        limits: dict[Literal["concurrency", "rpm", "tpm"], number | None] | None = None
        seed: Any = 0
        kind: Literal["classification", "generation"] | None = None
        description: StrictStr | None = None
        label_definitions: dict[StrictStr, StrictStr] | None = None
        label_words: dict[StrictStr, dict[StrictStr, StrictStr]] | None = None
        library: dict[Literal["library"], dict[StrictStr, dict[StrictStr, dict[StrictStr, Any]]]] | marker | None = None
        clarifiers: list[StrictStr] = Field(default_factory=list)
        context: list[StrictStr] = Field(default_factory=list)
        top_k: Any = 3
        first_rung: Any = 16
        strategy: StrictStr = "refine"
        operators: list[StrictStr] = Field(default_factory=list)
        optimizer_model: StrictStr | marker | None = None
        max_prompt_tokens: Any = None
        storage: StrictStr | None = None
        judge_model: StrictStr | marker | None = None
        consistency: StrictInt | dict[Literal["samples", "temperature", "weight"], number] | None = None
        feedback: StrictStr | list[dict[StrictStr, Any]] | None = None
        progress: StrictBool = False

    return Saved
