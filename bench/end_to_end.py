"""Benchmark: optimize each bundled classification task with the embedded SmolLM2.

For each task: a search within a budget of 2,000 scored examples (model calls),
then the starting prompt and the winner scored once on the held-out test split,
with 95% bootstrap intervals and the paired difference. The exported winner is then
re-scored by the same code path as ``autoprompt eval`` in a fresh model instance,
to check that the reported test score is reproduced exactly.

    python bench/end_to_end.py [--budget 2000] [--seed 0] [--tasks sentiment,intent]

Writes bench/results/end_to_end.md and end_to_end.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import autoprompt
from autoprompt.export.manifest import load_prompt
from autoprompt.search.exported import evaluate_export

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


def run_task(task: str, budget: int, seed: int) -> dict[str, object]:
    started = time.monotonic()
    result = autoprompt.optimize(task, model="local", budget=budget, seed=seed, callbacks=[autoprompt.ProgressBar()])
    out = RESULTS / "end_to_end" / task
    result.export(out)
    assert result.test is not None
    check = evaluate_export(load_prompt(out), out / "data" / "test.csv", model="local")
    row = {
        "task": task, "budget": budget, "seed": seed, "search_calls": result.calls, "trials": len(result.trials),
        "dev_start": result.baseline.dev_score, "dev_winner": result.best.dev_score,
        **{f"test_{k}": v for k, v in result.test.as_dict().items()},
        "winner": result.best.candidate.describe(), "eval_reproduced": check["score"] == result.test.winner_score,
        "eval_score": check["score"], "seconds": round(time.monotonic() - started, 1),
    }
    print(f"\n{task}: {json.dumps(row)}", flush=True)
    return row


def write(rows: list[dict[str, object]]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "end_to_end.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")
    lines = [
        "# End-to-end: SmolLM2-135M-Instruct, bundled classification tasks", "",
        f"Machine: {machine()}", "",
        "| task | calls | trials | dev start | dev winner | test start [95% CI] | test winner [95% CI] "
        "| paired diff [95% CI] | eval reproduces | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        def ci(k: str, r: dict[str, Any] = r) -> str:
            return f"{r['test_' + k]:.3f} [{r['test_' + k + '_ci'][0]:.3f}, {r['test_' + k + '_ci'][1]:.3f}]"

        lines.append(
            f"| {r['task']} | {r['search_calls']} | {r['trials']} | {r['dev_start']:.3f} | {r['dev_winner']:.3f} "
            f"| {ci('baseline')} | {ci('winner')} | {ci('difference')} | {r['eval_reproduced']} | {r['seconds']} |"
        )
    lines += ["", "Winners:", ""] + [f"- {r['task']}: `{r['winner']}`" for r in rows]
    (RESULTS / "end_to_end.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default="sentiment,intent")
    args = parser.parse_args()
    write([run_task(task, args.budget, args.seed) for task in args.tasks.split(",")])


if __name__ == "__main__":
    main()
