"""The evaluator: runs a prompt over examples through the client and scores each.

Contract:
- ``prepare(prompt)`` computes the calibration prior when the prompt asks for it and returns the
  calibrated copy: each label's mean probability over the inputs of ``calibration_rows``, the task's
  own rows (batch calibration, Zhou et al., 2024), or without them over content-free inputs
  (contextual calibration, Zhao et al., 2021). One scoring call per input, cached like any other, so
  inputs the uncalibrated prompt was already scored on cost nothing. With ``label_shares`` (each
  label's share of the task's labelled rows) uneven, each mean is divided by its label's share as
  well, so the calibrated answers follow the rows' label mix rather than an even one; and the
  rows' targets fit how far the model is trusted against that mix (``prior_power``: a model that
  reads too little of the task leans to its commonest label). With even shares the targets are
  unread.
- ``predict(prompt, example)`` returns a ``Prediction``: the output (a label or
  generated text), its metric score, the judge's reason when the metric has one, and
  whether it failed. A request that fails on its own (``ExampleFailed``) is a failed
  prediction with score 0, not an exception; so is a judge that cannot grade (the
  prediction keeps its output, ``error`` says why).
- With ``consistency`` (see ``autoprompt.evaluate.consistency``) each prediction also carries
  the agreement of k sampled answers, and its score is the blended objective when
  the consistency weight is above 0 (``quality`` keeps the metric's own score).
- ``judge_client`` is the client a judge metric was bound to (its calls are counted
  apart from the target model's); None for metrics that need no model.
- ``evaluate(prompt, examples)`` maps ``predict`` over examples and returns them in
  order. When the backend allows concurrent requests (``client.concurrency`` > 1) the
  examples run on that many threads (no event loop of its own, so it works the same inside
  a notebook's or a web server's running loop), and every one finishes before the first
  failure, in example order, is raised.
  When the backend takes batches (``BatchScoring``: label scores; ``BatchGenerating``: free-text
  answers, greedy and sampled, without a JSON schema), the examples go to it ``batch_size`` at a
  time instead, with the same predictions (the local backend's scores do not depend on the
  batch), and a judge metric grades each batch's answers together (``Metric.grade_all``). If the
  budget runs out, the ``BudgetExhausted`` raised carries the predictions finished
  before it in ``.predictions``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import TypeVar

from autoprompt.errors import BudgetExhausted, ExampleFailed, TemplateError
from autoprompt.evaluate.consistency import Consistency, agreement
from autoprompt.evaluate.metric import Metric, closeness, token_f1
from autoprompt.models.backend import BatchGenerating, batch_size
from autoprompt.models.client import Client
from autoprompt.prompts.prompt import Prompt, calibration_from, prior_power, probabilities, uneven
from autoprompt.prompts.structured import read_json
from autoprompt.records.example import Example
from autoprompt.records.grade import Grade
from autoprompt.records.message import Conversation, as_text
from autoprompt.records.prediction import Prediction, Signal
from autoprompt.records.task_kind import TaskKind

BRIER = Signal("Brier", "Brier score (the gold label's probability, not 0/1 accuracy)")
CLOSENESS = Signal("closeness", "closeness to the target (exact match and character similarity, half each; "
                                "not 0/1)")

T = TypeVar("T")
R = TypeVar("R")

ROWS_REPORTED = 64  # rows between two progress reports of ``evaluate(..., on_rows=...)``
NO_RENDER = "the prompt does not render"  # how a failed row that never reached the model starts


class Evaluator:
    """Scores prompts on examples."""

    def __init__(self, client: Client, metric: Metric, kind: TaskKind, *,
                 consistency: Consistency | None = None, judge_client: Client | None = None,
                 calibration_rows: Sequence[Example] = (),
                 label_shares: Mapping[str, float] | None = None) -> None:
        self.client = client
        self.metric = metric
        self.kind = kind
        self.consistency = consistency
        self.judge_client = judge_client
        self.calibration_rows = calibration_rows
        self.label_shares = label_shares

    def prepare(self, prompt: Prompt) -> Prompt:
        if not prompt.calibrate or prompt.calibration is not None or self.kind is not TaskKind.CLASSIFICATION:
            return prompt
        labels = list(prompt.continuations())
        requests = self._calibration_requests(prompt)
        scores = self._label_scores(prompt, [request for request, _ in requests])
        answered = [(dict(zip(labels, s)), target) for s, (_, target) in zip(scores, requests, strict=True)
                    if s is not None]
        scored, targets = [lp for lp, _ in answered], [target for _, target in answered]
        shares = self.label_shares
        power = prior_power(scored, targets, shares) if shares and uneven(shares, labels) else 1.0
        return replace(prompt, calibration=calibration_from(scored, shares, power), calibration_power=power)

    def _calibration_requests(self, prompt: Prompt) -> list[tuple[str | Conversation, str]]:
        """The prompt over the task's own rows, each with its target (those it cannot render left
        out), or over content-free inputs (no target) when the evaluator has none."""
        requests: list[tuple[str | Conversation, str]] = []
        for row in self.calibration_rows:
            try:
                requests.append((prompt.request(row.inputs), row.target))
            except TemplateError:
                continue
        return requests or [(request, "") for request in prompt.content_free()]

    def _label_scores(self, prompt: Prompt, texts: list[str | Conversation]) -> list[list[float] | None]:
        """Every label's log-likelihood after each request, in order (None for a failed request):
        batched when the backend takes batches, concurrent when it allows, else one at a time. When
        all fail, the first failure is raised."""
        conts = list(prompt.continuations().values())

        def score(text: str | Conversation) -> list[float] | ExampleFailed:
            try:
                return self.client.score(text, conts, chat=prompt.chat)
            except ExampleFailed as exc:
                return exc

        if self._batches(prompt) and len(texts) > 1:
            answers = self.client.score_many(texts, conts, chat=prompt.chat)
        elif self.client.concurrency > 1:
            answers = [f.result() for f in self._finished(score, texts)]
        else:
            answers = [score(text) for text in texts]
        if all(isinstance(a, ExampleFailed) for a in answers):
            raise next(a for a in answers if isinstance(a, ExampleFailed))
        return [None if isinstance(a, ExampleFailed) else a for a in answers]

    def answers(self, prompt: Prompt, example: Example) -> tuple[str, list[str], dict[str, float] | None]:
        """The greedy answer, the sampled ones when consistency is measured, and for labels every
        label's (calibrated) probability. A prompt that cannot render for this example (e.g. over the
        size cap with its inputs) fails the example."""
        try:
            text = prompt.request(example.inputs)
        except TemplateError as exc:
            raise ExampleFailed(f"{NO_RENDER} for this example: {exc}") from None
        sampling = self.consistency
        if self.kind is TaskKind.GENERATION:
            def ask(temperature: float = 0.0, sample: int = 0) -> str:
                return self.client.generate(text, chat=prompt.chat, max_tokens=prompt.max_output_tokens,
                                            stop=prompt.stop, temperature=temperature, sample=sample,
                                            cache_key=prompt_cache_key(prompt), json_schema=prompt.json_schema)

            generated = ask()
            samples = [prompt.answer(ask(sampling.temperature, i)) or ""
                       for i in range(1, sampling.samples + 1)] if sampling else []
            return _graded(prompt, generated), samples, None
        conts = prompt.continuations()
        scores = self.client.score(text, list(conts.values()), chat=prompt.chat, cache_key=prompt_cache_key(prompt))
        return self._label(prompt, text, scores)

    def _label(self, prompt: Prompt, text: str | Conversation,
               scores: Sequence[float]) -> tuple[str, list[str], dict[str, float]]:
        """The label the scores decide, the sampled labels when consistency is measured, and every
        label's (calibrated) probability."""
        logprobs = dict(zip(prompt.continuations(), scores))
        probs = probabilities(logprobs, prompt.calibration, prompt.calibration_power)
        sampling = self.consistency
        samples = sampling.draw_labels(probs, as_text(text)) if sampling else []
        return prompt.decide(logprobs), samples, probs

    def predict(self, prompt: Prompt, example: Example) -> Prediction:
        try:
            output, samples, probs = self.answers(prompt, example)
        except ExampleFailed as exc:
            return Prediction(example.id, "", 0.0, failed=True, error=str(exc))
        return self._prediction(example, output, samples, probs, self.metric.grade(example, output))

    def _prediction(self, example: Example, output: str, samples: list[str], probs: dict[str, float] | None,
                    grade: Grade) -> Prediction:
        error = grade.reason if grade.failed else ""
        if self.consistency is None:
            return Prediction(example.id, output, grade.score, error=error, reason=grade.reason,
                              signal=self._signal(example, output, grade.score, probs))
        agreed = agreement(samples, self._same)
        return Prediction(example.id, output, self.consistency.blend(grade.score, agreed), error=error,
                          reason=grade.reason, agreement=agreed, quality=grade.score)

    @property
    def signal(self) -> Signal | None:
        """What the predictions' ``signal`` holds (``_signal``); None when they carry none."""
        if self.consistency is not None:
            return None
        if self.kind is TaskKind.CLASSIFICATION:
            return BRIER if self.metric.accuracy_like else None
        return CLOSENESS if self.metric.all_or_nothing else None

    def _signal(self, example: Example, output: str, score: float, probs: dict[str, float] | None) -> float | None:
        """More than one bit per row for selection to compare: for labels scored by accuracy, the row's
        Brier score (``brier_score``); for free text scored all or nothing (exact match), the score
        averaged with the answer's ``closeness`` to the target, so an exact answer counts 1 and a near miss
        up to a half. None (the score itself) for other metrics."""
        if self.signal is BRIER and probs is not None:
            return brier_score(probs, example.target)
        if self.signal is CLOSENESS:
            return (score + closeness(example, output)) / 2
        return None

    def _same(self, a: str, b: str) -> float:
        if self.kind is TaskKind.CLASSIFICATION:
            return float(a == b)
        similar = token_f1 if self.metric.model_graded else self.metric
        return (similar(Example("", {}, a), b) + similar(Example("", {}, b), a)) / 2

    def evaluate(self, prompt: Prompt, examples: Sequence[Example], *,
                 on_rows: Callable[[int, int], None] | None = None) -> list[Prediction]:
        """Every example's prediction; ``on_rows(done, total)`` hears after each chunk of ``ROWS_REPORTED``
        rows (the same predictions: rows are scored independently)."""
        if on_rows is None:
            return self._evaluate(prompt, examples)
        done: list[Prediction] = []
        on_rows(0, len(examples))
        for start in range(0, len(examples), ROWS_REPORTED):
            try:
                done += self._evaluate(prompt, examples[start:start + ROWS_REPORTED])
            except BudgetExhausted as exc:
                exc.predictions = done + list(exc.predictions or [])
                raise
            on_rows(len(done), len(examples))
        return done

    def _evaluate(self, prompt: Prompt, examples: Sequence[Example]) -> list[Prediction]:
        if self._batches(prompt) and len(examples) > 1:
            return self._evaluate_in_batches(prompt, examples)
        if self.client.concurrency > 1 and len(examples) > 1:
            return self._evaluate_concurrently(prompt, examples)
        done: list[Prediction] = []
        try:
            for ex in examples:
                done.append(self.predict(prompt, ex))
        except BudgetExhausted as exc:
            exc.predictions = done
            raise
        return done

    def _batches(self, prompt: Prompt) -> bool:
        """Whether the backend takes this prompt's examples in batches: labels always, free text
        unless the answers follow a JSON schema (a grammar per request)."""
        backend = self.client.backend
        if batch_size(backend) <= 1:
            return False
        return self.kind is TaskKind.CLASSIFICATION or (isinstance(backend, BatchGenerating) and
                                                        prompt.json_schema is None)

    def _evaluate_in_batches(self, prompt: Prompt, examples: Sequence[Example]) -> list[Prediction]:
        """The examples scored ``batch_size`` at a time by a batching backend; the same predictions
        as one at a time. When the budget cannot pay for a whole batch, the rest go one at a time
        (which stops exactly where the budget does)."""
        size = batch_size(self.client.backend)
        done: list[Prediction] = []
        for start in range(0, len(examples), size):
            chunk = examples[start:start + size]
            try:
                done += self._batch(prompt, chunk)
            except BudgetExhausted:
                for ex in examples[len(done):]:
                    try:
                        done.append(self.predict(prompt, ex))
                    except BudgetExhausted as exc:
                        exc.predictions = done
                        raise
                break
        return done

    def _batch(self, prompt: Prompt, examples: Sequence[Example]) -> list[Prediction]:
        """One batch: the requests answered together, then the answers graded together (a judge
        metric's requests go to its model as a batch too)."""
        texts: dict[int, str | Conversation] = {}
        failed: dict[int, str] = {}
        for i, ex in enumerate(examples):
            try:
                texts[i] = prompt.request(ex.inputs)
            except TemplateError as exc:
                failed[i] = f"{NO_RENDER} for this example: {exc}"
        answers = dict(zip(texts, self._answers_together(prompt, list(texts.values()))))
        sampled = self._samples_together(prompt, list(texts.values()))
        outputs: dict[int, tuple[str, list[str], dict[str, float] | None]] = {}
        for k, (i, answer) in enumerate(answers.items()):
            try:
                if isinstance(answer, ExampleFailed):
                    raise answer
                outputs[i] = self._label(prompt, texts[i], answer) if isinstance(answer, list) else \
                    (_graded(prompt, answer), [_sample_answer(prompt, samples[k]) for samples in sampled], None)
            except ExampleFailed as exc:
                failed[i] = str(exc)
        grades = dict(zip(outputs, self.metric.grade_all([examples[i] for i in outputs],
                                                         [output for output, _, _ in outputs.values()])))
        return [Prediction(ex.id, "", 0.0, failed=True, error=failed[i]) if i in failed else
                self._prediction(ex, *outputs[i], grades[i]) for i, ex in enumerate(examples)]

    def _answers_together(self, prompt: Prompt, texts: list[str | Conversation]
                          ) -> list[list[float] | str | ExampleFailed]:
        """Label scores, or greedy answers, for every request, from one batched client call."""
        if self.kind is TaskKind.CLASSIFICATION:
            return list(self.client.score_many(texts, list(prompt.continuations().values()), chat=prompt.chat))
        return list(self.client.generate_many(texts, chat=prompt.chat, max_tokens=prompt.max_output_tokens,
                                              stop=prompt.stop))

    def _samples_together(self, prompt: Prompt, texts: list[str | Conversation]) -> list[list[str | ExampleFailed]]:
        """For free text measured for consistency, the sampled answers: per sample, every request's
        from one batched client call (the same keys and answers as ``answers`` asks one at a time)."""
        sampling = self.consistency
        if sampling is None or self.kind is TaskKind.CLASSIFICATION:
            return []
        return [list(self.client.generate_many(texts, chat=prompt.chat, max_tokens=prompt.max_output_tokens,
                                               stop=prompt.stop, temperature=sampling.temperature, sample=i))
                for i in range(1, sampling.samples + 1)]

    def _finished(self, fn: Callable[[T], R], items: Sequence[T]) -> list[Future[R]]:
        """``fn`` over ``items``, as many at once as the client allows; every call has finished on return."""
        with ThreadPoolExecutor(max_workers=max(1, min(self.client.concurrency, len(items)))) as pool:
            return [pool.submit(fn, item) for item in items]

    def _evaluate_concurrently(self, prompt: Prompt, examples: Sequence[Example]) -> list[Prediction]:
        futures = self._finished(lambda ex: self.predict(prompt, ex), examples)
        done: list[Prediction] = []
        for future in futures:  # in example order; all have finished
            error = future.exception()
            if error is not None:
                if isinstance(error, BudgetExhausted):
                    error.predictions = done
                raise error
            done.append(future.result())
        return done

    def aggregate(self, examples: Sequence[Example], predictions: Sequence[Prediction]) -> float:
        return self.metric.aggregate(examples, [p.output for p in predictions], [p.score for p in predictions])


def brier_score(probs: Mapping[str, float], gold: str) -> float:
    """One minus half the squared distance between the label probabilities and the gold label, in [0, 1]:
    1 for full confidence in the gold label, 0 for full confidence in a wrong one. A strictly proper score
    (Brier, 1950), so its mean ranks prompts by how well they would decide, without the 0/1 coin flip."""
    return 1.0 - 0.5 * sum((p - (label == gold)) ** 2 for label, p in probs.items())


def _sample_answer(prompt: Prompt, sample: str | ExampleFailed) -> str:
    """A sampled answer as consistency compares it ("" when the pattern does not match); a failed
    sample request fails the example, as in ``Evaluator.answers``."""
    if isinstance(sample, ExampleFailed):
        raise sample
    return prompt.answer(sample) or ""


def _graded(prompt: Prompt, generated: str) -> str:
    """The answer to grade; one the answer pattern does not match, or (when the prompt asks for
    JSON) one that holds no JSON, is a failed example."""
    answer = prompt.answer(generated)
    if answer is None:
        raise ExampleFailed(f"the answer does not match the answer pattern {prompt.answer_pattern!r}: "
                            f"{' '.join(generated.split())[:80]!r}")
    if prompt.json_schema is not None:
        try:
            read_json(answer)
        except ValueError as exc:
            raise ExampleFailed(str(exc)) from None
    return answer


@functools.lru_cache(maxsize=1024)
def prompt_cache_key(prompt: Prompt) -> str:
    """A short name for the prompt's shared prefix, the part a provider's prompt cache can reuse
    across examples (one per prompt; empty when the prompt starts with its input)."""
    prefix = prompt.shared_prefix()
    return "autoprompt-" + hashlib.sha256(prefix.encode()).hexdigest()[:16] if prefix else ""
