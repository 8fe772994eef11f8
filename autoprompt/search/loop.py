"""The loop: ask the strategy for a candidate, race it on the search rows, tell the strategy,
notify the callbacks; then pick the winner and score start and winner on the test set.

Contract:
- ``Optimizer(spec=, task=, models=, ...)`` stores its arguments; ``run()`` does the work and
  returns an ``OptimizationResult``; ``work()`` is a shared run's worker (search only).
- Selection rows: the dev set plus the training rows outside the demonstration pool
  (``splits.selection_rows``); for refinement, every third row of each label is held out
  (``selection_rows()``, from ``HOLDOUT_MIN_ROWS`` rows up) and only the final check reads it,
  with the demonstration pool's rows that neither of its two prompts shows, unless one of them
  carries what a move that read the pool put there (``carries_pool_reading``): rows no search
  decision read, so more of them make the check stronger at the same level.
- A calibrated prompt's prior is its labels' mean probability over the inputs of the first
  ``CALIBRATION_ROWS`` search rows (batch calibration; the held-out and test rows never): the rows
  racing scores first, so the prior costs no call the race would not make. Each mean is divided by
  its label's share of the demonstration pool and search rows when those shares are uneven (a task
  whose labels are not evenly mixed: the calibrated answers keep its mix), and those rows' labels
  then fit how far the model is trusted against the mix (``prompts.prompt.prior_power``); with
  even shares their labels are unread.
- The search stops when the budget (less what the final step keeps back) is spent or a callback
  says so. Then the winner is picked (refinement: the base, or the last accepted step when it
  passes ``selection.choose``'s test on the held-out rows; the component search: the best after
  the top unfinished candidates are completed on the full dev set), and start and winner are
  scored once on the test set, from an empty model state.
- What it is given beside the spec and the task comes in the records of ``parts``.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from autoprompt.data.splits import commonest_label, hold_out, label_shares
from autoprompt.errors import BudgetExhausted
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.models.backend import Backend, limits_of, takes_messages
from autoprompt.models.client import Client
from autoprompt.prompts.compose import compose, pick_demos
from autoprompt.prompts.prompt import Prompt
from autoprompt.propose.operator import RefineContext, carries_pool_reading
from autoprompt.propose.registry import build_operators
from autoprompt.propose.space import SearchSpace
from autoprompt.propose.tpe import quiet_optuna, tpe_sampler
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from autoprompt.records.prediction import Prediction
from autoprompt.records.progress import Progress, Scoring
from autoprompt.records.task_kind import TaskKind
from autoprompt.records.trial import Trial, TrialState
from autoprompt.search.callbacks import Callback
from autoprompt.search.farm import FarmedBackend
from autoprompt.search.parts import Grading, Models, Sharing, Spending
from autoprompt.search.racing import Racer, rungs_for
from autoprompt.search.refine import RefinementStrategy
from autoprompt.search.result import Finalist, OptimizationResult, TestReport, completed
from autoprompt.search.selection import Selection, choose
from autoprompt.search.shared_strategy import SharedBudget, SharedRateLimiter, SharedStrategy, StopWhenSpent
from autoprompt.search.starts import plain_starts, reviewed_candidates, start_candidate
from autoprompt.search.strategy import OptunaStrategy, SearchStrategy, StrategyState, halving_pruner, study_of
from autoprompt.search.task import Task
from autoprompt.search.testset import score_test_set
from autoprompt.spec import RunSpec

LOG = logging.getLogger("autoprompt.search")
HOLDOUT_MIN_ROWS = 30  # below this, refinement checks its winner on the search rows alone
CHECK_SPARE_CALLS = 4  # per finalist, kept for the final check beyond its rows (a calibration's odd request)
CALIBRATION_ROWS = 32  # the first search rows (racing's first rungs), whose inputs set a calibrated prompt's prior
ACCEPT_CONFIDENCE = 0.9  # one-sided paired-bootstrap confidence a challenger needs to replace the incumbent


class Optimizer:
    """Finds a better prompt for a labeled task: the search ``spec`` describes (its seed, strategy,
    operators, racing and prompt-size settings), on the prepared ``task``, through ``models``."""

    def __init__(self, *, spec: RunSpec, task: Task, models: Models, grading: Grading, spending: Spending,
                 callbacks: Sequence[Callback], sharing: Sharing | None = None,
                 scoring: Callable[[Scoring], None] | None = None) -> None:
        self.spec = spec
        self.task = task
        self.models = models
        self.grading = grading
        self.spending = spending
        self.callbacks = list(callbacks)
        self.sharing = sharing
        self.scoring = scoring  # hears how scoring the start and the winner on test goes

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
        """Search, pick the winner, score start and winner on the test set (Optuna's per-trial log
        lines off meanwhile, for this run's studies only)."""
        with quiet_optuna():
            try:
                return self._run()
            finally:
                if isinstance(self.backend, FarmedBackend):
                    self.backend.queue.close()  # the run's workers stop

    def _run(self) -> OptimizationResult:
        started = time.monotonic()
        client, racer = self._racer()
        author = self.models.writer
        writer = self.spending.client(author, client.budget) if author else None
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
            strategy=self.spec.search.strategy,
            accepted=state.accepted if state.accepted is not None else _improvements(trials),
            rejected=state.rejected, selection=selection, model_options=self.spec.model_settings(),
        )

    def work(self) -> int:
        """As a worker of a shared run: search until every worker together has spent the
        budget; return how many trials this process evaluated."""
        assert self.sharing is not None
        if self.sharing.run.spent() >= self.spending.budget.calls - self._reserve():
            return 0
        with quiet_optuna():
            client, racer = self._racer()
            strategy, reserve = self._strategy(racer, None)
            trials, _ = self._search(strategy, racer, client, reserve)
        return len(trials)

    @property
    def objective(self) -> str:
        """The name of what the search maximizes: the metric, with the consistency term if it counts."""
        grading = self.grading
        return grading.consistency.name(grading.metric.name) if grading.consistency else grading.metric.name

    def _racer(self) -> tuple[Client, Racer]:
        """A client on a fresh budget, and the racer that evaluates on the search rows through it."""
        dev, _ = self.selection_rows()
        budget, limiter = self.spending.budget.start(), None
        if self.sharing is not None and not isinstance(self.backend, FarmedBackend):  # every process's caps together
            limits, shared = limits_of(self.backend), self.sharing.run
            budget = SharedBudget(shared, self.spending.budget, started=shared.started())
            limiter = SharedRateLimiter(shared, limits.rpm, limits.tpm)
        client = self.spending.client(self.backend, budget, limiter)
        return client, Racer(self.evaluator(client), dev, rungs_for(len(dev), self.spec.search.first_rung),
                             max_prompt_tokens=self.spec.search.max_prompt_tokens)

    @functools.cached_property
    def _selection_rows(self) -> tuple[list[Example], list[Example]]:
        rows = list(self.task.data.dev.examples)
        if self.spec.search.strategy != "refine" or len(rows) < HOLDOUT_MIN_ROWS:
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
        metric, judge = self.grading.metric, None
        if metric.needs_model:
            judge = self.spending.client(self.models.judge or self.backend, client.budget)
            metric = metric.bind(judge)
        search, _ = self.selection_rows()
        return Evaluator(client, metric, self.task.setup.kind, consistency=self.grading.consistency, judge_client=judge,
                         calibration_rows=search[:CALIBRATION_ROWS],
                         label_shares=label_shares([*self.task.setup.train, *search])
                         if self.task.setup.kind is TaskKind.CLASSIFICATION else None)

    def _calibrated_pruned_starts(self) -> int:
        """How many pruned starts get a calibrated copy: as many as a tenth of the budget pays for, each
        paying for the prior's rows past the first rung (the rows its raw copy was scored on are cached)."""
        extra = max(1, min(CALIBRATION_ROWS, len(self.selection_rows()[0])) - self.spec.search.first_rung)
        return self.spending.budget.calls // 10 // extra

    def _reserve(self) -> int:
        """Calls the component search keeps back to complete its top candidates on dev."""
        return min(self.spec.search.top_k * len(self.task.data.dev.examples), self.spending.budget.calls // 5)

    def _holdout_reserve(self) -> int:
        """Calls refinement keeps back for the final check: the base and the last accepted step,
        each on every held-out row (with its samples and judge calls) plus its calibration; and what
        a running trial may spend, since a trial that starts runs to its end."""
        search, held = self.selection_rows()
        if not held:
            return 0
        per_row = self._calls_per_row()
        check = 2 * ((len(held) + len(self.task.setup.train)) * per_row + CHECK_SPARE_CALLS)  # the pool rows at most
        return min(check + len(search) * per_row + 4, self.spending.budget.calls // 5)

    def _calls_per_row(self) -> int:
        """Model calls one prompt spends on one row: its answer, its samples, and their judge calls."""
        consistency = self.grading.consistency
        per_row = 1 + (consistency.samples if consistency and self.task.setup.kind is TaskKind.GENERATION else 0)
        return per_row * (2 if self.grading.metric.needs_model else 1)

    def _strategy(self, racer: Racer, writer: Client | None) -> tuple[SearchStrategy, Callable[[], int]]:
        """The strategy, and the calls it keeps back for the end: the component search's top
        candidates on dev, or refinement's final check."""
        start = start_candidate(self.task)
        first_rung = self.spec.search.first_rung
        alternatives = plain_starts(self.task, limit=max(3, self.spending.budget.calls // (4 * first_rung)))
        space = SearchSpace.for_task(self.task.setup, supports_chat=self.backend.supports_chat,
                                     custom=self.task.custom is not None, messages=takes_messages(self.backend))
        if self.spec.search.strategy == "components" and self.sharing is not None:
            return self._shared_strategy(space, start, racer), self._reserve
        if isinstance(self.backend, FarmedBackend) and self.sharing is not None and self.sharing.arguments is not None:
            self.sharing.run.create(self.sharing.arguments, sampler=None, pruner=None, start=None,
                                    reopen=self.sharing.reopen)  # workers find it
            self.backend.queue.reset()
        if self.spec.search.strategy == "components":
            return OptunaStrategy(space, seed=self.seed, start=start, min_resource=racer.rungs[0]), self._reserve
        context = RefineContext(setup=self.task.setup, space=space, dev={ex.id: ex for ex in racer.dev},
                                custom=self.task.custom, writer=writer, scorer=racer.evaluator.client,
                                rng=random.Random(self.seed), feedback=self.grading.feedback,
                                reserve=self._holdout_reserve())
        refining = RefinementStrategy(context=context, operators=build_operators(self.spec.search.operators),
                                      start=start, seed=self.seed, reviewed=reviewed_candidates(self.grading.feedback),
                                      alternatives=alternatives, confidence=ACCEPT_CONFIDENCE,
                                      calibrate_pruned=self._calibrated_pruned_starts())
        return refining, self._holdout_reserve

    def _shared_strategy(self, space: SearchSpace, start: Candidate, racer: Racer) -> SearchStrategy:
        """The component search on the shared study: created here by the run's first process, else joined."""
        assert self.sharing is not None
        shared, arguments = self.sharing.run, self.sharing.arguments
        sampler = tpe_sampler(os.getpid() if arguments is None else self.seed)
        pruner = halving_pruner(racer.rungs[0])
        if arguments is not None:
            study = shared.create(arguments, sampler=sampler, pruner=pruner, start=space.params_of(start))
        else:
            study = shared.study(sampler=sampler, pruner=pruner)
        self.callbacks.append(StopWhenSpent(shared, self.spending.budget.calls - self._reserve()))
        return SharedStrategy(OptunaStrategy(space, seed=self.seed, start=start, min_resource=racer.rungs[0],
                                             study=study), shared)

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
        return Progress(len(trials), client.calls, self.spending.budget.calls, leader.score,
                        leader.candidate.describe(), seconds=client.budget.elapsed(), usd=client.usd)

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
            base, before = state.base, racer.evaluator.client.calls
            finalists = [base, *state.chain[-1:]]
            holdout, pool = self._check_rows(finalists, trials, racer.evaluator.client.budget.remaining)
            scores = self._holdout_scores(racer, finalists, holdout)
            winner, selection = choose(base, state.chain, scores, len(holdout), pool, racer.evaluator.signal)
            selection = replace(selection, calls=racer.evaluator.client.calls - before)
            LOG.info("the winner: %s", selection.how)
            return self._finalist(winner, racer), self._finalist(base, racer), selection
        done = {t.candidate for t in completed(trials)}
        pending: dict[Candidate, Trial] = {}
        for t in sorted((t for t in trials if t.candidate not in done), key=lambda t: (-t.score, t.number)):
            pending.setdefault(t.candidate, t)
        for trial in list(pending.values())[: self.spec.search.top_k]:
            finished = racer.race(trial.number, trial.candidate, self.prompt(trial.candidate), _no_prune)
            finished = replace(finished, operator=trial.operator, parent=trial.parent)
            if finished.state is TrialState.INTERRUPTED:
                break
            trials[trial.number] = finished
        winner = max(completed(trials), key=lambda t: (t.score, t.number == 0, -t.prompt_chars, -t.number))
        return self._finalist(winner, racer), self._finalist(trials[0], racer), None

    def _check_rows(self, finalists: Sequence[Trial], trials: Sequence[Trial],
                    remaining: float = math.inf) -> tuple[list[Example], int]:
        """The rows the final check reads, and how many of them are pool rows: the held-out rows, then
        the demonstration pool's rows that no finalist shows, as many as the ``remaining`` calls pay for
        (each distinct request on each row: a calibrated finalist and its raw prompt send the same ones;
        with a few calls to spare for a calibration), unless a finalist
        carries what a move that read the pool put into ``trials`` (then, or with no held-out rows, the
        held-out rows alone). The rows are cut in the pool's own order, whatever their scores."""
        held = self.selection_rows()[1]
        if not held or any(carries_pool_reading(t.candidate, trials) for t in finalists):
            return held, 0
        shown = {ex.id for t in finalists for ex in pick_demos(self.task.setup, t.candidate)}
        pool = [ex for ex in self.task.setup.train if ex.id not in shown]
        if not math.isinf(remaining):
            asking = {replace(t.candidate, calibrate=False) for t in finalists}  # calibrated: as its raw prompt
            spendable = remaining - CHECK_SPARE_CALLS * len(finalists)
            rows_paid = int(spendable // (len(asking) * self._calls_per_row()))
            pool = pool[:max(0, rows_paid - len(held))]
        return [*held, *pool], len(pool)

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
        evaluator = self.evaluator(self.spending.client(self.backend))
        LOG.info("scoring the start and the winner on the %d test rows", len(test))
        report = score_test_set(evaluator, baseline.prompt, best.prompt, test, seed=self.seed, scoring=self.scoring,
                                commonest=self._commonest_label())
        return report, [c for c in (evaluator.client, evaluator.judge_client) if c is not None]

    def _commonest_label(self) -> tuple[str, float] | None:
        """For labels graded without a model: the commonest label of the training and dev rows (the first to
        appear, on a tie) and its share of them."""
        if self.task.setup.kind is not TaskKind.CLASSIFICATION or self.grading.metric.needs_model:
            return None
        return commonest_label([*self.task.data.train.examples, *self.task.data.dev.examples])


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
