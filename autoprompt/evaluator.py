"""The evaluator: runs a prompt over examples through the client and scores each.

Contract:
- ``prepare(prompt)`` computes contextual calibration when the prompt asks for it
  (one call per content-free input) and returns the calibrated copy.
- ``predict(prompt, example)`` returns a ``Prediction``: the output (a label or
  generated text), its metric score, and whether it failed. A request that fails on
  its own (``ExampleFailed``) is a failed prediction with score 0, not an exception.
- ``evaluate(prompt, examples)`` maps ``predict`` over examples and returns them in
  order. When the backend allows concurrent requests (``client.concurrency`` > 1) the
  examples run concurrently on an asyncio loop, at most that many at a time. If the
  budget runs out, the ``BudgetExhausted`` raised carries the predictions finished
  before it in ``.predictions``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .client import Client
from .dataset import Example, TaskKind
from .errors import BudgetExhausted, ExampleFailed
from .metric import Metric
from .prompt import Prompt, calibration_from, parse_generation


@dataclass(frozen=True)
class Prediction:
    """The outcome of one prompt on one example."""

    example_id: str
    output: str
    score: float
    failed: bool = False
    error: str = ""


class Evaluator:
    """Scores prompts on examples."""

    def __init__(self, client: Client, metric: Metric, kind: TaskKind, *, max_tokens: int = 16) -> None:
        self.client = client
        self.metric = metric
        self.kind = kind
        self.max_tokens = max_tokens

    def prepare(self, prompt: Prompt) -> Prompt:
        if not prompt.calibrate or prompt.calibration is not None or self.kind is not TaskKind.CLASSIFICATION:
            return prompt
        labels = list(prompt.continuations())
        conts = list(prompt.continuations().values())
        content_free = [dict(zip(labels, self.client.score(t, conts, chat=prompt.chat))) for t in prompt.content_free()]
        return replace(prompt, calibration=calibration_from(content_free))

    def output(self, prompt: Prompt, example: Example) -> str:
        text = prompt.render(example.inputs)
        if self.kind is TaskKind.GENERATION:
            generated = self.client.generate(text, chat=prompt.chat, max_tokens=self.max_tokens, stop=("\n",))
            return parse_generation(generated)
        conts = prompt.continuations()
        logprobs = self.client.score(text, list(conts.values()), chat=prompt.chat)
        return prompt.decide(dict(zip(conts, logprobs)))

    def predict(self, prompt: Prompt, example: Example) -> Prediction:
        try:
            output = self.output(prompt, example)
        except ExampleFailed as exc:
            return Prediction(example.id, "", 0.0, failed=True, error=str(exc))
        return Prediction(example.id, output, self.metric(example, output))

    def evaluate(self, prompt: Prompt, examples: Sequence[Example]) -> list[Prediction]:
        if self.client.concurrency > 1 and len(examples) > 1:
            return asyncio.run(self._evaluate_concurrently(prompt, examples))
        done: list[Prediction] = []
        try:
            for ex in examples:
                done.append(self.predict(prompt, ex))
        except BudgetExhausted as exc:
            exc.predictions = done
            raise
        return done

    async def _evaluate_concurrently(self, prompt: Prompt, examples: Sequence[Example]) -> list[Prediction]:
        gate = asyncio.Semaphore(self.client.concurrency)

        async def one(example: Example) -> Prediction:
            async with gate:
                return await asyncio.to_thread(self.predict, prompt, example)

        outcomes = await asyncio.gather(*(one(ex) for ex in examples), return_exceptions=True)
        done: list[Prediction] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                if isinstance(outcome, BudgetExhausted):
                    outcome.predictions = done
                raise outcome
            done.append(outcome)
        return done

    def aggregate(self, examples: Sequence[Example], predictions: Sequence[Prediction]) -> float:
        return self.metric.aggregate(examples, [p.output for p in predictions], [p.score for p in predictions])
