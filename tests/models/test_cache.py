"""The persistent response cache."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError
from autoprompt.models.backend import FakeBackend
from autoprompt.models.cache import SQLiteCache, request_key


def test_sqlite_cache_persists(tmp_path: Path) -> None:
    cache = SQLiteCache(tmp_path / "c.sqlite")
    cache.put("k", [1.5, -2.0])
    cache.close()
    again = SQLiteCache(tmp_path / "c.sqlite")
    assert again.get("k") == [1.5, -2.0] and again.get("missing") is None and len(again) == 1


def test_corrupt_cache_is_set_aside(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"this is not a database" * 100)  # a cache file damaged after its header
    cache = SQLiteCache(path)
    cache.put("k", "v")
    assert cache.get("k") == "v"
    assert "is corrupt" in capsys.readouterr().err
    assert len(list(tmp_path.glob("c.sqlite.corrupt-*"))) == 1


def test_a_file_that_is_not_a_cache_is_refused_and_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.csv"
    notes.write_text("text,label\nmine,yes\n")
    with pytest.raises(ConfigError, match="not a SQLite cache"):
        SQLiteCache(notes).get("k")
    with pytest.raises(ConfigError, match="is a folder"):
        SQLiteCache(tmp_path).get("k")
    assert notes.read_text() == "text,label\nmine,yes\n" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv"]


def test_key_covers_the_whole_request() -> None:
    base = ["openai:m", {"temperature": 0.0}, "score", "text", [" a"], False, 0]
    variants = [
        ["openai:n", *base[1:]],
        [base[0], {"temperature": 0.7}, *base[2:]],
        [*base[:3], "text2", *base[4:]],
        [*base[:6], 1],
    ]
    assert len({request_key(base), *(request_key(v) for v in variants)}) == 5


def test_rerun_with_the_cache_makes_no_calls(tmp_path: Path, keyword_frame: pd.DataFrame) -> None:
    def run(backend: FakeBackend) -> autoprompt.OptimizationResult:
        return autoprompt.optimize(keyword_frame, inputs="text", target="label", model=backend, budget=200,
                                   seed=0, first_rung=4, cache=tmp_path / "cache.sqlite")

    first_backend, second_backend = FakeBackend(), FakeBackend()
    first, second = run(first_backend), run(second_backend)
    assert first_backend.calls > 0 and second_backend.calls == 0
    assert second.best.candidate == first.best.candidate and second.test == first.test
