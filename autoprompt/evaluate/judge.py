"""The judge: a model that grades free-text outputs against a rubric, as a metric.

Contract:
- A rubric is a Jinja template (bundled in ``templates/judge/``: ``correctness``,
  ``faithfulness``, ``concision``, ``tone``; or a ``.jinja`` file of your own) that may
  use ``input`` (the example's inputs as text), ``inputs`` (by column), ``reference``
  (the target) and ``output``, and asks for ``Score: 1-5`` and ``Reason: ...``.
- ``judge_metric("correctness")`` (``metric="judge:correctness"``) is a model-graded
  ``Metric``; ``bind(client)`` makes it grade through that client, so every judge
  call goes through the same cache, retry and budget layer as the target model's.
  The judge model is separate from the target (``judge_model``; by default the target).
- ``Judge(rubric, client)(example, output)`` returns a ``Grade``: ``(N - 1) / 4`` for a
  reply saying ``Score: N`` and the reply's reason. ``grade_many(examples, outputs)`` grades
  several outputs, their requests sent together when the judge's backend takes batches (the same
  requests, cache keys and grades as one at a time). A reply with no score, or a
  request that fails, is a failed grade (score 0, ``failed`` set, the reason says
  what came back): a recorded failure, never an exception. An empty output gets 0
  without a call.
- ``geval:RUBRIC`` (``Judge(..., weighted=True)``, after G-Eval) asks no reply: it
  scores the continuations ``Score: 1`` .. ``Score: 5`` and returns the
  probability-weighted mean. One scoring call, never unparseable, no reason beyond
  the expected score: the mode for small local judges that do not follow the format.
- The rubric renders in the sandbox; the output being graded is a value, never source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autoprompt.errors import ConfigError, ExampleFailed
from autoprompt.evaluate.metric import Metric, unbound
from autoprompt.models.backend import BatchGenerating, batch_size
from autoprompt.models.client import Client
from autoprompt.prompts.template import Template
from autoprompt.records.example import Example
from autoprompt.records.grade import Grade
from autoprompt.records.message import Conversation

RUBRIC_VARIABLES = frozenset({"input", "inputs", "reference", "output"})
REPLY_TOKENS = 60
SCALE = 5
SCORES = [f"Score: {n}" for n in range(1, SCALE + 1)]  # the continuations G-Eval weighs
EMPTY = Grade(0.0, "the answer is empty")
_SCORE = re.compile(r"score\s*[:=]?\s*\**\s*(\d+(?:\.\d+)?)(?!\s*-\s*\d)", re.I)
_LEADING = re.compile(r"^\s*\**\s*(\d)\s*(?:/\s*\d+)?\s*(?:$|[.,)\n])")
_REASON = re.compile(r"reason\W{0,4}(.+?)(?=\bscore\b|$)", re.I | re.S)


def parse_grade(reply: str, scale: int = SCALE) -> Grade:
    """The grade in a judge's reply: ``Score: N`` (or a reply that starts with N) on a 1..scale scale."""
    match = _SCORE.search(reply) or _LEADING.search(reply)
    value = float(match.group(1)) if match else None
    if value is None or not 1 <= value <= scale:
        shown = " ".join(reply.split())[:120]
        return Grade(0.0, f"the judge's reply holds no score from 1 to {scale}: \"{shown}\"", failed=True)
    reason = _REASON.search(reply)
    text = reason.group(1) if reason else _SCORE.sub("", reply)
    return Grade((value - 1) / (scale - 1), " ".join(text.split()).strip(" .:-*")[:200])


def shown_inputs(example: Example) -> str:
    """An example's inputs as the judge reads them: the value, or ``name: value`` lines."""
    values = list(example.inputs.items())
    return values[0][1] if len(values) == 1 else "\n".join(f"{k}: {v}" for k, v in values)


def load_rubric(name: str) -> Template:
    """A bundled rubric by name, or a rubric file; checked for unknown variables."""
    from autoprompt.prompts.library import TemplateLibrary

    bundled = TemplateLibrary.bundled().judge
    if name in bundled:
        rubric = bundled[name]
    elif name.endswith(".jinja") and Path(name).is_file():
        rubric = Template.from_path_or_text(name, f"judge:{Path(name).stem}")
    else:
        raise ConfigError(f"unknown judge rubric '{name}'; use one of {', '.join(sorted(bundled))} "
                          "or the path of a .jinja rubric file")
    unknown = rubric.variables() - RUBRIC_VARIABLES
    if unknown:
        raise ConfigError(f"judge rubric '{name}' uses {', '.join(sorted(unknown))}; a rubric may use only "
                          f"{', '.join(sorted(RUBRIC_VARIABLES))}")
    return rubric


@dataclass(frozen=True)
class Judge:
    """Grades one output with ``rubric`` through ``client`` (the judge model)."""

    rubric: Template
    client: Client
    max_tokens: int = REPLY_TOKENS
    weighted: bool = False

    def __call__(self, example: Example, output: str) -> Grade:
        if not output.strip():
            return EMPTY
        text, chat = self._request(example, output), self.client.backend.supports_chat
        try:
            reply: list[float] | str = self.client.score(text, SCORES, chat=chat) if self.weighted else \
                self.client.generate(text, chat=chat, max_tokens=self.max_tokens)
        except ExampleFailed as exc:
            return self._graded(exc)
        return self._graded(reply)

    def grade_many(self, examples: Sequence[Example], outputs: Sequence[str]) -> list[Grade]:
        """Every output's grade; the requests go to the judge model together when its backend
        takes batches (``BatchScoring`` for G-Eval, ``BatchGenerating`` for replies), else one by one."""
        backend = self.client.backend
        if batch_size(backend) <= 1 or not (self.weighted or isinstance(backend, BatchGenerating)):
            return [self(example, output) for example, output in zip(examples, outputs)]
        asked = [i for i, output in enumerate(outputs) if output.strip()]
        texts: list[str | Conversation] = [self._request(examples[i], outputs[i]) for i in asked]
        chat = backend.supports_chat
        replies = self.client.score_many(texts, SCORES, chat=chat) if self.weighted else \
            self.client.generate_many(texts, chat=chat, max_tokens=self.max_tokens)
        grades = [EMPTY] * len(outputs)
        for i, reply in zip(asked, replies):
            grades[i] = self._graded(reply)
        return grades

    def _request(self, example: Example, output: str) -> str:
        return self.rubric.render({"input": shown_inputs(example), "inputs": dict(example.inputs),
                                   "reference": example.target, "output": output})

    def _graded(self, reply: list[float] | str | ExampleFailed) -> Grade:
        if isinstance(reply, ExampleFailed):
            return Grade(0.0, f"the judge's request failed: {reply}", failed=True)
        return expected_grade(reply) if isinstance(reply, list) else parse_grade(reply)


def expected_grade(logprobs: list[float]) -> Grade:
    """The probability-weighted score over ``Score: 1`` .. ``Score: N`` (G-Eval), in [0, 1]."""
    top = max(logprobs)
    weights = [math.exp(v - top) for v in logprobs]
    expected = sum((n + 1) * w for n, w in enumerate(weights)) / sum(weights)
    return Grade((expected - 1) / (len(weights) - 1), f"expected score {expected:.1f} of {len(weights)}")


def judge_metric(rubric: str, *, weighted: bool = False) -> Metric:
    """``judge:RUBRIC`` (``geval:RUBRIC`` when ``weighted``) as a model-graded metric; bind it
    to the judge model's client."""
    template = load_rubric(rubric)
    name = f"{'geval' if weighted else 'judge'}:{rubric}"
    return Metric(name, unbound(name), grader=lambda client: Judge(template, client, weighted=weighted))
