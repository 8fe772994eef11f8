"""The OpenAI backend: Chat Completions through the official ``openai`` SDK.

Contract: ``OpenAIBackend.from_spec("openai:MODEL[@BASE_URL]")`` talks to OpenAI, or
to any OpenAI-compatible server (vLLM, Ollama, LM Studio, llama.cpp) at BASE_URL.
Label scores come from the first answer token's ``top_logprobs`` where the server
returns them, else from parsing the answer (see ``hosted.APIBackend``). Reasoning models
(o-series and gpt-5 names, or ``reasoning=true`` among the model options) get
``max_completion_tokens`` and no ``temperature``, ``seed`` or ``logprobs``; their labels are
parsed from the answer, and their reasoning tokens count as output (OpenAI bills them so).
A JSON schema goes as ``response_format`` (``json_schema``; strict when the schema allows it).
The key is read from ``OPENAI_API_KEY`` (or ``--api-key-env``) when the client is first needed.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any

from autoprompt.errors import ConfigError, require
from autoprompt.models.hosted import APIBackend, Completion, malformed_response, translate_sdk_error
from autoprompt.records.message import Conversation, as_dicts
from autoprompt.records.usage import Usage
from autoprompt.wire import response_format


class OpenAIBackend(APIBackend):
    """OpenAI Chat Completions (or a compatible server)."""

    provider = "openai"
    key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    sdk_module = "openai"
    client_class = "OpenAI"

    def _complete(self, text: str | Conversation, max_tokens: int, logprobs: bool, temperature: float = 0.0,
                  seed: int | None = None, stop: Sequence[str] = (), json_schema: str | None = None) -> Completion:
        sdk = require("openai")  # LiteLLM's errors are the openai SDK's too
        sampling = self._sampling(max_tokens, logprobs, temperature, seed)
        request = {"model": self.model, "messages": as_dicts(text), **sampling,
                   **({"stop": list(stop)} if stop else {}),
                   **({"response_format": response_format(json_schema)} if json_schema else {})}
        extra = {**self.extra_body, **({"prompt_cache_key": self.cache_key} if self.cache_key else {})}
        try:
            response = self._send(request, extra)
        except (sdk.APIError, ValueError) as exc:
            raise translate_sdk_error(sdk, exc, self, self._key, self._reached) from None
        self._reached = True
        with malformed_response():
            choice = response.choices[0]
            answer = choice.message.content or ""
            top = None
            if logprobs and choice.logprobs is not None and choice.logprobs.content:
                top = {item.token: item.logprob for item in choice.logprobs.content[0].top_logprobs}
            usage = _usage(response.usage)
        return Completion(answer, top, usage)

    def _send(self, request: Mapping[str, Any], extra_body: Mapping[str, object]) -> Any:
        """The transport: one Chat Completions request (``request`` holds the fields the exports write down,
        ``extra_body`` the rest) to the SDK client; the response in OpenAI's shape."""
        return self._client().chat.completions.create(**request, extra_body=dict(extra_body) or None)

    cache_key = ""  # the prompt-cache key this view sends (``with_cache_key``)

    def with_cache_key(self, key: str) -> OpenAIBackend:
        """This backend sending ``prompt_cache_key``: OpenAI routes requests with the same key, and so the
        same prompt prefix, to the same cache. A view: it shares the SDK client and connection state;
        the answer does not change, so the response cache's key does not either."""
        view = copy.copy(self)
        view.cache_key = key
        return view

    def _sampling(self, max_tokens: int, logprobs: bool, temperature: float, seed: int | None) -> dict[str, object]:
        """The length and sampling parameters (``wire.RequestOptions.sampling``): a reasoning model gets
        ``max_completion_tokens`` and none of the parameters it refuses; labels are then read from the answer."""
        return self.request.sampling(max_tokens, logprobs=logprobs, temperature=temperature, seed=seed)


AZURE_API_VERSION = "2024-10-21"  # Azure OpenAI's GA data-plane version, when OPENAI_API_VERSION names none


class AzureOpenAIBackend(OpenAIBackend):
    """Azure OpenAI: ``azure:DEPLOYMENT@https://RESOURCE.openai.azure.com`` (or the endpoint in
    ``AZURE_OPENAI_ENDPOINT``), through the SDK's ``AzureOpenAI`` client: requests go to the
    deployment's route with the ``api-version`` of ``OPENAI_API_VERSION`` (else ``AZURE_API_VERSION``),
    part of every cache key, and the key from ``AZURE_OPENAI_API_KEY`` in the ``api-key`` header."""

    provider = "azure"
    key_env = "AZURE_OPENAI_API_KEY"
    base_url_env = "AZURE_OPENAI_ENDPOINT"
    client_class = "AzureOpenAI"
    own_endpoint = True

    def __init__(self, model: str, *, base_url: str | None = None, key_env: str | None = None,
                 options: Mapping[str, object] | None = None, **settings: Any) -> None:
        super().__init__(model, base_url=base_url, key_env=key_env, options=options, **settings)
        if self.base_url is None:
            raise ConfigError(f"azure:{model} names no endpoint; use "
                              "azure:DEPLOYMENT@https://RESOURCE.openai.azure.com or set AZURE_OPENAI_ENDPOINT")
        self.api_version = os.environ.get("OPENAI_API_VERSION", "").strip() or AZURE_API_VERSION

    @property
    def params(self) -> dict[str, object]:
        return {**super().params, "api_version": self.api_version}

    def _where(self, key: str) -> dict[str, Any]:
        return {"api_key": key, "azure_endpoint": self.base_url, "api_version": self.api_version}


def _usage(reported: Any) -> Usage:
    """OpenAI's usage: prompt tokens (cached ones included, counted apart) and completion tokens
    (reasoning ones included, as they are billed)."""
    if reported is None:
        return Usage()
    details = getattr(reported, "prompt_tokens_details", None)
    cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
    return Usage(reported.prompt_tokens, reported.completion_tokens, cached)
