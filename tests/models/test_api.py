"""Shared API-backend behaviour: label parsing, logprob scores, model specs and keys."""

from __future__ import annotations

import pytest

from autoprompt.errors import ConfigError, ExampleFailed
from autoprompt.models.hosted import Completion, api_key, label_scores, split_spec
from autoprompt.models.registry import get_backend
from autoprompt.prompts.answers import parse_label

LABELS = [" add_to_playlist", " play_music", " get_weather"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Play music", 1),
        ("play_music.", 1),
        ("The intent is: GET WEATHER!", 2),
        ("I think add to playlist, not play music", 0),
        ("banana", None),
        ("", None),
    ],
)
def test_parse_label_tolerates_case_punctuation_and_words(answer: str, expected: int | None) -> None:
    assert parse_label(answer, LABELS) == expected


def test_parse_label_prefers_the_longer_label_at_the_start() -> None:
    assert parse_label("positive overall", ["pos", "positive"]) == 1
    assert parse_label("Negative", [" Positive", " Negative"]) == 1


def test_scores_from_logprobs_keep_probabilities() -> None:
    completion = Completion("Negative", {"Negative": -0.2, "Positive": -1.9, "The": -3.0})
    assert label_scores(completion, [" Positive", " Negative"]) == [-1.9, -0.2]


def test_scores_without_logprobs_come_from_the_parsed_answer() -> None:
    assert label_scores(Completion("It is positive."), [" negative", " positive"]) == [-50.0, 0.0]
    with pytest.raises(ExampleFailed, match="names none of the labels"):
        label_scores(Completion("no idea"), [" negative", " positive"])


def test_model_specs() -> None:
    assert split_spec("openai:gpt-4o-mini", "openai") == ("gpt-4o-mini", None)
    assert split_spec("anthropic:claude@http://127.0.0.1:8080", "anthropic") == ("claude", "http://127.0.0.1:8080")
    with pytest.raises(ConfigError, match="names no model"):
        split_spec("openai:", "openai")
    backend = get_backend("openai:m@http://127.0.0.1:9/v1")
    assert backend.name == "openai:m@http://127.0.0.1:9/v1"
    with pytest.raises(ConfigError, match="unknown model"):
        get_backend("gpt-4o")


def test_keys_come_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        api_key("OPENAI_API_KEY", required=True)
    assert api_key("OPENAI_API_KEY", required=False) == "no-key-needed"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert api_key("OPENAI_API_KEY", required=True) == "sk-test"
