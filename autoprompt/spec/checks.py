"""Ranges: one message per setting, whichever door it came through (``check_ranges``), checked before
types so a number out of range reads the same from the API, the command line, YAML and ``run.json``;
model options that look like secrets are refused.

Imports the error hierarchy, the prompts' pattern check, the models' ``Backend`` and the spec's fields.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from autoprompt.errors import ConfigError, excerpt
from autoprompt.models.backend import Backend
from autoprompt.prompts.pattern import check_pattern
from autoprompt.spec.fields import options
from autoprompt.spec.values import kept_object, model_settings

MAX_SEED = 2**32 - 1  # numpy's and Optuna's samplers take seeds up to this


def default(name: str) -> Any:
    """A setting's default, as ``RunSpec`` declares it (the checks below never restate one)."""
    return options()[name][0]


def value_or_default(given: Mapping[str, Any], name: str) -> Any:
    """The setting as given, else its default."""
    return given.get(name, default(name))


def _whole(name: str, value: Any, low: int, high: int | None = None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    in_range = isinstance(value, int) and not isinstance(value, bool) and value >= low \
        and (high is None or value <= high)
    if not in_range:
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ConfigError(f"{name} must be a whole number {bound}, got {excerpt(value)}")


def _number(name: str, value: Any, *, low: float = 0.0, high: float | None = None, inclusive: bool = False,
            optional: bool = True) -> None:
    if value is None and optional:
        return
    usable = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) \
        and (value >= low if inclusive else value > low) and (high is None or value <= high)
    if not usable:
        bound = f"from {low:g} to {high:g}" if high is not None else f"above {low:g}"
        raise ConfigError(f"{name} must be a finite number {bound}, got {excerpt(value)}")


def check_ranges(a: Mapping[str, Any]) -> None:
    """``ConfigError`` for the first number or object out of its range or of the wrong kind."""
    budget = value_or_default(a, "budget")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget <= 0:
        raise ConfigError(f"budget must be a positive number of model calls, got {excerpt(budget)}; "
                          "pass e.g. --budget 500")
    _whole("seed", value_or_default(a, "seed"), 0, MAX_SEED)
    _whole("first_rung", value_or_default(a, "first_rung"), 1)
    _whole("top_k", value_or_default(a, "top_k"), 1)
    _whole("max_tokens", a.get("max_tokens"), 1, optional=True)
    _whole("max_prompt_tokens", a.get("max_prompt_tokens"), 1, optional=True)
    _whole("concurrency", value_or_default(a, "concurrency"), 1)
    _whole("consistency", value_or_default(a, "consistency"), 0)
    for name in ("max_seconds", "max_usd", "rpm", "tpm"):
        _number(name, a.get(name))
    price = a.get("price")
    if price is not None and not (isinstance(price, list | tuple) and len(price) in (2, 3) and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in price)):
        raise ConfigError(f"price must be two (or three) finite numbers of 0 or more (USD per million input, "
                          f"output and cached input tokens), got {excerpt(price)}; pass e.g. --price 0.15,0.60")
    _check_model_options(value_or_default(a, "model_options"))
    _whole("max_output_tokens", a.get("max_output_tokens"), 1, optional=True)
    pattern = a.get("answer_pattern")
    if isinstance(pattern, str):
        check_pattern(pattern, f"answer_pattern {pattern[:80]!r} (fix it, e.g. --answer-pattern 'Answer: (.*)')")
    _number("temperature", value_or_default(a, "temperature"), optional=False)
    _number("consistency_weight", value_or_default(a, "consistency_weight"), high=1.0, inclusive=True, optional=False)
    for name in ("model", "optimizer_model", "judge_model"):
        value = a.get(name)
        if value is not None and not isinstance(value, str | Backend) and not kept_object(value):
            raise ConfigError(f"{name} must be a model spec like 'local' or 'openai:gpt-4o-mini', or an object with "
                              f"the Backend methods (name, supports_chat, score, generate); got "
                              f"{type(value).__name__}")


# option names that hold secrets: never saved, so refused (max_tokens and other counts are not secrets)
SECRET_OPTION = re.compile(r"(?i)(api[_-]?key|secret|passw(or)?d|authori[sz]ation|bearer|credential"
                           r"|(^|[_-])token($|[_-])|(^|[_-])auth($|[_-]))")


def _check_model_options(options: Any) -> None:
    if isinstance(options, str):
        options = [options]
    if not isinstance(options, list | tuple):
        return  # the type check names it
    for option in options:
        if not isinstance(option, str) or "=" not in option or not option.partition("=")[0].strip():
            raise ConfigError(f"a model option must be KEY=VALUE, got {excerpt(option)}; pass e.g. --model-option "
                              "reasoning_effort=low")
    settings = model_settings(options)
    secret = next((name for name in settings if SECRET_OPTION.search(name)), None)
    if secret is not None:
        raise ConfigError(f"model option {secret[:40]!r} looks like a secret, and model options are saved in run.json "
                          "and sent with every request; put the key in an environment variable and name it with "
                          "--api-key-env")
    for name in ("max_completion_tokens", "batch"):
        if settings.get(name) is not None:
            _whole(name, settings[name], 1)
