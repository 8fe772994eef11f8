"""Patterns: regular expressions from users and files, run with a time limit.

Contract: an ``--answer-pattern``, a ``regex:`` metric and a manifest's ``answer_pattern`` are untrusted
text, and Python's ``re`` backtracks without bound (``(a+)+$`` on a long run of ``a`` never ends). They run
through the ``regex`` module (the same syntax as ``re``) with a time limit:
- ``check_pattern(pattern, what)``: a ``ConfigError`` when ``pattern`` does not compile, or when it runs
  past ``CHECK_SECONDS`` on one of a few probe texts that make backtracking patterns explode; ``what``
  names the setting and the fix in the message.
  The probes are 2,000 characters long, where the two kinds of pattern lie far apart on any machine: a
  pattern ``regex`` runs in linear or quadratic time (its guards make some of ``re``'s exponential
  patterns, e.g. ``\\b(\\w+\\s?)+$``, quadratic) takes at most about 0.1s there, and one it runs in cubic or
  exponential time (``(.*)\\s+(\\w+)$``, ``(a|aa)+$``) takes seconds to hours. At 5,000 characters a
  quadratic pattern took 0.45-0.7s, so its verdict flipped with the machine's speed.
- ``search(pattern, text)``: the first match or None; a search past ``SEARCH_SECONDS`` raises
  ``PatternTimeout`` (an ``ExampleFailed``: one answer fails, the run goes on).
"""

from __future__ import annotations

import functools
from typing import Any

from autoprompt.errors import ConfigError, ExampleFailed, require

CHECK_SECONDS = 0.5  # per probe text, when a pattern is first checked
SEARCH_SECONDS = 2.0  # per search of one answer
PROBES = tuple(c * 2000 + tail for c in ("a", "0", " ", "x", "ab") for tail in ("", "!", "\n"))


class PatternTimeout(ExampleFailed):
    """A pattern ran past its time limit on one text."""


def regex_module() -> Any:
    return require("regex", package="regex")


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return regex_module().compile(pattern, regex_module().VERSION0)


def check_pattern(pattern: str, what: str) -> None:
    """``ConfigError`` unless ``pattern`` compiles and stays within ``CHECK_SECONDS`` on every probe text.
    ``what`` is the start of the message and its fix, e.g. ``"answer_pattern 'x' ...; fix it"``."""
    try:
        compiled = _compiled(pattern)
    except (regex_module().error, ValueError, TypeError) as exc:
        raise ConfigError(f"{what}: it is not a regular expression ({exc})") from None
    for probe in PROBES:
        try:
            compiled.search(probe, timeout=CHECK_SECONDS)
        except TimeoutError:
            raise ConfigError(f"{what}: it backtracks without bound (over {CHECK_SECONDS:g}s on a run of "
                              f"{len(probe)} repeated characters), so it could hang on a long answer; rewrite "
                              "nested repeats such as (a+)+ as a+") from None


def search(pattern: str, text: str) -> Any:
    """``regex``'s first match of ``pattern`` in ``text`` (None if none); ``PatternTimeout`` past the limit."""
    try:
        return _compiled(pattern).search(text, timeout=SEARCH_SECONDS)
    except TimeoutError:
        raise PatternTimeout(f"the pattern {pattern[:60]!r} ran past {SEARCH_SECONDS:g}s on this answer") from None
