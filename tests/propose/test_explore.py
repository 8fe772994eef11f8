"""TPE jumps inside the refinement loop."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from autoprompt.propose.explore import ExploreOperator
from autoprompt.records.candidate import Candidate
from tests.conftest import refine_context, scored_parent


def test_jumps_come_from_the_space_and_the_sampler_learns_their_scores(keyword_frame: pd.DataFrame) -> None:
    context = refine_context(keyword_frame)
    start = scored_parent(context, Candidate("instruction"))
    context = replace(context, trials=(start,))
    operator = ExploreOperator(per_round=3)
    first = operator.propose(start, context)
    assert len(first) == 3 and all(c.operator == "explore.tpe" for c in first)
    assert all(c.candidate.task in context.space.tasks for c in first)
    for number, child in enumerate(first, start=1):
        scored = scored_parent(context, child.candidate)
        context = replace(context, trials=(*context.trials, replace(scored, number=number)))
    operator.propose(start, context)
    study = operator._study
    values = [t.value for t in study.trials if t.value is not None]
    assert len(values) == 4  # the start and the three scored jumps were told to the sampler
    assert values[0] == start.score


def test_same_seed_same_jumps(keyword_frame: pd.DataFrame) -> None:
    runs = []
    for _ in range(2):
        context = refine_context(keyword_frame, seed=4)
        start = scored_parent(context, Candidate("instruction"))
        context = replace(context, trials=(start,))
        runs.append([c.candidate for c in ExploreOperator().propose(start, context)])
    assert runs[0] == runs[1]
