"""The metric registry: a metric by name, a weighted sum of them, a judge rubric, or your function.

Contract: ``get_metric(spec)`` returns a ``Metric`` for a built-in name (``accuracy``,
``rougeL``...), a weighted sum (``0.7*rougeL+0.3*chrf``), a judge rubric (``judge:RUBRIC``,
``geval:RUBRIC``, a ``.jinja`` file), a ``Metric`` as it is, or any callable
``(example, output) -> float``; an unknown name is a ``ConfigError`` listing the known ones."""

from __future__ import annotations

import re

from autoprompt.errors import ConfigError
from autoprompt.evaluate.metric import METRICS, Metric, PerExample, regex, unbound
from autoprompt.plugins import load, named
from autoprompt.records.example import Example
from autoprompt.records.grade import Grade

_TERM = re.compile(r"^\s*(?:(\d+(?:\.\d*)?|\.\d+)\s*\*\s*)?([A-Za-z_]\w*|(?:judge|geval):[\w./-]+)\s*$")


def combined(spec: str) -> Metric:
    """``0.7*rougeL+0.3*chrf``: the weighted mean of per-example metrics (weights normalized).
    A ``judge:RUBRIC`` or ``geval:RUBRIC`` term makes the sum model-graded; its reason travels with the score."""
    terms: list[tuple[float, Metric]] = []
    for part in spec.split("+"):
        match = _TERM.match(part)
        if match is None:
            raise ConfigError(f"cannot read '{part.strip()}' in metric '{spec}'; write e.g. 0.7*rougeL+0.3*chrf")
        weight, name = float(match.group(1) or 1.0), match.group(2)
        if name.startswith(("judge:", "geval:")):
            terms.append((weight, get_metric(name)))
            continue
        if name not in METRICS or name == "macro_f1":
            raise ConfigError(f"unknown metric '{name}' in '{spec}'; combine any of "
                              f"{', '.join(m for m in METRICS if m != 'macro_f1')} or judge:RUBRIC")
        terms.append((weight, METRICS[name]))
    total = sum(w for w, _ in terms)
    if total <= 0:
        raise ConfigError(f"the weights in metric '{spec}' add up to {total}; give positive weights")

    def weighted(bound: list[tuple[float, Metric]]) -> PerExample:
        def score(example: Example, output: str) -> Grade:
            grades = [(w, m.grade(example, output)) for w, m in bound]
            return Grade(sum(w * g.score for w, g in grades) / total,
                         " ".join(g.reason for _, g in grades if g.reason), any(g.failed for _, g in grades))
        return score

    name = spec.replace(" ", "")
    if not any(m.needs_model for _, m in terms):
        return Metric(name, weighted(terms))
    return Metric(name, unbound(name), grader=lambda client: weighted([(w, m.bind(client)) for w, m in terms]))


def get_metric(spec: str | Metric | PerExample) -> Metric:
    """Resolve a metric name, a ``Metric`` or a plain callable."""
    if isinstance(spec, Metric):
        return spec
    if callable(spec):
        return Metric(getattr(spec, "__name__", "custom"), spec)
    if spec.startswith("regex:"):
        return regex(spec.removeprefix("regex:"))
    if "+" in spec or "*" in spec:
        return combined(spec)
    if spec.startswith(("judge:", "geval:")):
        from autoprompt.evaluate.judge import judge_metric

        kind, _, rubric = spec.partition(":")
        return judge_metric(rubric, weighted=kind == "geval")
    if spec not in METRICS:
        plugged = load("autoprompt.metrics", spec)
        if plugged is not None:
            return plugged if isinstance(plugged, Metric) else Metric(spec, plugged)
        raise ConfigError(f"unknown metric '{spec}'; use one of {', '.join([*METRICS, *named('autoprompt.metrics')])}, "
                          "judge:RUBRIC or "
                          "geval:RUBRIC (correctness, faithfulness, concision, tone or a .jinja file), a weighted "
                          "sum like 0.7*rougeL+0.3*chrf, regex:PATTERN or a callable")
    return METRICS[spec]
