"""The optimizer: the search loop from data and a first prompt to a tested winner.

Contract:
- ``optimize(data, ...)`` is the one-call Python API; it builds an ``Optimizer``
  and calls ``run()``. Constructors only store arguments; all work is in ``run()``.
- Selection rows: the dev set plus the training rows outside the demonstration pool
  (``dataset.selection_rows``); for refinement, every third row of each label is held
  out (``selection_rows()``) and only the final check reads it.
- The loop: ask the strategy for a candidate, race it on the search rows, tell the
  strategy, notify callbacks; stop when the budget (less what the final step keeps
  back) is spent or a callback says so. Then the winner is picked (refinement: the
  base, or the last accepted step when it passes ``selection.choose``'s test on the held-out
  rows; for the component search, the best after the top unfinished candidates are
  completed on the full dev set) and start and winner are scored once on the test set.
- Strategies: ``refine`` (default; ``refine.RefinementStrategy`` with the operator
  families in ``operators``; the ``rewrite`` family needs ``optimizer_model``) and
  ``components`` (Optuna TPE over the component space only).
- Every input is checked (columns, template variables, budget) before any model call.
"""

from __future__ import annotations

import functools
import os
import random
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autoprompt.data.dataset import (
    BUNDLED,
    BundledTask,
    Dataset,
    DataWarning,
    Split,
    TaskKind,
    bundled_schema,
    hold_out,
    load_data,
    selection_rows,
    split,
    unique_rows,
    without_leaks,
)
from autoprompt.errors import AutopromptError, BudgetExhausted, ConfigError, DataError, TemplateError, excerpt
from autoprompt.evaluate.consistency import Consistency
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.metric import METRICS, Metric, check_targets, default_metric
from autoprompt.evaluate.registry import get_metric
from autoprompt.evaluate.stats import bootstrap, paired_difference
from autoprompt.files import read_bytes
from autoprompt.models.backend import Backend, Limits, Priced, limits_of, priced_model, reset, takes_messages
from autoprompt.models.budget import BudgetSpec
from autoprompt.models.cache import ResponseCache, SQLiteCache
from autoprompt.models.client import Client
from autoprompt.models.registry import get_backend
from autoprompt.models.usage import PriceTable
from autoprompt.prompts.compose import CUSTOM_TASK, TaskSetup, candidate_from, compose
from autoprompt.prompts.fields import answer_titles
from autoprompt.prompts.library import TemplateLibrary
from autoprompt.prompts.prompt import Prompt
from autoprompt.prompts.structured import schema_text
from autoprompt.prompts.template import Template
from autoprompt.propose.feedback import feedback_library
from autoprompt.propose.operator import RefineContext
from autoprompt.propose.registry import FAMILIES, build_operators
from autoprompt.propose.space import SearchSpace
from autoprompt.propose.tpe import tpe_sampler
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from autoprompt.records.feedback import Feedback
from autoprompt.records.prediction import Prediction
from autoprompt.records.progress import Progress
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.callbacks import Callback, ProgressBar, StopOnFailures, StopWhenExhausted
from autoprompt.search.racing import Racer, rungs_for
from autoprompt.search.refine import RefinementStrategy
from autoprompt.search.result import Finalist, OptimizationResult, TestReport, completed
from autoprompt.search.selection import Selection, choose
from autoprompt.search.shared_strategy import SharedBudget, SharedRateLimiter, SharedStrategy, StopWhenSpent
from autoprompt.search.strategy import OptunaStrategy, SearchStrategy, StrategyState, halving_pruner, study_of
from autoprompt.spec import RunSpec, spec_from
from autoprompt.storage.feedback_file import check_feedback, load_feedback
from autoprompt.storage.run import RunDirectory, data_hashes, frames, run_record
from autoprompt.storage.shared import SharedRun, SQLCache

STRATEGIES = ("refine", "components")
HOLDOUT_MIN_ROWS = 30  # below this, refinement checks its winner on the search rows alone
MAX_START_DEMOS = 16  # the demonstrations a start may show (one per label)
ACCEPT_CONFIDENCE = 0.9  # one-sided paired-bootstrap confidence a challenger needs to replace the incumbent


@dataclass(frozen=True)
class Task:
    """The prepared task: splits, composition setup and an optional custom start template."""

    data: Split
    setup: TaskSetup
    custom: Template | None


@dataclass(frozen=True)
class Models:
    """The models a run talks to: the one under optimization, a judge when it is another model,
    and the optimizer model that writes instructions (None: not used)."""

    backend: Backend
    judge: Backend | None = None
    writer: Backend | None = None


class Optimizer:
    """Finds a better prompt for a labeled task: the search ``spec`` describes (its seed, strategy,
    operators, racing and prompt-size settings), on the prepared ``task``, through ``models``."""

    def __init__(self, *, spec: RunSpec, task: Task, models: Models, metric: Metric, budget: BudgetSpec,
                 cache: ResponseCache | None, prices: PriceTable | None, callbacks: Sequence[Callback],
                 shared: SharedRun | None = None, shared_arguments: dict[str, Any] | None = None,
                 consistency: Consistency | None = None, feedback: Sequence[Feedback] = ()) -> None:
        self.spec = spec
        self.task = task
        self.models = models
        self.metric = metric
        self.budget = budget
        self.cache = cache
        self.prices = prices
        self.callbacks = list(callbacks)
        self.shared = shared
        self.shared_arguments = shared_arguments
        self.consistency = consistency
        self.feedback = tuple(feedback)

    @property
    def backend(self) -> Backend:
        return self.models.backend

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def model(self) -> str:
        """The model's name in the result: the spec as given, or the backend's name for an object."""
        return self.spec.model if isinstance(self.spec.model, str) else self.backend.name

    def run(self) -> OptimizationResult:
        started = time.monotonic()
        client, racer = self._racer()
        author = self.models.writer
        writer = Client(author, client.budget, cache=self.cache, prices=self.prices) if author else None
        judges = [c for c in [racer.evaluator.judge_client] if c is not None]
        strategy, reserve = self._strategy(racer, writer)
        trials, stop_reason = self._search(strategy, racer, client, reserve)
        state = strategy.settle(lambda: self._evaluate(strategy, racer, len(trials)))
        if state.trials is not None:
            trials, stop_reason = list(state.trials), "budget spent"
        best, baseline, selection = self._finalize(trials, racer, state)
        test, testing = self._test(baseline, best)
        writing = [writer] if writer is not None else []
        searching = [client, *writing, *judges]
        return OptimizationResult(
            best=best, baseline=baseline, trials=tuple(trials), test=test, metric=self.objective,
            model=self.model, seed=self.seed, calls=sum(c.calls for c in searching),
            optimizer_calls=sum(c.calls for c in writing), test_calls=sum(c.calls for c in testing),
            judge_calls=sum(c.calls for c in judges), paid_calls=sum(c.backend_calls for c in [*searching, *testing]),
            seconds=time.monotonic() - started, stop_reason=stop_reason, dev_size=len(racer.dev),
            target=self.task.setup.target_name, kind=self.task.setup.kind.value,
            data_hashes={name: getattr(self.task.data, name).fingerprint() for name in ("train", "dev", "test")},
            test_set=self.task.data.test, dev_set=self.task.data.dev,
            study=state.study if state.study is not None else study_of(trials),
            tokens=sum(c.usage.total for c in searching), usd=sum(c.usd for c in searching),
            strategy=self.spec.strategy,
            accepted=state.accepted if state.accepted is not None else _improvements(trials),
            rejected=state.rejected, selection=selection,
        )

    def work(self) -> int:
        """As a worker of a shared run: search until every worker together has spent the
        budget; return how many trials this process evaluated."""
        assert self.shared is not None
        if self.shared.spent() >= self.budget.calls - self._reserve():
            return 0
        client, racer = self._racer()
        strategy, reserve = self._strategy(racer, None)
        trials, _ = self._search(strategy, racer, client, reserve)
        return len(trials)

    @property
    def objective(self) -> str:
        """The name of what the search maximizes: the metric, with the consistency term if it counts."""
        return self.consistency.name(self.metric.name) if self.consistency else self.metric.name

    def _racer(self) -> tuple[Client, Racer]:
        """A client on a fresh budget, and the racer that evaluates on the search rows through it."""
        dev, _ = self.selection_rows()
        budget, limiter = self.budget.start(), None
        if self.shared is not None:  # the caps, time limit and rate limits of every process of the run together
            limits = limits_of(self.backend)
            budget = SharedBudget(self.shared, self.budget, started=self.shared.started())
            limiter = SharedRateLimiter(self.shared, limits.rpm, limits.tpm)
        client = Client(self.backend, budget, cache=self.cache, prices=self.prices, limiter=limiter)
        return client, Racer(self.evaluator(client), dev, rungs_for(len(dev), self.spec.first_rung),
                             max_prompt_tokens=self.spec.max_prompt_tokens)

    @functools.cached_property
    def _selection_rows(self) -> tuple[list[Example], list[Example]]:
        rows = list(self.task.data.dev.examples)
        if self.spec.strategy != "refine" or len(rows) < HOLDOUT_MIN_ROWS:
            return rows, []
        return hold_out(rows, by_label=self.task.setup.kind is TaskKind.CLASSIFICATION)

    def selection_rows(self) -> tuple[list[Example], list[Example]]:
        """The rows the search races on, and the held-out rows (every third of each label) that only
        the final check reads; with fewer than ``HOLDOUT_MIN_ROWS`` rows, nothing is held out.
        Computed once: the search loop asks for them before every trial."""
        return self._selection_rows

    def evaluator(self, client: Client) -> Evaluator:
        """An evaluator through ``client``; a judge metric grades through a judge client on the same
        budget and cache (kept as the evaluator's ``judge_client``)."""
        metric, judge = self.metric, None
        if metric.needs_model:
            judge = Client(self.models.judge or self.backend, client.budget, cache=self.cache, prices=self.prices)
            metric = metric.bind(judge)
        return Evaluator(client, metric, self.task.setup.kind, consistency=self.consistency, judge_client=judge)

    def _reserve(self) -> int:
        """Calls the component search keeps back to complete its top candidates on dev."""
        return min(self.spec.top_k * len(self.task.data.dev.examples), self.budget.calls // 5)

    def _holdout_reserve(self) -> int:
        """Calls refinement keeps back for the final check: the base and the last accepted step,
        each on every held-out row (with its samples and judge calls) plus its calibration; and what
        a running trial may spend, since a trial that starts runs to its end."""
        search, held = self.selection_rows()
        if not held:
            return 0
        per_row = 1 + (self.consistency.samples if self.consistency and self.task.setup.kind is TaskKind.GENERATION
                       else 0)
        per_row *= 2 if self.metric.needs_model else 1
        check = 2 * (len(held) * per_row + 4)
        return min(check + len(search) * per_row + 4, self.budget.calls // 5)

    def _strategy(self, racer: Racer, writer: Client | None) -> tuple[SearchStrategy, Callable[[], int]]:
        """The strategy, and the calls it keeps back for the end: the component search's top
        candidates on dev, or refinement's final check."""
        start = start_candidate(self.task)
        alternatives = plain_starts(self.task, limit=max(3, self.budget.calls // (4 * self.spec.first_rung)))
        space = SearchSpace.for_task(self.task.setup, supports_chat=self.backend.supports_chat,
                                     custom=self.task.custom is not None, messages=takes_messages(self.backend))
        if self.spec.strategy == "components" and self.shared is not None:
            return self._shared_strategy(space, start, racer), self._reserve
        if self.spec.strategy == "components":
            return OptunaStrategy(space, seed=self.seed, start=start, min_resource=racer.rungs[0]), self._reserve
        context = RefineContext(setup=self.task.setup, space=space, dev={ex.id: ex for ex in racer.dev},
                                custom=self.task.custom, writer=writer, rng=random.Random(self.seed),
                                feedback=self.feedback)
        refining = RefinementStrategy(context=context, operators=build_operators(self.spec.operators),
                                      start=start, seed=self.seed, reviewed=reviewed_candidates(self.feedback),
                                      alternatives=alternatives, confidence=ACCEPT_CONFIDENCE)
        return refining, self._holdout_reserve

    def _shared_strategy(self, space: SearchSpace, start: Candidate, racer: Racer) -> SearchStrategy:
        """The component search on the shared study: created here by the run's first process, else joined."""
        assert self.shared is not None
        sampler = tpe_sampler(os.getpid() if self.shared_arguments is None else self.seed)
        pruner = halving_pruner(racer.rungs[0])
        if self.shared_arguments is not None:
            study = self.shared.create(self.shared_arguments, sampler=sampler, pruner=pruner,
                                       start=space.params_of(start))
        else:
            study = self.shared.study(sampler=sampler, pruner=pruner)
        self.callbacks.append(StopWhenSpent(self.shared, self.budget.calls - self._reserve()))
        return SharedStrategy(OptunaStrategy(space, seed=self.seed, start=start, min_resource=racer.rungs[0],
                                             study=study), self.shared)

    def _search(self, strategy: SearchStrategy, racer: Racer, client: Client,
                reserve: Callable[[], int]) -> tuple[list[Trial], str]:
        """Evaluate proposals until the budget, less what ``reserve()`` keeps back, is spent."""
        trials: list[Trial] = []
        while client.budget.remaining > reserve() and not client.budget.out_of_time():
            trial = self._evaluate(strategy, racer, len(trials))
            trials.append(trial)
            if trial.state is TrialState.INTERRUPTED:
                return trials, "budget spent"
            progress = self._progress(trials, client)
            votes = [callback(trial, progress) for callback in self.callbacks]
            if any(votes):
                return trials, f"stopped by {type(self.callbacks[votes.index(True)]).__name__}"
        return trials, "budget spent" if client.budget.remaining <= reserve() else "time limit"

    def _evaluate(self, strategy: SearchStrategy, racer: Racer, count: int) -> Trial:
        """Ask for one proposal, race it, tell the strategy; the trial is numbered as the strategy
        numbers it (the study's trial number on a shared run), else in order."""
        proposal = strategy.ask()
        number = count if proposal.number is None else proposal.number
        report = proposal.report if number else _never_prune(proposal.report)
        trial = racer.race(number, proposal.candidate, self.prompt(proposal.candidate), report)
        trial = replace(trial, operator=proposal.operator, parent=proposal.parent)
        strategy.tell(proposal, trial)
        return trial

    def _progress(self, trials: list[Trial], client: Client) -> Progress:
        full = completed(trials) or trials
        leader = max(full, key=lambda t: t.score)
        return Progress(len(trials), client.calls, self.budget.calls, leader.score, leader.candidate.describe())

    def prompt(self, candidate: Candidate) -> Prompt:
        return compose(candidate, self.task.setup, self.task.custom)

    def _finalize(self, trials: list[Trial], racer: Racer,
                  state: StrategyState) -> tuple[Finalist, Finalist, Selection | None]:
        """Refinement: the held-out check tests the last accepted step against the base. The
        component search completes the top unfinished candidates on dev and takes the best."""
        if not trials or trials[0].state is not TrialState.COMPLETE:
            raise BudgetExhausted(f"the budget ran out before the starting prompt was scored on the "
                                  f"{len(racer.dev)} dev examples; raise --budget (or --max-tokens/--max-usd)")
        if state.base is not None:
            base, holdout, before = state.base, self.selection_rows()[1], racer.evaluator.client.calls
            scores = self._holdout_scores(racer, [base, *state.chain[-1:]], holdout)
            winner, selection = choose(base, state.chain, scores, len(holdout))
            selection = replace(selection, calls=racer.evaluator.client.calls - before)
            return self._finalist(winner, racer), self._finalist(base, racer), selection
        done = {t.candidate for t in completed(trials)}
        pending: dict[Candidate, Trial] = {}
        for t in sorted((t for t in trials if t.candidate not in done), key=lambda t: (-t.score, t.number)):
            pending.setdefault(t.candidate, t)
        for trial in list(pending.values())[: self.spec.top_k]:
            finished = racer.race(trial.number, trial.candidate, self.prompt(trial.candidate), _no_prune)
            finished = replace(finished, operator=trial.operator, parent=trial.parent)
            if finished.state is TrialState.INTERRUPTED:
                break
            trials[trial.number] = finished
        winner = max(completed(trials), key=lambda t: (t.score, t.number == 0, -t.prompt_chars, -t.number))
        return self._finalist(winner, racer), self._finalist(trials[0], racer), None

    def _holdout_scores(self, racer: Racer, finalists: list[Trial],
                        holdout: list[Example]) -> dict[int, list[Prediction] | None]:
        """Each finalist's predictions on the held-out rows (None where the budget ran out)."""
        scores: dict[int, list[Prediction] | None] = {t.number: [] for t in finalists}
        for trial in finalists if holdout else []:
            try:
                prompt = racer.evaluator.prepare(self.prompt(trial.candidate))
                scores[trial.number] = racer.evaluator.evaluate(prompt, holdout)
            except BudgetExhausted:
                scores[trial.number] = None
        return scores

    def _finalist(self, trial: Trial, racer: Racer) -> Finalist:
        prompt = racer.evaluator.prepare(self.prompt(trial.candidate))
        return Finalist(trial.candidate, prompt, trial.score, trial.number)

    def _test(self, baseline: Finalist, best: Finalist) -> tuple[TestReport | None, list[Client]]:
        """Start and winner on the test set, and the clients that scored them (model, judge)."""
        test = self.task.data.test.examples
        if not test:
            return None, []
        evaluator = self.evaluator(Client(self.backend, cache=self.cache, prices=self.prices))
        base = self.score_fresh(evaluator, baseline.prompt, test)
        win = self.score_fresh(evaluator, best.prompt, test)
        base_scores, win_scores = [p.score for p in base], [p.score for p in win]
        report = TestReport(
            n=len(test), baseline=bootstrap(base_scores, seed=self.seed), winner=bootstrap(win_scores, seed=self.seed),
            difference=paired_difference(base_scores, win_scores, seed=self.seed),
            baseline_score=evaluator.aggregate(test, base), winner_score=evaluator.aggregate(test, win),
            baseline_predictions=tuple(base), winner_predictions=tuple(win),
        )
        return report, [c for c in (evaluator.client, evaluator.judge_client) if c is not None]

    def score_fresh(self, evaluator: Evaluator, prompt: Prompt, examples: Sequence[Example]) -> list[Prediction]:
        """Score from an empty model state, so ``autoprompt eval`` reproduces the numbers exactly."""
        reset(self.backend)
        return evaluator.evaluate(prompt, examples)


def _improvements(trials: Sequence[Trial]) -> tuple[int, ...]:
    """Trial numbers that set a new best complete score, in order."""
    best, numbers = float("-inf"), []
    for trial in completed(list(trials)):
        if trial.score > best:
            best = trial.score
            numbers.append(trial.number)
    return tuple(numbers)


def _no_prune(n: int, score: float) -> bool:
    return False


def _never_prune(report: Callable[[int, float], bool]) -> Callable[[int, float], bool]:
    """The starting prompt is always scored on the whole dev set; Optuna still sees its rungs."""
    return lambda n, score: report(n, score) and False


def plain_starts(task: Task, limit: int | None = None) -> list[Candidate]:
    """The plain prompts refinement also starts from when the user gives no template: every
    skeleton of the library that shows no instruction, with no clarifier or demonstration (first, with the
    task's ``description`` when it has one, ``fields`` under it as a ``Task:`` line), then (for
    labels) the ``fields`` skeleton under each answer field name worth trying (``prompts.fields``), at most
    ``limit`` in all. Each races against the best start so far, so most cost one rung."""
    if task.custom is not None:
        return []
    setup = task.setup
    bare = [Candidate(name) for name in sorted(setup.library.tasks) if not setup.uses_instruction(name)]
    if setup.description and "background" in setup.library.context and "fields" in setup.library.tasks:
        bare.insert(0, Candidate("fields", context=("background",)))  # --description's line, as "Task: ..."
    titled = [Candidate("fields", answer_title=name) for name in answer_titles(setup)[1:]
              if "fields" in setup.library.tasks and setup.kind is TaskKind.CLASSIFICATION]
    return [*bare, *demo_starts(setup), *titled][:limit]


def demo_starts(setup: TaskSetup) -> list[Candidate]:
    """A few worked examples under the ``fields`` skeleton, as a person pastes them: a balanced draw of
    one per label (two for two labels or free text), when the training rows have that many."""
    step = len(setup.labels) if setup.kind is TaskKind.CLASSIFICATION and len(setup.labels) > 2 else 2
    if "fields" not in setup.library.tasks or len(setup.train) < step or step > MAX_START_DEMOS:
        return []
    return [Candidate("fields", n_demos=step)]


def start_candidate(task: Task) -> Candidate:
    """Where the search starts: the user's template, or a plain instruction built from columns and labels."""
    if task.custom is not None:
        return Candidate(CUSTOM_TASK)
    return Candidate("instruction" if task.setup.kind is TaskKind.CLASSIFICATION else "task_instruction")


def _in_run_directory(run: RunDirectory, spec: RunSpec, callbacks: Sequence[Callback],
                      progress: bool) -> OptimizationResult:
    """``optimize`` holding ``run``'s lock, with its cache, its argument file and its trial log.
    Every setting is checked, and the folder claimed (``RunDirectory.claim``), before anything is written."""
    spec = spec.model_copy(update={
        "cache": run.cache if spec.cache is None and spec.storage is None else spec.cache,
        "feedback": tuple(run.feedback(spec.feedback))})
    log = run.trial_log()
    log.read()
    optimizer = build_optimizer(spec, callbacks=[*callbacks, log], progress=progress)
    record, tables = run_record(run, spec), frames(spec)
    hashes = data_hashes({name: run.here(value) for name, value in record.items()}, tables)
    record, copies = run.keep_inputs(record)
    run.check(record, hashes)
    new, existed = run.is_new(), run.path.exists()
    with run.lock():
        run.claim(record, tables, hashes, copies)
        try:
            result = optimizer.run()
        except AutopromptError:
            if isinstance(optimizer.cache, SQLiteCache):
                optimizer.cache.close()
            if new and not run.holds_work():  # failed before its first answer: leave no folder behind
                run.discard(folder=not existed)
            raise
        log.complete(result.trials)
        result.export(run.path)
        if result.study is not None:
            result.save_study(run.path / "study.sqlite3")
    return result


def _load(source: Any, inputs: Any, target: Any, kind: Any) -> Dataset:
    return source if isinstance(source, Dataset) else load_data(source, inputs=inputs, target=target, kind=kind)


def prepare_task(
    data: Any, *, inputs: str | Sequence[str] | None, target: str | None, dev: Any = None, test: Any = None,
    template: str | Path | None = None, kind: TaskKind | str | None = None, seed: int = 0,
    description: str | None = None, label_definitions: Mapping[str, str] | None = None,
    label_words: Mapping[str, Mapping[str, str]] | None = None, library: TemplateLibrary | None = None,
    max_output_tokens: int | None = None, stop: Sequence[str] | None = None, answer_pattern: str | None = None,
    json_schema: str | None = None, system: str | Path | None = None,
) -> Task:
    """Load and split the data, and check every template against it, before any model call. Free-text
    answers end at ``stop`` (default: at the end of the first line when every training target is one
    line and no ``json_schema`` is asked for, else nowhere: the whole answer is kept) and are at most
    ``max_output_tokens`` long (256). ``json_schema`` (a file or the JSON itself; a bundled task may
    bring its own) is the schema every answer follows. ``system`` (a file or Jinja text using the
    task's constants, not the inputs) is a system message every prompt starts with."""
    full = _load(data, inputs, target, kind or ("generation" if json_schema is not None else None))
    bundled = BUNDLED.get(data) if isinstance(data, str) else None
    inputs, target = full.input_columns, full.target_column
    if dev is None:
        full, repeated = unique_rows(full)
        fractions = (0.2, 0.4, 0.4) if test is None else (0.35, 0.65, 0.0)
        parts = split(full, fractions=fractions, seed=seed)
        train, dev_set, test_set = parts.train, parts.dev, parts.test
    else:
        train, dev_set, test_set = full, _load(dev, inputs, target, full.kind), full.subset(())
        repeated = 0
    if test is not None:
        test_set = _load(test, inputs, target, full.kind)
    train, dev_set, test_set, leaked = without_leaks(train, dev_set, test_set)
    if not dev_set.examples:
        raise DataError("no dev rows are left: every one repeats the inputs of a training row; pass a dev file "
                        "of other examples, or leave --dev out to split the data")
    if test is not None and not test_set.examples:
        raise DataError("no test rows are left: every one repeats the inputs of a training or dev row; pass a test "
                        "file of other examples, or leave --test out to split the data")
    if repeated + leaked:
        warnings.warn(f"{repeated + leaked} row(s) repeat the inputs of an earlier row ({repeated} within the data, "
                      f"{leaked} across train, dev and test) and were dropped, so no row is scored as unseen "
                      "after it was shown or used for selection", DataWarning, stacklevel=3)
    _check_labels(full, dev_set, test_set, dev, test)
    _check_label_maps(full, label_definitions, label_words)
    train, dev_set = selection_rows(train, dev_set, seed=seed)
    labels = full.labels
    library = library or TemplateLibrary.bundled()
    schema = _json_schema(json_schema, bundled)
    if schema is not None and full.kind is TaskKind.CLASSIFICATION:
        raise ConfigError("a JSON schema is for generated answers, and this task was given as classification; "
                          "leave kind out (a JSON schema makes the task one of generation), or the schema out")
    setup = TaskSetup(
        library=library.for_kind(full.kind.value), kind=full.kind, input_names=inputs, target_name=target,
        labels=labels if full.kind is TaskKind.CLASSIFICATION else (), train=train.examples,
        description=description if description is not None else (bundled.description if bundled else ""),
        definitions=label_definitions or (bundled.definitions if bundled else {}), label_words=label_words or {},
        max_output_tokens=max_output_tokens or 256, answer_pattern=answer_pattern, json_schema=schema,
        system=Template.from_path_or_text(system, "system").source if system is not None else "",
        stop=tuple(s for s in stop if s) if stop is not None else (
            ("\n",) if schema is None and all("\n" not in ex.target.strip() for ex in train.examples) else ()),
    )
    custom = Template.from_path_or_text(template, "custom") if template is not None else None
    _check_templates(setup, custom, full)
    return Task(Split(train, dev_set, test_set), setup, custom)


def _json_schema(given: str | None, bundled: BundledTask | None) -> str | None:
    """The schema's compact text, from JSON text, a file, or the bundled task's own."""
    if given is None:
        return schema_text(bundled_schema(bundled.name), f"the {bundled.name} task's schema") \
            if bundled is not None and bundled.json_schema else None
    if given.lstrip().startswith("{"):
        return schema_text(given, "--json-schema")
    path = Path(given).expanduser()
    try:
        text = read_bytes(path).decode("utf-8")  # a regular file: a FIFO is refused, never waited on
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the JSON schema {path} ({type(exc).__name__}); pass a readable .json file "
                          "or the schema itself as --json-schema") from None
    return schema_text(text, f"JSON schema {path}")


def _check_label_maps(train: Dataset, definitions: Mapping[str, str] | None,
                      words: Mapping[str, Mapping[str, str]] | None) -> None:
    """Label definitions name labels of the data; each named set of label words maps every label, and only labels."""
    if not (definitions or words):
        return
    labels = set(train.labels)
    if train.kind is not TaskKind.CLASSIFICATION:
        raise ConfigError("label_definitions and label_words are for classification tasks, and this one is "
                          "generation; leave them out")
    shown = excerpt(sorted(labels), 200)
    unknown = sorted(set(definitions or {}) - labels)
    if unknown:
        raise ConfigError(f"label_definitions names {excerpt(unknown[0])}, which is not a label of the data (labels: "
                          f"{shown}); fix or drop that key")
    for name, mapping in (words or {}).items():
        extra, missing = sorted(set(mapping) - labels), sorted(labels - set(mapping))
        if extra or missing:
            problem = f"names {excerpt(extra[0])}, not a label of the data" if extra else \
                f"lacks {excerpt(missing[0])}"
            raise ConfigError(f"label_words set {excerpt(name)} {problem}; each set maps every label (labels: "
                              f"{shown}) to its word")


def _check_labels(train: Dataset, dev: Dataset, test: Dataset, dev_source: Any, test_source: Any) -> None:
    """The prompt's labels come from the training data: a dev or test label it lacks is an error."""
    if train.kind is not TaskKind.CLASSIFICATION:
        return
    for part, source, name in ((dev, dev_source, "dev"), (test, test_source, "test")):
        unknown = sorted(set(part.labels) - set(train.labels))
        if unknown:
            where = source if isinstance(source, str | Path) else f"the {name} data"
            raise DataError(f"label(s) {', '.join(repr(u) for u in unknown[:5])} of {where} never occur in the "
                            f"training data (labels: {', '.join(train.labels)}); add training examples of them "
                            f"or drop those {name} rows")


STATIC = {"input_names", "titles", "labels", "answer_title", "description", "definitions"}  # compose.static_context


def _check_templates(setup: TaskSetup, custom: Template | None, data: Dataset) -> None:
    provided = {*STATIC, "inputs", "context", "clarifiers", "demos", "preamble", "instruction"}
    columns = list(data.input_columns)
    if setup.system:
        if not setup.system.strip():
            raise ConfigError("--system is empty; give the system message's text or a file")
        try:
            Template("system", setup.system).check_variables(STATIC, [])
        except TemplateError as exc:
            raise TemplateError(f"--system: {exc} (a system message is the same for every example: it may use "
                                f"{', '.join(sorted(STATIC))}, not the inputs)") from None
    for template in [*setup.library.tasks.values(), *setup.library.clarifiers.values(),
                     *setup.library.context.values(), *setup.library.instructions.values(),
                     *([custom] if custom else [])]:
        template.check_variables(provided, columns)
    if custom is not None and not custom.variables() & {*columns, "inputs"}:
        looks_like_path = "/" in custom.source or custom.source.endswith((".jinja", ".j2", ".txt"))
        hint = f"; if you meant a template file, {custom.source!r} is not one" if looks_like_path else ""
        raise TemplateError(f"the template uses none of the input columns ({', '.join(columns)}), so every example "
                            f"would get the same prompt; write e.g. {{{{ {columns[0]} }}}} where the input goes{hint}")
    _check_rendering(setup, custom, data.examples[0])


def _check_rendering(setup: TaskSetup, custom: Template | None, example: Example) -> None:
    """Render every clarifier and context block, and each skeleton with them, on one example,
    so a template that fails (``1/0``, a recursive macro, an endless range...) fails before any call."""
    library = setup.library
    everything = Candidate(next(iter(library.tasks)), clarifiers=tuple(library.clarifiers),
                           context=tuple(library.context))
    starts = [everything, *([replace(everything, task=CUSTOM_TASK)] if custom is not None else [])]
    for candidate in starts:
        try:
            compose(candidate, setup, custom).render(example.inputs)
        except TemplateError as exc:
            user = [f"--{section} {name[4:]}" for section, names in (("clarifier", candidate.clarifiers),
                                                                      ("context", candidate.context))
                    for name in names if name.startswith("user") and f"'{name}'" in str(exc)]
            raise TemplateError(f"{user[0]}: {exc}" if user else str(exc)) from None


def with_user_templates(library: TemplateLibrary, *, clarifiers: Sequence[str | Path] = (),
                        context: Sequence[str | Path] = ()) -> TemplateLibrary:
    """The library plus the user's own clarifiers and context blocks, named ``user1``, ``user2``..."""
    for section, values in (("clarifiers", clarifiers), ("context", context)):
        for i, value in enumerate(values):
            if not str(value).strip():
                raise ConfigError(f"--{section.removesuffix('s')} {i + 1} is empty; give the block's text or a file")
            library = library.add(section, Template.from_path_or_text(value, f"user{i + 1}"))
    return library


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
) -> OptimizationResult:
    """Search for a better prompt and score it honestly.

    ``data`` is a CSV/JSONL path, a DataFrame, a ``Dataset`` or a bundled task name
    (``sentiment``, ``intent``, ``past_tense``). Without ``dev``/``test`` it is split
    20/40/40 (stratified, seeded) into train (demonstrations), dev (selection) and
    test (the final, once-only comparison); training rows outside the demonstration
    pool score candidates too (``dataset.selection_rows``). ``template`` is the starting
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

    ``storage`` (a database URL, e.g. ``postgresql://user@host/db``; needs
    ``strategy="components"``) makes this a shared run (see ``autoprompt.storage.shared``):
    ``autoprompt worker --storage URL`` processes, here or on other machines, join the
    study and the response cache there, and this process finalizes once the budget is spent.
    ``run_name`` names the run there, so one database holds many runs (workers pass ``--run NAME``).

    Free text: ``metric="judge:correctness"`` (or ``faithfulness``, ``concision``, ``tone``, a
    ``.jinja`` rubric, or a weighted sum like ``0.5*judge:concision+0.5*rougeL``) grades each
    output with ``judge_model`` (default: ``model``); judge calls count against ``budget`` and
    its reasons steer refinement. ``consistency`` (a number of samples, or a ``Consistency``)
    measures how much sampled answers agree, reported beside the score, and with a weight
    above 0 optimized with it. ``feedback`` (records or a ``feedback.jsonl`` file, as
    ``autoprompt review`` writes them; a run directory's own file is read as well) turns
    reviewers' notes into clarifiers and rewrites, starting from the reviewed prompt.
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


def run_spec(spec: RunSpec, *, callbacks: Sequence[Callback] = (), progress: bool = False) -> OptimizationResult:
    """Run the search ``spec`` describes: in its run directory when it names one."""
    if spec.run_dir is not None:
        return _in_run_directory(RunDirectory(Path(spec.run_dir)), spec, callbacks, progress)
    return build_optimizer(spec, callbacks=callbacks, progress=progress).run()


def build_optimizer(spec: RunSpec, *, callbacks: Sequence[Callback] = (), progress: bool = False,
                    worker: bool = False) -> Optimizer:
    """An ``Optimizer`` for ``spec``, every setting checked before any model call; a ``worker`` joins
    the shared run ``spec.storage`` instead of creating it."""
    if spec.data is None:
        raise ConfigError("data is required: a CSV/JSONL file, a DataFrame, a Dataset or a bundled task name "
                          "(--data on the command line, 'data:' in a config)")
    if spec.storage is not None and spec.strategy != "components":
        raise ConfigError("a shared run (--storage) needs --strategy components: refinement is one sequence of "
                          "rounds, while Optuna's component search lets several workers ask for trials at once")
    feedback = load_feedback(spec.feedback or ())
    library = feedback_library(with_user_templates(spec.library or TemplateLibrary.bundled(),
                                                   clarifiers=spec.clarifiers, context=spec.context), feedback)
    task = prepare_task(spec.data, inputs=spec.inputs, target=spec.target, dev=spec.dev, test=spec.test,
                        template=spec.template, kind=spec.kind, seed=spec.seed, description=spec.description,
                        label_definitions=spec.label_definitions, label_words=spec.label_words, library=library,
                        max_output_tokens=spec.max_output_tokens, stop=spec.stop, answer_pattern=spec.answer_pattern,
                        json_schema=spec.json_schema, system=spec.system)
    check_feedback(feedback, [ex.id for part in (task.data.train, task.data.dev, task.data.test)
                              for ex in part.examples])
    check_budget(spec.budget, task)
    metric = get_metric(spec.metric or default_metric(task.setup.kind.value, task.setup.json_schema is not None))
    check_targets(metric, [ex for part in (task.data.train, task.data.dev, task.data.test) for ex in part.examples])
    consistency = _consistency(spec, metric)
    backend, judge, writer = _backends(spec, metric)
    prices = price_table(spec, [backend, *[b for b in (judge, writer) if b is not None]])
    build_operators(spec.operators)  # validates the family names before any model call
    budget = BudgetSpec(spec.budget, spec.max_seconds, spec.max_tokens, spec.max_usd)
    budget.start()  # validates every cap before any model call
    shared = SharedRun(spec.storage, name=spec.run_name) if spec.storage is not None else None
    store = SQLiteCache(spec.cache) if isinstance(spec.cache, str | Path) else spec.cache
    if store is None and shared is not None:
        store = SQLCache(shared.url)
    return Optimizer(
        spec=spec, task=task, models=Models(backend, judge, writer), metric=metric, budget=budget, cache=store,
        prices=prices, callbacks=[*([ProgressBar()] if progress else []), StopWhenExhausted(), StopOnFailures(),
                                  *callbacks],
        shared=shared, shared_arguments=spec.record(purpose="a shared run", exclude=("cache", "storage"))
        if shared is not None and not worker else None, consistency=consistency, feedback=feedback,
    )


def price_table(spec: RunSpec, backends: Sequence[Backend]) -> PriceTable:
    """The run's prices: ``prices`` (default: the bundled table) with ``price`` for the model under
    optimization. With ``max_usd``, a priced (API) model the table does not know is a ``ConfigError``:
    its calls would count as free and the cap would never stop the run."""
    table = spec.prices or PriceTable()
    if spec.price is not None:
        table = PriceTable({**table.prices, priced_model(backends[0]): spec.price})
    for number, backend in enumerate(backends if spec.max_usd is not None else []):
        if isinstance(backend, Priced) and not table.known(backend.model):
            fix = "pass --price IN,OUT (USD per million input and output tokens)" if number == 0 else \
                "pass its price in prices=PriceTable({...}) from Python"
            raise ConfigError(f"--max-usd needs the price of {backend.model}, which autoprompt does not know, so its "
                              f"calls would count as free; {fix}, or drop --max-usd")
    return table


def _backends(spec: RunSpec, metric: Metric) -> tuple[Backend, Backend | None, Backend | None]:
    """The model under optimization, the judge (when it is another model) and the optimizer model."""
    if spec.judge_model is not None and not metric.needs_model:
        raise ConfigError(f"a judge model grades judge:RUBRIC or geval:RUBRIC metrics, and '{metric.name}' asks "
                          "none; pass e.g. --metric judge:correctness, or drop --judge-model")
    limits = spec.limits()
    backend = get_backend(spec.model, seed=spec.seed, limits=limits, key_env=spec.api_key_env,
                          options=spec.model_settings())
    judge = None
    if spec.judge_model is not None and spec.judge_model != spec.model:
        judge = get_backend(spec.judge_model, seed=spec.seed, limits=limits)
    writer = None
    if spec.optimizer_model is not None:
        writer = backend if spec.optimizer_model == spec.model else get_backend(
            spec.optimizer_model, seed=spec.seed, limits=limits)
    return backend, judge, writer


def check_budget(budget: int, task: Task) -> None:
    """``ConfigError`` when the budget cannot even score the start on the selection rows."""
    if budget < len(task.data.dev) + 3:
        raise ConfigError(f"budget of {budget} calls cannot score even the starting prompt on the "
                          f"{len(task.data.dev)} dev examples; pass --budget {10 * len(task.data.dev)} or more")


def _consistency(spec: RunSpec, metric: Metric) -> Consistency | None:
    settings: Consistency | None = spec.consistency_settings()
    if settings is not None and settings.weight > 0 and metric.aggregate is not METRICS["accuracy"].aggregate:
        raise ConfigError(f"a consistency weight needs a metric that is a mean over examples; '{metric.name}' "
                          "is not; use accuracy, or keep the weight at 0 to measure agreement only")
    return settings


def reviewed_candidates(feedback: Sequence[Feedback]) -> list[Candidate]:
    """The prompts reviewers commented on, each once, in the order reviewed."""
    seen: list[Candidate] = []
    for record in feedback:
        if record.candidate:
            candidate = candidate_from(record.candidate)
            if candidate not in seen:
                seen.append(candidate)
    return seen
