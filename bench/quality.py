"""Benchmark: autoprompt against DSPy's optimizers on the same model, data and budget.

For each classification task (the bundled ones, or ``--tasks FILE.csv`` with
``--input``/``--target``), on one seeded train/dev/test split:

- ``start``: the starting prompt, scored by label log-likelihood;
- ``autoprompt``: ``optimize(budget=N)`` for each seed in ``--seeds``;
- ``dspy zero-shot``, ``dspy BootstrapFewShot``, ``dspy COPRO``, ``dspy MIPROv2 light``:
  ``dspy.Predict`` with a ``Literal`` label signature and DSPy's default ChatAdapter,
  running on the same embedded SmolLM2 through ``autoprompt.dspy_interop.as_dspy_lm``
  (SmolLM2 is also DSPy's prompt model), compiled on the same train (and dev) examples.
  Their parameters are picked to land near N model calls; the exact counts are reported.

Every program is scored once on the same test examples. A DSPy output that names no
label (or raises) counts as wrong and as "failed to parse". A crash of an optimizer is
a result: 0 candidates, the error text. Model calls count every request to the model,
the optimizer's own proposal requests included.

    python bench/quality.py [--budget 900] [--seeds 0,1,2] [--tasks sentiment,intent]

Writes bench/results/quality.md and quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from end_to_end import RESULTS, machine

import autoprompt
from autoprompt.candidate import compose
from autoprompt.client import Client
from autoprompt.dataset import Example
from autoprompt.dspy_interop import as_dspy_lm
from autoprompt.evaluator import Evaluator
from autoprompt.local import LocalBackend
from autoprompt.metric import get_metric
from autoprompt.optimizer import Task, prepare_task, start_candidate
from autoprompt.stats import bootstrap


class Counting:
    """The local backend, counting the requests DSPy makes."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.calls = 0
        self.name = backend.name
        self.supports_chat = backend.supports_chat

    def score(self, text: str, continuations: Sequence[str], **kwargs: Any) -> list[float]:
        self.calls += 1
        return self.backend.score(text, continuations, **kwargs)

    def generate(self, text: str, **kwargs: Any) -> str:
        self.calls += 1
        return self.backend.generate(text, **kwargs)


def row(task: str, method: str, **values: Any) -> dict[str, Any]:
    out = {"task": task, "method": method, "dev": None, "test": None, "test_ci": None, "calls": 0,
           "seconds": 0.0, "failed_share": 0.0, "error": "", **values}
    print(json.dumps(out), flush=True)
    return out


def score_start(name: str, task: Task) -> dict[str, Any]:
    started = time.monotonic()
    evaluator = Evaluator(Client(LocalBackend("local")), get_metric("accuracy"), task.setup.kind)
    prompt = compose(start_candidate(task), task.setup, task.custom)
    dev = evaluator.evaluate(prompt, task.data.dev.examples)
    test = evaluator.evaluate(prompt, task.data.test.examples)
    interval = bootstrap([p.score for p in test])
    return row(name, "start", dev=sum(p.score for p in dev) / len(dev), test=interval.estimate,
               test_ci=[interval.low, interval.high], seconds=time.monotonic() - started)


def run_autoprompt(name: str, task: Task, budget: int, seed: int) -> dict[str, Any]:
    started = time.monotonic()
    result = autoprompt.optimize(_frame(task), inputs=list(task.setup.input_names),
                                 target=task.setup.target_name, dev=_frame(task, "dev"), test=_frame(task, "test"),
                                 model="local", budget=budget, seed=seed)
    assert result.test is not None
    return row(name, f"autoprompt seed {seed}", dev=result.best.dev_score, test=result.test.winner_score,
               test_ci=[result.test.winner.low, result.test.winner.high], calls=result.calls,
               seconds=time.monotonic() - started, failed_share=sum(p.failed for p in result.test.winner_predictions)
               / result.test.n, winner=result.best.candidate.describe())


def _frame(task: Task, part: str = "train") -> Any:
    import pandas as pd

    dataset = getattr(task.data, part)
    return pd.DataFrame([{**ex.inputs, task.setup.target_name: ex.target} for ex in dataset.examples])


def dspy_examples(task: Task, examples: Sequence[Example]) -> list[Any]:
    import dspy

    names = list(task.setup.input_names)
    return [dspy.Example(**ex.inputs, label=ex.target).with_inputs(*names) for ex in examples]


def dspy_program(task: Task) -> Any:
    import dspy

    labels = ", ".join(repr(label) for label in task.setup.labels)
    signature = dspy.Signature(f"{', '.join(task.setup.input_names)} -> label: Literal[{labels}]",
                               f"Classify the {' and '.join(task.setup.input_names)} as one of: "
                               f"{', '.join(task.setup.labels)}.")
    return dspy.Predict(signature)


def metric(example: Any, prediction: Any, trace: Any = None) -> bool:
    return str(getattr(prediction, "label", "")).strip().lower() == str(example.label).strip().lower()


def dspy_score(program: Any, examples: list[Any], labels: Sequence[str]) -> tuple[list[float], int]:
    scores, failed = [], 0
    for example in examples:
        try:
            answer = str(program(**example.inputs()).label).strip().lower()
        except Exception:
            answer = ""
        failed += answer not in {label.lower() for label in labels}
        scores.append(float(answer == str(example.label).lower()))
    return scores, failed


def compilers(budget: int) -> dict[str, Callable[[Any, list[Any], list[Any], Any], Any]]:
    import dspy

    def bootstrap_fewshot(program: Any, train: list[Any], dev: list[Any], lm: Any) -> Any:
        return dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=4, max_labeled_demos=4).compile(
            program, trainset=train)

    def copro(program: Any, train: list[Any], dev: list[Any], lm: Any) -> Any:
        depth = 2
        breadth = max(2, min(6, budget // max(1, depth * len(dev))))
        return dspy.COPRO(prompt_model=lm, metric=metric, breadth=breadth, depth=depth).compile(
            program, trainset=dev, eval_kwargs={"num_threads": 1, "display_progress": False})

    def mipro(program: Any, train: list[Any], dev: list[Any], lm: Any) -> Any:
        return dspy.MIPROv2(metric=metric, prompt_model=lm, task_model=lm, auto="light", num_threads=1,
                            seed=0).compile(program, trainset=train, valset=dev)

    return {"dspy BootstrapFewShot": bootstrap_fewshot, "dspy COPRO": copro, "dspy MIPROv2 light": mipro}


def run_dspy(name: str, task: Task, method: str, compile_: Callable[..., Any] | None) -> dict[str, Any]:
    import dspy

    counting = Counting(LocalBackend("local"))
    lm = as_dspy_lm(counting, max_tokens=48)  # type: ignore[arg-type]
    dspy.configure(lm=lm)
    train, dev = dspy_examples(task, task.data.train.examples), dspy_examples(task, task.data.dev.examples)
    test = dspy_examples(task, task.data.test.examples)
    started = time.monotonic()
    try:
        program = compile_(dspy_program(task), train, dev, lm) if compile_ else dspy_program(task)
    except Exception as exc:
        return row(name, method, calls=counting.calls, seconds=time.monotonic() - started,
                   error=f"{type(exc).__name__}: {exc}"[:300], trace=traceback.format_exc(limit=3)[-600:])
    calls, seconds = counting.calls, time.monotonic() - started
    dev_scores, _ = dspy_score(program, dev, task.setup.labels)
    test_scores, failed = dspy_score(program, test, task.setup.labels)
    interval = bootstrap(test_scores)
    return row(name, method, dev=sum(dev_scores) / len(dev_scores), test=interval.estimate,
               test_ci=[interval.low, interval.high], calls=calls, seconds=seconds,
               failed_share=failed / len(test_scores))


def write(rows: list[dict[str, Any]], budget: int) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps({"machine": machine(), "budget": budget, "rows": rows},
                                                     indent=2, default=str) + "\n")
    lines = ["# Quality: autoprompt vs DSPy optimizers, SmolLM2-135M-Instruct as the only model", "",
             f"Machine: {machine()}. autoprompt budget: {budget} model calls.", "",
             "| task | method | dev acc | test acc [95% CI] | model calls (search) | seconds (search) "
             "| test outputs failed to parse | error |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        test = f"{r['test']:.3f} [{r['test_ci'][0]:.3f}, {r['test_ci'][1]:.3f}]" if r["test"] is not None else "-"
        dev = f"{r['dev']:.3f}" if r["dev"] is not None else "-"
        lines.append(f"| {r['task']} | {r['method']} | {dev} | {test} | {r['calls']} | {r['seconds']:.0f} "
                     f"| {r['failed_share']:.1%} | {_cell(r['error'])} |")
    (RESULTS / "quality.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _cell(text: str | None) -> str:
    """An error message as one short Markdown table cell."""
    return " ".join((text or "").split())[:160].replace("|", "\\|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=900)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--tasks", default="sentiment,intent")
    parser.add_argument("--input", help="input column(s) of a task file")
    parser.add_argument("--target", help="target column of a task file")
    parser.add_argument("--methods", default="start,autoprompt,dspy")
    args = parser.parse_args()
    methods = args.methods.split(",")
    rows: list[dict[str, Any]] = []
    for name in args.tasks.split(","):
        task = prepare_task(name, inputs=args.input, target=args.target, seed=0)
        if "start" in methods:
            rows.append(score_start(name, task))
        if "autoprompt" in methods:
            rows += [run_autoprompt(name, task, args.budget, int(seed)) for seed in args.seeds.split(",")]
        if "dspy" in methods:
            rows.append(run_dspy(name, task, "dspy zero-shot", None))
            rows += [run_dspy(name, task, method, fn) for method, fn in compilers(args.budget).items()]
        write(rows, args.budget)


if __name__ == "__main__":
    main()
