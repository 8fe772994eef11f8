"""autoprompt: find better prompts automatically, measured honestly, exported for production.

    >>> import autoprompt
    >>> result = autoprompt.optimize("sentiment", model="local", budget=800, seed=0)
    >>> result.export("out/")                       # winner, trials, report.html, report.md
    >>> prompt = autoprompt.load_prompt("out/")     # needs only jinja2
    >>> autoprompt.export_run("out/", "openai")     # also anthropic, dspy, promptfoo, jinja
    >>> autoprompt.review("runs/demo")              # rate answers, type notes; resume acts on them

Importing this package imports nothing heavy: pandas, optuna and llama-cpp-python
load on first use. A search logs each trial and its decisions to the ``autoprompt`` logger at
INFO; like any library, it shows nothing until the application configures logging
(``logging.basicConfig(level="INFO")``, or the CLI's ``-v``).
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import TYPE_CHECKING, Any

from autoprompt.export.manifest import ExportedPrompt, load_prompt
from autoprompt.prompts.prompt import Prompt
from autoprompt.prompts.template import Template
from autoprompt.version import __version__

from .errors import (
    AutopromptError,
    BudgetExhausted,
    ConfigError,
    DataError,
    ExampleFailed,
    MissingDependency,
    ModelError,
    RunInUse,
    TemplateError,
)

logging.getLogger("autoprompt").addHandler(logging.NullHandler())  # the library's one logger, quiet by default

__all__ = [
    "Answers",
    "AutopromptError",
    "Backend",
    "BudgetExhausted",
    "Calls",
    "Candidate",
    "ConfigError",
    "DataError",
    "Dataset",
    "Example",
    "ExampleFailed",
    "ExportedPrompt",
    "FakeBackend",
    "Feedback",
    "LocalBackend",
    "Metric",
    "MissingDependency",
    "ModelError",
    "OptimizationResult",
    "ProgressBar",
    "Prompt",
    "Run",
    "RunInUse",
    "Search",
    "Start",
    "Template",
    "TemplateError",
    "TemplateLibrary",
    "Trial",
    "TrialState",
    "Verdict",
    "__version__",
    "export_run",
    "get_metric",
    "load_data",
    "load_prompt",
    "optimize",
    "resume",
    "review",
    "split",
    "write_report",
]

_LAZY = {
    "Backend": "models.backend",
    "FakeBackend": "models.backend",
    "LocalBackend": "models.local",
    "Candidate": "prompts.compose",
    "Dataset": "data.dataset",
    "Example": "data.dataset",
    "load_data": "data.dataset",
    "split": "data.splits",
    "Metric": "evaluate.metric",
    "get_metric": "evaluate.registry",
    "OptimizationResult": "search.result",
    "TemplateLibrary": "prompts.library",
    "Trial": "records.trial",
    "TrialState": "records.trial",
    "optimize": "search.optimizer",
    "export_run": "export.formats",
    "write_report": "search.run_report",
    "resume": "search.resume",
    "Start": "spec.groups",
    "Answers": "spec.groups",
    "Search": "spec.groups",
    "Calls": "spec.groups",
    "Run": "spec.groups",
    "ProgressBar": "search.callbacks",
    "Feedback": "records.feedback",
    "Verdict": "records.feedback",
    "review": "reviewing",
}

if TYPE_CHECKING:
    from autoprompt.data.dataset import Dataset, load_data
    from autoprompt.data.splits import split
    from autoprompt.evaluate.metric import Metric
    from autoprompt.evaluate.registry import get_metric
    from autoprompt.export.formats import export_run
    from autoprompt.models.backend import Backend, FakeBackend
    from autoprompt.models.local import LocalBackend
    from autoprompt.prompts.library import TemplateLibrary
    from autoprompt.records.candidate import Candidate
    from autoprompt.records.example import Example
    from autoprompt.records.feedback import Feedback, Verdict
    from autoprompt.records.trial import Trial, TrialState
    from autoprompt.search.callbacks import ProgressBar
    from autoprompt.search.optimizer import optimize
    from autoprompt.search.result import OptimizationResult
    from autoprompt.search.resume import resume
    from autoprompt.search.run_report import write_report
    from autoprompt.spec.groups import Answers, Calls, Run, Search, Start

    from .reviewing import review


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'autoprompt' has no attribute {name!r}")
