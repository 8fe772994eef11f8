"""Benchmark: does the local decoder's 8-bit key cache cost accuracy?

The batch decoder stores keys as ``q8_0`` (``autoprompt.models.local_batch``): with keys and
values of different types ggml takes one flash-attention kernel for every decode, so a score
does not depend on the batch. This measures what the 8-bit keys cost against 16-bit ones (under
the same flash attention, micro-batches of 63 tokens), on the prompts a search starts from: the
four bare classification skeletons, with and without contextual calibration, on the test rows
of the bundled sentiment and intent tasks. Per prompt: accuracy both ways and the predictions
that differ; overall: mean accuracy both ways and the paired difference with a 95% bootstrap
interval over every prediction.

    python bench/keys.py

Writes bench/results/keys.md and keys.json (about 10 minutes on 2 cores).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from end_to_end import RESULTS, machine

from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.evaluate.stats import paired_difference
from autoprompt.models.client import Client
from autoprompt.models.local import LocalBackend
from autoprompt.prompts.compose import compose
from autoprompt.records.candidate import Candidate
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec

THREADS = 2
TASKS = ("sentiment", "intent")
SKELETONS = ("fields", "instruction", "question", "quoted")
KEY_TYPES = ("f16", "q8_0")


def accuracy_by_keys(task_name: str, skeleton: str, calibrate: bool) -> dict[str, list[float]]:
    """Per key type, the per-row accuracy of one bare prompt on the task's test rows."""
    task = prepare_task(RunSpec(data=task_name, seed=0))
    rows = list(task.data.test.examples)
    out = {}
    for keys in KEY_TYPES:
        evaluator = Evaluator(Client(LocalBackend("local", n_threads=THREADS, keys=keys)), get_metric("accuracy"),
                              task.setup.kind)
        prompt = evaluator.prepare(compose(Candidate(skeleton, calibrate=calibrate), task.setup))
        out[keys] = [p.score for p in evaluator.evaluate(prompt, rows)]
    return out


def main() -> None:
    rows: list[dict[str, Any]] = []
    every: dict[str, list[float]] = {keys: [] for keys in KEY_TYPES}
    for task_name in TASKS:
        for skeleton in SKELETONS:
            for calibrate in (False, True):
                scores = accuracy_by_keys(task_name, skeleton, calibrate)
                for keys in KEY_TYPES:
                    every[keys] += scores[keys]
                differ = sum(a != b for a, b in zip(scores["f16"], scores["q8_0"]))
                rows.append({"task": task_name, "skeleton": skeleton, "calibrate": calibrate,
                             "rows": len(scores["f16"]), "differ": differ,
                             **{keys: sum(v) / len(v) for keys, v in scores.items()}})
                print(rows[-1], flush=True)
    gap = paired_difference(every["f16"], every["q8_0"])
    report = {"machine": machine(), "rows": rows, "predictions": len(every["f16"]),
              "mean": {keys: sum(v) / len(v) for keys, v in every.items()},
              "q8_0_minus_f16": {"mean": gap.estimate, "low": gap.low, "high": gap.high},
              "differ": sum(r["differ"] for r in rows)}
    write(report)


def write(report: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "keys.json").write_text(json.dumps(report, indent=2) + "\n")
    gap = report["q8_0_minus_f16"]
    lines = ["# 8-bit against 16-bit keys in the local decoder's KV cache", "",
             f"Machine: {report['machine']}. SmolLM2-135M-Instruct, flash attention, test rows of each task.", "",
             "| task | skeleton | calibrated | rows | accuracy, 16-bit keys | accuracy, 8-bit keys | "
             "predictions that differ |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['skeleton']} | {'yes' if r['calibrate'] else 'no'} | {r['rows']} | {r['f16']:.3f} | "
              f"{r['q8_0']:.3f} | {r['differ']} |" for r in report["rows"]]
    lines += ["", f"Over all {report['predictions']} predictions: 16-bit keys {report['mean']['f16']:.4f}, 8-bit keys "
              f"{report['mean']['q8_0']:.4f}; paired difference (8-bit minus 16-bit) {gap['mean']:+.4f} "
              f"[{gap['low']:+.4f}, {gap['high']:+.4f}] (95% bootstrap); {report['differ']} predictions differ."]
    (RESULTS / "keys.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
