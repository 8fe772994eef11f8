"""Shared API-backend behaviour: label parsing, logprob scores, model specs and keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoprompt.answers import parse_label
from autoprompt.errors import ConfigError, ExampleFailed
from autoprompt.models.hosted import Completion, api_key, label_scores, split_spec
from autoprompt.models.registry import get_backend

LABELS = [" add_to_playlist", " play_music", " get_weather"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Play music", 1),
        ("play_music.", 1),
        ("The intent is: GET WEATHER!", 2),
        ("I think add to playlist, not play music", 0),
        ("banana", None),
        ("", None),
    ],
)
def test_parse_label_tolerates_case_punctuation_and_words(answer: str, expected: int | None) -> None:
    assert parse_label(answer, LABELS) == expected


def test_parse_label_prefers_the_longer_label_at_the_start() -> None:
    assert parse_label("positive overall", ["pos", "positive"]) == 1
    assert parse_label("Negative", [" Positive", " Negative"]) == 1


def test_scores_from_logprobs_keep_probabilities() -> None:
    completion = Completion("Negative", {"Negative": -0.2, "Positive": -1.9, "The": -3.0})
    assert label_scores(completion, [" Positive", " Negative"]) == [-1.9, -0.2]


def test_scores_without_logprobs_come_from_the_parsed_answer() -> None:
    assert label_scores(Completion("It is positive."), [" negative", " positive"]) == [-50.0, 0.0]
    with pytest.raises(ExampleFailed, match="names none of the labels"):
        label_scores(Completion("no idea"), [" negative", " positive"])


def test_model_specs() -> None:
    assert split_spec("openai:gpt-4o-mini", "openai") == ("gpt-4o-mini", None)
    assert split_spec("anthropic:claude@http://127.0.0.1:8080", "anthropic") == ("claude", "http://127.0.0.1:8080")
    with pytest.raises(ConfigError, match="names no model"):
        split_spec("openai:", "openai")
    backend = get_backend("openai:m@http://127.0.0.1:9/v1")
    assert backend.name == "openai:m@http://127.0.0.1:9/v1"
    with pytest.raises(ConfigError, match="unknown model"):
        get_backend("gpt-4o")


def test_keys_come_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        api_key("OPENAI_API_KEY", required=True)
    assert api_key("OPENAI_API_KEY", required=False) == "no-key-needed"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert api_key("OPENAI_API_KEY", required=True) == "sk-test"


def test_model_names_users_already_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """``openai/MODEL``, ``--api-base`` and ``--api-key-env`` name the same backend as ``openai:MODEL@URL``;
    a base URL from ``OPENAI_BASE_URL`` is part of the name, hence of every cache key."""
    from autoprompt.errors import ConfigError
    from autoprompt.models.registry import get_backend
    from autoprompt.spec import spec_from

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    spec = spec_from({"data": "sentiment", "model": "openai/gpt-4o-mini", "api_base": "http://127.0.0.1:9/v1",
                      "api_key_env": "MY_KEY"}, "test")
    assert spec.model == "openai:gpt-4o-mini@http://127.0.0.1:9/v1"
    assert spec_from(spec.record(), "again").model == spec.model
    backend = get_backend(spec.model, key_env=spec.calls.api_key_env)
    assert backend.name == "openai:gpt-4o-mini@http://127.0.0.1:9/v1" and backend.key_env == "MY_KEY"  # type: ignore[attr-defined]
    assert get_backend("anthropic/claude-haiku-4-5").name == "anthropic:claude-haiku-4-5"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:7/v1")
    assert get_backend("openai:gpt-4o-mini").name == "openai:gpt-4o-mini@http://127.0.0.1:7/v1"
    with pytest.raises(ConfigError, match="another base URL"):
        spec_from({"model": "openai:m@http://a/v1", "api_base": "http://b/v1"}, "test")
    with pytest.raises(ConfigError, match="api_base applies to openai: and anthropic: models"):
        spec_from({"model": "local", "api_base": "http://b/v1"}, "test")
    with pytest.raises(ConfigError, match="--api-key-env and --model-option apply"):
        get_backend("local", key_env="MY_KEY")


def test_the_key_comes_from_the_variable_named_by_api_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from autoprompt.errors import ConfigError
    from autoprompt.models.openai_backend import OpenAIBackend

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(ConfigError, match="MY_KEY is not set"):
        OpenAIBackend("gpt-4o-mini", key_env="MY_KEY")._client()
    monkeypatch.setenv("MY_KEY", "sk-from-my-key")
    assert OpenAIBackend("gpt-4o-mini", key_env="MY_KEY")._client().api_key == "sk-from-my-key"


def test_reasoning_models_get_only_the_parameters_they_take(monkeypatch: pytest.MonkeyPatch) -> None:
    from autoprompt.models.openai_backend import OpenAIBackend
    from autoprompt.wire import is_reasoning_model

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    names = ("o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-nano", "openai/o3")
    assert [is_reasoning_model(m) for m in names] == [True] * len(names)
    assert not any(is_reasoning_model(m) for m in ("gpt-4o-mini", "gpt-4.1", "omni", "o", "smollm2"))
    reasoning = OpenAIBackend("o4-mini")
    assert not reasoning.logprobs and reasoning._sampling(12, True, 0.0, 7) == {"max_completion_tokens": 1024}
    plain = OpenAIBackend("gpt-4o-mini")
    assert plain._sampling(12, True, 0.0, 7) == {"max_tokens": 12, "temperature": 0.0, "logprobs": True,
                                                  "top_logprobs": 20, "seed": 7}
    told = OpenAIBackend("my-deployment", options={"reasoning": True, "max_completion_tokens": 64,
                                                   "reasoning_effort": "low"})
    assert told.reasoning and told._sampling(12, False, 0.7, None) == {"max_completion_tokens": 64}
    assert told.extra_body == {"reasoning_effort": "low"}  # sent with every request...
    assert told.params["extra_body"] == {"reasoning_effort": "low"} and told.params["reasoning"] is True  # ...and keyed
    assert OpenAIBackend("gpt-4o-mini", options={"top_p": 0.9}).params != plain.params


def test_model_options_are_key_value_pairs_read_as_json() -> None:
    from autoprompt.errors import ConfigError
    from autoprompt.spec import spec_from

    spec = spec_from({"model": "openai:o3", "model_option": "reasoning_effort=low"}, "test")
    assert spec.model_settings() == {"reasoning_effort": "low"}
    assert spec_from({"model_options": ["top_p=0.9", "reasoning=true", "stop=[\"\\n\"]"]}, "t").model_settings() == {
        "top_p": 0.9, "reasoning": True, "stop": ["\n"]}
    for bad, message in ((["reasoning_effort"], "KEY=VALUE"), (["=low"], "KEY=VALUE"),
                         (["max_completion_tokens=0"], "max_completion_tokens must be a whole number")):
        with pytest.raises(ConfigError, match=message):
            spec_from({"model": "openai:o3", "model_options": bad}, "test")


def test_a_key_sent_to_another_host_is_announced_and_loopback_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from autoprompt.models.hosted import KeySentElsewhere
    from autoprompt.models.openai_backend import OpenAIBackend

    monkeypatch.setenv("OPENAI_API_KEY", "sk-announce-me")
    with pytest.warns(KeySentElsewhere, match="OPENAI_API_KEY is sent to https://proxy.example.com/v1"):
        OpenAIBackend("gpt-4o-mini", base_url="https://proxy.example.com/v1")._client()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        OpenAIBackend("gpt-4o-mini", base_url="http://127.0.0.1:8080/v1")._client()
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
        OpenAIBackend("gpt-4o-mini")._client()  # the provider's own API


@pytest.mark.parametrize(("spec", "model", "url", "env"), [
    ("gemini:gemini-2.0-flash", "gemini-2.0-flash", "https://generativelanguage.googleapis.com/v1beta/openai/",
     "GEMINI_API_KEY"),
    ("openrouter/meta-llama/llama-3-8b-instruct", "meta-llama/llama-3-8b-instruct", "https://openrouter.ai/api/v1",
     "OPENROUTER_API_KEY"),
    ("groq/llama-3.1-8b-instant", "llama-3.1-8b-instant", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    ("together:meta-llama/Llama-3-8b-chat-hf", "meta-llama/Llama-3-8b-chat-hf", "https://api.together.xyz/v1",
     "TOGETHER_API_KEY"),
    ("deepseek/deepseek-chat", "deepseek-chat", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    ("mistral/mistral-small-latest", "mistral-small-latest", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
])
def test_providers_users_name_reach_their_own_api_with_their_own_key(monkeypatch: pytest.MonkeyPatch, spec: str,
                                                                      model: str, url: str, env: str) -> None:
    import warnings

    from autoprompt.models.openai_backend import OpenAIBackend

    monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-go-there")
    backend = get_backend(spec)
    assert isinstance(backend, OpenAIBackend)
    assert (backend.model, backend.base_url, backend.key_env) == (model, url, env)
    with pytest.raises(ConfigError, match=f"{env} is not set"):
        backend._client()  # a hosted provider needs its key; the OpenAI one is never sent instead
    monkeypatch.setenv(env, "sk-provider")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the provider's own API: no warning that the key goes elsewhere
        assert get_backend(spec)._client().api_key == "sk-provider"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("provider", "port"), [("ollama", 11434), ("vllm", 8000)])
def test_self_hosted_servers_need_no_key_and_are_on_this_machine_by_default(monkeypatch: pytest.MonkeyPatch,
                                                                            provider: str, port: int) -> None:
    monkeypatch.delenv(f"{provider.upper()}_API_KEY", raising=False)
    backend = get_backend(f"{provider}/llama3.2")
    assert (backend.model, backend.base_url) == ("llama3.2", f"http://127.0.0.1:{port}/v1")  # type: ignore[attr-defined]
    assert backend._client().api_key == "no-key-needed"  # type: ignore[attr-defined]
    assert get_backend(f"{provider}:llama3.2@http://gpu-box:{port}/v1").base_url == (  # type: ignore[attr-defined]
        f"http://gpu-box:{port}/v1")


def test_azure_takes_its_endpoint_key_and_version_from_azures_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from autoprompt.models.client import Client
    from autoprompt.models.openai_backend import AZURE_API_VERSION, AzureOpenAIBackend

    for name in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="azure:chat-prod names no endpoint; use azure:DEPLOYMENT@https://"):
        get_backend("azure:chat-prod")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://acme.openai.azure.com")
    backend = get_backend("azure/chat-prod")
    assert isinstance(backend, AzureOpenAIBackend)
    assert (backend.model, backend.base_url, backend.key_env) == ("chat-prod", "https://acme.openai.azure.com",
                                                                   "AZURE_OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY is not set"):
        backend._client()
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the resource endpoint is Azure's own API: no warning about the key
        client = get_backend("azure:chat-prod")._client()  # type: ignore[attr-defined]
    assert str(client.base_url) == "https://acme.openai.azure.com/openai/" and client.api_key == "azure-key"
    assert client._api_version == AZURE_API_VERSION
    key = Client(backend)._key("score", "x", sample=0)
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    other = get_backend("azure:chat-prod")
    assert other.params["api_version"] == "2025-04-01-preview"  # type: ignore[attr-defined]
    assert Client(other)._key("score", "x", sample=0) != key  # another API version, another cached answer


def test_bedrock_takes_its_region_and_credentials_from_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    from autoprompt.models.anthropic_backend import BEDROCK_REGION, AnthropicBedrockBackend
    from autoprompt.models.client import Client

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "ANTHROPIC_BEDROCK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    backend = get_backend("bedrock:anthropic.claude-3-haiku-20240307-v1:0")
    assert isinstance(backend, AnthropicBedrockBackend) and backend.model == "anthropic.claude-3-haiku-20240307-v1:0"
    assert backend.region == BEDROCK_REGION
    client = backend._client()
    assert str(client.base_url).startswith(f"https://bedrock-runtime.{BEDROCK_REGION}.amazonaws.com")
    key = Client(backend)._key("score", "x", sample=0)
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    other = get_backend("bedrock/anthropic.claude-3-haiku-20240307-v1:0")
    assert other.params["region"] == "eu-west-3"  # type: ignore[attr-defined]
    assert Client(other)._key("score", "x", sample=0) != key  # another region, another cached answer


def test_vertex_needs_a_project_and_keeps_region_and_project_in_every_cache_key(monkeypatch: pytest.MonkeyPatch
                                                                                ) -> None:
    from autoprompt.models.anthropic_backend import VERTEX_REGION, AnthropicVertexBackend
    from autoprompt.models.client import Client

    for name in ("ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="vertex:claude-3-5-haiku@20241022 needs a Google Cloud project; set "
                                          "ANTHROPIC_VERTEX_PROJECT_ID"):
        get_backend("vertex:claude-3-5-haiku@20241022")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "acme-ml")
    backend = get_backend("vertex:claude-3-5-haiku@20241022")
    assert isinstance(backend, AnthropicVertexBackend) and backend.model == "claude-3-5-haiku@20241022"
    assert (backend.project, backend.region) == ("acme-ml", VERTEX_REGION)
    key = Client(backend)._key("score", "x", sample=0)
    monkeypatch.setenv("CLOUD_ML_REGION", "europe-west1")
    assert Client(get_backend("vertex:claude-3-5-haiku@20241022"))._key("score", "x", sample=0) != key


def test_credentials_in_the_base_url_variable_never_reach_a_name_or_a_message(tmp_path: Path) -> None:
    """``OPENAI_BASE_URL=http://user:KEY@host`` (nothing listens there): one line, exit 1, no key."""
    import os
    import subprocess
    import sys

    from tests.servers import free_port

    env = {**os.environ, "OPENAI_API_KEY": "sk-k", "OPENAI_BASE_URL": f"http://me:sk-inurl-5150@127.0.0.1:{free_port()}/v1"}
    run = subprocess.run([sys.executable, "-m", "autoprompt.cli", "optimize", "--data", "sentiment", "--model",
                          "openai:m", "--budget", "2000", "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "cannot connect" in run.stderr and "***@127.0.0.1" in run.stderr, run.stderr
    assert "sk-inurl-5150" not in run.stderr
    assert "sk-inurl-5150" not in "".join(p.read_text(errors="replace") for p in (tmp_path / "run").rglob("*")
                                          if p.is_file())
