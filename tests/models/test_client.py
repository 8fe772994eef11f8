"""The client layer: caching on the whole request, and the hard budget."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from autoprompt.errors import BudgetExhausted, ConfigError, ExampleFailed
from autoprompt.models.backend import FakeBackend
from autoprompt.models.budget import Budget
from autoprompt.models.client import Client


def test_cache_keys_on_the_whole_request() -> None:
    backend = FakeBackend()
    client = Client(backend, Budget(10))
    first = client.score("Q: a\nA:", [" yes", " no"])
    assert client.score("Q: a\nA:", [" yes", " no"]) == first
    assert backend.calls == 1
    client.score("Q: a\nA:", [" yes", " no"], chat=True)
    client.score("Q: a\nA:", [" yes"])
    client.generate("Q: a\nA:", max_tokens=4)
    client.generate("Q: a\nA:", max_tokens=5)
    assert backend.calls == client.calls == client.budget.calls == 5


def test_budget_is_hard() -> None:
    client = Client(FakeBackend(), Budget(2))
    client.score("a", [" x"])
    client.score("b", [" x"])
    with pytest.raises(BudgetExhausted, match="2 model calls"):
        client.score("c", [" x"])
    assert client.calls == 2
    client.score("a", [" x"])  # cached: free even when the budget is spent


def test_budget_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="positive"):
        Budget(0)
    with pytest.raises(ConfigError, match="positive"):
        Budget(10, max_seconds=-1)


def test_failed_answers_are_cached_but_given_up_requests_are_not() -> None:
    from autoprompt.errors import ExampleFailed

    class Picky(FakeBackend):
        def score(self, text, continuations, *, chat=False, on_usage=None):  # type: ignore[no-untyped-def]
            self.calls += 1
            raise ExampleFailed("no label", cacheable=text == "answer")

    backend = Picky()
    client = Client(backend, Budget(10))
    for text in ("answer", "answer", "network", "network"):
        with pytest.raises(ExampleFailed):
            client.score(text, [" x"])
    assert backend.calls == 3


class _AlwaysFails(FakeBackend):
    """A backend whose every request fails after its retries, like a service that is down."""

    def __init__(self) -> None:
        super().__init__(name="down")
        self.asked = 0

    def score(self, text: str, continuations, *, chat: bool = False, on_usage=None) -> list[float]:  # type: ignore[no-untyped-def]
        self.asked += 1
        raise ExampleFailed("HTTP 503 service unavailable (gave up after 6 attempts)", cacheable=False)


def test_requests_failing_in_a_row_end_the_run_with_the_last_error(keyword_frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import autoprompt
    from autoprompt.errors import ModelError
    from autoprompt.models.client import MAX_FAILURES_IN_A_ROW

    backend = _AlwaysFails()
    with pytest.raises(ModelError, match=r"in a row .* HTTP 503"):
        autoprompt.optimize(keyword_frame, inputs="text", target="label", model=backend, budget=2000,
                            run=tmp_path / "run")
    assert backend.asked == MAX_FAILURES_IN_A_ROW
    assert not (tmp_path / "run").exists()  # a new folder where nothing was answered is not left behind


def test_one_answer_resets_the_count_of_failures_in_a_row() -> None:
    from autoprompt.models.client import MAX_FAILURES_IN_A_ROW

    class Flaky(FakeBackend):
        def __init__(self) -> None:
            super().__init__(name="flaky")
            self.n = 0

        def score(self, text: str, continuations, *, chat: bool = False, on_usage=None) -> list[float]:  # type: ignore[no-untyped-def]
            self.n += 1
            if self.n % MAX_FAILURES_IN_A_ROW == 0:
                return [0.0 for _ in continuations]
            raise ExampleFailed("timeout", cacheable=False)

    client = Client(Flaky())
    answered = 0
    for i in range(3 * MAX_FAILURES_IN_A_ROW):
        try:
            client.score(f"q{i}", ["a", "b"])
            answered += 1
        except ExampleFailed:
            pass
    assert answered == 3


def test_a_server_answering_500_to_everything_stops_the_run_quickly(keyword_frame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A real HTTP server on loopback that answers 500; retries wait almost nothing here."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import autoprompt
    from autoprompt.errors import ModelError
    from autoprompt.models.openai_backend import OpenAIBackend
    from autoprompt.models.retry import RetryPolicy

    class Down(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            body = b'{"error": {"message": "internal error", "type": "server_error"}}'
            self.send_response(500)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Down)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        backend = OpenAIBackend("down-model", base_url=f"http://127.0.0.1:{server.server_port}/v1",
                                policy=RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.02, timeout=5))
        started = time.monotonic()
        with pytest.raises(ModelError, match="in a row"):
            autoprompt.optimize(keyword_frame, inputs="text", target="label", model=backend, budget=2000,
                                run=tmp_path / "run")
        assert time.monotonic() - started < 30
    finally:
        server.shutdown()


def test_declared_capabilities_are_what_the_client_reads() -> None:
    """Each optional member is a declared one-member protocol; a backend without it gets the default."""
    from autoprompt.models.backend import (
        Limits,
        Parameterized,
        Priced,
        RateLimited,
        Resettable,
        TokenCounting,
        count_tokens,
        limits_of,
        params_of,
        priced_model,
        reset,
    )
    from autoprompt.models.usage import PriceTable
    from autoprompt.records.usage import Usage

    class Capable(FakeBackend):
        limits = Limits(concurrency=3, rpm=60.0)
        params: ClassVar[dict[str, object]] = {"top_p": 0.5}
        model = "m"
        resets = 0

        def reset(self) -> None:
            self.resets += 1

        def count_tokens(self, text: str, *, chat: bool = False) -> int:
            return 7

    capable, plain = Capable(), FakeBackend()
    for protocol in (RateLimited, Parameterized, Priced, Resettable, TokenCounting):
        assert isinstance(capable, protocol) and not isinstance(plain, protocol), protocol
    assert (limits_of(capable), limits_of(plain).concurrency) == (Limits(3, 60.0, None), 1)
    assert (params_of(capable), params_of(plain)) == ({"top_p": 0.5}, {})
    assert (priced_model(capable), priced_model(plain)) == ("m", plain.name)
    assert (count_tokens(capable, "x" * 40), count_tokens(plain, "x" * 40)) == (7, 10)
    reset(capable), reset(plain)
    assert capable.resets == 1
    client = Client(capable, prices=PriceTable({"m": (1.0, 0.0)}))
    assert client.concurrency == 3 and client.limiter.rpm == 60.0
    assert client._key("a", sample=0) != Client(plain)._key("a", sample=0)
    assert client._price(Usage(input_tokens=1_000_000, output_tokens=0)) == 1.0


def test_every_api_request_names_its_prompt_for_the_providers_prompt_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenAI's prompt_cache_key: one per prompt (its shared prefix), on every request; our own
    response cache is keyed without it, since the answer does not depend on it."""
    from autoprompt.evaluate.evaluator import Evaluator
    from autoprompt.evaluate.registry import get_metric
    from autoprompt.models.backend import Limits
    from autoprompt.models.cache import MemoryCache
    from autoprompt.models.openai_backend import OpenAIBackend
    from autoprompt.prompts.compose import compose
    from autoprompt.records.candidate import Candidate
    from autoprompt.search.task import prepare_task
    from autoprompt.spec import RunSpec
    from tests.servers import LatencyServer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    task = prepare_task(RunSpec(data="sentiment"))
    examples = list(task.data.dev.examples)[:6]
    one, other = compose(Candidate("fields"), task.setup), compose(Candidate("question", n_demos=2), task.setup)
    with LatencyServer(0.0, record=True) as server:
        backend = OpenAIBackend("m", base_url=server.url + "/v1", limits=Limits(concurrency=3))
        cache = MemoryCache()
        evaluator = Evaluator(Client(backend, cache=cache), get_metric("accuracy"), task.setup.kind)
        evaluator.evaluate(one, examples)
        evaluator.evaluate(other, examples)
        sent = list(server.bodies)
        again = Evaluator(Client(backend, cache=cache), get_metric("accuracy"), task.setup.kind)
        again.evaluate(one, examples)
    keys = [body.get("prompt_cache_key") for body in sent]
    assert len(keys) == 12 and all(isinstance(k, str) and k.startswith("autoprompt-") for k in keys)
    assert len(set(keys[:6])) == 1 and len(set(keys[6:])) == 1 and keys[0] != keys[6]
    assert again.client.backend_calls == 0 and len(server.bodies) == 12  # our cache ignores the key
    assert one.shared_prefix() and all(one.render(ex.inputs).startswith(one.shared_prefix()) for ex in examples)
