"""Assembly: a checked ``RunSpec`` becomes an ``Optimizer`` (backends, metric, task, budget,
cache, prices, callbacks, shared storage), run in its run directory when it names one.

Contract: ``task_of(spec)`` is the task a spec describes, every task setting checked (the real
run's and the dry run's one call); ``build_optimizer(spec)`` checks every setting and builds
everything before any model call; ``run_spec(spec)`` runs it (holding the run directory's lock, with its cache, argument
file, input copies and trial log, when ``spec.run.run_dir`` is set); ``price_table(spec, backends)``
is the prices a run charges with.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

from autoprompt.errors import AutopromptError, ConfigError
from autoprompt.evaluate.consistency import Consistency
from autoprompt.evaluate.metric import METRICS, Metric, check_targets, default_metric
from autoprompt.evaluate.registry import get_metric
from autoprompt.models.backend import Backend, Priced, own_rates, priced_model
from autoprompt.models.budget import BudgetSpec
from autoprompt.models.cache import SQLiteCache
from autoprompt.models.registry import get_backend
from autoprompt.models.usage import PriceTable
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.propose.feedback import feedback_library
from autoprompt.propose.registry import build_operators
from autoprompt.records.feedback import Feedback
from autoprompt.search.callbacks import Callback, LogTrials, ProgressBar, StopOnFailures, StopWhenExhausted
from autoprompt.search.farm import FarmedBackend
from autoprompt.search.loop import Optimizer
from autoprompt.search.mlflow_log import log_to_mlflow, mlflow_package
from autoprompt.search.parts import Grading, Models, Sharing, Spending
from autoprompt.search.result import OptimizationResult
from autoprompt.search.run_folder import frames, run_directory, run_record
from autoprompt.search.task import Task, check_budget, prepare_task, with_user_templates
from autoprompt.spec import RunSpec
from autoprompt.storage.feedback_file import check_feedback, load_feedback
from autoprompt.storage.jobs import JobQueue
from autoprompt.storage.run import RunDirectory, data_hashes
from autoprompt.storage.shared import SharedRun, SQLCache

LOG = logging.getLogger("autoprompt.search")


def _in_run_directory(run: RunDirectory, spec: RunSpec, callbacks: Sequence[Callback],
                      progress: bool) -> OptimizationResult:
    """``optimize`` holding ``run``'s lock, with its cache, its argument file and its trial log.
    Every setting is checked, and the folder claimed (``RunDirectory.claim``), before anything is written."""
    spec = spec.updated(cache=run.cache if spec.calls.cache is None and spec.run.storage is None else spec.calls.cache,
                        feedback=tuple(run.feedback(spec.start.feedback)))
    log = run.trial_log()
    log.read()
    optimizer = build_optimizer(spec, callbacks=[*callbacks, log], progress=progress, resumed=not run.is_new())
    record, tables = run_record(run, spec), frames(spec)
    record, copies = run.keep_inputs(record)
    hashes = data_hashes({name: run.here(value) for name, value in record.items()}, tables, copies)
    run.check(record, hashes)
    new, existed = run.is_new(), run.path.exists()
    with run.lock():
        run.claim(record, tables, hashes, copies)
        try:
            result = optimizer.run()
        except AutopromptError:
            if isinstance(optimizer.spending.cache, SQLiteCache):
                optimizer.spending.cache.close()
            if new and not run.holds_work():  # failed before its first answer: leave no folder behind
                run.discard(folder=not existed)
            raise
        log.complete(result.trials)
        result.export(run.path)
        if result.study is not None:
            result.save_study(run.path / "study.sqlite3")
    return result


def run_spec(spec: RunSpec, *, callbacks: Sequence[Callback] = (), progress: bool = False) -> OptimizationResult:
    """Run the search ``spec`` describes: in its run directory when it names one; then log it to the
    tracker it names (``track``), whose package is checked before any model call."""
    if spec.run.track == "mlflow":
        mlflow_package()
    if spec.run.run_dir is not None:
        result = _in_run_directory(run_directory(spec.run.run_dir), spec, callbacks, progress)
    else:
        result = build_optimizer(spec, callbacks=callbacks, progress=progress).run()
    if spec.run.track == "mlflow":
        _track(result, spec)
    return result


def _track(result: OptimizationResult, spec: RunSpec) -> None:
    """Log the finished run to MLflow, from its folder (or an export in a temporary one). A tracker that
    fails costs the run nothing: a warning names the failure and the command that logs it later."""
    import os
    import tempfile
    import warnings

    experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME", "").strip() or "autoprompt"
    run_dir, run_name = spec.run.run_dir, spec.run.run_name
    with tempfile.TemporaryDirectory(prefix="autoprompt-mlflow-") as scratch:
        folder = Path(run_dir) if run_dir is not None else result.export(Path(scratch) / run_name).parent
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.resolve().name).strip("-") or run_name
        try:
            tracked = log_to_mlflow(folder, experiment=experiment, register=name)
        except ConfigError as exc:
            later = f"; log it later with: autoprompt mlflow {folder}" if run_dir is not None else ""
            warnings.warn(f"{exc}{later}", TrackingFailed, stacklevel=2)
            return
    LOG.info("logged to MLflow: run %s in experiment %s, winner %s", tracked.run_id, experiment, tracked.prompt_uri)


class TrackingFailed(UserWarning):
    """The run finished, and its tracker refused it (the run's files are complete)."""


def task_of(spec: RunSpec) -> tuple[Task, list[Feedback]]:
    """The task ``spec`` describes, every task setting checked, and its feedback records: one call for
    the real run and the dry run, so an estimate sees the task the run will search."""
    start = spec.start
    feedback = load_feedback(start.feedback or ())
    library = feedback_library(with_user_templates(start.library or TemplateLibrary.bundled(),
                                                   clarifiers=start.clarifiers, context=start.context), feedback)
    task = prepare_task(spec, library=library)
    check_feedback(feedback, [ex.id for part in (task.data.train, task.data.dev, task.data.test)
                              for ex in part.examples])
    check_budget(spec.budget, task)
    return task, feedback


def metric_of(spec: RunSpec, task: Task) -> Metric:
    """The metric ``spec`` grades ``task`` with (default: the task kind's), every target checked against it:
    the real run's and the dry run's one call."""
    metric = get_metric(spec.answers.metric or default_metric(task.setup.kind.value,
                                                              task.setup.json_schema is not None))
    check_targets(metric, [ex for part in (task.data.train, task.data.dev, task.data.test) for ex in part.examples])
    return metric


def build_optimizer(spec: RunSpec, *, callbacks: Sequence[Callback] = (), progress: bool = False,
                    worker: bool = False, resumed: bool = False) -> Optimizer:
    """An ``Optimizer`` for ``spec``, every setting checked before any model call; a ``worker`` joins
    the shared run ``spec.run.storage`` instead of creating it; a ``resumed`` refinement run (its first process
    restarted from its run folder) takes up its shared run again."""
    if spec.data is None:
        raise ConfigError("data is required: a CSV/JSONL file, a DataFrame, a Dataset or a bundled task name "
                          "(--data on the command line, 'data:' in a config)")
    task, feedback = task_of(spec)
    metric = metric_of(spec, task)
    consistency = _consistency(spec, metric)
    backend, judge, writer = _backends(spec, metric)
    prices = price_table(spec, [backend, *[b for b in (judge, writer) if b is not None]])
    build_operators(spec.search.operators)  # validates the family names before any model call
    budget = BudgetSpec(spec.budget, spec.calls.max_seconds, spec.calls.max_tokens, spec.calls.max_usd)
    budget.start()  # validates every cap before any model call
    shared = SharedRun(spec.run.storage, name=spec.run.run_name) if spec.run.storage is not None else None
    store = SQLiteCache(spec.calls.cache) if isinstance(spec.calls.cache, str | Path) else spec.calls.cache
    if store is None and shared is not None:
        store = SQLCache(shared.url)
    if shared is not None and spec.search.strategy == "refine" and not worker:  # its requests go to the run's workers
        backend = FarmedBackend(backend, JobQueue(shared.url, shared.name))
    given = next((c for c in callbacks if isinstance(c, ProgressBar)), None)  # optimize(callbacks=[ProgressBar()])
    bar = given or (ProgressBar() if progress else None)
    sharing = None if shared is None else Sharing(shared, None if worker else spec.record(
        purpose="a shared run", exclude=_kept_home(spec)), reopen=resumed and spec.search.strategy == "refine")
    return Optimizer(
        spec=spec, task=task, models=Models(backend, judge, writer), grading=Grading(metric, consistency,
                                                                                      tuple(feedback)),
        spending=Spending(budget, store, prices), sharing=sharing, scoring=bar.rows if bar else None,
        callbacks=[*([bar] if bar and not given else []), LogTrials(), StopWhenExhausted(), StopOnFailures(),
                   *callbacks],
    )


def _kept_home(spec: RunSpec) -> tuple[str, ...]:
    """The settings a shared run's database does not keep: the cache and the URL; for refinement also the
    data, which only the first process reads (its workers answer model requests)."""
    return ("cache", "storage", *(("data", "dev", "test") if spec.search.strategy == "refine" else ()))


def price_table(spec: RunSpec, backends: Sequence[Backend]) -> PriceTable:
    """The run's prices: ``prices`` (default: the bundled table), then each model's own price list
    (LiteLLM's cost map), with ``price`` for the model under optimization over both. With ``max_usd``,
    a priced (API) model the table does not know is a ``ConfigError``: its calls would count as free and
    the cap would never stop the run."""
    table = spec.calls.prices or PriceTable()
    for backend in backends:  # a backend's own price list (LiteLLM's) before the bundled ones, after prices=
        rates = None if priced_model(backend) in table.prices else own_rates(backend)
        if rates is not None:
            table = PriceTable({**table.prices, priced_model(backend): rates})
    if spec.calls.price is not None:
        table = PriceTable({**table.prices, priced_model(backends[0]): spec.calls.price})
    for number, backend in enumerate(backends if spec.calls.max_usd is not None else []):
        if isinstance(backend, Priced) and not table.known(backend.model):
            fix = "pass --price IN,OUT (USD per million input and output tokens)" if number == 0 else \
                "pass its price in prices=PriceTable({...}) from Python"
            raise ConfigError(f"--max-usd needs the price of {backend.model}, which autoprompt does not know, so its "
                              f"calls would count as free; {fix}, or drop --max-usd")
    return table


def _backends(spec: RunSpec, metric: Metric) -> tuple[Backend, Backend | None, Backend | None]:
    """The model under optimization, the judge (when it is another model) and the optimizer model."""
    if spec.answers.judge_model is not None and not metric.needs_model:
        raise ConfigError(f"a judge model grades judge:RUBRIC or geval:RUBRIC metrics, and '{metric.name}' asks "
                          "none; pass e.g. --metric judge:correctness, or drop --judge-model")
    limits = spec.limits()
    backend = get_backend(spec.model, seed=spec.seed, limits=limits, key_env=spec.calls.api_key_env,
                          options=spec.model_settings())
    judge = None
    if spec.answers.judge_model is not None and spec.answers.judge_model != spec.model:
        judge = get_backend(spec.answers.judge_model, seed=spec.seed, limits=limits)
    writer = None
    if spec.search.optimizer_model is not None:
        writer = backend if spec.search.optimizer_model == spec.model else get_backend(
            spec.search.optimizer_model, seed=spec.seed, limits=limits)
    return backend, judge, writer


def _consistency(spec: RunSpec, metric: Metric) -> Consistency | None:
    settings: Consistency | None = spec.consistency_settings()
    if settings is not None and settings.weight > 0 and metric.aggregate is not METRICS["accuracy"].aggregate:
        raise ConfigError(f"a consistency weight needs a metric that is a mean over examples; '{metric.name}' "
                          "is not; use accuracy, or keep the weight at 0 to measure agreement only")
    return settings
