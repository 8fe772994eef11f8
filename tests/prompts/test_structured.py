"""Structured answers: schemas checked once, and JSON read from answers."""

from __future__ import annotations

import json

import pytest

from autoprompt.errors import ConfigError
from autoprompt.prompts.structured import read_json, schema_text

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"}}}


def test_a_schema_is_kept_compact_in_its_own_key_order() -> None:
    text = schema_text(json.dumps(SCHEMA, indent=2), "s.json")
    assert text == '{"type":"object","properties":{"name":{"type":"string"},"area":{"type":"string"}}}'


@pytest.mark.parametrize("bad, says", [("{not json", "is not JSON"), ("[1, 2]", "is not a JSON schema"),
                                       ("{}", "is not a JSON schema"), ('{"type": 3}', "'type' must be")])
def test_a_bad_schema_is_one_line_naming_where(bad: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as info:
        schema_text(bad, "schema.json")
    assert "schema.json" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("answer", ['{"a": 1}', '  {"a": 1}\n', '```json\n{"a": 1}\n```', 'Here: {"a": 1} done.',
                                    'Sure!\n```\n{"a": 1}\n```'])
def test_json_is_read_from_plain_fenced_and_wrapped_answers(answer: str) -> None:
    assert read_json(answer) == {"a": 1}


@pytest.mark.parametrize("answer", ["", "no json here", '{"a": 1', "{garbled"])
def test_an_answer_without_json_is_a_value_error(answer: str) -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        read_json(answer)
