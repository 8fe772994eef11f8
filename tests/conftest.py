"""Shared fixtures: small synthetic data sets and a recording fake backend."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from autoprompt.errors import OFFLINE_ENVIRONMENT
from autoprompt.models.backend import FakeBackend

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
for _name, _value in OFFLINE_ENVIRONMENT.items():  # tests import dspy themselves too
    os.environ.setdefault(_name, _value)


@pytest.fixture
def keyword_frame() -> pd.DataFrame:
    """Inputs that name their label, so the fake model can solve them when told the label set."""
    rows = []
    for i in range(60):
        label = ("yes", "no", "maybe")[i % 3]
        rows.append({"text": f"item {i} says {label} clearly", "label": label})
    return pd.DataFrame(rows)


@pytest.fixture
def keyword_csv(tmp_path: Path, keyword_frame: pd.DataFrame) -> Path:
    path = tmp_path / "data.csv"
    keyword_frame.to_csv(path, index=False)
    return path


class PricedAPIBackend(FakeBackend):
    """The fake model as a priced API: it names its model and reports a token a character-quad and one out."""

    model = "acme-1"

    def score(self, text, continuations, *, chat=False, on_usage=None):  # type: ignore[no-untyped-def]
        from autoprompt.records.usage import Usage

        if on_usage is not None:
            on_usage(Usage(input_tokens=len(text) // 4, output_tokens=1))
        return super().score(text, continuations, chat=chat, on_usage=on_usage)


class RecordingBackend(FakeBackend):
    """A fake backend that remembers every text it was asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def score(self, text: str, continuations, *, chat: bool = False, on_usage=None) -> list[float]:  # type: ignore[no-untyped-def]
        self.texts.append(text)
        return super().score(text, continuations, chat=chat, on_usage=on_usage)


@pytest.fixture
def recording() -> RecordingBackend:
    return RecordingBackend()


class ScriptedWriter(FakeBackend):
    """A fake optimizer model: answers every generation with the next scripted reply, in a cycle."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(name="scripted-writer")
        self.replies = replies
        self.prompts: list[str] = []

    def generate(self, text: str, *, chat: bool = False, max_tokens: int = 16, stop=(),  # type: ignore[no-untyped-def]
                 on_usage=None, temperature: float = 0.0, seed: int | None = None) -> str:
        self.prompts.append(text)
        self.calls += 1
        return self.replies[(len(self.prompts) - 1) % len(self.replies)]


def refine_context(frame: pd.DataFrame, *, writer: FakeBackend | None = None, template: str | None = None,
                   seed: int = 0, feedback=()):  # type: ignore[no-untyped-def]
    """A ``RefineContext`` for the keyword task, as the optimizer builds it (with reviewers' ``feedback``)."""
    import random

    from autoprompt.models.client import Client
    from autoprompt.prompts.library import TemplateLibrary
    from autoprompt.propose.feedback import feedback_library
    from autoprompt.propose.operator import RefineContext
    from autoprompt.propose.space import SearchSpace
    from autoprompt.search.task import prepare_task
    from autoprompt.spec import RunSpec, Start

    task = prepare_task(RunSpec(data=frame, inputs="text", target="label", seed=seed, start=Start(template=template)),
                        library=feedback_library(TemplateLibrary.bundled(), feedback))
    space = SearchSpace.for_task(task.setup, supports_chat=True, custom=template is not None)
    return RefineContext(setup=task.setup, space=space, dev={ex.id: ex for ex in task.data.dev.examples},
                         custom=task.custom, writer=Client(writer) if writer else None, rng=random.Random(seed),
                         feedback=tuple(feedback))


def scored_parent(context, candidate, backend: FakeBackend | None = None):  # type: ignore[no-untyped-def]
    """The trial of ``candidate`` on the whole dev set of ``context``, with its error analysis."""
    from autoprompt.evaluate.evaluator import Evaluator
    from autoprompt.evaluate.registry import get_metric
    from autoprompt.models.client import Client
    from autoprompt.prompts.compose import compose
    from autoprompt.search.racing import Racer

    evaluator = Evaluator(Client(backend or FakeBackend()), get_metric("accuracy"), context.setup.kind)
    dev = list(context.dev.values())
    prompt = compose(candidate, context.setup, context.custom)
    return Racer(evaluator, dev, (len(dev),)).race(0, candidate, prompt, lambda n, s: False)


class ChatAPIBackend(FakeBackend):
    """A fake chat API (every request goes as chat messages): remembers every request as sent."""

    chat_api = True
    supports_chat = False

    def __init__(self) -> None:
        super().__init__(name="fake-chat-api")
        self.requests: list[object] = []

    def score(self, text, continuations, *, chat: bool = False, on_usage=None) -> list[float]:  # type: ignore[no-untyped-def]
        self.requests.append(text)
        return super().score(text, continuations, chat=chat, on_usage=on_usage)
