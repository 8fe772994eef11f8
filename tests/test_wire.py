"""What a request carries besides the prompt: reasoning models' fields and the JSON-schema request shapes."""

from __future__ import annotations

import json

from autoprompt.wire import REASONING_MIN_TOKENS, RequestOptions, answer_tool, response_format, strict_schema

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"}}}


def test_a_reasoning_model_gets_its_completion_cap_and_nothing_it_refuses() -> None:
    chat = RequestOptions.of("gpt-4o-mini", {"top_p": 0.5})
    assert not chat.reasoning and chat.extra == {"top_p": 0.5}
    assert chat.sampling(12, logprobs=True, seed=3) == {"max_tokens": 12, "temperature": 0.0, "logprobs": True,
                                                         "top_logprobs": 20, "seed": 3}
    named = RequestOptions.of("openai/gpt-5-mini", {"reasoning_effort": "low"})
    assert named.reasoning and named.extra == {"reasoning_effort": "low"}
    assert named.sampling(12, logprobs=True, temperature=0.7, seed=3) == {"max_completion_tokens": REASONING_MIN_TOKENS}
    flagged = RequestOptions.of("my-model", {"reasoning": "true", "max_completion_tokens": "2048"})
    assert flagged.reasoning and flagged.extra == {} and flagged.sampling(12, logprobs=False) == \
        {"max_completion_tokens": 2048}
    assert not RequestOptions.of("o3-mini", {"reasoning": False}).reasoning


def test_strict_only_when_every_object_is_closed_and_fully_required() -> None:
    assert not strict_schema(SCHEMA)
    closed = {**SCHEMA, "required": ["name", "area"], "additionalProperties": False}
    assert strict_schema(closed)
    nested = {**closed, "properties": {**closed["properties"], "x": {"type": "object", "properties": {}}},
              "required": ["name", "area", "x"]}
    assert not strict_schema(nested)
    assert response_format(json.dumps(closed))["json_schema"] == {"name": "answer", "schema": closed, "strict": True}
    assert response_format(json.dumps(SCHEMA))["json_schema"]["strict"] is False


def test_anthropic_is_made_to_call_one_answer_tool() -> None:
    request = answer_tool(json.dumps(SCHEMA))
    assert request["tool_choice"] == {"type": "tool", "name": "answer"}
    assert request["tools"][0]["input_schema"] == SCHEMA
