"""The public API: a pinned ``__all__`` and an import with no side effects."""

from __future__ import annotations

import subprocess
import sys

import autoprompt

EXPECTED = {
    "Answers", "AutopromptError", "Backend", "BudgetExhausted", "Calls", "Candidate", "ConfigError", "DataError",
    "Dataset", "Example", "ExampleFailed", "ExportedPrompt", "FakeBackend", "Feedback", "LocalBackend", "Metric",
    "MissingDependency", "ModelError", "OptimizationResult", "ProgressBar", "Prompt", "Run", "RunInUse", "Search",
    "Start", "Template", "TemplateError",
    "TemplateLibrary", "Trial", "TrialState", "Verdict", "__version__", "export_run", "get_metric", "load_data",
    "load_prompt", "optimize", "resume", "review", "split", "write_report",
}


def test_all_is_pinned() -> None:
    assert set(autoprompt.__all__) == EXPECTED
    for name in autoprompt.__all__:
        assert getattr(autoprompt, name) is not None


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, autoprompt; "
        "heavy = [m for m in ('pandas', 'optuna', 'llama_cpp', 'numpy', 'openai', 'dspy', 'matplotlib', "
        "'pydantic', 'yaml') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        autoprompt.does_not_exist  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "does_not_exist" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
