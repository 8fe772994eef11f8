"""Structured answers: a JSON schema a prompt asks for, and reading the JSON in an answer.

Contract:
- ``schema_text(text, where)`` checks a JSON schema given as JSON text (an object) and returns its
  compact form, the one text that prompts, cache keys and exports carry; anything else is a
  ``ConfigError`` naming ``where`` and the fix.
- ``read_json(answer)`` is the JSON value in an answer: the whole answer, or inside a Markdown code
  fence, or the first object or array in it; ``ValueError`` when there is none (the evaluator
  makes that a failed example).
How a schema is asked for in a request (OpenAI's ``response_format``, Anthropic's answer tool) is
``autoprompt.wire``'s, which the backends and the exports share.
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
