"""Refinement across processes: the model requests of a ``refine`` run farmed out to workers.

Contract:
- ``FarmedBackend(inner, queue)`` is the run's first process's model: it is ``inner`` in every way a
  cache key, a price or a prompt sees (name, parameters, chat addressing, token counts), but each
  ``score`` and ``generate`` becomes a job in the run's ``JobQueue`` that a worker answers with its
  own copy of the model. The search itself runs as it does in one process (the same rounds, racing
  rungs and final check, in the same order), and every request still goes through this process's
  ``Client``: one cache (the database's), and this process's budget (calls, tokens, USD) and rate
  limits are the run's, for all processes, since no worker asks the model for anything else. With a
  deterministic model the winner and every trial's score equal a one-process run's.
- ``limits`` allows ``IN_FLIGHT`` requests at once (what the workers together can take), at the run's
  requests and tokens per minute. The first process answers jobs too (``serve_here``), as one more
  worker with its own ``inner`` at its own concurrency, until the run is closed.
- A worker's answer carries the usage it reported; a failed example comes back as that failure
  (``ExampleFailed``, cacheable or not), a failure of the model as ``ModelError``.
- ``serve(queue, backend, ...)`` is a worker's loop: claim jobs as slots free up, answer each with
  ``backend`` (``concurrency`` at once), beat while working, until the run is closed; a slot that frees
  up claims again at once. A worker that joins late takes jobs at once; the jobs of one that dies wait
  again after the queue's grace.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from autoprompt.errors import AutopromptError, ExampleFailed, ModelError
from autoprompt.models.backend import (
    Backend,
    Limits,
    UsageSink,
    count_tokens,
    limits_of,
    params_of,
    priced_model,
    takes_messages,
)
from autoprompt.records.message import Conversation, Message, wire
from autoprompt.records.usage import Usage
from autoprompt.storage.jobs import JobQueue

T = TypeVar("T")
IN_FLIGHT = 64  # requests the first process hands out at once
LOG = logging.getLogger("autoprompt.search")
POLL = 0.01  # seconds between looks at the job table (a waiting answer, an idle worker)
BEAT = 2.0  # seconds between a worker's heartbeats
DB_PATIENCE = 30.0  # seconds the job table may stay unreachable before the requests waiting on it fail


def _text(sent: Any) -> str | Conversation:
    return sent if isinstance(sent, str) else tuple(Message(role, content) for role, content in sent)


class FarmedBackend:
    """``inner`` answered by the run's workers (see the module contract)."""

    def __init__(self, inner: Backend, queue: JobQueue, *, poll: float = POLL, serve_here: bool = True) -> None:
        self.inner = inner
        self.queue = queue
        self.poll = poll
        self.serve_here = serve_here  # this process answers jobs too, as one more worker
        self._outbox: list[tuple[str, dict[str, Any], threading.Event, list[Any]]] = []  # asked, not yet queued
        self._waiting: dict[int, tuple[threading.Event, list[Any]]] = {}  # queued, by job id (the poller's own)
        self._lock = threading.Lock()
        self._asked = threading.Event()  # wakes the poller to queue a request at once
        self._requeued = 0.0  # when abandoned jobs were last put back
        self._poller: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def supports_chat(self) -> bool:
        return self.inner.supports_chat

    @property
    def chat_api(self) -> bool:
        return takes_messages(self.inner)

    @property
    def params(self) -> dict[str, object]:
        return dict(params_of(self.inner))

    @property
    def model(self) -> str:
        return priced_model(self.inner)

    @property
    def limits(self) -> Limits:
        own = limits_of(self.inner)
        return Limits(IN_FLIGHT, own.rpm, own.tpm)

    def count_tokens(self, text: str | Conversation, *, chat: bool = False) -> int:
        return count_tokens(self.inner, text, chat=chat)

    def score(self, text: str | Conversation, continuations: Sequence[str], *, chat: bool = False,
              on_usage: UsageSink | None = None) -> list[float]:
        answer = self._ask("score", {"text": wire(text), "continuations": list(continuations), "chat": chat},
                           on_usage)
        return [float(s) for s in answer]

    def generate(self, text: str | Conversation, *, chat: bool = False, max_tokens: int = 16,
                 stop: Sequence[str] = (), on_usage: UsageSink | None = None, temperature: float = 0.0,
                 seed: int | None = None, json_schema: str | None = None) -> str:
        return str(self._ask("generate", {"text": wire(text), "chat": chat, "max_tokens": max_tokens,
                                          "stop": list(stop), "temperature": temperature, "seed": seed,
                                          "json_schema": json_schema}, on_usage))

    def _ask(self, method: str, request: dict[str, Any], on_usage: UsageSink | None) -> Any:
        done, box = threading.Event(), list[Any]()
        with self._lock:
            self._outbox.append((method, request, done, box))
            self._asked.set()
            if self._poller is None:
                self._poller = threading.Thread(target=self._collect, daemon=True, name="autoprompt-farm")
                self._poller.start()
                if self.serve_here:
                    threading.Thread(target=_serve_here, daemon=True, name="autoprompt-serve",
                                     args=(self.queue, self.inner, limits_of(self.inner).concurrency)).start()
        done.wait()
        return _unpack(box[0], on_usage)

    def _collect(self) -> None:
        """Queue what was asked since the last look, in one transaction; hand each answer that arrived to the
        request waiting for it; put abandoned jobs back. A database that stays away for ``DB_PATIENCE``
        seconds, or answers nonsense, fails every waiting request with the reason (none waits forever)."""
        failing_since: float | None = None
        while True:
            with self._lock:
                asked, self._outbox = self._outbox, []
            try:
                answers = self._look(asked)
                failing_since = None
            except Exception as exc:
                with self._lock:
                    self._outbox[:0] = asked  # not queued: asked again next time
                failing_since = failing_since or time.monotonic()
                if isinstance(exc, _unreachable()) and time.monotonic() - failing_since < DB_PATIENCE:
                    time.sleep(0.5)
                    continue
                answers = self._fail_all(f"the job table failed: {exc}"[:300])
            for job, answer in answers.items():
                done, box = self._waiting.pop(job)
                box.append(answer)
                done.set()
            self._asked.wait(self.poll)
            self._asked.clear()

    def _look(self, asked: list[tuple[str, dict[str, Any], threading.Event, list[Any]]]) -> dict[int, Any]:
        """Queue ``asked`` (emptied once queued) and return the answers that arrived, by job id."""
        for job, (_, _, done, box) in zip(self.queue.submit([(m, r) for m, r, _, _ in asked]), asked):
            self._waiting[job] = (done, box)
        asked.clear()
        if time.monotonic() - self._requeued > 1.0:
            self.queue.requeue_stale()
            self._requeued = time.monotonic()
        return self.queue.answers(list(self._waiting))

    def _fail_all(self, message: str) -> dict[int, Any]:
        """Every request asked or waiting fails with ``message``; the waiting ones' failures, by job id."""
        failure = {"raise": "ModelError", "message": message}
        with self._lock:
            for _, _, done, box in self._outbox:
                box.append(failure)
                done.set()
            self._outbox = []
        return dict.fromkeys(self._waiting, failure)


def _unreachable() -> tuple[type[BaseException], ...]:
    """The database errors worth waiting out: locked, restarting, out of connections, connection lost."""
    import sqlalchemy

    return sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError


def _unpack(answer: dict[str, Any], on_usage: UsageSink | None) -> Any:
    if on_usage is not None and answer.get("usage"):
        on_usage(Usage(*answer["usage"]))
    failure = answer.get("raise")
    if failure == "ExampleFailed":
        raise ExampleFailed(str(answer.get("message", "")), cacheable=bool(answer.get("cacheable", True)))
    if failure is not None:
        raise ModelError(str(answer.get("message", "a worker failed")))
    return answer["value"]


def answer(backend: Backend, method: str, request: dict[str, Any]) -> dict[str, Any]:
    """One job answered with ``backend``: its value and usage, or the failure to raise in the first process."""
    spent: list[Usage] = []
    text = _text(request["text"])
    try:
        if method == "score":
            value: Any = backend.score(text, request["continuations"], chat=request["chat"], on_usage=spent.append)
        elif method == "generate":
            value = backend.generate(text, chat=request["chat"], max_tokens=request["max_tokens"],
                                     stop=request["stop"], on_usage=spent.append, temperature=request["temperature"],
                                     seed=request["seed"], json_schema=request["json_schema"])
        else:
            return {"raise": "ModelError", "message": f"a worker cannot answer {method!r} requests"}
    except ExampleFailed as exc:
        return {"raise": "ExampleFailed", "message": str(exc), "cacheable": exc.cacheable}
    except AutopromptError as exc:
        return {"raise": "ModelError", "message": f"a worker's model failed: {exc}"}
    used = Usage.sum(spent)
    return {"value": value, "usage": [used.input_tokens, used.output_tokens, used.cached_input_tokens]}


def patiently(step: Callable[[], T], *, patience: float | None = None) -> T:
    """``step()``, asked again for up to ``patience`` seconds (default ``DB_PATIENCE``) while the database
    refuses it (locked, restarting, out of connections); then its error."""
    started, patience = time.monotonic(), DB_PATIENCE if patience is None else patience
    while True:
        try:
            return step()
        except _unreachable():
            if time.monotonic() - started > patience:
                raise
            time.sleep(0.2)


def _serve_here(queue: JobQueue, backend: Backend, concurrency: int) -> None:
    """``serve`` beside the run's own requests. A job table that stays away ends it with one log line, not a
    thread's traceback: the requests waiting on the table fail with the reason already (``_collect``)."""
    try:
        serve(queue, backend, concurrency=concurrency)
    except _unreachable() as exc:
        LOG.info("this process stopped answering the run's jobs: the job table failed: %s",
                 " ".join(str(exc).split())[:200])


def serve(queue: JobQueue, backend: Backend, *, concurrency: int = 1, poll: float = POLL,
          on_answer: Callable[[int], None] | None = None) -> int:
    """Answer the run's jobs with ``backend`` until the run is closed; return how many were answered here."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    running: set[int] = set()
    freed = threading.Event()
    lock, answered = threading.Lock(), [0]

    def work(job: int, method: str, request: dict[str, Any]) -> None:
        try:
            reply = answer(backend, method, request)
            patiently(functools.partial(queue.finish, job, reply))
        finally:
            with lock:
                running.discard(job)
                answered[0] += 1
            freed.set()  # claim for the free slot at once
            if on_answer is not None:
                on_answer(answered[0])

    last_beat = last_check = 0.0
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        while True:
            now = time.monotonic()
            if now - last_check > 1.0:
                if patiently(queue.is_closed):
                    return answered[0]
                last_check = now
            if now - last_beat > BEAT:
                with lock:
                    beating = list(running)
                patiently(functools.partial(queue.beat, beating))
                last_beat = now
            with lock:
                free = max(1, concurrency) - len(running)
            jobs = patiently(functools.partial(queue.claim, worker, free)) if free > 0 else []
            for job, method, request in jobs:
                with lock:
                    running.add(job)
                pool.submit(work, job, method, request)
            if not jobs:
                freed.wait(poll)
                freed.clear()
