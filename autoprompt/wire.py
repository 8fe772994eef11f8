"""What a request to a hosted model carries besides the prompt, written once for the backends that
send it and the exports that write it down, so an export is the request that was scored.

Contract:
- ``RequestOptions.of(model, options)``: a model's request settings from its name and the run's
  ``--model-option`` values: whether it is a reasoning model (OpenAI's o-series and gpt-5 names, or
  ``reasoning=true``), a reasoning model's ``max_completion_tokens`` cap, and every other option,
  sent as it is in the request body (``reasoning_effort=low``, ``top_p=0.9``...).
- ``RequestOptions.sampling(max_tokens, logprobs=, temperature=, seed=)``: the length and sampling
  fields of an OpenAI Chat Completions request. A reasoning model gets ``max_completion_tokens``
  (with room to think) and none of ``max_tokens``, ``temperature``, ``seed`` or ``logprobs``, which
  it refuses.
- ``response_format(schema_text)`` (OpenAI's request field) and ``answer_tool(schema_text)``
  (Anthropic's tool and tool choice) ask for a JSON schema; ``strict_schema(schema)`` says whether
  OpenAI's strict mode accepts it (every object closed, every property required).
- ``sent_stops(stop)``: the stop strings a request carries (those with visible text, at most four).
Standard library only: every part may import it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

REASONING_NAMES = re.compile(r"^(o\d+|gpt-5)([-.]|$)")
REASONING_MIN_TOKENS = 1024  # a reasoning model spends output tokens thinking before the answer
TOP_LOGPROBS = 20  # the alternatives a label score reads at the answer's first token


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...): they refuse ``max_tokens``,
    ``temperature`` and ``logprobs``, and take ``max_completion_tokens``, reasoning included."""
    return bool(REASONING_NAMES.match(model.rsplit("/", 1)[-1]))


@dataclass(frozen=True)
class RequestOptions:
    """A model's request settings: reasoning or not, a reasoning cap, and the options sent as given."""

    reasoning: bool = False
    completion_tokens: int | None = None
    extra: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def of(cls, model: str, options: Mapping[str, object] | None = None) -> RequestOptions:
        settings = dict(options or {})
        flag = settings.pop("reasoning", None)
        reasoning = is_reasoning_model(model) if flag is None else flag in (True, "true", "1", 1)
        cap = settings.pop("max_completion_tokens", None)  # a reasoning model's cap, reasoning included
        return cls(reasoning, None if cap is None else int(cap), settings)  # type: ignore[call-overload]

    def sampling(self, max_tokens: int, *, logprobs: bool, temperature: float = 0.0,
                 seed: int | None = None) -> dict[str, object]:
        """The length and sampling fields of an OpenAI chat request."""
        if self.reasoning:
            return {"max_completion_tokens": self.completion_tokens or max(max_tokens, REASONING_MIN_TOKENS)}
        sampling: dict[str, object] = {"max_tokens": max_tokens, "temperature": temperature}
        if logprobs:
            sampling |= {"logprobs": True, "top_logprobs": TOP_LOGPROBS}
        if seed is not None:
            sampling["seed"] = seed
        return sampling


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


def sent_stops(stop: Sequence[str]) -> list[str]:
    """The stop strings sent to an API (and written in exports): those with visible text. A line
    break is applied when the answer is read instead: a model that opens its answer with one would
    otherwise stop before answering. APIs take at most four."""
    return [s for s in stop if s.strip()][:4]
