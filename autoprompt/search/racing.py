"""Racing: score a candidate on growing dev batches and stop the hopeless early.

Contract: ``Racer.race(number, candidate, prompt, report)`` evaluates ``prompt`` on
the first r dev examples for each rung r (e.g. 16, 32, 64, all), calling
``report(r, signal)`` after each rung (the mean selection value of its predictions so far,
``Prediction.value``); when it answers True the trial is PRUNED.
A budget that runs out mid-race ends the trial as INTERRUPTED with every
prediction made so far kept. With ``max_prompt_tokens``, a prompt longer than that
(measured on the first dev example) is PRUNED before any call; trial 0, the
starting prompt, is always scored. A prompt that cannot be prepared (calibration on a
backend that gives no label scores) is PRUNED before any call, with the reason in
``failure``. The trial carries its score at each rung, the error
analysis of its predictions and its prompt length in the model's tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from autoprompt.errors import BudgetExhausted, ConfigError, ExampleFailed
from autoprompt.evaluate.analysis import analyze
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.models.backend import count_tokens
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from autoprompt.records.prediction import Prediction
from autoprompt.records.trial import Trial, TrialState


def rungs_for(n_dev: int, first: int = 16, factor: int = 2) -> tuple[int, ...]:
    """Batch sizes of the race: first, first*factor, ... and finally the whole dev set."""
    if first < 1 or factor < 2:
        raise ConfigError(f"racing needs a first rung of at least 1 example and a factor of at least 2, got "
                          f"first_rung={first}, factor={factor}")
    sizes = []
    size = first
    while size < n_dev:
        sizes.append(size)
        size *= factor
    return (*sizes, n_dev)


class Racer:
    """Runs one candidate through the rungs."""

    def __init__(self, evaluator: Evaluator, dev: Sequence[Example], rungs: Sequence[int], *,
                 max_prompt_tokens: int | None = None) -> None:
        self.evaluator = evaluator
        self.dev = list(dev)
        self.rungs = tuple(rungs)
        self.max_prompt_tokens = max_prompt_tokens

    def race(self, number: int, candidate: Candidate, prompt: Prompt, report: Callable[[int, float], bool]) -> Trial:
        started, calls_before = time.monotonic(), self.evaluator.client.calls
        text = prompt.request(self.dev[0].inputs)
        tokens = count_tokens(self.evaluator.client.backend, text, chat=prompt.chat)
        predictions: list[Prediction] = []
        rung_scores: list[tuple[int, float]] = []
        state = TrialState.COMPLETE
        rungs: tuple[int, ...] = self.rungs
        failure = ""
        if number > 0 and self.max_prompt_tokens is not None and tokens > self.max_prompt_tokens:
            state, rungs = TrialState.PRUNED, ()
        try:
            prompt = self.evaluator.prepare(prompt) if rungs else prompt
        except ExampleFailed as exc:  # calibration needs label scores this backend cannot give
            state, rungs, failure = TrialState.PRUNED, (), str(exc)
        except BudgetExhausted:  # the last calls of the budget went to calibrating it: nothing was scored
            state, rungs = TrialState.INTERRUPTED, ()
        try:
            for rung in rungs:
                predictions += self.evaluator.evaluate(prompt, self.dev[len(predictions):rung])
                rung_scores.append((rung, self._score(predictions)))
                if rung < len(self.dev) and report(rung, sum(p.value for p in predictions) / len(predictions)):
                    state = TrialState.PRUNED
                    break
        except BudgetExhausted as exc:
            predictions += exc.predictions
            state = TrialState.INTERRUPTED
        return Trial(
            number=number, candidate=candidate, state=state, score=self._score(predictions),
            predictions=tuple(predictions), calls=self.evaluator.client.calls - calls_before,
            seconds=time.monotonic() - started, prompt_chars=len(text), prompt_tokens=tokens,
            rung_scores=tuple(rung_scores), analysis=analyze(self.dev, predictions, self.evaluator.kind),
            failure=failure,
        )

    def _score(self, predictions: Sequence[Prediction]) -> float:
        return self.evaluator.aggregate(self.dev[: len(predictions)], predictions) if predictions else 0.0
