"""Metrics: how one output is scored against its example, and how scores add up.

Contract:
- A ``Metric`` has a ``name``, a per-example function ``(example, output) -> float``
  in [0, 1] used for racing and paired statistics, and an ``aggregate`` over a
  whole set (the mean, or macro-F1).
- ``get_metric(spec)`` accepts a name (``accuracy``, ``macro_f1``, ``exact_match``,
  ``contains``, ``regex:PATTERN``), a ``Metric`` or any plain callable
  ``(example, output) -> float``.
- Reference metrics for free text come from their libraries, imported on first use:
  ``rouge1``, ``rouge2``, ``rougeL`` (F-measure, ``rouge-score``), ``chrf`` and ``bleu``
  (sentence level, ``sacrebleu``, scaled to [0, 1]); ``token_f1`` is SQuAD's token
  overlap F1 on normalized text. ``json_exact`` (every field equal) and ``json_f1`` (field-level
  F1) compare the JSON in the answer with a JSON target. Names combine with weights: ``rougeL+chrf`` (equal
  weights) or ``0.7*rougeL+0.3*token_f1``; weights are normalized to sum to 1.
- A per-example function may return a ``Grade`` (a score with a reason) instead of a
  float; ``Metric.grade`` always returns one. A model-graded metric (``judge:RUBRIC``
  or ``geval:RUBRIC``, see ``autoprompt.evaluate.judge``) carries a ``grader`` instead:
  ``bind(client)`` gives the metric that asks the judge model through that client, so
  judge calls share the run's cache, retries and budget. ``grade_all(examples, outputs)`` grades
  several outputs at once: a per-example function that is a ``BatchGrader`` (a bound judge)
  grades them together, any other one by one.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from autoprompt.answers import normalize_text
from autoprompt.errors import AutopromptError, ConfigError, DataError, excerpt, require
from autoprompt.prompts.pattern import PatternTimeout, check_pattern, search
from autoprompt.prompts.structured import read_json
from autoprompt.records.example import Example
from autoprompt.records.grade import Grade

if TYPE_CHECKING:
    from autoprompt.models.client import Client

PerExample = Callable[[Example, str], "float | Grade"]
CLOSENESS_CHARS = 2000  # ``closeness`` compares this many characters of each text at most


@runtime_checkable
class BatchGrader(Protocol):
    """A per-example function that can also grade several outputs together (a bound judge)."""

    def __call__(self, example: Example, output: str) -> float | Grade: ...

    def grade_many(self, examples: Sequence[Example], outputs: Sequence[str]) -> list[Grade]: ...


def _mean(examples: Sequence[Example], outputs: Sequence[str], scores: Sequence[float]) -> float:
    return sum(scores) / len(scores) if scores else 0.0


@dataclass(frozen=True)
class Metric:
    """A named scoring rule."""

    name: str
    per_example: PerExample
    aggregate: Callable[[Sequence[Example], Sequence[str], Sequence[float]], float] = _mean
    grader: Callable[[Client], PerExample] | None = None
    bound: bool = False

    def __call__(self, example: Example, output: str) -> float:
        return self.grade(example, output).score

    def grade(self, example: Example, output: str) -> Grade:
        """The output's score, with the judge's reason when there is one. A metric that raises, or
        returns anything but a finite number from 0 to 1, is a bug in the metric: ``ConfigError``
        naming the example stops the run (what was computed before stays in the cache and log)."""
        try:
            value = self.per_example(example, output)
            grade = value if isinstance(value, Grade) else Grade(float(value))
        except AutopromptError:
            raise
        except Exception as exc:  # a user's metric function: any bug in it ends here
            detail = " ".join(str(exc).split())[:160]
            raise ConfigError(f"metric '{self.name}' raised {type(exc).__name__}: {detail} on example {example.id}; "
                              "fix the metric function") from None
        return self._checked(example, grade)

    def grade_all(self, examples: Sequence[Example], outputs: Sequence[str]) -> list[Grade]:
        """Every output's grade, as ``grade`` gives it; a ``BatchGrader`` grades them together."""
        if isinstance(self.per_example, BatchGrader):
            grades = self.per_example.grade_many(examples, outputs)
            return [self._checked(example, grade) for example, grade in zip(examples, grades)]
        return [self.grade(example, output) for example, output in zip(examples, outputs)]

    def _checked(self, example: Example, grade: Grade) -> Grade:
        if not (math.isfinite(grade.score) and -1e-9 <= grade.score <= 1.0 + 1e-9):  # allow a library's rounding
            raise ConfigError(f"metric '{self.name}' gave {excerpt(grade.score)} for example {example.id}; a "
                              "metric must return a finite number from 0 to 1; fix the metric function")
        return replace(grade, score=min(max(grade.score, 0.0), 1.0))

    @property
    def needs_model(self) -> bool:
        """Whether the metric asks a judge model and is not bound to a client yet."""
        return self.grader is not None

    @property
    def accuracy_like(self) -> bool:
        """Whether each row scores 1 for the right label and 0 otherwise (accuracy, macro F1), so a
        label's probability says more about the row than its score does."""
        return self.per_example is _accuracy

    @property
    def all_or_nothing(self) -> bool:
        """Whether each free-text row scores 1 for the target's text and 0 otherwise (exact_match, accuracy),
        so how close a wrong answer came says more about the row than its score does."""
        return self.per_example in (_exact_match, _accuracy)

    @property
    def model_graded(self) -> bool:
        """Whether the metric asks a judge model (bound or not)."""
        return self.grader is not None or self.bound

    def bind(self, client: Client) -> Metric:
        """The metric grading through ``client`` (itself when it needs no model)."""
        if self.grader is None:
            return self
        return replace(self, per_example=self.grader(client), grader=None, bound=True)


def _accuracy(example: Example, output: str) -> float:
    return float(output == example.target)


def _exact_match(example: Example, output: str) -> float:
    return float(normalize_text(output) == normalize_text(example.target))


def _contains(example: Example, output: str) -> float:
    return float(normalize_text(example.target) in normalize_text(output))


def macro_f1(examples: Sequence[Example], outputs: Sequence[str], scores: Sequence[float] = ()) -> float:
    """Unweighted mean of per-label F1 over the labels that occur in targets or outputs."""
    labels = sorted({ex.target for ex in examples} | set(outputs))
    f1s = []
    for label in labels:
        tp = sum(1 for ex, out in zip(examples, outputs) if ex.target == label and out == label)
        fp = sum(1 for ex, out in zip(examples, outputs) if ex.target != label and out == label)
        fn = sum(1 for ex, out in zip(examples, outputs) if ex.target == label and out != label)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def _json_leaves(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, normalized value) for every leaf of a JSON value; list items share their list's path."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _json_leaves(item, f"{path}/{key}")]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _json_leaves(item, f"{path}[]")]
    text = value if isinstance(value, str) else json.dumps(value)
    return [(path, normalize_text(text))]


def _json_pair(example: Example, output: str) -> tuple[Any, Any] | None:
    """The target's and the answer's JSON; None when the answer holds no JSON."""
    try:
        expected = json.loads(example.target)
    except ValueError:
        raise ConfigError(f"the target of example {example.id} is not JSON ({example.target[:60]!r}); json_exact and "
                          "json_f1 compare JSON targets: fix the target column, or pick another metric") from None
    try:
        return expected, read_json(output)
    except ValueError:
        return None


def json_exact(example: Example, output: str) -> float:
    """1 when the answer's JSON has exactly the target's fields and values (strings compared in
    normal form: case, punctuation and spacing aside)."""
    pair = _json_pair(example, output)
    return float(pair is not None and sorted(_json_leaves(pair[0])) == sorted(_json_leaves(pair[1])))


def json_f1(example: Example, output: str) -> float:
    """Field-level F1: the harmonic mean of the share of the answer's (field, value) pairs that the
    target has and the share of the target's that the answer has."""
    pair = _json_pair(example, output)
    if pair is None:
        return 0.0
    expected, predicted = Counter(_json_leaves(pair[0])), Counter(_json_leaves(pair[1]))
    if not expected or not predicted:
        return float(expected == predicted)
    common = sum((expected & predicted).values())
    return 2 * common / (sum(expected.values()) + sum(predicted.values()))


def default_metric(kind: str, structured: bool) -> str:
    """The metric a task gets when none is named: accuracy for labels, json_f1 for JSON answers,
    exact match for other free text."""
    return "accuracy" if kind == "classification" else "json_f1" if structured else "exact_match"


def check_targets(metric: Metric, examples: Sequence[Example]) -> None:
    """``DataError`` naming the first target a JSON metric cannot read, before any model call."""
    if "json_" not in metric.name:
        return
    for example in examples:
        try:
            json.loads(example.target)
        except ValueError:
            raise DataError(f"the target of example {example.id} is not JSON ({example.target[:60]!r}); "
                            f"{metric.name} compares JSON targets: fix the target column, or pick another "
                            "metric") from None


def regex(pattern: str) -> Metric:
    """1 when the output matches ``pattern``; ``{target}`` in it stands for the escaped target."""
    check_pattern(pattern.replace("{target}", "x"), f"metric regex '{pattern[:80]}' is invalid (fix the pattern)")

    def score(example: Example, output: str) -> float:
        try:
            return float(search(pattern.replace("{target}", re.escape(example.target)), output) is not None)
        except PatternTimeout:
            return 0.0  # a match that cannot be decided in time is no match

    return Metric(f"regex:{pattern}", score)


def closeness(example: Example, output: str) -> float:
    """How close the output's text is to the target's, from 0 to 1 (1 only when they are equal once
    normalized): the similarity ratio of their first ``CLOSENESS_CHARS`` normalized characters (``difflib``'s
    Ratcliff/Obershelp matching, every character kept)."""
    predicted, expected = normalize_text(output)[:CLOSENESS_CHARS], normalize_text(example.target)[:CLOSENESS_CHARS]
    if predicted == expected:
        return 1.0
    return difflib.SequenceMatcher(None, predicted, expected, autojunk=False).ratio()


def token_f1(example: Example, output: str) -> float:
    """Harmonic mean of token precision and recall between output and target (SQuAD's F1)."""
    predicted, expected = normalize_text(output).split(), normalize_text(example.target).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum(min(predicted.count(t), expected.count(t)) for t in set(predicted))
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def _library(module: str, package: str) -> Any:
    return require(module, package=package, extra="text")


def rouge(kind: str) -> PerExample:
    """ROUGE-1, ROUGE-2 or ROUGE-L F-measure from ``rouge-score``."""
    scorers: list[Any] = []

    def score(example: Example, output: str) -> float:
        if not scorers:
            scorers.append(_library("rouge_score.rouge_scorer", "rouge-score").RougeScorer([kind]))
        return float(scorers[0].score(example.target, output)[kind].fmeasure)

    return score


def sacrebleu_metric(name: str) -> PerExample:
    """Sentence-level chrF or BLEU from ``sacrebleu``, divided by 100."""

    def score(example: Example, output: str) -> float:
        sacrebleu = _library("sacrebleu", "sacrebleu")
        return float(getattr(sacrebleu, f"sentence_{name}")(output, [example.target]).score) / 100.0

    return score


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", _accuracy),
    "macro_f1": Metric("macro_f1", _accuracy, macro_f1),
    "exact_match": Metric("exact_match", _exact_match),
    "contains": Metric("contains", _contains),
    "token_f1": Metric("token_f1", token_f1),
    "json_exact": Metric("json_exact", json_exact),
    "json_f1": Metric("json_f1", json_f1),
    "rouge1": Metric("rouge1", rouge("rouge1")),
    "rouge2": Metric("rouge2", rouge("rouge2")),
    "rougeL": Metric("rougeL", rouge("rougeL")),
    "chrf": Metric("chrf", sacrebleu_metric("chrf")),
    "bleu": Metric("bleu", sacrebleu_metric("bleu")),
}


def unbound(name: str) -> PerExample:
    """The per-example function of a model-graded metric that was not bound to a client."""
    def score(example: Example, output: str) -> float:
        raise ConfigError(f"metric '{name}' asks a judge model; bind it to a client first (metric.bind(client))")
    return score


