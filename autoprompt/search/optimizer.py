"""``optimize``: the one-call Python API, a thin face over the run specification.

Contract: ``optimize(data, ...)`` takes the top-level settings and the spec's group records
(``spec.groups``), flattens them into settings by name, turns those into a ``RunSpec`` (``spec.spec_from``,
which checks every one) and runs it (``assembly.run_spec``). A group's fields are its keywords, so a
setting added to a group needs no change here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.models.backend import Backend
from autoprompt.search.assembly import run_spec
from autoprompt.search.callbacks import Callback
from autoprompt.search.result import OptimizationResult
from autoprompt.spec import Answers, Calls, Run, Search, Start, spec_from
from autoprompt.spec.groups import Group


def optimize(
    data: Any,
    *,
    inputs: str | Sequence[str] | None = None,
    target: str | None = None,
    model: str | Backend = "local",
    budget: int = 500,
    seed: int = 0,
    template: str | Path | Start | None = None,
    answers: Answers | None = None,
    search: Search | None = None,
    calls: Calls | None = None,
    run: str | Path | Run | None = None,
    callbacks: Sequence[Callback] = (),
) -> OptimizationResult:
    """Search for a better prompt and score it honestly.

    ``data`` is a CSV/JSONL path, a DataFrame, a ``Dataset`` or a bundled task name
    (``sentiment``, ``intent``, ``past_tense``), ``inputs`` and ``target`` its columns. Without
    ``Search(dev=..., test=...)`` it is split 20/40/40 (stratified, seeded) into train (demonstrations),
    dev (selection) and test (the final, once-only comparison); training rows outside the demonstration
    pool score candidates too (``splits.selection_rows``). ``budget`` caps model calls during the search.
    Same seed, same result.

    ``template`` is the starting prompt (a file or Jinja text using the input column names), or a
    ``Start`` record that also holds a system message, the task's description, label definitions and
    words, your own clarifiers and context blocks (files or Jinja text), a template library and
    reviewers' ``feedback`` (records or a ``feedback.jsonl`` file, as ``autoprompt review`` writes them;
    a run directory's own file is read as well), which turns notes into clarifiers and rewrites. The
    winner is only ever something else than the start when it beats it beyond noise on held-out rows;
    without a template the search starts from the best of the plain prompts (every bare skeleton and a
    plain instruction built from the column names and labels).

    ``answers`` (``Answers``): the task kind, the metric, free-text settings (``max_output_tokens``,
    ``stop``, ``answer_pattern``, ``json_schema``), the judge and consistency. Free text:
    ``metric="judge:correctness"`` (or ``faithfulness``, ``concision``, ``tone``, a ``.jinja`` rubric, or a
    weighted sum like ``0.5*judge:concision+0.5*rougeL``) grades each output with ``judge_model``
    (default: ``model``); judge calls count against ``budget`` and its reasons steer refinement.
    ``consistency`` (a number of samples) measures how much sampled answers agree, reported beside the
    score, and with ``consistency_weight`` above 0 optimized with it.

    ``search`` (``Search``): the dev and test rows, and how the search moves. ``strategy="refine"``
    (default) refines the prompt round by round from what it gets wrong, with the operator families in
    ``operators`` (``move``, ``demos``, ``explore``, ``edit``, ``words``, ``rewrite``); ``rewrite`` needs
    ``optimizer_model``, a model spec like ``model`` (it may be the same model). ``strategy="components"``
    searches the component space with Optuna's TPE instead. ``max_prompt_tokens`` skips proposals whose
    prompt is longer (the starting prompt is always scored). Optimizer-model calls count against
    ``budget`` like every other call.

    ``calls`` (``Calls``): the API's base URL, key variable and options; concurrency, requests and tokens per
    minute; the response cache (a SQLite file or a ``ResponseCache`` that keeps every answer, so a re-run
    pays only for new requests); prices; and the caps beside ``budget``: ``max_seconds``, ``max_tokens``
    and ``max_usd``.

    ``run`` is a folder, or a ``Run`` record. Its ``run_dir`` makes the run crash-safe (see
    ``autoprompt.storage.run``): the arguments, the response cache and a trial log live there from the
    first call, the result is exported there at the end, and ``autoprompt.resume(run_dir)`` continues the
    run after an interruption without paying again for any answer that arrived. Its ``storage`` (a
    database URL, e.g. ``postgresql://user@host/db``) makes this a shared run (see
    ``autoprompt.storage.shared``): ``autoprompt worker --storage URL`` processes, here or on other
    machines, join it. With ``strategy="refine"`` they answer this process's model requests
    (``autoprompt.search.farm``), and the search runs here as it would alone; with ``"components"`` each
    joins the Optuna study and the response cache there, and this process finalizes once the budget is
    spent. ``run_name`` names the run there, so one database holds many runs (workers pass ``--run
    NAME``). ``track="mlflow"`` logs the finished run to MLflow (``autoprompt.search.mlflow_log``):
    settings, scores, every trial's dev score, the reports and exports, and the winner in the Prompt
    Registry (under the ``run_dir`` folder's name, else ``run_name``).

    ``callbacks`` are called after each trial (``autoprompt.ProgressBar()`` draws the search's progress);
    one that returns True stops the search.
    """
    start = template if isinstance(template, Start) else Start(
        template=None if template is None else str(template) if isinstance(template, str | Path) else template)
    place = run if isinstance(run, Run) else Run(run_dir=None if run is None else str(run) if isinstance(
        run, str | Path) else run)
    settings = {"data": data, "inputs": inputs, "target": target, "model": model, "budget": budget, "seed": seed}
    for group in (start, _record("answers", answers, Answers), _record("search", search, Search),
                  _record("calls", calls, Calls), place):
        settings.update(group.settings())
    spec = spec_from(settings, "optimize()")
    return run_spec(spec, callbacks=callbacks)


def _record(keyword: str, given: Any, record: type[Group]) -> Group:
    """The record given for ``keyword`` (None: its defaults); anything else is one ``ConfigError``."""
    if given is None:
        return record()
    if not isinstance(given, record):
        raise ConfigError(f"optimize(): {keyword} must be autoprompt.{record.__name__}(...), got "
                          f"{type(given).__name__}; e.g. {keyword}=autoprompt.{record.__name__}()")
    return given
