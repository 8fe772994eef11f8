"""Structured answers: a JSON schema a prompt asks for, and reading the JSON in an answer.

Contract:
- ``schema_text(text, where)`` checks a JSON schema given as JSON text (an object) and returns its
  compact form, the one text that prompts, cache keys and exports carry; anything else is a
  ``ConfigError`` naming ``where`` and the fix.
- ``read_json(answer)`` is the JSON value in an answer: the whole answer, or inside a Markdown code
  fence, or the first object or array in it; ``ValueError`` when there is none (the evaluator
  makes that a failed example).
- ``strict_schema(schema)`` says whether OpenAI's strict structured outputs accept the schema
  (every object closed and every property required); otherwise it is sent as a guide, not strict.
- ``response_format(schema_text)`` (OpenAI's request field) and ``answer_tool(schema_text)``
  (Anthropic's tool and tool choice) are how a schema is asked for: the backends send them and
  the exports write them, from this one place.
Standard library only: the backends and the exports share it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from autoprompt.errors import ConfigError, excerpt

FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def schema_text(text: str, where: str) -> str:
    """The schema in ``text`` in compact JSON, key order kept (a grammar follows it)."""
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where} is not JSON ({exc}); pass a JSON schema such as "
                          '{"type": "object", "properties": {"name": {"type": "string"}}}') from None
    if not isinstance(schema, dict) or not schema:
        raise ConfigError(f"{where} is not a JSON schema (a JSON object such as "
                          '{"type": "object", "properties": {...}}); fix the file')
    kind = schema.get("type")
    if kind is not None and not isinstance(kind, str | list):
        raise ConfigError(f"{where}: 'type' must be a JSON type name such as \"object\", got {excerpt(kind)}; "
                          "fix the schema")
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


def read_json(answer: str) -> Any:
    """The JSON value in ``answer``; ``ValueError`` if it holds none."""
    text = answer.strip()
    fenced = FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    if starts:
        try:
            return json.JSONDecoder().raw_decode(text[min(starts):])[0]
        except ValueError:
            pass
    raise ValueError(f"the answer is not valid JSON: {' '.join(answer.split())[:80]!r}")


def strict_schema(schema: Any) -> bool:
    """Whether every object in ``schema`` is closed (``additionalProperties: false``) with all of its
    properties required: what OpenAI's strict mode demands."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            properties = schema.get("properties", {})
            if schema.get("additionalProperties") is not False or set(schema.get("required", ())) != set(properties):
                return False
        return all(strict_schema(value) for value in schema.values())
    if isinstance(schema, list):
        return all(strict_schema(value) for value in schema)
    return True


def response_format(json_schema: str) -> dict[str, object]:
    """OpenAI's structured-output request for ``json_schema``: strict when the schema allows it
    (every object closed, every property required), else the schema as a guide."""
    schema = json.loads(json_schema)
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema,
                                                   "strict": strict_schema(schema)}}


ANSWER_TOOL = "answer"


def answer_tool(json_schema: str) -> dict[str, object]:
    """Anthropic's way to a structured answer: one tool whose input schema is ``json_schema``, and
    the model made to call it."""
    return {"tools": [{"name": ANSWER_TOOL, "description": "Give the answer in this structure.",
                       "input_schema": json.loads(json_schema)}],
            "tool_choice": {"type": "tool", "name": ANSWER_TOOL}}
