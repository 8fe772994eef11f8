"""Error analysis: what a prompt gets wrong on the dev examples it was scored on.

Contract:
- ``analyze(examples, predictions, kind)`` returns a frozen ``ErrorAnalysis``: every
  mistake (expected vs. output, whether the output failed to parse, and the judge's
  reason when a judge graded it; a grade that failed gives no reason), confused
  label pairs (expected, predicted, count) most frequent first, how often each label
  was predicted and expected, and, for generation, outputs much longer than the
  reference (length violations), and, when answers were sampled for consistency, the rows
  whose samples mostly disagree with the answer (``unsteady``).
- The racer stores the analysis with each trial; refinement operators read it to aim
  their proposals (format clarifiers for parse failures, label definitions for
  confused pairs, calibration for a skewed label distribution, hard demonstrations).
- Pure: no model calls, no randomness.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from autoprompt.records.analysis import ErrorAnalysis, Mistake
from autoprompt.records.example import Example
from autoprompt.records.prediction import Prediction
from autoprompt.records.task_kind import TaskKind

LENGTH_FACTOR = 2.0
STEADY = 0.5


def analyze(examples: Sequence[Example], predictions: Sequence[Prediction], kind: TaskKind) -> ErrorAnalysis:
    """Summarise the mistakes of ``predictions`` on the first ``len(predictions)`` examples."""
    pairs = list(zip(examples, predictions))
    mistakes = tuple(Mistake(ex.id, ex.target, p.output, p.failed, "" if p.error else p.reason)
                     for ex, p in pairs if p.failed or p.score < 1.0)
    unsteady = tuple(ex.id for ex, p in pairs if p.agreement is not None and p.agreement < STEADY)
    if kind is TaskKind.GENERATION:
        too_long = tuple(ex.id for ex, p in pairs
                         if len(p.output.split()) > LENGTH_FACTOR * max(len(ex.target.split()), 1))
        return ErrorAnalysis(len(pairs), mistakes, too_long=too_long, unsteady=unsteady)
    confusions = Counter((m.expected, m.output) for m in mistakes if not m.failed)
    return ErrorAnalysis(
        n=len(pairs),
        mistakes=mistakes,
        confusions=tuple((a, b, c) for (a, b), c in sorted(confusions.items(), key=lambda kv: (-kv[1], kv[0]))),
        predicted=tuple(sorted(Counter(p.output for p in predictions if not p.failed).items())),
        expected=tuple(sorted(Counter(ex.target for ex, _ in pairs).items())),
        unsteady=unsteady,
    )
