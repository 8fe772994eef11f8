"""The model registry: a model spec (``local``, ``local:gemma``, ``openai:MODEL[@URL]``,
``anthropic:MODEL[@URL]``, ``gemini:MODEL``, ``openrouter:VENDOR/MODEL``, ``ollama:MODEL[@URL]``,
also written ``PROVIDER/MODEL``, ``fake``) or a backend instance, resolved to a backend (a hosted
provider through the SDK of the API it speaks: ``records.model_spec.PROVIDERS``).

Contract: ``get_backend(spec)`` returns an instance as it is and builds one from a spec,
importing the backend's module (and its SDK) only then; an unknown spec is a ``ConfigError``
listing the known ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autoprompt.errors import ConfigError
from autoprompt.models.backend import Backend, FakeBackend
from autoprompt.plugins import load, named
from autoprompt.records.model_spec import PROVIDERS, ModelSpec

if TYPE_CHECKING:
    from autoprompt.models.backend import Limits


def get_backend(spec: str | Backend, *, n_threads: int | None = None, seed: int = 0,
                limits: Limits | None = None, key_env: str | None = None,
                options: Mapping[str, object] | None = None) -> Backend:
    """Resolve a model spec to a backend instance; ``limits`` and ``key_env`` (``--api-key-env``,
    the variable holding the key) apply to API backends, and ``key_env`` is a ``ConfigError`` for others."""
    if not isinstance(spec, str):
        return spec
    parsed = ModelSpec.parse(spec)
    api, local = parsed.hosted, parsed.provider == "local"
    if (key_env or (options and not (local and set(options) <= {"batch"}))) and not api:
        raise ConfigError(f"--api-key-env and --model-option apply to hosted models ({', '.join(PROVIDERS)}; a "
                          f"local model takes only --model-option batch=N), not '{spec}'")
    if spec == "fake":
        return FakeBackend()
    if local:
        from autoprompt.models.local import DEFAULT_BATCH, LocalBackend

        batch = (options or {}).get("batch", DEFAULT_BATCH)
        return LocalBackend(spec, n_threads=n_threads, seed=seed, batch_size=int(batch))  # type: ignore[call-overload]
    if parsed.provider == "litellm":
        from autoprompt.models.litellm_backend import LiteLLMBackend

        return LiteLLMBackend.from_spec(spec, limits=limits, key_env=key_env, options=options)
    if parsed.api == "openai":
        from autoprompt.models.openai_backend import AzureOpenAIBackend, OpenAIBackend

        openai = AzureOpenAIBackend if parsed.provider == "azure" else OpenAIBackend
        return openai.from_spec(spec, limits=limits, key_env=key_env, options=options)
    if parsed.api == "anthropic":
        from autoprompt.models.anthropic_backend import (
            AnthropicBackend,
            AnthropicBedrockBackend,
            AnthropicVertexBackend,
        )

        anthropic = {"bedrock": AnthropicBedrockBackend, "vertex": AnthropicVertexBackend}.get(parsed.provider,
                                                                                             AnthropicBackend)
        return anthropic.from_spec(spec, limits=limits, key_env=key_env, options=options)
    factory = load("autoprompt.backends", parsed.provider)
    if factory is not None:
        return _plugged(factory(spec), spec)
    installed = "".join(f", '{name}'" for name in named("autoprompt.backends"))
    raise ConfigError(
        f"unknown model '{spec}'; use 'local' (bundled SmolLM2), 'local:gemma', 'local:/path/to/model.gguf', "
        f"'openai:MODEL[@BASE_URL]', 'anthropic:MODEL[@BASE_URL]', 'gemini:MODEL', 'openrouter:VENDOR/MODEL', "
        f"'ollama:MODEL[@BASE_URL]', 'azure:DEPLOYMENT@ENDPOINT', 'bedrock:MODEL_ID', 'vertex:MODEL', "
        f"'litellm:PROVIDER/MODEL[@BASE_URL]', 'fake'{installed}"
    )


def _plugged(backend: Any, spec: str) -> Backend:
    if not isinstance(backend, Backend):
        raise ConfigError(f"the backend plug-in for '{spec}' returned a {type(backend).__name__}, which lacks the "
                          "Backend members (name, supports_chat, score, generate)")
    return backend
