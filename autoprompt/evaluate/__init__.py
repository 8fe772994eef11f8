"""Evaluate: scoring prompts on examples and judging the scores.

Owns: ``evaluator`` (a prompt on examples, as predictions), ``metric`` (metrics and their
checks), ``judge`` (model-graded metrics), ``consistency`` (agreement of sampled answers),
``analysis`` (mistakes and confusions), ``stats`` (bootstrap intervals, paired differences,
Pareto fronts), ``registry`` (a metric by name, a weighted sum, a judge rubric or a function).
May import: records, prompts, models and the shared modules.
"""
