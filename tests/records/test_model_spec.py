import pytest

from autoprompt.records.model_spec import PROVIDERS, ModelSpec


@pytest.mark.parametrize(("text", "parsed", "canonical"), [
    ("local", ModelSpec("local"), "local"),
    ("fake", ModelSpec("fake"), "fake"),
    ("local:gemma", ModelSpec("local", "gemma"), "local:gemma"),
    ("local:/models/a@b.gguf", ModelSpec("local", "/models/a@b.gguf"), "local:/models/a@b.gguf"),
    ("openai:gpt-4o-mini", ModelSpec("openai", "gpt-4o-mini"), "openai:gpt-4o-mini"),
    ("openai/gpt-4o-mini", ModelSpec("openai", "gpt-4o-mini"), "openai:gpt-4o-mini"),
    ("openai:m@http://127.0.0.1:8080/v1", ModelSpec("openai", "m", "http://127.0.0.1:8080/v1"),
     "openai:m@http://127.0.0.1:8080/v1"),
    ("anthropic/claude-x@http://h", ModelSpec("anthropic", "claude-x", "http://h"), "anthropic:claude-x@http://h"),
    ("openai:meta-llama/Llama-3@http://h", ModelSpec("openai", "meta-llama/Llama-3", "http://h"),
     "openai:meta-llama/Llama-3@http://h"),
    ("myplugin:some@thing", ModelSpec("myplugin", "some@thing"), "myplugin:some@thing"),
    ("openai:", ModelSpec("openai"), "openai"),
    ("gemini/gemini-2.0-flash", ModelSpec("gemini", "gemini-2.0-flash"), "gemini:gemini-2.0-flash"),
    ("openrouter/meta-llama/llama-3-8b", ModelSpec("openrouter", "meta-llama/llama-3-8b"),
     "openrouter:meta-llama/llama-3-8b"),
    ("ollama:llama3@http://box:11434/v1", ModelSpec("ollama", "llama3", "http://box:11434/v1"),
     "ollama:llama3@http://box:11434/v1"),
    ("vertex:claude-3-5-haiku@20241022", ModelSpec("vertex", "claude-3-5-haiku@20241022"),
     "vertex:claude-3-5-haiku@20241022"),
    ("azure/chat-prod@https://acme.openai.azure.com", ModelSpec("azure", "chat-prod", "https://acme.openai.azure.com"),
     "azure:chat-prod@https://acme.openai.azure.com"),
])
def test_every_form_a_user_writes_parses_once_and_writes_back_canonically(text, parsed, canonical):
    assert ModelSpec.parse(text) == parsed
    assert str(parsed) == canonical
    assert ModelSpec.parse(canonical) == parsed


def test_hosted_models_have_a_base_url_and_names_drop_provider_and_url():
    assert ModelSpec.parse("anthropic:claude@http://h").hosted
    assert not ModelSpec.parse("local:gemma").hosted
    assert ModelSpec.parse("openai:gpt-4o@http://h").name == "gpt-4o"
    assert ModelSpec.parse("local").name == "local"
    assert ModelSpec.parse("local:gemma").name == "gemma"


def test_only_the_hosted_providers_split_a_base_url_off():
    assert ModelSpec.parse("local:/x@y").base_url is None
    assert ModelSpec.parse("dspy:openai/gpt-4o@http://h") == ModelSpec("dspy", "openai/gpt-4o@http://h")


def test_a_hosted_model_is_reached_at_its_spec_url_else_its_providers() -> None:
    assert ModelSpec.parse("openai:gpt-4o").endpoint is None  # the SDK's own
    assert ModelSpec.parse("gemini:gemini-2.0-flash").endpoint == PROVIDERS["gemini"].base_url
    assert ModelSpec.parse("ollama:llama3").endpoint == "http://127.0.0.1:11434/v1"
    assert ModelSpec.parse("ollama:llama3@http://box/v1").endpoint == "http://box/v1"
    assert ModelSpec.parse("local:gemma").endpoint is None
    assert {p.api for p in PROVIDERS.values()} == {"openai", "anthropic"}
