"""Patterns from users and files run with a time limit."""

from __future__ import annotations

import time

import pytest

from autoprompt.errors import ConfigError, ExampleFailed
from autoprompt.prompts.pattern import check_pattern, search
from autoprompt.prompts.prompt import Prompt


def test_an_ordinary_pattern_passes_and_matches() -> None:
    check_pattern(r"Answer: (\w+)", "answer_pattern")
    assert search(r"Answer: (\w+)", "so. Answer: yes").group(1) == "yes"


@pytest.mark.parametrize(("pattern", "message"), [("([", "not a regular expression"),
                                                  (r"(x+x+)+y", "backtracks without bound"),
                                                  (r"(.*)\s+(\w+)$", "backtracks without bound")])
def test_a_broken_or_exploding_pattern_is_refused_at_once(pattern: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError, match=message):
        check_pattern(pattern, "answer_pattern")
    assert time.monotonic() - started < 5


def test_a_pattern_regex_runs_in_quadratic_time_passes_on_every_machine() -> None:
    """Exponential under ``re``, quadratic under ``regex``: about 0.1s on the longest probe, far under the limit
    (on 5,000-character probes it took 0.45-0.7s against 0.5s, and CI refused it once and accepted it once)."""
    check_pattern(r"\b(\w+\s?)+$", "answer_pattern")
    assert search(r"\b(\w+\s?)+$", "two words").group(0) == "two words"


def test_a_pattern_that_runs_too_long_on_one_answer_fails_that_answer() -> None:
    """A prompt built in code skips the check: the search still stops, and the example fails."""
    prompt = Prompt("{{ text }}", {}, ("text",), answer_pattern=r"(x+x+)+y")
    started = time.monotonic()
    with pytest.raises(ExampleFailed, match="ran past"):
        prompt.answer("x" * 5000)
    assert time.monotonic() - started < 10
