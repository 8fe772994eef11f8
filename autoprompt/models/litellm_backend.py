"""LiteLLM as a backend, for the long tail of providers: ``litellm:PROVIDER/MODEL[@BASE_URL]``.

Contract:
- ``LiteLLMBackend`` sends the OpenAI Backend's requests (the same fields, the ones the exports write
  down) through ``litellm.completion``, which translates them for the provider LiteLLM's model id
  names (``groq/...``, ``bedrock/...``, ``openai/MODEL`` with a base URL for any OpenAI-compatible
  server); the response comes back in OpenAI's shape, with the usage the API reported. LiteLLM's errors
  are the ``openai`` SDK's, so retries and one-line failures work as for OpenAI; LiteLLM's own retries
  are off.
- Keys: LiteLLM reads each provider's own variable (``GROQ_API_KEY``...); ``--api-key-env`` names one
  to send instead. Keys never reach names, cache keys or logs.
- Prices come from LiteLLM's bundled cost map (``rates``), read offline (``errors.require`` tells LiteLLM
  to use its local copy before it is imported, here or by DSPy; it would otherwise fetch the map from the
  internet at import). ``--max-usd`` refuses a model the map lacks,
  unless ``--price`` gives its price.
- ``litellm`` is imported when the first request is made (extra ``litellm``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoprompt.errors import require
from autoprompt.models.hosted import api_key
from autoprompt.models.openai_backend import OpenAIBackend

MILLION = 1_000_000


def litellm_module() -> Any:
    """``litellm``, imported quiet (and, as every optional dependency, offline: ``errors.require``)."""
    litellm = require("litellm", extra="litellm")
    litellm.suppress_debug_info = True
    return litellm


class LiteLLMBackend(OpenAIBackend):
    """Any model LiteLLM reaches, through ``litellm.completion`` (see the module contract)."""

    provider = "litellm"
    key_env = ""  # LiteLLM reads the provider's own variable
    base_url_env = ""
    sdk_module = "litellm"

    def _client(self) -> Any:
        connection = self._connection
        with connection.lock:
            if connection.client is None:
                if self.key_env:  # --api-key-env: this key, not the one LiteLLM would find
                    connection.key = api_key(self.key_env, required=True)
                connection.client = litellm_module()
            return connection.client

    def _send(self, request: Mapping[str, Any], extra_body: Mapping[str, object]) -> Any:
        litellm = self._client()
        where = {"api_base": self.base_url} if self.base_url else {}
        key = {"api_key": self._key} if self._key else {}
        return litellm.completion(**request, **({"extra_body": dict(extra_body)} if extra_body else {}), **where,
                                  **key, num_retries=0, timeout=self.policy.timeout)

    def with_cache_key(self, key: str) -> LiteLLMBackend:
        """The same backend: which providers take OpenAI's prompt-cache key is LiteLLM's business."""
        return self

    def rates(self) -> tuple[float, float, float] | None:
        """USD per million input, output and cached input tokens from LiteLLM's cost map, or None for a
        model it does not map."""
        try:
            info = litellm_module().get_model_info(model=self.model)
        except Exception:  # LiteLLM raises its own errors (or a bare Exception) for a model it does not map
            return None
        rates = info.get("input_cost_per_token"), info.get("output_cost_per_token")
        if not all(isinstance(rate, int | float) for rate in rates):
            return None
        cached = info.get("cache_read_input_token_cost")
        cached = cached if isinstance(cached, int | float) else rates[0]
        return rates[0] * MILLION, rates[1] * MILLION, cached * MILLION
