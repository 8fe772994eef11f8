"""autoprompt: find better prompts automatically, measured honestly, exported for production.

    >>> import autoprompt
    >>> result = autoprompt.optimize("sentiment", model="local", budget=800, seed=0)
    >>> result.export("out/")                       # winner, trials, report.html, report.md
    >>> prompt = autoprompt.load_prompt("out/")     # needs only jinja2
    >>> autoprompt.export_run("out/", "openai")     # also anthropic, dspy, promptfoo, jinja
    >>> autoprompt.review("runs/demo")              # rate answers, type notes; resume acts on them

Importing this package imports nothing heavy: pandas, optuna and llama-cpp-python
load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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
from .export import ExportedPrompt, load_prompt
from .prompt import Prompt
from .template import Template

__version__ = "0.1.0"

__all__ = [
    "AutopromptError",
    "Backend",
    "BudgetExhausted",
    "Candidate",
    "ConfigError",
    "Consistency",
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
    "Prompt",
    "RunInUse",
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
    "Backend": "backend",
    "FakeBackend": "backend",
    "LocalBackend": "local",
    "Candidate": "candidate",
    "Dataset": "dataset",
    "Example": "dataset",
    "load_data": "dataset",
    "split": "dataset",
    "Metric": "metric",
    "get_metric": "metric",
    "OptimizationResult": "result",
    "TemplateLibrary": "library",
    "Trial": "trial",
    "TrialState": "trial",
    "optimize": "optimizer",
    "export_run": "formats",
    "write_report": "report",
    "resume": "run",
    "Consistency": "consistency",
    "Feedback": "feedback",
    "Verdict": "feedback",
    "review": "reviewing",
}

if TYPE_CHECKING:
    from .backend import Backend, FakeBackend
    from .candidate import Candidate
    from .consistency import Consistency
    from .dataset import Dataset, Example, load_data, split
    from .feedback import Feedback, Verdict
    from .formats import export_run
    from .library import TemplateLibrary
    from .local import LocalBackend
    from .metric import Metric, get_metric
    from .optimizer import optimize
    from .report import write_report
    from .result import OptimizationResult
    from .reviewing import review
    from .run import resume
    from .trial import Trial, TrialState


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'autoprompt' has no attribute {name!r}")
