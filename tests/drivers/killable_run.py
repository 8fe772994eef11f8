"""Crash-test driver: optimize (or resume) in RUN_DIR with a fake model that SIGKILLs this
process when its KILL_AT-th answer is about to be computed (0: never).

    python killable_run.py RUN_DIR KILL_AT LEDGER

Every answer the model computes adds a line to LEDGER, so the lines over all attempts
count the model calls that were paid. On completion it prints the result as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import autoprompt
from autoprompt.models.backend import FakeBackend


class KillingBackend(FakeBackend):
    def __init__(self, kill_at: int, ledger: Path) -> None:
        super().__init__()
        self.kill_at = kill_at
        self.ledger = ledger
        self.answered = 0

    def score(self, text: str, continuations: Sequence[str], *, chat: bool = False,
              on_usage: object = None) -> list[float]:
        if self.kill_at and self.answered + 1 == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        answer = super().score(text, continuations, chat=chat)
        self.answered += 1
        with open(self.ledger, "a") as out:
            out.write("1\n")
        return answer


def frame() -> pd.DataFrame:
    rows = [{"text": f"item {i} says {('yes', 'no', 'maybe')[i % 3]} clearly", "label": ("yes", "no", "maybe")[i % 3]}
            for i in range(60)]
    return pd.DataFrame(rows)


def main() -> None:
    run_dir, kill_at, ledger = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    backend = KillingBackend(kill_at, ledger)
    if (run_dir / "run.json").is_file():
        result = autoprompt.resume(run_dir, model=backend)
    else:
        result = autoprompt.optimize(frame(), inputs="text", target="label", model=backend, budget=400, seed=1,
                                     search=autoprompt.Search(first_rung=4), template="{{ text }} =>", run=run_dir)
    assert result.test is not None
    print(json.dumps({"winner": result.best.candidate.describe(), "dev": result.best.dev_score,
                      "test": result.test.as_dict(), "calls": result.calls,
                      "trials": [[t.number, t.state.value, t.score, t.n, t.operator] for t in result.trials]}))


if __name__ == "__main__":
    main()
