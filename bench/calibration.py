"""Which calibration pays on the 16-shot suite: none, contextual, or batch, on fixed prompts.

Usage:

    python bench/calibration.py                          # the tuning split (seed13), every task
    python bench/calibration.py --splits seed13 --tasks subj sst5

For each task of ``../shared/data/fewshot16/`` and each split asked for, a fixed set of prompts
(the two hand-written prompts of the suite's README, the ``fields`` skeleton under each answer field
name the search proposes, the ``instruction`` start, and one balanced draw of demonstrations under
``fields``) is scored on the 500 test rows with the embedded SmolLM2, three ways:

- ``raw``: the label with the highest log-probability;
- ``cc``: contextual calibration (Zhao et al., 2021), each label's probability divided by its mean
  over content-free inputs (``N/A``, the empty string, ``[MASK]``): what the search does today;
- ``bc``: batch calibration (Zhou et al., 2024), each label's probability divided by its mean over
  the task's own inputs, here the split's labelled rows (train and dev) with their labels unread.
  The prior is fixed before any test row is read, as an export would carry it.

Figures (accuracy, and the paired difference of ``bc`` and ``cc`` with ``raw``, 95% CI) go to
``bench/results/calibration.md`` and ``calibration.json``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from fewshot import SUITE, hand_prompts  # noqa: E402
from levers import cells, fixed_prompt_parser, prepared  # noqa: E402

from autoprompt.evaluate.evaluator import Evaluator  # noqa: E402
from autoprompt.evaluate.stats import paired_difference  # noqa: E402
from autoprompt.prompts.compose import CUSTOM_TASK, compose  # noqa: E402
from autoprompt.prompts.fields import answer_titles  # noqa: E402
from autoprompt.prompts.prompt import Prompt  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402
from autoprompt.records.example import Example  # noqa: E402
from autoprompt.search.task import Task  # noqa: E402

MODES = ("raw", "cc", "bc")


def label_probabilities(evaluator: Evaluator, prompt: Prompt, rows: list[Example]) -> list[dict[str, float]]:
    """Each row's label probabilities under the uncalibrated prompt (one scoring call per row, cached)."""
    out = []
    for example in rows:
        _, _, probs = evaluator.answers(prompt, example)
        out.append(probs or {})
    return out


def accuracy_rows(probs: list[dict[str, float]], rows: list[Example], prior: dict[str, float] | None) -> list[float]:
    def decided(p: dict[str, float]) -> str:
        return max(p, key=lambda k: p[k] / (prior[k] if prior else 1.0))
    return [float(decided(p) == ex.target) for p, ex in zip(probs, rows)]


def mean_prior(probs: list[dict[str, float]]) -> dict[str, float]:
    labels = list(probs[0])
    return {label: sum(p[label] for p in probs) / len(probs) for label in labels}


def variants(task: Task) -> list[tuple[str, Candidate]]:
    titled = [(f"fields[{t}]", Candidate("fields", answer_title=t)) for t in answer_titles(task.setup)[:4]]
    shots = 2 if len(task.setup.labels) == 2 else len(task.setup.labels)
    return [*titled, ("instruction", Candidate("instruction")),
            (f"fields {shots}-shot#0", Candidate("fields", n_demos=shots))]


def measure(evaluator: Evaluator, task: Task, candidate: Candidate) -> dict[str, list[float]]:
    raw = evaluator.prepare(compose(replace(candidate, calibrate=False), task.setup, task.custom))
    calibrated = evaluator.prepare(compose(replace(candidate, calibrate=True), task.setup, task.custom))
    test = list(task.data.test.examples)
    labelled = [*task.data.train.examples, *task.data.dev.examples]
    test_probs = label_probabilities(evaluator, raw, test)
    batch_prior = mean_prior(label_probabilities(evaluator, raw, labelled))
    assert calibrated.calibration is not None
    return {"raw": accuracy_rows(test_probs, test, None),
            "cc": accuracy_rows(test_probs, test, dict(calibrated.calibration)),
            "bc": accuracy_rows(test_probs, test, batch_prior)}


def main() -> None:
    args = fixed_prompt_parser(__doc__).parse_args()
    hand = hand_prompts()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    for task_name, split, evaluator in cells(args):
        plain = prepared(task_name, split, None)
        plan = [(f"hand{i + 1}", prepared(task_name, split, t), Candidate(CUSTOM_TASK))
                for i, t in enumerate(hand[task_name])]
        plan += [(name, plain, c) for name, c in variants(plain)]
        table: dict[str, Any] = {}
        for name, task, candidate in plan:
            rows = measure(evaluator, task, candidate)
            table[name] = {mode: {"test": sum(r) / len(r),
                                  "vs_raw": paired_difference(rows["raw"], r).__dict__}
                           for mode, r in rows.items()}
            print(f"{task_name} {split} {name}: " + " ".join(
                f"{m} {table[name][m]['test']:.3f}" for m in MODES), flush=True)
        results[f"{task_name}/{split}"] = table
    write(results, (time.perf_counter() - started) / 60)


def write(results: dict[str, Any], minutes: float) -> None:
    out = HERE / "results"
    (out / "calibration.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    lines = ["# Calibration on the 16-shot suite: none, contextual, batch (fixed prompts, 500 test rows)", "",
             f"SmolLM2-135M-Instruct (embedded); `python bench/calibration.py {' '.join(sys.argv[1:])}`; data "
             f"`{SUITE.relative_to(ROOT.parent)}`; wall time {minutes:.0f} min. cc = contextual calibration "
             "(content-free inputs), bc = batch calibration (prior = mean label probabilities over the split's "
             "labelled rows, labels unread); differences are paired with raw (95% CI).", "",
             "| task/split | prompt | raw | cc | cc - raw | bc | bc - raw |", "|---|---|---|---|---|---|---|"]
    means = {m: [] for m in MODES}  # type: dict[str, list[float]]
    for key, table in results.items():
        for name, row in table.items():
            cells = [f"{row['raw']['test']:.3f}"]
            for mode in ("cc", "bc"):
                d = row[mode]["vs_raw"]
                cells += [f"{row[mode]['test']:.3f}", f"{d['estimate']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"]
            lines.append(f"| {key} | `{name}` | " + " | ".join(cells) + " |")
            for m in MODES:
                means[m].append(row[m]["test"])
    lines += ["", "Mean over every prompt and task: " + ", ".join(
        f"{m} {sum(v) / len(v):.3f}" for m, v in means.items() if v)]
    (out / "calibration.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
