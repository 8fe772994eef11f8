"""Every export format, loaded by its own library, sends exactly the prompt that was scored."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError
from autoprompt.export.formats import FORMATS, export_run, fill, flatten, nunjucks_text
from autoprompt.export.manifest import load_prompt, write_prompt
from autoprompt.prompts.compose import compose
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.candidate import Candidate
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec, Start
from autoprompt.wire import answer_tool, response_format
from tests.conftest import ChatAPIBackend, RecordingBackend

NODE_MODULES = Path(os.environ.get("AUTOPROMPT_NODE_MODULES", Path.home() / ".cache/autoprompt/node/node_modules"))
RICH = Candidate(task="instruction", clarifiers=("one_word",), context=("label_definitions",), n_demos=3,
                 demo_seed=4, instruction="Sort each {{ titles.text | lower }} into {{ labels | join(' / ') }}. "
                 "Braces {like this} stay.")


@pytest.fixture(params=["searched", "rich"])
def run(request: pytest.FixtureRequest, tmp_path: Path, keyword_frame: pd.DataFrame) -> Path:
    """A run directory; "rich" swaps in a winner with an instruction, clarifier, context and demos."""
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=RecordingBackend(), budget=150,
                                 seed=3, search=autoprompt.Search(first_rung=4))
    if request.param == "rich":
        setup = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label", seed=3)).setup
        best = dataclasses.replace(result.best, candidate=RICH, prompt=compose(RICH, setup))
        result = dataclasses.replace(result, best=best)
    result.export(tmp_path)
    return tmp_path


def scored(run: Path) -> list[tuple[dict[str, str], str]]:
    """(inputs, the exact text the winner sends for them) over the run's test set."""
    exported = load_prompt(run)
    tests = pd.read_csv(run / "data" / "test.csv")
    return [({"text": t}, exported.prompt.render({"text": t})) for t in tests["text"]]


def test_jinja_export_renders_the_scored_prompt(run: Path, tmp_path: Path) -> None:
    out = export_run(run, "jinja", tmp_path / "jinja")
    exported = load_prompt(out)
    assert [exported.render(**inputs) for inputs, _ in scored(run)] == [text for _, text in scored(run)]


def capture(reply: dict[str, Any], http: Any = httpx) -> tuple[list[dict[str, Any]], Any]:
    """An HTTP client (of the ``http`` module the SDK uses) that records each request body and
    answers with ``reply``: the SDK's own serialization is what is checked, with no network."""
    bodies: list[dict[str, Any]] = []

    def handle(request: Any) -> Any:
        bodies.append(json.loads(request.content))
        return http.Response(200, json=reply)

    return bodies, http.Client(transport=http.MockTransport(handle))


def test_openai_export_is_sent_byte_for_byte_by_the_openai_sdk(run: Path, tmp_path: Path) -> None:
    import openai

    request = json.loads(export_run(run, "openai", tmp_path / "o").read_text())
    bodies, http = capture({"id": "x", "object": "chat.completion", "created": 0, "model": request["model"],
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": "yes"}}]})
    client = openai.OpenAI(api_key="sk-test", base_url="http://openai.test/v1", http_client=http)
    pairs = scored(run)
    for inputs, _ in pairs:
        messages = [{**m, "content": fill(m["content"], inputs)} for m in request["messages"]]
        client.chat.completions.create(**{**request, "messages": messages})
    assert [b["messages"][0]["content"] for b in bodies] == [text for _, text in pairs]
    assert bodies[0]["max_tokens"] == 12 and bodies[0]["temperature"] == 0.0 and bodies[0]["logprobs"] is True


REPLY = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
         "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "yes"}}]}


@pytest.mark.parametrize(("model", "options"), [
    ("gpt-4o-mini", {}),
    ("gpt-4o-mini", {"top_p": 0.5}),
    ("gpt-5-mini", {"reasoning_effort": "low"}),
    ("my-reasoner", {"reasoning": True, "max_completion_tokens": 2048, "reasoning_effort": "high"}),
], ids=["chat", "chat with an option", "reasoning by name", "reasoning by option"])
def test_the_openai_export_is_the_request_the_backend_scored_with(run: Path, tmp_path: Path, model: str,
                                                                  options: dict[str, Any]) -> None:
    """Byte for byte, through the SDK: what the search's backend sent for a row, and what the export sends."""
    import openai

    from autoprompt.models.openai_backend import OpenAIBackend

    manifest = json.loads((run / "winner.json").read_text())
    spec = f"openai:{model}@http://openai.test/v1"
    (run / "winner.json").write_text(json.dumps({**manifest, "model": spec, "model_options": options}))
    backend = OpenAIBackend.from_spec(spec, options=options)
    sent, http = capture(REPLY)
    backend._connection.client = openai.OpenAI(api_key="sk-test", base_url="http://openai.test/v1", http_client=http)
    request = json.loads(export_run(run, "openai", tmp_path / "o").read_text())
    exported, http = capture(REPLY)
    client = openai.OpenAI(api_key="sk-test", base_url="http://openai.test/v1", http_client=http)
    loaded = load_prompt(run)
    prompt = loaded.prompt
    for inputs, _ in scored(run)[:3]:
        backend.score(prompt.request(inputs), list(prompt.continuations().values()))
        client.chat.completions.create(**{**request, "messages": [{**m, "content": fill(m["content"], inputs)}
                                                                  for m in request["messages"]]})
        client.chat.completions.create(**loaded.openai_request(**inputs))  # no template filled by hand
    assert exported[::2] == sent and exported[1::2] == sent
    reasoning = "max_completion_tokens" in sent[0]
    assert reasoning == (model != "gpt-4o-mini")
    assert not reasoning or not {"max_tokens", "temperature", "logprobs", "top_logprobs"} & set(sent[0])
    assert all(sent[0][k] == v for k, v in options.items() if k not in ("reasoning", "max_completion_tokens"))


@pytest.mark.parametrize("options", [{}, {"top_k": 5}], ids=["plain", "with an option"])
def test_the_anthropic_request_is_the_one_the_backend_scored_with(run: Path, options: dict[str, Any]) -> None:
    import anthropic

    from autoprompt.models.anthropic_backend import AnthropicBackend

    manifest = json.loads((run / "winner.json").read_text())
    spec = "anthropic:claude-test@http://anthropic.test"
    (run / "winner.json").write_text(json.dumps({**manifest, "model": spec, "model_options": options}))
    reply = {"id": "m", "type": "message", "role": "assistant", "model": "m",
             "content": [{"type": "text", "text": "yes"}], "stop_reason": "end_turn", "stop_sequence": None,
             "usage": {"input_tokens": 1, "output_tokens": 1}}
    http_module = importlib.import_module("httpx2") if importlib.util.find_spec("httpx2") else httpx
    backend = AnthropicBackend.from_spec(spec, options=options)
    sent, http = capture(reply, http=http_module)
    backend._connection.client = anthropic.Anthropic(api_key="sk-ant-test", base_url="http://anthropic.test",
                                                     http_client=http)
    exported, http = capture(reply, http=http_module)
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url="http://anthropic.test", http_client=http)
    loaded = load_prompt(run)
    for inputs, _ in scored(run)[:3]:
        backend.score(loaded.prompt.request(inputs), list(loaded.continuations().values()))
        client.messages.create(**loaded.anthropic_request(**inputs))
    assert exported == sent and all(sent[0][k] == v for k, v in options.items())


def test_anthropic_export_is_sent_byte_for_byte_by_the_anthropic_sdk(run: Path, tmp_path: Path) -> None:
    import anthropic

    request = json.loads(export_run(run, "anthropic", tmp_path / "a").read_text())
    assert set(request) == {"messages", "model", "max_tokens", "extra_body"}  # scored as one user turn
    bodies, http = capture({"id": "m", "type": "message", "role": "assistant", "model": request["model"],
                            "content": [{"type": "text", "text": "yes"}], "stop_reason": "end_turn",
                            "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}},
                           http=importlib.import_module("httpx2") if importlib.util.find_spec("httpx2") else httpx)
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url="http://anthropic.test", http_client=http)
    pairs = scored(run)
    for inputs, _ in pairs:
        messages = [{**m, "content": fill(m["content"], inputs)} for m in request["messages"]]
        client.messages.create(**{**request, "messages": messages})
    assert [b["messages"][0]["content"] for b in bodies] == [text for _, text in pairs]
    assert bodies[0]["temperature"] == 0.0  # in the body, as the backend sends it


def test_dspy_export_loads_with_dspy_and_sends_the_scored_prompt(run: Path, tmp_path: Path) -> None:
    import dspy

    from autoprompt.export.dspy_program import load_program

    out = export_run(run, "dspy", tmp_path / "d").parent
    state = json.loads((out / "program.json").read_text())
    exported = load_prompt(run)
    assert state["signature"]["instructions"] == (exported.prompt.constants.get("instruction") or
                                                  state["signature"]["instructions"])
    assert [d["text"] for d in state["demos"]] == [d["inputs"]["text"] for d in exported.prompt.constants["demos"]]
    program, adapter = load_program(out)
    lm = Recording()
    pairs = scored(run)
    with dspy.context(lm=lm, adapter=adapter):
        answers = [program(**inputs).label for inputs, _ in pairs]
    assert lm.sent == [text for _, text in pairs]
    assert set(answers) == {"maybe"}  # the recording LM always answers "maybe", parsed back to its label


def test_a_dspy_program_edit_flows_into_the_prompt(tmp_path: Path, keyword_frame: pd.DataFrame) -> None:
    import dspy

    from autoprompt.export.dspy_program import load_program

    setup = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label", seed=0)).setup
    write_prompt(tmp_path, compose(RICH, setup), {"task": "classification", "target": "label", "model": "local"})
    export_run(tmp_path, "dspy", tmp_path / "d")
    program, adapter = load_program(tmp_path / "d")
    program.signature = program.signature.with_instructions("Pick one.")
    program.demos = program.demos[:1]
    lm = Recording()
    with dspy.context(lm=lm, adapter=adapter):
        program(text="item 9 says no")
    assert "Pick one." in lm.sent[0] and lm.sent[0].count("Text:") == 2


class Recording:
    """A DSPy LM (``dspy.BaseLM``) that records the user message and answers "maybe"."""

    def __new__(cls) -> Any:
        import dspy

        class _LM(dspy.BaseLM):  # type: ignore[misc]
            def __init__(self) -> None:
                super().__init__(model="recording", model_type="chat", temperature=0.0, max_tokens=8, cache=False)
                self.sent: list[str] = []
                self.conversations: list[Any] = []

            def forward(self, prompt: Any = None, messages: Any = None, **kwargs: Any) -> dict[str, Any]:
                self.sent.append(messages[-1]["content"])
                self.conversations.append(messages)
                return {"model": "recording", "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": "Maybe."}}]}

        return _LM()


def node_modules() -> Path | None:
    ready = shutil.which("node") and (NODE_MODULES / "nunjucks").is_dir() and (NODE_MODULES / "js-yaml").is_dir()
    if not ready and os.environ.get("AUTOPROMPT_REQUIRE_JS"):
        pytest.fail(f"node with nunjucks and js-yaml under {NODE_MODULES} is required here (.ci/run installs them)")
    return NODE_MODULES if ready else None


def promptfoo_renders(run: Path, out: Path) -> list[Any]:
    """The promptfoo export of ``run`` rendered as promptfoo renders it, for every test (its first prompt)."""
    modules = node_modules()
    if modules is None:
        pytest.skip("node, nunjucks or js-yaml missing: npm install --prefix ~/.cache/autoprompt/node nunjucks js-yaml")
    path = export_run(run, "promptfoo", out)
    script = Path(__file__).parent.parent / "js" / "render_promptfoo.js"
    rendered = subprocess.run(["node", str(script), str(path)], capture_output=True, text=True, check=True,
                              env={**os.environ, "NODE_PATH": str(modules)})
    return [texts[0] for texts in json.loads(rendered.stdout)]


def test_promptfoo_export_renders_the_scored_prompt_in_nunjucks(run: Path, tmp_path: Path) -> None:
    assert promptfoo_renders(run, tmp_path / "p") == [text for _, text in scored(run)]


def test_nunjucks_text_keeps_literal_template_syntax_literal() -> None:
    text = "Say {{text}} but keep {{ this }} and {% that %} and {# c #}."
    assert nunjucks_text(text).startswith("Say {{text}}{% raw %} but keep {{ this }}")
    assert nunjucks_text("plain {{a}}") == "plain {{a}}"


def prompt_of(template: str) -> Any:
    from autoprompt.export.manifest import ExportedPrompt

    return ExportedPrompt(Prompt(template=template, constants={}, input_names=("text",)), {"task": "generation"})


def test_flatten_refuses_templates_that_transform_their_inputs() -> None:
    assert flatten(prompt_of("Q: {{ text }}\nA:")) == "Q: {{text}}\nA:"
    for template in ("Q: {{ text | upper }}", "{% if text|length > 3 %}long{% endif %} {{ text }}"):
        with pytest.raises(ConfigError, match="--format jinja"):
            flatten(prompt_of(template), [{"text": "hello"}])
    with pytest.raises(ConfigError, match="placeholder"):
        flatten(prompt_of("literal {{ '{{text}}' }} then {{ text }}"))


def test_fill_substitutes_once() -> None:
    assert fill("a {{x}} b {{y}} {{z}}", {"x": "{{y}}", "y": "2"}) == "a {{y}} b 2 {{z}}"


def test_unknown_format_and_missing_run_are_clear_errors(run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown export format 'yaml'; choose one of jinja"):
        export_run(run, "yaml")
    with pytest.raises(ConfigError, match="no exported prompt"):
        export_run(tmp_path / "nowhere", "openai")
    assert FORMATS == ("jinja", "openai", "anthropic", "dspy", "promptfoo")


@pytest.mark.parametrize(
    ("model", "provider", "base_url"),
    [
        ("anthropic:claude-haiku-4-5@http://127.0.0.1:9", "anthropic:messages:claude-haiku-4-5", "http://127.0.0.1:9"),
        ("openai:gpt-4o-mini@http://127.0.0.1:9/v1", "openai:chat:gpt-4o-mini", "http://127.0.0.1:9/v1"),
        ("openai:gpt-4o-mini", "openai:chat:gpt-4o-mini", None),
        ("local", "openai:chat:local", None),
        ("azure:chat-prod@https://acme.openai.azure.com", "azure:chat:chat-prod", None),
        ("bedrock:anthropic.claude-3-haiku-20240307-v1:0", "bedrock:anthropic.claude-3-haiku-20240307-v1:0", None),
        ("vertex:claude-3-5-haiku@20241022", "vertex:claude-3-5-haiku@20241022", None),
        ("litellm:groq/llama-3.1-8b-instant", "litellm:groq/llama-3.1-8b-instant", None),  # a LiteLLM proxy's
    ],
)
def test_promptfoo_names_the_runs_own_provider_and_base_url(model: str, provider: str, base_url: str | None) -> None:
    from autoprompt.export.formats import promptfoo_provider
    from autoprompt.export.manifest import ExportedPrompt

    exported = ExportedPrompt(Prompt(template="Q: {{ text }}\nA:", constants={}, input_names=("text",)),
                              {"task": "generation", "model": model})
    entry = promptfoo_provider(exported, None)
    assert entry["id"] == provider
    assert entry["config"].get("apiBaseUrl") == base_url
    assert promptfoo_provider(exported, "other-model")["id"].endswith(":other-model")
    assert entry["config"].get("apiHost") == ("acme.openai.azure.com" if model.startswith("azure") else None)


@pytest.fixture
def json_run(tmp_path: Path) -> Path:
    """A run whose answers follow a JSON schema."""
    rows = [{"text": f"item {i}; name: {n}, area: {a}", "fields": json.dumps({"name": n, "area": a})}
            for i, (n, a) in enumerate([("Cotto", "riverside"), ("Strada", "city centre")] * 12)]
    schema = '{"type": "object", "properties": {"name": {"type": "string"}, "area": {"type": "string"}}}'
    result = autoprompt.optimize(pd.DataFrame(rows), inputs="text", target="fields", model=RecordingBackend(),
                                 budget=60, seed=1, answers=autoprompt.Answers(kind="generation", json_schema=schema),
                                 search=autoprompt.Search(first_rung=4))
    result.export(tmp_path / "run")
    return tmp_path / "run"


def test_json_exports_ask_for_the_schema_the_prompt_was_scored_with(json_run: Path, tmp_path: Path) -> None:
    import anthropic
    import openai

    schema = load_prompt(json_run).prompt.json_schema
    assert schema is not None
    request = json.loads(export_run(json_run, "openai", tmp_path / "o").read_text())
    assert request["response_format"] == response_format(schema) and "stop" not in request
    bodies, http = capture({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": "{}"}}]})
    openai.OpenAI(api_key="sk-test", base_url="http://openai.test/v1", http_client=http).chat.completions.create(
        **request)
    assert bodies[0]["response_format"] == response_format(schema)

    request = json.loads(export_run(json_run, "anthropic", tmp_path / "a").read_text())
    assert {k: request[k] for k in ("tools", "tool_choice")} == answer_tool(schema)
    bodies, http = capture({"id": "m", "type": "message", "role": "assistant", "model": "m",
                            "content": [{"type": "tool_use", "id": "t", "name": "answer", "input": {}}],
                            "stop_reason": "tool_use", "stop_sequence": None,
                            "usage": {"input_tokens": 1, "output_tokens": 1}},
                           http=importlib.import_module("httpx2") if importlib.util.find_spec("httpx2") else httpx)
    anthropic.Anthropic(api_key="sk-ant-test", base_url="http://anthropic.test", http_client=http).messages.create(
        **request)
    assert bodies[0]["tool_choice"] == {"type": "tool", "name": "answer"}


def test_promptfoo_checks_json_answers_field_by_field(json_run: Path, tmp_path: Path) -> None:
    import yaml

    config = yaml.safe_load(export_run(json_run, "promptfoo", tmp_path / "p").read_text())
    schema = load_prompt(json_run).prompt.json_schema
    assert config["providers"][0]["config"]["response_format"] == response_format(schema or "")
    if node_modules() is None:  # fails instead where node is required (AUTOPROMPT_REQUIRE_JS, as in CI)
        pytest.skip("node missing: the JavaScript assertion is not run")
    check = config["tests"][0]["assert"][0]
    target = json.loads(pd.read_csv(json_run / "data" / "test.csv")["fields"][0])
    for output, passes in [(json.dumps({k: v.upper() + "." for k, v in target.items()}), True),
                           (json.dumps({"name": target["name"]}), False), ("not json", False)]:
        script = f"const output = {json.dumps(output)}; console.log(JSON.stringify({check['value']}));"
        assert json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True,
                                         check=True).stdout) is passes


CHAT_WINNER = Candidate(task="instruction", clarifiers=("one_word",), n_demos=3, demo_seed=2, system=True,
                        demo_turns=True)


@pytest.fixture
def chat_run(tmp_path: Path, keyword_frame: pd.DataFrame) -> Path:
    """A run on a chat API whose winner has a system message and demonstrations as turns."""
    system = "You sort texts into {{ labels | join(' / ') }}. Braces {like this} stay."
    result = autoprompt.optimize(keyword_frame, inputs="text", target="label", model=ChatAPIBackend(), budget=120,
                                 seed=3, search=autoprompt.Search(first_rung=4),
                                 template=autoprompt.Start(system=system))
    setup = prepare_task(RunSpec(data=keyword_frame, inputs="text", target="label", seed=3,
                                 start=Start(system=system))).setup
    best = dataclasses.replace(result.best, candidate=CHAT_WINNER, prompt=compose(CHAT_WINNER, setup))
    dataclasses.replace(result, best=best).export(tmp_path / "run")
    return tmp_path / "run"


def scored_messages(run: Path) -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    """(inputs, the exact messages the winner sends for them) over the run's test set."""
    exported = load_prompt(run)
    texts = pd.read_csv(run / "data" / "test.csv")["text"]
    return [({"text": t}, exported.prompt.messages({"text": t})) for t in texts]


def test_chat_exports_send_exactly_the_scored_messages(chat_run: Path, tmp_path: Path) -> None:
    import anthropic
    import openai

    pairs = scored_messages(chat_run)
    assert [m["role"] for m in pairs[0][1]] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert [load_prompt(export_run(chat_run, "jinja", tmp_path / "j")).messages(**inputs)
            for inputs, _ in pairs] == [messages for _, messages in pairs]

    request = json.loads(export_run(chat_run, "openai", tmp_path / "o").read_text())
    bodies, http = capture({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": "yes"}}]})
    client = openai.OpenAI(api_key="sk-test", base_url="http://openai.test/v1", http_client=http)
    for inputs, _ in pairs:
        client.chat.completions.create(**{**request, "messages": [{**m, "content": fill(m["content"], inputs)}
                                                                  for m in request["messages"]]})
    assert [b["messages"] for b in bodies] == [messages for _, messages in pairs]

    request = json.loads(export_run(chat_run, "anthropic", tmp_path / "a").read_text())
    bodies, http = capture({"id": "m", "type": "message", "role": "assistant", "model": "m",
                            "content": [{"type": "text", "text": "yes"}], "stop_reason": "end_turn",
                            "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}},
                           http=importlib.import_module("httpx2") if importlib.util.find_spec("httpx2") else httpx)
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url="http://anthropic.test", http_client=http)
    for inputs, _ in pairs:
        client.messages.create(**{**request, "messages": [
            {**m, "content": fill(m["content"], inputs) if isinstance(m["content"], str) else m["content"]}
            for m in request["messages"]]})
    assert bodies[0]["messages"][-2]["content"][0]["cache_control"] == {"type": "ephemeral"}  # after the shared turns
    assert [[{"role": "system", "content": b["system"]}, *map(one_text, b["messages"])] for b in bodies] == \
        [messages for _, messages in pairs]


def one_text(message: dict[str, Any]) -> dict[str, Any]:
    """A message whose content is one text block (as a cache breakpoint makes it) with its text as content."""
    content = message["content"]
    return {**message, "content": content if isinstance(content, str) else "".join(b["text"] for b in content)}


def test_a_chat_winner_as_a_dspy_program_sends_the_scored_messages(chat_run: Path, tmp_path: Path) -> None:
    import dspy

    from autoprompt.export.dspy_program import load_program

    program, adapter = load_program(export_run(chat_run, "dspy", tmp_path / "d").parent)
    assert len(program.demos) == 3  # the demonstration turns are the program's demos
    lm = Recording()
    pairs = scored_messages(chat_run)
    with dspy.context(lm=lm, adapter=adapter):
        for inputs, _ in pairs:
            program(**inputs)
    assert lm.conversations == [messages for _, messages in pairs]


def test_a_chat_winner_in_promptfoo_renders_to_the_scored_messages(chat_run: Path, tmp_path: Path) -> None:
    assert promptfoo_renders(chat_run, tmp_path / "p") == [messages for _, messages in scored_messages(chat_run)]


def test_a_damaged_test_file_in_a_received_run_folder_is_one_error(tmp_path: Path, keyword_frame: pd.DataFrame) -> None:
    """The run's ``data/test.csv`` is read as the run wrote it (every cell text, labels stripped); one that lost
    its target column or a cell is a ``DataError`` naming the file, and nothing is exported."""
    from autoprompt.errors import DataError
    from autoprompt.export.formats import test_examples

    autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake", budget=100, seed=3,
                        search=autoprompt.Search(first_rung=4)).export(tmp_path)
    path = tmp_path / "data" / "test.csv"
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    examples = test_examples(tmp_path, load_prompt(tmp_path))
    assert examples == [({"text": t}, label) for t, label in zip(written["text"], written["label"], strict=True)]
    path.write_text("text\nitem 1 says yes\n")
    with pytest.raises(DataError, match=r"test.csv has no column 'label'"):
        export_run(tmp_path, "openai", tmp_path / "o")
    path.write_text("text,label\nitem 1 says yes\n")
    with pytest.raises(DataError, match="more or fewer cells than its header"):
        export_run(tmp_path, "openai", tmp_path / "o")
    assert not (tmp_path / "o").exists()
