"""Search strategies: what to try next, and what was learned from the last try.

Contract:
- ``SearchStrategy.ask()`` returns a ``Proposal``: a candidate plus ``report(n, score)``,
  which the racer calls after each dev batch and which answers whether to stop
  early (prune).
- ``SearchStrategy.tell(proposal, trial)`` hands back the finished trial.
- ``OptunaStrategy`` samples with Optuna's seeded TPE sampler, enqueues the
  starting prompt as the first trial, and prunes with successive halving.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .candidate import Candidate
from .errors import MissingDependency
from .space import SearchSpace
from .trial import Trial, TrialState

if TYPE_CHECKING:
    import optuna


class Proposal(Protocol):
    """A candidate to evaluate, and the channel for reporting partial scores."""

    candidate: Candidate

    def report(self, n: int, score: float) -> bool:
        """Record the score on the first ``n`` dev examples; True means stop here."""
        ...


class SearchStrategy(Protocol):
    """Proposes candidates and learns from their trials."""

    def ask(self) -> Proposal: ...

    def tell(self, proposal: Proposal, trial: Trial) -> None: ...


@dataclass
class OptunaProposal:
    """A proposal backed by an Optuna trial."""

    candidate: Candidate
    trial: optuna.trial.Trial

    def report(self, n: int, score: float) -> bool:
        self.trial.report(score, step=n)
        return bool(self.trial.should_prune())


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise MissingDependency("optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


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
            optuna = _optuna()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=10, multivariate=True)
            self._study = optuna.create_study(
                direction="maximize",
                sampler=sampler,
                pruner=optuna.pruners.SuccessiveHalvingPruner(
                    min_resource=self.min_resource, reduction_factor=self.reduction_factor),
            )
            self._study.enqueue_trial(self.space.params_of(self.start))
        return self._study

    def ask(self) -> OptunaProposal:
        trial = self.study.ask()
        return OptunaProposal(self.space.suggest(trial), trial)

    def tell(self, proposal: Proposal, trial: Trial) -> None:
        assert isinstance(proposal, OptunaProposal)
        optuna = _optuna()
        if trial.state is TrialState.COMPLETE:
            self.study.tell(proposal.trial, trial.score)
        elif trial.state is TrialState.PRUNED:
            self.study.tell(proposal.trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(proposal.trial, state=optuna.trial.TrialState.FAIL)
