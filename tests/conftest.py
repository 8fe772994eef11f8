"""Shared fixtures: small synthetic data sets and a recording fake backend."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from autoprompt.backend import FakeBackend

os.environ.setdefault("OMP_WAIT_POLICY", "passive")


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
