"""Demonstration moves: hard examples by BM25 similarity, counts, draws and order."""

from __future__ import annotations

import pandas as pd

from autoprompt.prompts.compose import pick_demos
from autoprompt.propose.demos import DemoOperator, Similarity
from autoprompt.records.analysis import ErrorAnalysis, Mistake
from autoprompt.records.candidate import Candidate
from autoprompt.records.example import Example
from tests.conftest import refine_context, scored_parent


def test_similarity_ranks_lexical_neighbours_first() -> None:
    pool = [Example("a", {"t": "the cat sat on the mat"}, "x"), Example("b", {"t": "stock prices fell"}, "y"),
            Example("c", {"t": "a cat and a dog"}, "x")]
    ranked = Similarity(pool).ranked(Example("q", {"t": "where is the cat"}, "x"))
    assert [e.id for e in ranked][-1] == "b"


def test_hard_demos_are_training_neighbours_of_the_mistakes_with_the_missed_label(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    parent = scored_parent(context, Candidate("fields"))
    wrong = [context.dev[m.example_id] for m in parent.analysis.mistakes]  # type: ignore[union-attr]
    assert wrong
    children = DemoOperator().propose(parent, context)
    hard = [c for c in children if c.operator == "demos.hard"]
    assert len(hard) == 2  # the parent's count (one per label here) and the next larger count
    train_ids = {ex.id for ex in context.setup.train}
    for child in hard:
        demos = pick_demos(context.setup, child.candidate)
        assert demos and all(ex.id in train_ids for ex in demos)  # never a dev example
        assert {ex.target for ex in demos} <= {ex.target for ex in wrong}
    assert len(hard[1].candidate.demo_ids) > len(hard[0].candidate.demo_ids)
    kinds = {c.operator for c in children}
    assert {"demos.hard", "demos.count"} <= kinds


def test_order_and_redraw_keep_the_count(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    parent = scored_parent(context, Candidate("fields", n_demos=3))
    parent = parent.__class__(**{**parent.__dict__, "analysis": ErrorAnalysis(parent.n)})
    children = DemoOperator().propose(parent, context)
    current = [ex.id for ex in pick_demos(context.setup, parent.candidate)]
    for child in children:
        if child.operator == "demos.order":
            assert sorted(child.candidate.demo_ids) == sorted(current) and list(child.candidate.demo_ids) != current
        if child.operator == "demos.redraw":
            assert len(pick_demos(context.setup, child.candidate)) == 3


def test_no_mistakes_no_hard_demos(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    parent = scored_parent(context, Candidate("fields"))
    clean = parent.__class__(**{**parent.__dict__, "analysis": ErrorAnalysis(parent.n, mistakes=())})
    assert not [c for c in DemoOperator().propose(clean, context) if c.operator == "demos.hard"]
    unknown = ErrorAnalysis(1, mistakes=(Mistake("not-a-dev-id", "yes", "no", False),))
    odd = parent.__class__(**{**parent.__dict__, "analysis": unknown})
    assert not [c for c in DemoOperator().propose(odd, context) if c.operator == "demos.hard"]
