"""The name of a model, read once: ``ModelSpec``.

Contract: ``ModelSpec.parse(text)`` reads every form a user writes for a model and is the only
parser of it; every part (the backend registry, the hosted backends, the run specification, the
exports, the spend estimate) asks the parsed value rather than splitting the text again.

Forms:
- ``local``, ``fake``, or a plug-in's bare name: ``provider`` only;
- ``local:NAME_OR_PATH`` or ``PLUGIN:REST``: ``provider`` and ``model`` (the rest, as written:
  a path may hold ``@``);
- ``PROVIDER:MODEL[@BASE_URL]`` for a hosted provider of ``PROVIDERS`` (``openai``, ``anthropic``,
  ``gemini``, ``openrouter``, ``ollama``, ``groq``, ``together``, ``deepseek``, ``mistral``,
  ``vllm``, ``bedrock`` (a Bedrock model id), ``vertex``, ``azure``: there MODEL is the deployment and BASE_URL the
  resource endpoint; ``litellm``: MODEL is LiteLLM's own id, ``groq/llama-3.1-8b-instant``; also
  ``PROVIDER/MODEL``, as LiteLLM users write it):
  ``provider``, ``model`` and ``base_url``. ``PROVIDERS`` says which API each speaks, where it
  is reached by default and which variable holds its key.

``str(spec)`` writes the canonical form back (``openai/MODEL`` becomes ``openai:MODEL``), so a
run file, a cache key and an export all name the model the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    """A hosted provider: the API it speaks (``openai`` or ``anthropic``: which SDK and request shape),
    its base URL (None: the SDK's own), the variable holding its key, and whether it needs one."""

    api: str
    base_url: str | None
    key_env: str
    key_required: bool = True
    url_in_spec: bool = True  # False: ``@`` belongs to the model's name (Vertex's ``claude-x@20251001``)


PROVIDERS = {
    "openai": Provider("openai", None, "OPENAI_API_KEY"),
    "anthropic": Provider("anthropic", None, "ANTHROPIC_API_KEY"),
    "gemini": Provider("openai", "https://generativelanguage.googleapis.com/v1beta/openai/", "GEMINI_API_KEY"),
    "openrouter": Provider("openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "ollama": Provider("openai", "http://127.0.0.1:11434/v1", "OLLAMA_API_KEY", key_required=False),
    "groq": Provider("openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "together": Provider("openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "deepseek": Provider("openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "mistral": Provider("openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "vllm": Provider("openai", "http://127.0.0.1:8000/v1", "VLLM_API_KEY", key_required=False),
    # Azure OpenAI: MODEL is the deployment, BASE_URL the resource endpoint (or AZURE_OPENAI_ENDPOINT)
    "azure": Provider("openai", None, "AZURE_OPENAI_API_KEY"),
    # Claude on Amazon Bedrock: MODEL is the Bedrock model id; boto3 finds the credentials
    "bedrock": Provider("anthropic", None, "AWS_ACCESS_KEY_ID", key_required=False),
    # Claude on Vertex AI: MODEL as Vertex names it; the project and region come from the environment
    "vertex": Provider("anthropic", None, "GOOGLE_OAUTH_ACCESS_TOKEN", key_required=False, url_in_spec=False),
    # any model LiteLLM reaches (extra litellm): MODEL is LiteLLM's id (groq/..., openai/MODEL with a BASE_URL);
    # it takes OpenAI's request and reads each provider's own key variable
    "litellm": Provider("openai", None, "", key_required=False),
}
HOSTED_PROVIDERS = tuple(PROVIDERS)  # the providers whose models are reached at a base URL


@dataclass(frozen=True)
class ModelSpec:
    """A model as ``provider``, its ``model`` within the provider, and a hosted model's ``base_url``."""

    provider: str
    model: str = ""
    base_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """The parts of ``text``; never raises (a hosted spec naming no model has ``model == ""``,
        which its backend refuses with the fix)."""
        for provider in HOSTED_PROVIDERS:
            if text.startswith(provider + "/"):
                text = f"{provider}:{text.removeprefix(provider + '/')}"
        provider, colon, rest = text.partition(":")
        if not colon:
            return cls(provider)
        if provider not in HOSTED_PROVIDERS or not PROVIDERS[provider].url_in_spec:
            return cls(provider, rest)
        model, _, base_url = rest.partition("@")
        return cls(provider, model, base_url or None)

    @property
    def hosted(self) -> bool:
        """Whether the model is reached through a hosted API (OpenAI's or Anthropic's, or a server
        speaking one of them)."""
        return self.provider in HOSTED_PROVIDERS

    @property
    def api(self) -> str | None:
        """The API a hosted model speaks (``openai`` or ``anthropic``); None for any other model."""
        provider = PROVIDERS.get(self.provider)
        return provider.api if provider else None

    @property
    def endpoint(self) -> str | None:
        """Where a hosted model is reached: the spec's base URL, else its provider's (None: the SDK's own)."""
        provider = PROVIDERS.get(self.provider)
        return self.base_url or (provider.base_url if provider else None)

    @property
    def name(self) -> str:
        """The model's own name, for prices and exports: ``model``, or the bare name (``local``)."""
        return self.model or self.provider

    def __str__(self) -> str:
        if not self.model and self.base_url is None:
            return self.provider
        return f"{self.provider}:{self.model}" + (f"@{self.base_url}" if self.base_url else "")
