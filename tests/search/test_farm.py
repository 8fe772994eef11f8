"""Refinement across processes: the first process's model requests answered by workers through the job
table (``search.farm``, ``storage.jobs``), on SQLite here and on a real PostgreSQL with killed workers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.models.backend import FakeBackend
from autoprompt.search.farm import FarmedBackend, answer, serve
from autoprompt.search.result import OptimizationResult
from autoprompt.search.worker import Unit, WorkDone, work
from autoprompt.storage.jobs import JobQueue
from autoprompt.storage.shared import SharedRun
from tests.postgres import new_database, postgres_server, url_path  # noqa: F401 (fixture)
from tests.servers import LatencyServer


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def trials_of(result: OptimizationResult) -> list[tuple[int, str, float, int, str]]:
    return [(t.number, t.candidate.describe(), t.score, t.n, t.state.value) for t in result.trials]


def is_open(url: str, run: str) -> bool:
    """Whether the first process of ``run`` has asked for its first answer (looked at without creating the
    study tables, which the first process is creating meanwhile)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table("autoprompt_jobs") and run in SharedRun(url).runs()
    finally:
        engine.dispose()


def join_when_open(url: str, run: str, answered: list[WorkDone]) -> threading.Thread:
    """A worker thread that joins ``run`` as soon as its first process has opened it."""
    def join() -> None:
        wait_for(lambda: is_open(url, run))
        answered.append(work(url, run=run))

    thread = threading.Thread(target=join, daemon=True)
    thread.start()
    return thread


def test_a_refinement_run_farmed_to_workers_finds_what_one_process_finds(tmp_path: Path,
                                                                          keyword_frame: pd.DataFrame) -> None:
    task = {"inputs": "text", "target": "label", "budget": 300, "seed": 3, "search": autoprompt.Search(first_rung=4)}
    alone = autoprompt.optimize(keyword_frame, model="fake", **task)
    url = url_path(tmp_path / "farm.db")
    answered: list[WorkDone] = []
    early = threading.Thread(target=lambda: answered.append(work(url, run="farmed", wait=60)), daemon=True)
    early.start()  # started before the run: waits for it to open
    workers = [early, join_when_open(url, "farmed", answered)]
    farmed = autoprompt.optimize(keyword_frame, model="fake", run=autoprompt.Run(storage=url, run_name="farmed"),
                                 **task)
    for thread in workers:
        thread.join(timeout=30)
    assert trials_of(farmed) == trials_of(alone)
    assert farmed.best.candidate == alone.best.candidate
    assert farmed.test is not None and alone.test is not None
    for who in ("baseline_predictions", "winner_predictions"):
        assert [repr(p) for p in getattr(farmed.test, who)] == [repr(p) for p in getattr(alone.test, who)]
    assert farmed.test == alone.test
    assert farmed.calls == alone.calls <= 300
    assert {done.unit for done in answered} == {Unit.REQUESTS}  # a refinement run's workers answer requests
    assert 0 < sum(done.count for done in answered) <= farmed.paid_calls  # some; the first process the rest
    assert str(WorkDone(Unit.REQUESTS, 1)) == "1 model request" and str(WorkDone(Unit.TRIALS, 3)) == "3 trials"
    assert JobQueue(url, "farmed").is_closed()


def test_a_job_a_dead_worker_held_waits_again_and_is_answered_once(tmp_path: Path) -> None:
    url = url_path(tmp_path / "jobs.db")
    queue = JobQueue(url, "run", grace=5)
    other = JobQueue(url, "other-run")
    (job,) = queue.submit([("score", {"text": "x", "continuations": [" a"], "chat": False})])
    other.submit([("score", {"text": "y", "continuations": [" b"], "chat": False})])
    (claimed,) = queue.claim("dead-worker", 4, now=100.0)
    assert claimed[0] == job and queue.claim("live-worker", 4, now=101.0) == []  # nobody takes a running job
    assert queue.requeue_stale(now=104.0) == 0 and queue.requeue_stale(now=106.0) == 1
    (again,) = queue.claim("live-worker", 4, now=106.0)
    queue.finish(again[0], {"value": [1.0]})
    queue.finish(job, {"value": [2.0]})  # the dead worker's late answer: the first one stays
    assert queue.answers([job]) == {job: {"value": [1.0]}} and queue.answers([job]) == {}
    assert [j[2]["text"] for j in other.claim("w", 4)] == ["y"]  # the other run's job, never this run's


def test_a_worker_returns_failures_as_the_first_process_raises_them(tmp_path: Path) -> None:
    from autoprompt.errors import ExampleFailed

    def rule(text: str, label: str) -> float:
        if "broken" in text:
            raise ExampleFailed("the answer names none of the labels", cacheable=True)
        return 0.0

    got = answer(FakeBackend(rule=rule), "score", {"text": "broken input", "continuations": [" a"], "chat": False})
    assert got == {"raise": "ExampleFailed", "message": "the answer names none of the labels", "cacheable": True}
    url = url_path(tmp_path / "fail.db")
    queue = JobQueue(url, "run")
    farmed = FarmedBackend(FakeBackend(rule=rule), queue)
    thread = threading.Thread(target=serve, args=(queue, FakeBackend(rule=rule)), daemon=True)
    thread.start()
    try:
        assert farmed.score("fine input", [" a", " b"]) == FakeBackend(rule=rule).score("fine input", [" a", " b"])
        try:
            farmed.score("broken input", [" a"])
            raise AssertionError("no failure")
        except ExampleFailed as exc:
            assert exc.cacheable and "names none" in str(exc)
    finally:
        queue.close()
        thread.join(timeout=10)
    assert not thread.is_alive()


def spawn_worker(url: str, run: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "autoprompt.cli", "worker", "--storage", url, "--run", run, "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def in_thread(fn: Callable[[], OptimizationResult]) -> tuple[threading.Thread, list[OptimizationResult]]:
    box: list[OptimizationResult] = []
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    thread.start()
    return thread, box


def test_a_worker_killed_mid_run_changes_nothing_and_two_runs_share_a_database(
        postgres_server: str, keyword_csv: Path) -> None:  # noqa: F811
    """Against a real PostgreSQL and an API that takes 50 ms a request: one of two workers SIGKILLed while
    it holds requests, and the run ends as one process alone ends it; two runs in one database at once,
    each with its own worker, each ending as it would alone."""
    with LatencyServer(0.05, labels=("yes", "no", "maybe")) as api:
        task = {"inputs": "text", "target": "label", "model": f"openai:m@{api.url}/v1", "budget": 240, "seed": 0,
                "search": autoprompt.Search(first_rung=4)}
        alone = {seed: autoprompt.optimize(keyword_csv, **{**task, "seed": seed}) for seed in (0, 1)}
        url = new_database(postgres_server)
        leader, box = in_thread(lambda: autoprompt.optimize(keyword_csv,
                                                            run=autoprompt.Run(storage=url, run_name="kill"), **task))
        wait_for(lambda: is_open(url, "kill"))
        doomed, survivor = spawn_worker(url, "kill"), spawn_worker(url, "kill")
        api.reset()
        wait_for(lambda: api.requests >= 40)
        doomed.kill()  # SIGKILL: its claimed requests wait for the grace period, then another worker takes them
        leader.join(timeout=300)
        assert survivor.wait(timeout=60) == 0, survivor.stderr.read() if survivor.stderr else ""
        (farmed,) = box
        assert trials_of(farmed) == trials_of(alone[0]) and farmed.best.candidate == alone[0].best.candidate
        assert farmed.calls == alone[0].calls <= 240

        runs = {seed: in_thread(lambda seed=seed: autoprompt.optimize(
            keyword_csv, run=autoprompt.Run(storage=url, run_name=f"run{seed}"), **{**task, "seed": seed}))
            for seed in (0, 1)}
        wait_for(lambda: is_open(url, "run0") and is_open(url, "run1"))
        workers = [spawn_worker(url, f"run{seed}") for seed in (0, 1)]
        for thread, _ in runs.values():
            thread.join(timeout=300)
        assert [w.wait(timeout=60) for w in workers] == [0, 0]
        for seed, (_, result) in runs.items():
            assert trials_of(result[0]) == trials_of(alone[seed]), f"run{seed} saw another run's answers"


def test_a_job_table_that_stays_away_fails_the_waiting_requests_instead_of_hanging(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from autoprompt.errors import ModelError
    from autoprompt.search import farm
    from tests.servers import free_port

    monkeypatch.setattr(farm, "DB_PATIENCE", 1.0)
    crashed: list[str] = []  # threads that died with an unhandled exception (a traceback on the user's terminal)
    monkeypatch.setattr(threading, "excepthook", lambda hook: crashed.append(hook.thread.name if hook.thread else ""))
    gone = FarmedBackend(FakeBackend(), JobQueue(f"postgresql://postgres@127.0.0.1:{free_port()}/none", "run"))
    started = time.monotonic()
    with pytest.raises(ModelError, match="the job table failed"):
        gone.score("a text", [" a", " b"])
    assert time.monotonic() - started < 10
    for thread in [t for t in threading.enumerate() if t.name == "autoprompt-serve"]:  # gives up as patiently
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert crashed == []  # the serving thread ended with a log line, not a traceback


def test_a_first_process_killed_mid_run_is_restarted_from_its_folder_and_ends_as_one_process_alone(
        tmp_path: Path, keyword_csv: Path) -> None:
    """The run's first process SIGKILLed mid-search while a worker (started before it, waiting) answers its
    requests; ``autoprompt.resume(folder)`` takes up the run in the database again, the same worker goes on
    answering, and the result is that of one process alone."""
    with LatencyServer(0.05, labels=("yes", "no", "maybe")) as api:
        task = {"inputs": "text", "target": "label", "model": f"openai:m@{api.url}/v1", "budget": 240, "seed": 0,
                "search": autoprompt.Search(first_rung=4)}
        alone = autoprompt.optimize(keyword_csv, **task)
        url, folder = url_path(tmp_path / "farm.db"), tmp_path / "run"
        answered: list[int] = []
        worker = threading.Thread(target=lambda: answered.append(work(url, run="restart", wait=60).count), daemon=True)
        worker.start()
        flat = {name: value for name, value in task.items() if name != "search"}
        script = ("import sys, autoprompt; autoprompt.optimize(sys.argv[1], run=autoprompt.Run(storage=sys.argv[2], "
                  f"run_name='restart', run_dir=sys.argv[3]), search=autoprompt.Search(first_rung=4), **{flat!r})")
        first = subprocess.Popen([sys.executable, "-c", script, str(keyword_csv), url, str(folder)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log = folder / "trials.log.jsonl"
        wait_for(lambda: (log.is_file() and len(log.read_text().splitlines()) >= 3) or first.poll() is not None)
        first.kill()
        first.wait(timeout=30)
        assert first.returncode != 0, "the first process finished before it could be killed; slow the API down"
        assert not JobQueue(url, "restart").is_closed()
        resumed = autoprompt.resume(folder)
        worker.join(timeout=60)
        assert not worker.is_alive() and answered and answered[0] > 0
        assert trials_of(resumed) == trials_of(alone) and resumed.best.candidate == alone.best.candidate
        assert resumed.test == alone.test and resumed.calls == alone.calls <= 240
