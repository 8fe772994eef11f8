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


def test_a_database_of_the_users_or_a_link_is_refused_untouched(tmp_path: Path) -> None:
    import sqlite3

    mine = tmp_path / "app.db"
    with sqlite3.connect(mine) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    before = mine.read_bytes()
    with pytest.raises(ConfigError, match=r"did not create .* 'users'"):
        SQLiteCache(mine).get("k")
    link = tmp_path / "cache.sqlite"
    link.symlink_to(mine)
    with pytest.raises(ConfigError, match="symbolic link"):
        SQLiteCache(link).get("k")
    assert mine.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "cache.sqlite"]


def test_a_new_cache_and_run_folder_are_private(tmp_path: Path, keyword_frame: pd.DataFrame) -> None:
    """The cache holds every prompt and answer: 0600 inside a 0700 run folder, whatever the umask."""
    autoprompt.optimize(keyword_frame, inputs="text", target="label", model=FakeBackend(), budget=40,
                        run=tmp_path / "run")
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "run" / "cache.sqlite").stat().st_mode & 0o777 == 0o600


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
        return autoprompt.optimize(keyword_frame, inputs="text", target="label", model=backend, budget=200, seed=0,
                                   search=autoprompt.Search(first_rung=4),
                                   calls=autoprompt.Calls(cache=tmp_path / "cache.sqlite"))

    first_backend, second_backend = FakeBackend(), FakeBackend()
    first, second = run(first_backend), run(second_backend)
    assert first_backend.calls > 0 and second_backend.calls == 0
    assert second.best.candidate == first.best.candidate and second.test == first.test
