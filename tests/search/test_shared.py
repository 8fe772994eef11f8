"""Shared runs on a real PostgreSQL server: workers join one study, a killed worker's trial is
taken over, nothing is evaluated twice or lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

import autoprompt
from autoprompt.errors import ConfigError
from autoprompt.search.worker import Unit, WorkDone, work
from autoprompt.storage.shared import SQLCache
from tests.postgres import new_database, postgres_server, url_path  # noqa: F401 (fixture)

DRIVER = Path(__file__).parent.parent / "drivers" / "shared_worker.py"


def spawn(role: str, url: str, data: Path | str, out: Path | str, ledger: Path,
          budget: int = 1500, workers: int = 0) -> subprocess.Popen[str]:
    """A driver process; ``workers``: the first process's first call waits until that many workers have started."""
    return subprocess.Popen([sys.executable, str(DRIVER), role, url, str(data), str(out), str(ledger), str(budget),
                             str(workers)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(ledger: Path) -> list[tuple[int, int, str]]:
    if not ledger.is_file():
        return []
    return [(int(p), int(n), s) for p, n, s, _ in (line.split() for line in ledger.read_text().splitlines())]


def mid_trial(ledger: Path, pid: int) -> bool:
    """``pid`` has finished two trials and made calls since its last one: it is inside a trial."""
    done = [int(line.split()[3]) for line in ledger.read_text().splitlines() if int(line.split()[0]) == pid] \
        if ledger.is_file() else []
    counter = Path(f"{ledger}.{pid}")
    calls = int(counter.read_text() or 0) if counter.is_file() else 0
    return len(done) >= 2 and calls > done[-1]


def wait_for(condition, seconds: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def stop_inside_a_trial(url: str, ledger: Path, pid: int) -> None:
    """Pause ``pid`` (SIGSTOP) inside a trial. A worker told the study about a trial a moment before
    its ledger line; paused in that gap it only looks mid-trial, so it goes on and is paused again."""
    import optuna

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    while True:
        wait_for(lambda: mid_trial(ledger, pid))
        os.kill(pid, signal.SIGSTOP)
        study = optuna.load_study(study_name="autoprompt", storage=url)
        told = sum(t.user_attrs.get("worker") == pid and t.state in finished for t in study.get_trials(deepcopy=False))
        if mid_trial(ledger, pid) and told == sum(p == pid for p, _, _ in rows(ledger)):
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)


def test_two_workers_one_killed_mid_run_lose_and_duplicate_nothing(postgres_server: str, tmp_path: Path,  # noqa: F811
                                                                   keyword_csv: Path) -> None:
    import optuna

    url, ledger = new_database(postgres_server), tmp_path / "ledger"
    first = spawn("first", url, keyword_csv, tmp_path / "run", ledger)
    wait_for(lambda: len(rows(ledger)) >= 1)
    a = spawn("worker", url, "-", "-", ledger)
    b = spawn("worker", url, "-", "-", ledger)
    stop_inside_a_trial(url, ledger, b.pid)
    os.kill(b.pid, signal.SIGKILL)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert a.wait(timeout=120) == 0, a.stderr.read() if a.stderr else ""
    study = optuna.load_study(study_name="autoprompt", storage=url)
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    assert not [t for t in trials if t.state in (states.RUNNING, states.WAITING)]
    evaluated = [number for _, number, _ in rows(ledger)]
    assert len(evaluated) == len(set(evaluated)), "a trial was evaluated twice"
    assert set(evaluated) == {t.number for t in trials if t.state in (states.COMPLETE, states.PRUNED)}
    failed = [t.number for t in trials if t.state is states.FAIL]
    assert failed, "the killed worker was inside a trial, which its heartbeat must have failed"
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", optuna.storages.RetryFailedTrialCallback)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        retried = {retry.retried_trial_number(t): t for t in trials}
    assert all(number in retried and retried[number].state in (states.COMPLETE, states.PRUNED)
               for number in failed), "a dead worker's trial was lost"
    assert {first.pid, a.pid, b.pid} <= {pid for pid, _, _ in rows(ledger)}
    assert (tmp_path / "run" / "winner.json").is_file() and (tmp_path / "run" / "report.html").is_file()


def test_three_workers_together_stop_at_the_budget(postgres_server: str, tmp_path: Path,  # noqa: F811
                                                   keyword_csv: Path) -> None:
    """Each call is charged in the database before it is made: the first process and three workers
    together pay for at most --budget calls in the search, where each process's own count would let
    every one of them run on to the cap."""
    from autoprompt.storage.shared import SharedRun

    url, ledger = new_database(postgres_server), tmp_path / "ledger"
    first = spawn("first", url, keyword_csv, tmp_path / "run", ledger, budget=300, workers=3)
    wait_for(lambda: Path(f"{ledger}.waiting").is_file())  # the run is in the database; its calls wait for workers
    workers = [spawn("worker", url, "-", "-", ledger) for _ in range(3)]
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read() if worker.stderr else ""
    charged = SharedRun(url).spent()
    assert charged <= 300
    search_calls, test_calls = map(int, Path(f"{ledger}.first").read_text().split())
    assert search_calls <= charged  # the first process's own share
    counters = {pid: Path(f"{ledger}.{pid}") for pid in (first.pid, *(w.pid for w in workers))}
    paid = {pid: int(c.read_text() or 0) if c.is_file() else 0 for pid, c in counters.items()}  # none: no call made
    assert sum(paid.values()) - test_calls <= charged, "a process paid for a call it never charged"
    assert sum(1 for pid in paid if pid != first.pid and paid[pid] > 0) >= 2, "the workers did not share the work"


def test_a_trial_another_process_failed_as_stale_is_left_to_its_retry(tmp_path: Path) -> None:
    """A process silent past the grace period finds its trial failed (and queued again) by another:
    it stops racing it and stores nothing, where telling the finished trial would end its whole run."""
    import optuna

    from autoprompt.records.candidate import Candidate
    from autoprompt.records.prediction import Prediction
    from autoprompt.records.trial import Trial, TrialState
    from autoprompt.search.shared_strategy import HeartbeatProposal, SharedStrategy
    from autoprompt.search.strategy import OptunaProposal
    from autoprompt.storage.shared import SharedRun

    run = SharedRun(url_path(tmp_path / "stale.db"), name="stale")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(study_name="stale", storage=run.storage, direction="maximize")
        proposal = HeartbeatProposal(OptunaProposal(Candidate("fields"), study.ask()), run.storage, interval=60)
        assert not proposal.report(4, 0.5)  # its own trial: the score is reported, the race goes on
        run.storage.set_trial_state_values(proposal.inner.trial._trial_id, optuna.trial.TrialState.FAIL)
        assert proposal.report(8, 0.5)  # taken: stop here
        rows = tuple(Prediction(f"r{i}", "yes", 1.0) for i in range(8))
        done = Trial(number=0, candidate=Candidate("fields"), state=TrialState.PRUNED, score=1.0, predictions=rows,
                     calls=8, seconds=1.0, prompt_chars=40)
        SharedStrategy(object(), run).tell(proposal, done)  # the inner strategy is never told
    (stored,) = study.get_trials(deepcopy=False)
    assert stored.state is optuna.trial.TrialState.FAIL and not stored.user_attrs
    assert stored.intermediate_values == {4: 0.5}


def test_sql_cache_keeps_the_first_answer(tmp_path: Path) -> None:
    cache = SQLCache(url_path(tmp_path / "c.db"))
    assert cache.get("k") is None
    cache.put("k", {"value": [1.0]})
    cache.put("k", {"value": [2.0]})
    assert cache.get("k") == {"value": [1.0]}


def test_shared_runs_refuse_what_workers_could_not_share(tmp_path: Path, keyword_frame: pd.DataFrame,
                                                         keyword_csv: Path) -> None:
    url = url_path(tmp_path / "s.db")
    with pytest.raises(ConfigError, match="file path"):
        autoprompt.optimize(keyword_frame, inputs="text", target="label", model="fake",
                            run=autoprompt.Run(storage=url), search=autoprompt.Search(strategy="components"))
    with pytest.raises(ConfigError, match="holds no run yet"):
        work(url_path(tmp_path / "empty.db"), model=autoprompt.FakeBackend())
    with pytest.raises(ConfigError, match="is not valid"):
        autoprompt.optimize(keyword_csv, inputs="text", target="label", model="fake",
                            run=autoprompt.Run(storage="nonsense://"),
                            search=autoprompt.Search(strategy="components"))


class Waited(Exception):
    """Raised by a test's sleep: the limiter asked to wait."""


def test_processes_share_one_rate_limit(tmp_path: Path) -> None:
    """Two processes' limiters on one database: the requests and tokens per minute hold for both
    together, and a place frees up once the minute has passed."""
    from autoprompt.search.shared_strategy import SharedRateLimiter
    from autoprompt.storage.shared import SharedRun

    url, now, slept = url_path(tmp_path / "r.db"), [0.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    a, b = (SharedRateLimiter(SharedRun(url), 3, 1000, clock=lambda: now[0], sleep=sleep) for _ in range(2))
    a.acquire(100)
    now[0] = 10.0
    b.acquire(100)
    a.acquire(100)
    assert slept == []
    b.acquire(100)  # the fourth request of the minute, the first process's included
    assert slept == [50.0] and now[0] == 60.0
    a.acquire(900)  # 200 tokens of the last minute (t=10 and t=10) plus 900 > 1000: waits for t=70
    assert slept == [50.0, 10.0]


def test_concurrent_workers_never_exceed_the_shared_rate(postgres_server: str) -> None:  # noqa: F811
    """Eight threads, each its own connection, racing for five places: exactly five are taken."""
    import threading

    from autoprompt.search.shared_strategy import SharedRateLimiter
    from autoprompt.storage.shared import SharedRun

    url, admitted, refused, errors = new_database(postgres_server), [], [], []

    def refuse(seconds: float) -> None:
        raise Waited

    def worker() -> None:
        limiter = SharedRateLimiter(SharedRun(url), 5, None, clock=lambda: 1000.0, sleep=refuse)
        for _ in range(3):
            try:
                limiter.acquire()
                admitted.append(1)
            except Waited:
                refused.append(1)
            except Exception as exc:  # a thread's failure must fail the test
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(admitted) == 5 and len(refused) == 19


def test_one_database_holds_many_runs_that_never_mix(tmp_path: Path, keyword_csv: Path) -> None:
    """Two runs under their own names in one database: each has its own study, budget and trials; a
    worker must name the run it joins, and a name already taken is refused."""
    import optuna

    from autoprompt.storage.shared import SharedRun

    url = url_path(tmp_path / "many.db")
    results = {name: autoprompt.optimize(keyword_csv, inputs="text", target="label", model="fake", budget=budget,
                                         seed=seed, run=autoprompt.Run(storage=url, run_name=name),
                                         search=autoprompt.Search(strategy="components"))
               for name, budget, seed in (("first", 120, 0), ("second", 200, 1))}
    assert SharedRun(url).runs() == ["first", "second"]
    for name, result in results.items():
        study = optuna.load_study(study_name=name, storage=url)
        assert len(study.trials) == len(result.trials)
        assert SharedRun(url, name=name).spent() == result.calls <= (120 if name == "first" else 200)
    with pytest.raises(ConfigError, match=r"holds 2 runs \(first, second\); name the one to join with --run NAME"):
        work(url, model=autoprompt.FakeBackend())
    with pytest.raises(ConfigError, match="none named 'third'"):
        work(url, run="third", model=autoprompt.FakeBackend())
    with pytest.raises(ConfigError, match="already holds a run named 'first'"):
        autoprompt.optimize(keyword_csv, inputs="text", target="label", model="fake",
                            run=autoprompt.Run(storage=url, run_name="first"),
                            search=autoprompt.Search(strategy="components"))


def test_the_time_limit_counts_from_the_runs_start_for_every_process(tmp_path: Path, keyword_csv: Path) -> None:
    """--max-seconds holds for the run, not for each process: a worker joining after the run's time is up
    does no trial, though budget is left."""
    from autoprompt.storage.shared import SharedRun

    url = url_path(tmp_path / "timed.db")
    result = autoprompt.optimize(keyword_csv, inputs="text", target="label", model="fake", budget=100_000, seed=0,
                                 run=autoprompt.Run(storage=url), search=autoprompt.Search(strategy="components"),
                                 calls=autoprompt.Calls(max_seconds=3.0))  # room to score the start under load
    started = SharedRun(url).started()
    assert started is not None and result.calls < 100_000 and time.time() - started >= 3.0
    assert work(url, model=autoprompt.FakeBackend()) == WorkDone(Unit.TRIALS, 0)
    assert SharedRun(url).spent() == result.calls
    told = subprocess.run([sys.executable, "-m", "autoprompt.cli", "worker", "--storage", url, "-q"],
                          capture_output=True, text=True, timeout=120)
    assert told.returncode == 0 and "worker done: 0 trials here" in told.stdout, told.stderr
