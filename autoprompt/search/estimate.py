"""Estimates: what a search will spend, computed before any model call (``--dry-run``).

Contract: ``estimate(task, backend_name, model, budget)`` renders the starting
prompt and a seeded sample of candidates on dev examples to measure prompt length
(about 4 characters a token), and returns an ``Estimate`` of calls, tokens and USD
for the search plus the final test scoring (judge calls and sampled answers
included). It never calls the model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autoprompt.models.usage import PriceTable
from autoprompt.prompts.compose import compose
from autoprompt.propose.space import SearchSpace
from autoprompt.records.candidate import Candidate
from autoprompt.records.model_spec import ModelSpec
from autoprompt.records.task_kind import TaskKind
from autoprompt.records.usage import Usage

if TYPE_CHECKING:
    from autoprompt.search.task import Task


@dataclass(frozen=True)
class Estimate:
    """Expected spend of a run, at most."""

    calls: int
    input_tokens: int
    output_tokens: int
    usd: float
    price_known: bool

    def __str__(self) -> str:
        price = f"${self.usd:.4f}" if self.price_known else "unknown (no price for this model; --max-usd cannot cap it)"
        return (f"dry run: at most {self.calls} model calls, about {self.input_tokens} input and "
                f"{self.output_tokens} output tokens, cost {price}; nothing was sent")


def _sample_candidates(space: SearchSpace, start: Candidate, n: int, seed: int) -> list[Candidate]:
    rng = random.Random(seed)
    picks = [start]
    for _ in range(n):
        picks.append(Candidate(
            task=rng.choice(space.tasks),
            clarifiers=tuple(rng.sample(space.clarifiers, min(len(space.clarifiers), rng.randint(0, 2)))),
            context=tuple(c for c in space.context if rng.random() < 0.5),
            n_demos=rng.choice(space.demo_counts),
            demo_seed=rng.randrange(space.demo_draws),
            verbalizer=rng.choice(space.verbalizers),
        ))
    return picks


def estimate(task: Task, *, model: str, budget: int, max_tokens: int = 12, prices: PriceTable | None = None,
             seed: int = 0, judged: bool = False, samples: int = 0) -> Estimate:
    """Upper bound of the spend of ``optimize`` with these settings; a ``judged`` metric adds a judge
    call per answer, and ``samples`` sampled answers per example (generation only) add their calls."""
    from autoprompt.search.starts import start_candidate

    space = SearchSpace.for_task(task.setup, supports_chat=False, custom=task.custom is not None)
    start = start_candidate(task)
    dev = task.data.dev.examples[:20]
    lengths = [len(compose(c, task.setup, task.custom).render(ex.inputs)) // 4
               for c in _sample_candidates(space, start, 20, seed) for ex in dev]
    per_call = sum(lengths) / len(lengths)
    sampled = samples if task.setup.kind is TaskKind.GENERATION else 0
    calls = budget + 2 * len(task.data.test) * (1 + int(judged) + sampled)
    output = max_tokens if task.setup.kind is TaskKind.CLASSIFICATION else task.setup.max_output_tokens
    usage = Usage(int(per_call * calls), output * calls)
    table = prices or PriceTable()
    model_name = ModelSpec.parse(model).name
    return Estimate(calls, usage.input_tokens, usage.output_tokens, table.cost(model_name, usage),
                    table.known(model_name))
