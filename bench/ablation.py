"""Benchmark: which refinement operators matter, at equal budget, on the bundled tasks.

For each task (sentiment, intent, past_tense) and each configuration, one search
with the embedded SmolLM2 as the target model and the same budget of model calls:

- ``components``: Optuna TPE over the component space only (no refinement);
- ``refine``: the full refinement loop, every operator family, with SmolLM2 itself
  as the (weak) optimizer model for the ``rewrite`` family;
- ``refine -FAMILY``: the full loop with one family switched off.

Optimizer-model calls count against the budget. Each configuration's start prompt
and winner are scored once on the test split. Answers are cached per task across
configurations (a cached answer is still charged to the budget, so every run spends
exactly what it would spend alone; the cache only saves wall time).

    python bench/ablation.py [--budget 900] [--seed 0] [--tasks sentiment,intent,past_tense]
                             [--configs components,refine,-edit,-move,-demos,-words,-rewrite]

Writes bench/results/ablation.md and ablation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from end_to_end import RESULTS, machine

import autoprompt
from autoprompt.propose.registry import FAMILIES

CACHE = Path(__file__).resolve().parent / ".cache"
CONFIGS = ("components", "refine", *(f"-{family}" for family in FAMILIES))


def options(config: str) -> autoprompt.Search:
    if config == "components":
        return autoprompt.Search(strategy="components")
    families = [f for f in FAMILIES if f != config.removeprefix("-")]
    return autoprompt.Search(strategy="refine", operators=families,
                             optimizer_model="local" if "rewrite" in families else None)


def run(task: str, config: str, budget: int, seed: int) -> dict[str, object]:
    started = time.monotonic()
    CACHE.mkdir(exist_ok=True)
    result = autoprompt.optimize(task, model="local", budget=budget, seed=seed,
                                 calls=autoprompt.Calls(cache=CACHE / f"{task}.sqlite"), search=options(config))
    assert result.test is not None
    table = result.operator_table()
    row = {
        "task": task, "config": config, "budget": budget, "seed": seed, "calls": result.calls,
        "optimizer_calls": result.optimizer_calls, "trials": len(result.trials),
        "dev_start": result.baseline.dev_score, "dev_winner": result.best.dev_score,
        "test_start": result.test.baseline_score, "test_winner": result.test.winner_score,
        "test_winner_ci": [result.test.winner.low, result.test.winner.high],
        "rejected": len(result.rejected), "accepted": [result.trials[n].operator for n in result.accepted],
        "winner": result.best.candidate.describe(), "seconds": round(time.monotonic() - started, 1),
        "operators": table.to_dict(orient="records"),
    }
    print(f"{task} {config}: {json.dumps({k: v for k, v in row.items() if k != 'operators'})}", flush=True)
    return row


def write(rows: list[dict[str, object]], budget: int) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ablation.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")
    lines = [
        "# Ablation: refinement operator families, SmolLM2-135M-Instruct as target (and optimizer) model", "",
        f"Machine: {machine()}. Budget: {budget} model calls per run (optimizer-model calls included).",
        "One seed. Seconds are wall time with answers cached across configurations (a cached answer is still "
        "charged to the budget), so only the first configuration of a task pays for most of its calls.", "",
        "| task | config | dev start | dev winner | test start | test winner [95% CI] | calls | optimizer calls "
        "| trials | rejected | accepted moves | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        low, high = r["test_winner_ci"]  # type: ignore[misc]
        lines.append(
            f"| {r['task']} | {r['config']} | {r['dev_start']:.3f} | {r['dev_winner']:.3f} | {r['test_start']:.3f} "
            f"| {r['test_winner']:.3f} [{low:.3f}, {high:.3f}] | {r['calls']} | {r['optimizer_calls']} "
            f"| {r['trials']} | {r['rejected']} | {', '.join(r['accepted'][1:]) or '-'} | {r['seconds']} |"  # type: ignore[index]
        )
    lines += ["", "Winners:", ""] + [f"- {r['task']} / {r['config']}: `{r['winner']}`" for r in rows]
    lines += ["", verdict(rows)]
    (RESULTS / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def verdict(rows: list[dict[str, object]]) -> str:
    """Where the full loop beats the component-only search on test, at equal budget."""
    by = {(r["task"], r["config"]): r for r in rows}
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    wins = [t for t in tasks if (t, "refine") in by and (t, "components") in by
            and by[(t, "refine")]["test_winner"] > by[(t, "components")]["test_winner"]]  # type: ignore[operator]
    return f"Full refinement beats component-only search on test in {len(wins)} of {len(tasks)} tasks: " \
           f"{', '.join(map(str, wins)) or 'none'}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=900)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default="sentiment,intent,past_tense")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args()
    rows = []
    for task in args.tasks.split(","):
        for config in args.configs.split(","):
            rows.append(run(task, config, args.budget, args.seed))
            write(rows, args.budget)


if __name__ == "__main__":
    main()
