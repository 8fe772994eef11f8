"""The exception hierarchy: every error autoprompt raises on purpose, in one place.

A failed *example* (an unparseable answer, a refused request) is a score, never an
exception. Exceptions are for failures of the whole run:

- ``AutopromptError``: base class; the CLI turns any of these into a one-line
  message and the class's ``exit_code``: 2 for bad input (the user must change a setting,
  a file or the environment), 1 for a failure while running.
  - ``ConfigError``: the user asked for something impossible (bad option, bad budget).
    - ``DataError``: the data cannot be loaded or used (missing column, empty file...).
    - ``TemplateError``: a template does not parse or needs a variable the data lacks.
    - ``RunInUse``: another process is running in the same run directory (names its PID).
  - ``ModelError``: the model cannot be loaded or called at all (exit 1).
    - ``ModelConfigError`` (also a ``ConfigError``): a refused key, an unknown model, a model
      file that does not exist or load, refused parameters; a setting to fix (exit 2).
  - ``BudgetExhausted``: the call or time budget ran out; what was computed is kept (exit 1).
  - ``MissingDependency``: an optional package is not installed; says how to install it (exit 2).
  - ``TransientError`` (in ``retry``): a failure worth retrying (429, 5xx, timeout);
    never escapes the retry layer, which turns the last one into ``ExampleFailed``.
  - ``ExampleFailed``: one request failed (too long for the context, refused...); the
    evaluator records it as a failed score and the run goes on.

Every message names the problem and the fix. A value from the user or a file shows in a message
only as ``excerpt(value)`` (short, escaped), and a URL only through ``without_credentials``.
"""

from __future__ import annotations

import re
from typing import Any

_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def without_credentials(text: str) -> str:
    """``text`` with the credentials of every URL in it (``scheme://user:key@``) shown as ``***@``."""
    return _CREDENTIALS.sub(r"\1***@", text)


def excerpt(value: object, limit: int = 60) -> str:
    """``value`` as a message may quote it: its escaped ``repr``, cut to about ``limit`` characters,
    credentials in URLs masked, so a hostile or huge value never floods a terminal or leaks a key."""
    shown = without_credentials(repr(value))
    return shown if len(shown) <= limit else shown[:limit] + "...(" + str(len(shown)) + " characters)"


class AutopromptError(Exception):
    """Base class of every error autoprompt raises on purpose."""

    exit_code = 1  # the CLI's exit status: a failure while running


class ConfigError(AutopromptError):
    """An option or argument is invalid."""

    exit_code = 2  # bad input


class DataError(ConfigError):
    """The data set cannot be loaded or does not fit the task."""


class TemplateError(ConfigError):
    """A template is malformed or needs a variable the data does not have."""


class RunInUse(ConfigError):
    """Another process holds the run directory."""


class ModelError(AutopromptError):
    """The model cannot be loaded or used."""


class ModelConfigError(ModelError, ConfigError):
    """The model as named cannot be used: a key the service refuses, an unknown model, a model file that
    does not exist or load, parameters or a schema it refuses. A setting to fix (exit 2, as ``ConfigError``)."""


class BudgetExhausted(AutopromptError):
    """The budget of model calls, tokens, USD or wall time is spent.

    ``predictions`` holds whatever an evaluation finished before the budget ran out.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.predictions: list[Any] = []


class MissingDependency(AutopromptError):
    """An optional dependency is not installed."""

    exit_code = 2  # the environment to fix

    def __init__(self, package: str, extra: str | None = None, *, instead: str = "") -> None:
        fix = f"pip install 'autoprompt-search[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{package} is not installed; install it with: {fix}" + (f", {instead}" if instead else ""))
        self.package = package


# set (unless the user set them) before an optional dependency is imported, so none reaches the network:
# LiteLLM (imported by DSPy too) otherwise downloads its model cost map at import, and waits where there is none
OFFLINE_ENVIRONMENT = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def require(module: str, *, package: str | None = None, extra: str | None = None) -> Any:
    """Import an optional dependency (offline: ``OFFLINE_ENVIRONMENT``), or raise ``MissingDependency``
    saying how to install it."""
    import importlib
    import os

    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(package or module, extra) from None


class ExampleFailed(AutopromptError):
    """One example could not be scored; recorded as a failed score, never fatal.

    ``cacheable`` is True when the failure is a property of the answer (it names no
    label, the prompt does not fit) and asking again would fail the same way; False
    when the request itself never succeeded (retries ran out), so a re-run asks again.
    """

    def __init__(self, message: str = "", *, cacheable: bool = True) -> None:
        super().__init__(message)
        self.cacheable = cacheable
