"""The API backends end to end against llama.cpp's llama-server on 127.0.0.1.

llama-server speaks OpenAI's ``/v1/chat/completions`` (with logprobs) and Anthropic's
``/v1/messages``; the official ``openai`` and ``anthropic`` clients talk to it. A
fault-injecting proxy in front of it tests retries. No mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.data.bundled import bundled_path, bundled_schema
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.export.formats import export_run, fill
from autoprompt.models.anthropic_backend import AnthropicBackend
from autoprompt.models.backend import Limits
from autoprompt.models.client import Client
from autoprompt.models.openai_backend import OpenAIBackend
from autoprompt.models.retry import RetryPolicy
from autoprompt.prompts.compose import compose
from autoprompt.records.candidate import Candidate
from autoprompt.records.model_spec import PROVIDERS
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec, Start
from tests.servers import (
    FAULTS,
    AzureProxy,
    BedrockProxy,
    FaultProxy,
    ReasoningProxy,
    ToolUseProxy,
    VertexProxy,
    llama_server,
    prompt_tokens_processed,
)

pytestmark = pytest.mark.model
KEY = "sk-autoprompt-test-SECRET-4242"
NO_PROMPT_CACHE = {"cache_prompt": False}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with llama_server(KEY) as url:
        yield url


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "small.csv"
    pd.read_csv(bundled_path("sentiment")).head(40).to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


def cli(*args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENAI_API_KEY": key, "ANTHROPIC_API_KEY": key}
    return subprocess.run([sys.executable, "-m", "autoprompt.cli", *args], capture_output=True, text=True, env=env)


def test_openai_client_scores_labels_with_logprobs(server: str) -> None:
    backend = OpenAIBackend("smollm2", base_url=server + "/v1")
    seen = []
    scores = backend.score("Is this review positive or negative? 'A wonderful, moving film.' Answer:",
                           [" positive", " negative"], on_usage=seen.append)
    assert len(scores) == 2 and max(scores) > -50
    assert seen and seen[0].input_tokens > 0


@pytest.mark.parametrize("provider", [name for name, p in PROVIDERS.items()
                                      if p.api == "openai" and name not in ("azure", "litellm")])
def test_each_provider_name_reaches_its_route_with_its_own_key(server: str, monkeypatch: pytest.MonkeyPatch,
                                                               provider: str) -> None:
    """llama-server checks the route (/v1/chat/completions) and the bearer key, which each provider reads from
    its own variable (Ollama and vLLM need none; this server wants one)."""
    from autoprompt.models.registry import get_backend

    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-this-one")  # never sent in place of the provider's own
    monkeypatch.setenv(PROVIDERS[provider].key_env, KEY)
    scores = get_backend(f"{provider}:smollm2@{server}/v1").score(
        "Is this review positive or negative? 'A wonderful, moving film.' Answer:", [" positive", " negative"])
    assert len(scores) == 2 and max(scores) > -50


def test_a_litellm_model_scores_from_logprobs_with_the_reported_usage_and_the_key_it_is_given(
        server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """LiteLLM's openai/ route to llama-server (which checks the route and the bearer key): the key of
    --api-key-env is sent, not the one LiteLLM would find, and a wrong one fails at once, naming the variable."""
    from autoprompt.errors import ModelConfigError
    from autoprompt.models.registry import get_backend

    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-this-one")  # what LiteLLM reads for openai/ by itself
    monkeypatch.setenv("GATEWAY_KEY", KEY)
    question = "Is this review positive or negative? 'A wonderful, moving film.' Answer:"
    seen: list = []
    scores = get_backend(f"litellm:openai/smollm2@{server}/v1", key_env="GATEWAY_KEY").score(
        question, [" positive", " negative"], on_usage=seen.append)
    assert -50 < max(scores) < 0  # a log-probability: a parsed answer would score 0
    assert seen[0].input_tokens > 5 and seen[0].output_tokens > 0
    started = time.monotonic()
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        get_backend(f"litellm:openai/smollm2@{server}/v1", key_env="OPENAI_API_KEY").score(question, [" positive"])
    assert time.monotonic() - started < 10  # not retried


def test_a_litellm_search_is_priced_keeps_the_key_out_and_exports_the_request_it_sent(
        server: str, small_csv: Path, tmp_path: Path) -> None:
    import litellm

    run = tmp_path / "run"
    result = autoprompt.optimize(small_csv, inputs="text", target="label",
                                 model=f"litellm:openai/smollm2@{server}/v1", budget=24, seed=0,
                                 search=autoprompt.Search(first_rung=8),
                                 calls=autoprompt.Calls(price=(1.0, 2.0), max_usd=1.0), run=run)
    assert 0 < result.usd and result.tokens > 0 and result.calls <= 24
    assert not [p for p in run.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    prompt = autoprompt.load_prompt(run)
    row = pd.read_csv(small_csv).iloc[0]
    request = prompt.openai_request(text=row["text"])
    assert request["model"] == "openai/smollm2" and request["logprobs"] is True
    again = litellm.completion(**request, api_base=f"{server}/v1", api_key=KEY)  # the export, as the user sends it
    assert again.choices[0].message.content.strip()


def test_an_azure_deployment_is_reached_at_its_route_with_its_version_and_key(server: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from autoprompt.errors import ModelConfigError
    from autoprompt.models.openai_backend import AZURE_API_VERSION
    from autoprompt.models.registry import get_backend

    review = "Is this review positive or negative? 'A wonderful, moving film.' Answer:"
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    with AzureProxy(server, KEY) as azure:
        scores = get_backend(f"azure:smollm2@{azure.url}").score(review, [" positive", " negative"])
        assert len(scores) == 2 and max(scores) > -50  # logprobs came back through the deployment's route
        monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
        backend = get_backend(f"azure:smollm2@{azure.url}")
        assert backend.generate("Say the word 'hello'.", max_tokens=8).strip()
        assert azure.seen == [("/openai/deployments/smollm2/chat/completions", AZURE_API_VERSION, False),
                              ("/openai/deployments/smollm2/chat/completions", "2025-04-01-preview", False)]
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "wrong")
        with pytest.raises(ModelConfigError, match="AZURE_OPENAI_API_KEY"):
            get_backend(f"azure:smollm2@{azure.url}").score(review, [" positive", " negative"])
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
        with pytest.raises(ModelConfigError, match="'gpt-4o' or its endpoint was not found"):
            get_backend(f"azure:gpt-4o@{azure.url}").score(review, [" positive", " negative"])


def test_claude_on_bedrock_is_reached_at_its_model_route_with_signed_requests(server: str,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from autoprompt.errors import ModelConfigError
    from autoprompt.models.registry import get_backend

    model = "anthropic.claude-3-haiku-20240307-v1:0"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDAUTOPROMPTTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-never-sent")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    with BedrockProxy(server, KEY, "AKIDAUTOPROMPTTEST", "eu-west-3") as bedrock:
        text = get_backend(f"bedrock:{model}@{bedrock.url}").generate("Say the word 'hello'.", max_tokens=8)
        assert text.strip()
        path, body = bedrock.seen[0]
        assert path == f"/model/{model}/invoke" and body["anthropic_version"]
        assert "model" not in body and "secret-never-sent" not in json.dumps(body)
        monkeypatch.setenv("AWS_REGION", "us-west-2")  # signed for another region: refused, one clear error
        with pytest.raises(ModelConfigError, match="HTTP 403"):
            get_backend(f"bedrock:{model}@{bedrock.url}").generate("Say 'hello'.", max_tokens=8)


def test_claude_on_vertex_is_reached_at_its_project_route_with_its_token(server: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from autoprompt.errors import ModelConfigError
    from autoprompt.models.registry import get_backend

    model = "claude-3-5-haiku@20241022"
    monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.autoprompt-test")
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "acme-ml")
    monkeypatch.setenv("CLOUD_ML_REGION", "europe-west1")
    with VertexProxy(server, KEY, "ya29.autoprompt-test", "acme-ml", "europe-west1", model) as vertex:
        monkeypatch.setenv("ANTHROPIC_VERTEX_BASE_URL", vertex.url + "/v1")
        assert get_backend(f"vertex:{model}").generate("Say the word 'hello'.", max_tokens=8).strip()
        path, body = vertex.seen[0]
        assert path == vertex.route and "model" not in body and body["anthropic_version"]
        monkeypatch.setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.expired")
        with pytest.raises(ModelConfigError, match="HTTP 401"):
            get_backend(f"vertex:{model}").generate("Say 'hello'.", max_tokens=8)


def test_anthropic_client_through_messages_route(server: str) -> None:
    backend = AnthropicBackend.from_spec(f"anthropic:smollm2@{server}")
    text = backend.generate("Say the word 'hello'.", max_tokens=8)
    assert isinstance(text, str) and text.strip()


def test_search_rerun_from_cache_costs_the_server_nothing_and_keeps_the_key_out(
        server: str, small_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["optimize", "--data", str(small_csv), "--input", "text", "--target", "label",
            "--model", f"openai:smollm2@{server}/v1", "--budget", "48", "--seed", "0", "--out", str(out)]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    before = prompt_tokens_processed(server, KEY)
    second = cli(*args)
    assert second.returncode == 0, second.stderr
    assert prompt_tokens_processed(server, KEY) == before
    assert "0 not from the cache" in second.stdout
    first_manifest = json.loads((out / "winner.json").read_text())
    assert first_manifest["model_calls"]["paid"] == 0
    for path in [*out.rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in first.stdout + first.stderr + second.stdout + second.stderr


def _search(backend: OpenAIBackend, csv: Path) -> autoprompt.OptimizationResult:
    return autoprompt.optimize(csv, inputs="text", target="label", model=backend, budget=48, seed=0,
                               search=autoprompt.Search(first_rung=8))


def test_a_search_against_a_reasoning_model_sends_only_what_it_accepts(server: str, small_csv: Path,
                                                                        tmp_path: Path) -> None:
    """OpenAI answers HTTP 400 to a reasoning model's request with max_tokens, temperature or logprobs;
    the proxy does the same, so a search that completes never sent one of them."""
    with ReasoningProxy(server) as proxy:
        seen = []
        backend = OpenAIBackend.from_spec(f"openai:o4-mini@{proxy.url}/v1", options={"max_completion_tokens": 8})
        backend.generate("Is 'A wonderful film.' positive or negative? Answer:", max_tokens=8, on_usage=seen.append)
        assert seen[0].output_tokens >= ReasoningProxy.REASONING  # reasoning tokens are billed output
        run = cli("optimize", "--data", str(small_csv), "--input", "text", "--target", "label", "--model",
                  f"openai:o4-mini@{proxy.url}/v1", "--model-option", "max_completion_tokens=8", "--budget", "48",
                  "--seed", "0", "--out", str(tmp_path / "run"))
        assert run.returncode == 0, run.stderr
        import openai

        searched = len(proxy.requests)
        exported = autoprompt.load_prompt(tmp_path / "run")
        openai.OpenAI(api_key=KEY, base_url=f"{proxy.url}/v1").chat.completions.create(
            **exported.openai_request(text="A wonderful film."))  # the export of a reasoning model's winner
        assert proxy.rejected == [] and len(proxy.requests) == searched + 1
        assert proxy.requests[-1]["max_completion_tokens"] == 8
    assert proxy.rejected == [] and len(proxy.requests) > 40
    assert all(r.get("max_completion_tokens") == 8 for r in proxy.requests)
    manifest = json.loads((tmp_path / "run" / "winner.json").read_text())
    assert manifest["model"] == f"openai:o4-mini@{proxy.url}/v1" and manifest["scores"]["test"] is not None
    assert manifest["model_options"] == {"max_completion_tokens": 8}


def test_twenty_percent_faults_change_nothing(server: str, small_csv: Path) -> None:
    # one request at a time, so that only the proxy's stall (5 s) ever meets the 3 s timeout
    policy = RetryPolicy(attempts=6, initial_wait=0.05, max_wait=2.0, timeout=3.0)
    one = Limits(concurrency=1)
    clean = _search(OpenAIBackend("smollm2", base_url=server + "/v1", policy=policy, limits=one,
                                  extra_body=NO_PROMPT_CACHE), small_csv)
    with FaultProxy(server, every=5, stall_seconds=5.0) as proxy:
        faulty = _search(OpenAIBackend("smollm2", base_url=proxy.url + "/v1", policy=policy, limits=one,
                                       extra_body=NO_PROMPT_CACHE), small_csv)
    assert set(proxy.faults) == set(FAULTS)
    assert len(proxy.faults) >= proxy.requests // 5 - 1
    assert faulty.best.candidate == clean.best.candidate
    assert [(t.candidate, t.score, t.n) for t in faulty.trials] == [(t.candidate, t.score, t.n) for t in clean.trials]
    outcomes = [[(p.example_id, p.output, p.failed) for p in t.predictions] for t in faulty.trials]
    assert outcomes == [[(p.example_id, p.output, p.failed) for p in t.predictions] for t in clean.trials]
    assert not any("gave up" in p.error for t in faulty.trials for p in t.predictions)
    assert faulty.calls == clean.calls


def test_twenty_failures_in_a_row_end_the_run_and_nothing_paid_for_is_lost(server: str, small_csv: Path,
                                                                           tmp_path: Path) -> None:
    """A server that breaks mid-run (every request a 500): the run ends after 20 failed requests in a row,
    one line, exit 1; once it heals, the resume asks only what was never answered, so the server answers
    each request of the run exactly once, as many as a run that never met a fault."""
    command = ("optimize", "--data", str(small_csv), "--input", "text", "--target", "label", "--budget", "48",
               "--seed", "0", "--concurrency", "10")  # ten retry sleeps at a time: the 20 failures take ~30 s
    with FaultProxy(server, every=10**9) as clean:
        assert cli(*command, "--model", f"openai:smollm2@{clean.url}/v1", "--out", str(tmp_path / "clean"),
                   "--model-option", "cache_prompt=false").returncode == 0
    with FaultProxy(server, every=10**9) as proxy:
        model = f"openai:smollm2@{proxy.url}/v1"
        watcher = threading.Thread(target=_break_after, args=(proxy, clean.relayed // 2), daemon=True)
        watcher.start()
        run = cli(*command, "--model", model, "--out", str(tmp_path / "run"), "--model-option", "cache_prompt=false")
        lines = [line for line in run.stderr.splitlines() if line.startswith("autoprompt:")]
        assert run.returncode == 1 and len(lines) == 1 and "20 requests in a row" in lines[0], run.stderr
        assert 0 < proxy.relayed < clean.relayed
        proxy.broken = False
        resumed = cli("resume", str(tmp_path / "run"))
        assert resumed.returncode == 0, resumed.stderr
    assert proxy.relayed == clean.relayed
    winner = json.loads((tmp_path / "run" / "winner.json").read_text())
    assert winner["candidate"] == json.loads((tmp_path / "clean" / "winner.json").read_text())["candidate"]


def _break_after(proxy: FaultProxy, answers: int) -> None:
    while proxy.relayed < answers:
        time.sleep(0.01)
    proxy.broken = True


def test_concurrent_evaluation_matches_sequential(server: str) -> None:
    task = prepare_task(RunSpec(data="sentiment"))
    prompt = compose(Candidate("fields"), task.setup)
    dev = task.data.dev.examples[:12]
    results = []
    for concurrency in (1, 4):
        backend = OpenAIBackend("smollm2", base_url=server + "/v1", limits=Limits(concurrency=concurrency),
                                extra_body=NO_PROMPT_CACHE)
        evaluator = Evaluator(Client(backend), get_metric("accuracy"), task.setup.kind)
        results.append([(p.example_id, p.output) for p in evaluator.evaluate(prompt, dev)])
    assert results[0] == results[1]


def test_bad_key_fails_fast_with_one_line(server: str, small_csv: Path, tmp_path: Path) -> None:
    run = cli("optimize", "--data", str(small_csv), "--input", "text", "--target", "label", "--model",
              f"openai:smollm2@{server}/v1", "--budget", "48", "--out", str(tmp_path / "o"), key="sk-wrong-key-123")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "OPENAI_API_KEY" in lines[0] and "sk-wrong-key-123" not in run.stderr


def test_server_not_running_and_unknown_model_fail_with_one_line(small_csv: Path, tmp_path: Path) -> None:
    from tests.servers import free_port

    for model, message, code in ((f"openai:smollm2@http://127.0.0.1:{free_port()}/v1", "cannot connect", 1),
                                 (f"anthropic:smollm2@http://127.0.0.1:{free_port()}", "cannot connect", 1),
                                 ("nosuchprovider:large", "unknown model", 2)):  # a failure while running; bad input
        run = cli("optimize", "--data", str(small_csv), "--input", "text", "--target", "label", "--model", model,
                  "--budget", "48", "--out", str(tmp_path / "o"))
        lines = run.stderr.strip().splitlines()
        assert run.returncode == code and len(lines) == 1 and message in lines[0], run.stderr


def test_a_dspy_lm_serves_as_backend(server: str, small_csv: Path) -> None:
    import dspy

    from autoprompt.models.dspy_backend import DSPyBackend

    lm = dspy.LM("openai/smollm2", api_base=server + "/v1", api_key=KEY, cache=False, temperature=0.0)
    result = autoprompt.optimize(small_csv, inputs="text", target="label", model=DSPyBackend(lm), budget=24, seed=0,
                                 search=autoprompt.Search(first_rung=8))
    assert result.trials[0].n == result.dev_size and result.calls <= 24
    assert KEY not in json.dumps(DSPyBackend(lm).params)
    seen: list = []
    DSPyBackend(lm).score("Is 'A wonderful film.' positive or negative? Answer:", [" positive", " negative"],
                          on_usage=seen.append)
    assert seen[0].input_tokens > 5 and seen[0].output_tokens > 0  # as llama-server reported them
    priced = autoprompt.optimize(small_csv, inputs="text", target="label", model=DSPyBackend(lm), budget=24, seed=0,
                                 search=autoprompt.Search(first_rung=8),
                                 calls=autoprompt.Calls(price=(1.0, 2.0), max_usd=1.0))
    assert priced.usd > 0 and priced.tokens > 0


def test_sampled_answers_follow_their_seed_and_a_judge_grades_over_messages(server: str) -> None:
    openai_model = OpenAIBackend("smollm2", base_url=server + "/v1")
    prompt = "Write one short sentence about the sea."
    first = openai_model.generate(prompt, max_tokens=12, temperature=1.0, seed=7)
    assert openai_model.generate(prompt, max_tokens=12, temperature=1.0, seed=7) == first
    samples = {openai_model.generate(prompt, max_tokens=12, temperature=1.0, seed=s) for s in range(1, 5)}
    assert len(samples) >= 2  # the server samples: seeds give different answers
    judge = get_metric("judge:correctness").bind(Client(AnthropicBackend.from_spec(f"anthropic:smollm2@{server}")))
    grade = judge.grade(autoprompt.Example("1", {"verb": "walk"}, "walked"), "walked")
    assert 0.0 <= grade.score <= 1.0 and grade.reason  # a score, or a failed grade quoting the reply


def test_json_answers_through_the_openai_and_anthropic_routes(server: str) -> None:
    """OpenAI's route gets the schema as ``response_format`` (llama-server decodes under it);
    Anthropic's gets one forced tool, answered as Anthropic documents by ``ToolUseProxy``."""
    task = prepare_task(RunSpec(data="restaurant", seed=0))
    prompt = compose(Candidate(task="fields", n_demos=2, demo_seed=1), task.setup)
    assert prompt.json_schema is not None and prompt.stop == ()
    examples = list(task.data.test.examples[:3])
    with ToolUseProxy(server) as proxy:
        for backend in (OpenAIBackend("smol", base_url=server + "/v1"), AnthropicBackend("smol", base_url=proxy.url)):
            evaluator = Evaluator(Client(backend), get_metric("json_f1"), task.setup.kind)
            predictions = evaluator.evaluate(prompt, examples)
            assert not any(p.failed for p in predictions), [p.error for p in predictions]
            for p in predictions:
                assert set(json.loads(p.output)) <= set(json.loads(prompt.json_schema)["properties"])
            assert sum(p.score for p in predictions) > 0  # some fields right, graded field by field
    assert [r["tool_choice"] for r in proxy.requests] == [{"type": "tool", "name": "answer"}] * 3


def test_a_system_message_and_demonstration_turns_through_both_routes(server: str) -> None:
    """A conversation goes to OpenAI's route as its messages and to Anthropic's with the system
    message as ``system``; llama-server answers both through SmolLM2's chat template."""
    task = prepare_task(RunSpec(data="sentiment", seed=0, start=Start(system="You label reviews.")))
    prompt = compose(Candidate(task="instruction", n_demos=2, system=True, demo_turns=True), task.setup)
    examples = list(task.data.test.examples[:4])
    with ToolUseProxy(server) as proxy:
        for backend in (OpenAIBackend("smol", base_url=proxy.url + "/v1"),
                        AnthropicBackend("smol", base_url=proxy.url)):
            predictions = Evaluator(Client(backend), get_metric("accuracy"), task.setup.kind).evaluate(prompt, examples)
            assert not any(p.failed for p in predictions), [p.error for p in predictions]
    openai_sent, anthropic_sent = proxy.requests[:4], proxy.requests[4:]
    expected = sorted((prompt.messages(ex.inputs) for ex in examples), key=json.dumps)  # sent concurrently
    assert sorted((r["messages"] for r in openai_sent), key=json.dumps) == expected
    def text(content: object) -> object:  # a cache breakpoint makes a content one marked text block
        return content if isinstance(content, str) else "".join(b["text"] for b in content)  # type: ignore[attr-defined]

    assert sorted(([{"role": "system", "content": r["system"]}, *({**m, "content": text(m["content"])}
                                                                  for m in r["messages"])]
                   for r in anthropic_sent), key=json.dumps) == expected
    assert anthropic_sent[0]["messages"][-2]["content"][0]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize("route", ["openai", "anthropic"])
def test_a_system_prompt_search_exports_the_requests_it_scored(server: str, small_csv: Path, tmp_path: Path,
                                                              route: str) -> None:
    """A search with --system through each route; the exported request, filled with each test input,
    is what the server received when the winner was scored on test: every field of it, byte for byte."""
    out = tmp_path / route
    with ToolUseProxy(server) as proxy:
        model = f"openai:smollm2@{proxy.url}/v1" if route == "openai" else f"anthropic:smollm2@{proxy.url}"
        run = cli("optimize", "--data", str(small_csv), "--input", "text", "--target", "label", "--model", model,
                  "--system", "You label reviews as {{ labels | join(' or ') }}.", "--budget", "96", "--seed", "0",
                  "--out", str(out))
    assert run.returncode == 0, run.stderr
    request = json.loads((export_run(out, route)).read_text())
    sent = [json.dumps(body, sort_keys=True) for body in proxy.requests]
    tests = pd.read_csv(out / "data" / "test.csv")
    for text in tests["text"]:
        kwargs = {**request, "messages": [{**m, "content": fill(m["content"], {"text": text})
                                           if isinstance(m["content"], str) else m["content"]}
                                          for m in request["messages"]]}
        # the body the SDK sends for these keyword arguments: extra_body's fields at the top level
        filled = {**{k: v for k, v in kwargs.items() if k != "extra_body"}, **kwargs.get("extra_body", {})}
        assert any(json.dumps({k: json.loads(body)[k] for k in filled if k in json.loads(body)}, sort_keys=True)
                   == json.dumps(filled, sort_keys=True) for body in sent), text
    system = request["system"] if route == "anthropic" else request["messages"][0]["content"]
    assert "You label reviews as negative or positive." in json.dumps(system)


def test_a_json_extraction_search_through_the_openai_route_parses_every_test_answer(server: str,
                                                                                     tmp_path: Path) -> None:
    """The bundled restaurant task (a slice of it) with --json-schema and --metric json_f1 through
    llama-server's response_format: every test answer is JSON, graded field by field."""
    data = tmp_path / "restaurant.csv"
    pd.read_csv(bundled_path("restaurant")).head(90).to_csv(data, index=False)
    schema = tmp_path / "schema.json"
    schema.write_text(bundled_schema("restaurant"), encoding="utf-8")
    run = cli("optimize", "--data", str(data), "--input", "text", "--target", "fields", "--json-schema", str(schema),
              "--metric", "json_f1", "--model", f"openai:smollm2@{server}/v1", "--budget", "96", "--seed", "0",
              "--out", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    assert "failed examples" not in run.stdout, run.stdout  # no unparseable answer, on dev or test
    manifest = json.loads((tmp_path / "run" / "winner.json").read_text())
    assert manifest["metric"] == "json_f1" and manifest["json_schema"] == json.loads(bundled_schema("restaurant"))
    assert manifest["scores"]["test"]["winner"] > 0.1
