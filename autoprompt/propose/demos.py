"""Demonstration moves: how many worked examples a prompt shows, which ones, and in what order.

Contract: ``DemoOperator`` (family ``demos``) proposes
- ``demos.hard``: for each dev example the parent got wrong, the most similar training
  example (BM25 over the input text, via ``rank_bm25``) that has the label the parent
  missed. The dev examples themselves never become demonstrations, so dev scores stay
  honest; the count is the parent's (or one per label when it had none), and the
  next larger count of the search space;
- ``demos.count``: one step more (first) or fewer demonstrations (a balanced draw);
- ``demos.redraw``: another balanced draw of the same size;
- ``demos.order``: the parent's demonstrations reversed, or shuffled.
Explicit choices are stored as ``Candidate.demo_ids`` (training example ids, in order).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from itertools import zip_longest
from typing import Any

from autoprompt.errors import MissingDependency
from autoprompt.prompts.compose import pick_demos
from autoprompt.propose.operator import Child, RefineContext, interleave
from autoprompt.records.analysis import ErrorAnalysis
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind
from autoprompt.records.trial import Trial

_WORD = re.compile(r"\w+")


def tokens(example: Example) -> list[str]:
    return _WORD.findall(" ".join(example.inputs.values()).lower())


class Similarity:
    """BM25 ranking of training examples by lexical similarity to a query example."""

    def __init__(self, pool: Sequence[Example]) -> None:
        self.pool = list(pool)
        self._index: Any = None

    def ranked(self, query: Example) -> list[Example]:
        if self._index is None:
            try:
                from rank_bm25 import BM25Okapi
            except ImportError:
                raise MissingDependency("rank-bm25") from None
            self._index = BM25Okapi([tokens(ex) or ["_"] for ex in self.pool])
        scores = self._index.get_scores(tokens(query))
        order = sorted(range(len(self.pool)), key=lambda i: (-scores[i], i))
        return [self.pool[i] for i in order]


class DemoOperator:
    """Hard, more, fewer, redrawn and reordered demonstrations."""

    family = "demos"

    def __init__(self) -> None:
        self._similarity: Similarity | None = None

    def propose(self, parent: Trial, context: RefineContext) -> list[Child]:
        candidate, space, setup = parent.candidate, context.space, context.setup
        if not setup.train or max(space.demo_counts) == 0:
            return []
        current = pick_demos(setup, candidate)
        step = min((n for n in space.demo_counts if n > 0), default=0)
        analysis = parent.analysis or ErrorAnalysis(parent.n)
        size = len(current) or step
        bigger = min((n for n in space.demo_counts if n > size), default=0)
        hard = [child for n in (size, bigger) if n for child in self._hard(candidate, analysis, n, context)]
        more = sorted(n for n in space.demo_counts if len(current) < n <= len(current) + max(step, len(current)))
        fewer = sorted((n for n in space.demo_counts if max(0, len(current) - max(step, len(current))) <= n
                        < len(current)), reverse=True)
        counts = [Child(replace(candidate, n_demos=n, demo_ids=()), "demos.count") for n in more + fewer]
        redraw = [Child(replace(candidate, demo_ids=(), n_demos=len(current), demo_seed=candidate.demo_seed + k),
                        "demos.redraw") for k in (1, 2)] if current else []
        order: list[Child] = []
        if len(current) > 1:
            ids = [ex.id for ex in current]
            shuffled = ids[:]
            context.rng.shuffle(shuffled)
            order = [Child(replace(candidate, demo_ids=tuple(reversed(ids))), "demos.order"),
                     Child(replace(candidate, demo_ids=tuple(shuffled)), "demos.order")]
        return interleave(hard, counts, order, redraw)

    def _hard(self, candidate: Candidate, analysis: ErrorAnalysis, n: int, context: RefineContext) -> list[Child]:
        by_label: dict[str, list[Example]] = {}
        for m in analysis.mistakes:
            if m.example_id in context.dev:
                by_label.setdefault(m.expected, []).append(context.dev[m.example_id])
        wrong = [ex for row in zip_longest(*by_label.values()) for ex in row if ex is not None]
        labelled = context.setup.kind is TaskKind.CLASSIFICATION
        if not wrong or n <= 0:
            return []
        if self._similarity is None or self._similarity.pool != list(context.setup.train):
            self._similarity = Similarity(context.setup.train)
        chosen: list[str] = []
        for example in wrong:
            match = next((ex for ex in self._similarity.ranked(example)
                          if (ex.target == example.target or not labelled) and ex.id not in chosen), None)
            if match is not None:
                chosen.append(match.id)
            if len(chosen) == n:
                break
        return [Child(replace(candidate, demo_ids=tuple(chosen), n_demos=len(chosen)), "demos.hard")]
