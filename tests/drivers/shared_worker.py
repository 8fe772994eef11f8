"""Shared-run driver: the run's first process or a worker, on a slow deterministic fake model.

    python shared_worker.py first URL DATA OUT LEDGER [BUDGET [WORKERS]]  # optimize(storage=URL), exports to OUT
    python shared_worker.py worker URL - - LEDGER         # autoprompt.search.worker.work(URL)

With WORKERS, the first process's first model call (the run is in the database by then) writes
LEDGER.waiting and waits until that many workers have started (each writes LEDGER.ready.PID before it
joins), so a slow start (imports take seconds on a loaded machine) cannot leave the whole run to the first
process.

Each trial this process evaluates adds "PID NUMBER STATE CALLS" to LEDGER; LEDGER.PID holds how
many model calls this process has made, so a test can kill it in the middle of a trial.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import autoprompt
from autoprompt.models.backend import FakeBackend
from autoprompt.search.worker import work


class SlowFake(FakeBackend):
    """The fake model at 5 ms a call, so that several workers overlap."""

    def __init__(self, counter: Path, ready: Callable[[], bool] = lambda: True) -> None:
        super().__init__()
        self.counter = counter
        self.ready = ready

    def score(self, text: str, continuations: Sequence[str], *, chat: bool = False,
              on_usage: object = None) -> list[float]:
        if not self.ready():
            Path(f"{self.counter.parent / self.counter.name.rsplit('.', 1)[0]}.waiting").touch()
            deadline = time.monotonic() + 120
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(0.005)
        answer = super().score(text, continuations, chat=chat)
        self.counter.write_text(str(self.calls))
        return answer


def main() -> None:
    role, url, data, out, ledger = sys.argv[1:6]
    budget = int(sys.argv[6]) if len(sys.argv) > 6 else 1500
    workers = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    joined = Path(ledger).parent
    model = SlowFake(Path(f"{ledger}.{os.getpid()}"),
                     lambda: len(list(joined.glob(f"{Path(ledger).name}.ready.*"))) >= workers)

    def log(trial: autoprompt.Trial, progress: object) -> None:
        with open(ledger, "a") as handle:
            handle.write(f"{os.getpid()} {trial.number} {trial.state.value} {model.calls}\n")

    if role == "first":
        result = autoprompt.optimize(data, inputs="text", target="label", model=model, budget=budget, seed=0,
                                     callbacks=[log], search=autoprompt.Search(strategy="components", first_rung=4),
                                     run=autoprompt.Run(storage=url, run_dir=Path(out)))
        Path(f"{ledger}.first").write_text(f"{result.calls} {result.test_calls}\n")
    else:
        Path(f"{ledger}.ready.{os.getpid()}").touch()
        work(url, model=model, callbacks=[log])


if __name__ == "__main__":
    main()
