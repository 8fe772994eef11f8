"""``optimize``: the one-call Python API, a thin face over the run specification.

Contract: ``optimize(data, ...)`` turns its keyword arguments into a ``RunSpec`` (``spec.spec_from``,
which checks every one) and runs it (``assembly.run_spec``). Constructors only store arguments;
the work happens in ``Optimizer.run()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.evaluate.consistency import Consistency
from autoprompt.evaluate.metric import Metric
from autoprompt.models.backend import Backend, Limits
from autoprompt.models.cache import ResponseCache
from autoprompt.models.usage import PriceTable
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.propose.registry import FAMILIES
from autoprompt.records.example import Example
from autoprompt.records.feedback import Feedback
from autoprompt.records.task_kind import TaskKind
from autoprompt.search.assembly import run_spec
from autoprompt.search.callbacks import Callback
from autoprompt.search.result import OptimizationResult
from autoprompt.spec import spec_from


def optimize(
    data: Any,
    *,
    inputs: str | Sequence[str] | None = None,
    target: str | None = None,
    dev: Any = None,
    test: Any = None,
    template: str | Path | None = None,
    system: str | Path | None = None,
    model: str | Backend = "local",
    api_base: str | None = None,
    api_key_env: str | None = None,
    model_options: Sequence[str] = (),
    max_output_tokens: int | None = None,
    stop: Sequence[str] | None = None,
    answer_pattern: str | None = None,
    json_schema: str | None = None,
    metric: str | Metric | Callable[[Example, str], float] | None = None,
    budget: int = 500,
    max_seconds: float | None = None,
    max_tokens: int | None = None,
    max_usd: float | None = None,
    cache: str | Path | ResponseCache | None = None,
    prices: PriceTable | None = None,
    price: tuple[float, ...] | None = None,
    limits: Limits | None = None,
    seed: int = 0,
    kind: TaskKind | str | None = None,
    description: str | None = None,
    label_definitions: Mapping[str, str] | None = None,
    label_words: Mapping[str, Mapping[str, str]] | None = None,
    library: TemplateLibrary | None = None,
    clarifiers: Sequence[str | Path] = (),
    context: Sequence[str | Path] = (),
    callbacks: Sequence[Callback] | None = None,
    progress: bool = False,
    top_k: int = 3,
    first_rung: int = 16,
    strategy: str = "refine",
    operators: Sequence[str] = FAMILIES,
    optimizer_model: str | Backend | None = None,
    max_prompt_tokens: int | None = None,
    run_dir: str | Path | None = None,
    storage: str | None = None,
    run_name: str = "autoprompt",
    judge_model: str | Backend | None = None,
    consistency: int | Consistency | None = None,
    feedback: str | Path | Sequence[Feedback] | None = None,
    track: str | None = None,
) -> OptimizationResult:
    """Search for a better prompt and score it honestly.

    ``data`` is a CSV/JSONL path, a DataFrame, a ``Dataset`` or a bundled task name
    (``sentiment``, ``intent``, ``past_tense``). Without ``dev``/``test`` it is split
    20/40/40 (stratified, seeded) into train (demonstrations), dev (selection) and
    test (the final, once-only comparison); training rows outside the demonstration
    pool score candidates too (``splits.selection_rows``). ``template`` is the starting
    prompt (a file or Jinja text using the input column names), and the winner is only
    ever something else when it beats it beyond noise on held-out rows; without it the
    search starts from the best of the plain prompts (every bare skeleton and a plain
    instruction built from the column names and labels). ``budget`` caps
    model calls during the search; ``max_seconds``, ``max_tokens`` and ``max_usd`` cap
    wall time, tokens and cost. ``cache`` is a SQLite file (or a ``ResponseCache``) that
    keeps every answer, so a re-run pays only for new requests. ``limits`` caps concurrent
    requests, requests and tokens per minute for API models. ``clarifiers`` and
    ``context`` add your own blocks (files or Jinja text) to the library's. Same seed, same result.

    ``strategy="refine"`` (default) refines the prompt round by round from what it gets
    wrong, with the operator families in ``operators`` (``move``, ``demos``, ``explore``, ``edit``,
    ``words``, ``rewrite``); ``rewrite`` needs ``optimizer_model``, a model spec like
    ``model`` (it may be the same model). ``strategy="components"`` searches the component
    space with Optuna's TPE instead. ``max_prompt_tokens`` skips proposals whose prompt
    is longer (the starting prompt is always scored). Optimizer-model calls count
    against ``budget`` like every other call.

    ``run_dir`` makes the run crash-safe (see ``autoprompt.storage.run``): the arguments, the
    response cache and a trial log live there from the first call, the result is
    exported there at the end, and ``autoprompt.resume(run_dir)`` continues the run after
    an interruption without paying again for any answer that arrived.

    ``storage`` (a database URL, e.g. ``postgresql://user@host/db``) makes this a shared run (see
    ``autoprompt.storage.shared``): ``autoprompt worker --storage URL`` processes, here or on other
    machines, join it. With ``strategy="refine"`` they answer this process's model requests
    (``autoprompt.search.farm``), and the search runs here as it would alone; with ``"components"``
    each joins the Optuna study and the response cache there, and this process finalizes once the
    budget is spent.
    ``run_name`` names the run there, so one database holds many runs (workers pass ``--run NAME``).

    Free text: ``metric="judge:correctness"`` (or ``faithfulness``, ``concision``, ``tone``, a
    ``.jinja`` rubric, or a weighted sum like ``0.5*judge:concision+0.5*rougeL``) grades each
    output with ``judge_model`` (default: ``model``); judge calls count against ``budget`` and
    its reasons steer refinement. ``consistency`` (a number of samples, or a ``Consistency``)
    measures how much sampled answers agree, reported beside the score, and with a weight
    above 0 optimized with it. ``feedback`` (records or a ``feedback.jsonl`` file, as
    ``autoprompt review`` writes them; a run directory's own file is read as well) turns
    reviewers' notes into clarifiers and rewrites, starting from the reviewed prompt.

    ``track="mlflow"`` logs the finished run to MLflow (``autoprompt.search.mlflow_log``): settings,
    scores, every trial's dev score, the reports and exports, and the winner in the Prompt Registry
    (under the ``run_dir`` folder's name, else ``run_name``).
    """
    spec = spec_from(_settings(locals()), "optimize()")
    return run_spec(spec, callbacks=callbacks or (), progress=progress)


def _settings(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``optimize``'s keyword arguments as the spec's settings: the limits and consistency records
    become their fields."""
    out = {k: v for k, v in arguments.items() if k not in ("callbacks", "progress", "limits", "consistency")}
    limits, consistency = arguments["limits"], arguments["consistency"]
    if limits is not None:
        if not isinstance(limits, Limits):
            raise ConfigError("limits must be autoprompt.Limits(concurrency, rpm, tpm), "
                              f"got {type(limits).__name__}")
        out.update(concurrency=limits.concurrency, rpm=limits.rpm, tpm=limits.tpm)
    if isinstance(consistency, Consistency):
        out.update(consistency=consistency.samples, temperature=consistency.temperature,
                   consistency_weight=consistency.weight)
    elif consistency is not None:
        out["consistency"] = consistency
    return out
