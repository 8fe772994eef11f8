"""Search strategies: what to try next, and what was learned from the last try.

Contract:
- ``SearchStrategy.ask()`` returns a ``Proposal``: a candidate, the operator that
  made it and its parent trial's number, plus ``report(n, score)``, which the racer
  calls after each dev batch and which answers whether to stop early (prune).
- ``SearchStrategy.tell(proposal, trial)`` hands back the finished trial.
- ``SearchStrategy.settle(evaluate)``, once the search has stopped, finishes what is
  pending (a shared run evaluates, through ``evaluate``, trials that workers left) and
  returns a ``StrategyState``: what the loop needs to choose the winner and tell the story
  (the base and accepted chain the final check compares, the accepted and rejected
  proposals, the study). The loop reads nothing else of a strategy.
- ``study_of(trials)`` records the trials of a strategy that is not Optuna-based in
  a new Optuna study (candidate, operator and parent as user attributes, rung scores
  as intermediate values), so optuna-dashboard opens every run.
- ``OptunaStrategy`` samples with Optuna's seeded TPE sampler, enqueues the
  starting prompt as the first trial, and prunes with successive halving.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from autoprompt.files import make_folder
from autoprompt.propose.operator import Rejection
from autoprompt.propose.space import SearchSpace
from autoprompt.propose.tpe import optuna_module, tpe_sampler
from autoprompt.records.candidate import Candidate
from autoprompt.records.trial import Trial, TrialState

if TYPE_CHECKING:
    import optuna


class Proposal(Protocol):
    """A candidate to evaluate, and the channel for reporting partial scores."""

    @property
    def candidate(self) -> Candidate: ...

    @property
    def operator(self) -> str: ...

    @property
    def parent(self) -> int | None: ...

    @property
    def number(self) -> int | None:
        """The trial number the strategy gives it (a shared study's), or None: numbered in order."""
        ...

    def report(self, n: int, score: float) -> bool:
        """Record the score on the first ``n`` dev examples; True means stop here."""
        ...


@dataclass(frozen=True)
class StrategyState:
    """What a strategy hands the loop when the search ends (``SearchStrategy.settle``)."""

    trials: tuple[Trial, ...] | None = None  # every process's trials (a shared run); None: the loop's own
    base: Trial | None = None  # the start the final check compares with; None: the best complete trial wins
    chain: tuple[Trial, ...] = ()  # the steps accepted after the base, in order
    accepted: tuple[int, ...] | None = None  # trials that became the incumbent; None: each new best
    rejected: tuple[Rejection, ...] = ()  # proposals thrown away before any call
    study: optuna.Study | None = None  # None: the loop records the trials in a new study (``study_of``)


class SearchStrategy(Protocol):
    """Proposes candidates, learns from their trials, and says what it found."""

    def ask(self) -> Proposal: ...

    def tell(self, proposal: Proposal, trial: Trial) -> None: ...

    def settle(self, evaluate: Callable[[], Trial]) -> StrategyState:
        """Finish what is pending (evaluating through ``evaluate``) and describe the outcome."""
        ...


@dataclass
class OptunaProposal:
    """A proposal backed by an Optuna trial."""

    candidate: Candidate
    trial: optuna.trial.Trial
    operator: str = "tpe"
    parent: int | None = None
    number: int | None = None

    def report(self, n: int, score: float) -> bool:
        self.trial.report(score, step=n)
        return bool(self.trial.should_prune())


def halving_pruner(min_resource: int, reduction_factor: int = 2) -> Any:
    """Successive halving over the racing rungs."""
    return optuna_module().pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=reduction_factor)


class OptunaStrategy:
    """TPE over the search space, with successive-halving pruning on dev batches."""

    def __init__(self, space: SearchSpace, *, seed: int, start: Candidate, min_resource: int,
                 reduction_factor: int = 2, study: optuna.Study | None = None) -> None:
        self.space = space
        self.seed = seed
        self.start = start
        self.min_resource = min_resource
        self.reduction_factor = reduction_factor
        self._study = study

    @property
    def study(self) -> optuna.Study:
        """The Optuna study (created on first use), e.g. for optuna-dashboard."""
        if self._study is None:
            self._study = optuna_module().create_study(direction="maximize", sampler=tpe_sampler(self.seed),
                                                 pruner=halving_pruner(self.min_resource, self.reduction_factor))
            self._study.enqueue_trial(self.space.params_of(self.start))
        return self._study

    def settle(self, evaluate: Callable[[], Trial]) -> StrategyState:
        return StrategyState(study=self.study)

    def ask(self) -> OptunaProposal:
        trial = self.study.ask()
        return OptunaProposal(self.space.suggest(trial), trial, "start" if trial.number == 0 else "tpe")

    def tell(self, proposal: Proposal, trial: Trial) -> None:
        assert isinstance(proposal, OptunaProposal)
        optuna = optuna_module()
        if trial.state is TrialState.COMPLETE:
            self.study.tell(proposal.trial, trial.score)
        elif trial.state is TrialState.PRUNED:
            self.study.tell(proposal.trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(proposal.trial, state=optuna.trial.TrialState.FAIL)


def study_of(trials: Sequence[Trial]) -> optuna.Study:
    """A new in-memory Optuna study holding ``trials``, e.g. for optuna-dashboard."""
    optuna = optuna_module()
    study = optuna.create_study(direction="maximize")
    states = {TrialState.COMPLETE: optuna.trial.TrialState.COMPLETE, TrialState.PRUNED: optuna.trial.TrialState.PRUNED,
              TrialState.INTERRUPTED: optuna.trial.TrialState.FAIL}
    for trial in trials:
        study.add_trial(optuna.trial.create_trial(
            state=states[trial.state], value=trial.score if trial.state is TrialState.COMPLETE else None,
            params={}, distributions={}, intermediate_values=dict(trial.rung_scores),
            user_attrs={"candidate": trial.candidate.describe(), "operator": trial.operator,
                        "parent": trial.parent, "n": trial.n, "prompt_tokens": trial.prompt_tokens},
        ))
    return study


def save_study(study: optuna.Study, path: str | Path) -> str:
    """Copy ``study`` into a new SQLite file at ``path`` (replacing it); return its storage URL,
    which ``optuna-dashboard URL`` and ``optuna.load_study(study_name="autoprompt", storage=URL)`` open."""
    optuna = optuna_module()
    path = Path(path)
    make_folder(path.parent)
    path.unlink(missing_ok=True)  # a link there is removed, not followed
    url = f"sqlite:///{path.resolve()}"
    copy = optuna.create_study(storage=url, study_name="autoprompt", directions=study.directions)
    copy.add_trials(study.trials)
    return url
