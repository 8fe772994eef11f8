"""The Anthropic backend: the Messages API through the official ``anthropic`` SDK.

Contract: ``AnthropicBackend.from_spec("anthropic:MODEL[@BASE_URL]")``. A conversation's system
message goes as the request's ``system`` parameter, its turns as ``messages``, with a prompt-cache
breakpoint after the part every example shares (``records.message.anthropic_messages``). The Messages
API returns no logprobs, so labels are parsed from the answer (see
``api.APIBackend``). It takes no seed: each sampled answer is its own cached request. A JSON schema becomes one
tool with that input schema, which the model is made to call; its input is the answer.
The key is read from ``ANTHROPIC_API_KEY``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from autoprompt.errors import ConfigError
from autoprompt.models.hosted import NO_KEY, APIBackend, Completion, malformed_response, translate_sdk_error
from autoprompt.records.message import Conversation, anthropic_messages
from autoprompt.records.usage import Usage
from autoprompt.wire import ANSWER_TOOL, answer_tool


class AnthropicBackend(APIBackend):
    """Anthropic Messages (or a server that speaks ``/v1/messages``)."""

    provider = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    sdk_module = "anthropic"
    client_class = "Anthropic"
    has_logprobs = False

    def _complete(self, text: str | Conversation, max_tokens: int, logprobs: bool, temperature: float = 0.0,
                  seed: int | None = None, stop: Sequence[str] = (), json_schema: str | None = None) -> Completion:
        client = self._client()
        sdk = self._sdk()
        try:
            # temperature travels in the body: recent SDKs dropped the keyword, servers still honour it
            response = client.messages.create(
                model=self.model, max_tokens=max_tokens, **anthropic_messages(text),
                extra_body={"temperature": temperature, **self.extra_body},
                **({"stop_sequences": list(stop)} if stop else {}), **(answer_tool(json_schema) if json_schema else {}))
        except (sdk.APIError, ValueError) as exc:
            raise translate_sdk_error(sdk, exc, self, self._key, self._reached) from None
        self._reached = True
        with malformed_response():
            answer = _answer(response.content, json_schema is not None)
            reported = response.usage
            read = int(getattr(reported, "cache_read_input_tokens", 0) or 0)
            written = int(getattr(reported, "cache_creation_input_tokens", 0) or 0)
            usage = Usage(reported.input_tokens + read + written, reported.output_tokens, read)
        return Completion(answer, None, usage)


BEDROCK_REGION = "us-east-1"  # when neither AWS_REGION nor AWS_DEFAULT_REGION names one


class AnthropicBedrockBackend(AnthropicBackend):
    """Claude on Amazon Bedrock: ``bedrock:MODEL_ID`` (``anthropic.claude-...-v1:0``; ``@URL`` for another
    endpoint) through the SDK's ``AnthropicBedrock`` client. The region comes from ``AWS_REGION`` (else
    ``AWS_DEFAULT_REGION``, else ``BEDROCK_REGION``) and is part of every cache key; the credentials are
    whatever boto3 finds (``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``, a profile, a role), and
    every request is signed with them (SigV4), never sent."""

    provider = "bedrock"
    key_env = "AWS_ACCESS_KEY_ID"
    base_url_env = "ANTHROPIC_BEDROCK_BASE_URL"
    client_class = "AnthropicBedrock"
    own_endpoint = True

    def __init__(self, model: str, *, base_url: str | None = None, key_env: str | None = None,
                 options: Mapping[str, object] | None = None, **settings: Any) -> None:
        super().__init__(model, base_url=base_url, key_env=key_env, options=options, **settings)
        self.region = (os.environ.get("AWS_REGION", "").strip() or os.environ.get("AWS_DEFAULT_REGION", "").strip()
                       or BEDROCK_REGION)

    @property
    def params(self) -> dict[str, object]:
        return {**super().params, "region": self.region}

    def _where(self, key: str) -> dict[str, Any]:
        return {"aws_region": self.region, "base_url": self.base_url}


VERTEX_REGION = "us-east5"  # when CLOUD_ML_REGION names none


class AnthropicVertexBackend(AnthropicBackend):
    """Claude on Google Cloud Vertex AI: ``vertex:MODEL`` (``claude-haiku-4-5@20251001``... as Vertex names
    it; a base URL after a second ``@`` is not possible there, so another endpoint comes from
    ``ANTHROPIC_VERTEX_BASE_URL``) through the SDK's ``AnthropicVertex`` client. The project comes from
    ``ANTHROPIC_VERTEX_PROJECT_ID`` (else ``GOOGLE_CLOUD_PROJECT``) and the region from ``CLOUD_ML_REGION``
    (else ``VERTEX_REGION``), both part of every cache key; the token from ``GOOGLE_OAUTH_ACCESS_TOKEN``,
    else Google's default credentials."""

    provider = "vertex"
    key_env = "GOOGLE_OAUTH_ACCESS_TOKEN"
    base_url_env = "ANTHROPIC_VERTEX_BASE_URL"
    client_class = "AnthropicVertex"
    own_endpoint = True

    def __init__(self, model: str, *, base_url: str | None = None, key_env: str | None = None,
                 options: Mapping[str, object] | None = None, **settings: Any) -> None:
        super().__init__(model, base_url=base_url, key_env=key_env, options=options, **settings)
        self.region = os.environ.get("CLOUD_ML_REGION", "").strip() or VERTEX_REGION
        self.project = (os.environ.get("ANTHROPIC_VERTEX_PROJECT_ID", "").strip()
                        or os.environ.get("GOOGLE_CLOUD_PROJECT", "").strip())
        if not self.project:
            raise ConfigError(f"vertex:{model} needs a Google Cloud project; set ANTHROPIC_VERTEX_PROJECT_ID "
                              "(or GOOGLE_CLOUD_PROJECT)")

    @property
    def params(self) -> dict[str, object]:
        return {**super().params, "region": self.region, "project": self.project}

    def _where(self, key: str) -> dict[str, Any]:
        token = {"access_token": key} if key != NO_KEY else {}
        return {"region": self.region, "project_id": self.project, "base_url": self.base_url, **token}


def _answer(content: Sequence[Any], structured: bool) -> str:
    """The answer's text; for a structured answer, the answer tool's input as JSON (the text when
    the model wrote JSON instead of calling the tool)."""
    if structured:
        for block in content:
            if getattr(block, "type", "") == "tool_use" and block.name == ANSWER_TOOL:
                return json.dumps(block.input, ensure_ascii=False)
    return "".join(block.text for block in content if getattr(block, "type", "") == "text")
