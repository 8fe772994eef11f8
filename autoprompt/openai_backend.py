"""The OpenAI backend: Chat Completions through the official ``openai`` SDK.

Contract: ``OpenAIBackend.from_spec("openai:MODEL[@BASE_URL]")`` talks to OpenAI, or
to any OpenAI-compatible server (vLLM, Ollama, LM Studio, llama.cpp) at BASE_URL.
Label scores come from the first answer token's ``top_logprobs`` where the server
returns them, else from parsing the answer (see ``api.APIBackend``). The key is
read from ``OPENAI_API_KEY`` when the client is first needed.
"""

from __future__ import annotations

from typing import Any

from .api import APIBackend, Completion, api_key, malformed_response, split_spec, translate_sdk_error
from .errors import MissingDependency
from .usage import Usage


class OpenAIBackend(APIBackend):
    """OpenAI Chat Completions (or a compatible server)."""

    provider = "openai"
    key_env = "OPENAI_API_KEY"

    @classmethod
    def from_spec(cls, spec: str, **options: Any) -> OpenAIBackend:
        model, base_url = split_spec(spec, cls.provider)
        return cls(model, base_url=base_url, **options)

    def _sdk(self) -> Any:
        try:
            import openai
        except ImportError:
            raise MissingDependency("openai") from None
        return openai

    def _client(self) -> Any:
        if getattr(self, "_cached_client", None) is None:
            self._key = api_key(self.key_env, required=self.base_url is None)
            self._reached = False
            self._cached_client = self._sdk().OpenAI(
                api_key=self._key, base_url=self.base_url, max_retries=0, timeout=self.policy.timeout)
        return self._cached_client

    def _complete(self, text: str, max_tokens: int, logprobs: bool) -> Completion:
        client = self._client()
        extra = {"logprobs": True, "top_logprobs": 20} if logprobs else {}
        sdk = self._sdk()
        try:
            response = client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": text}], max_tokens=max_tokens,
                temperature=0.0, extra_body=self.extra_body or None, **extra)
        except (sdk.APIError, ValueError) as exc:
            raise translate_sdk_error(sdk, exc, self, self._key, self._reached) from None
        self._reached = True
        with malformed_response():
            choice = response.choices[0]
            answer = choice.message.content or ""
            top = None
            if logprobs and choice.logprobs is not None and choice.logprobs.content:
                top = {item.token: item.logprob for item in choice.logprobs.content[0].top_logprobs}
            usage = Usage(response.usage.prompt_tokens, response.usage.completion_tokens) if response.usage else Usage()
        return Completion(answer, top, usage)
