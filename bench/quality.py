"""Benchmark: autoprompt against DSPy's optimizers on the same model, data and budget.

For each classification task (the bundled ones, or ``--tasks FILE.csv`` with
``--input``/``--target``), on one seeded train/dev/test split:

- ``start``: the starting prompt, scored by label log-likelihood;
- ``autoprompt``: ``optimize(budget=N)`` for each seed in ``--seeds``, and once more (seed 0)
  with the budget of the most expensive DSPy optimizer that produced a program, so that
  the two are also compared at equal calls;
- ``dspy zero-shot``, ``dspy BootstrapFewShot``, ``dspy COPRO``, ``dspy MIPROv2 light``:
  ``dspy.Predict`` with a ``Literal`` label signature and DSPy's ChatAdapter, running on
  the same embedded SmolLM2 through llama-cpp-python's chat completion, as its
  OpenAI-compatible server serves it (every message kept, so DSPy's demos are real
  user/assistant turns; SmolLM2 is also DSPy's prompt model), compiled on the same
  train (and dev) examples. Their parameters are picked to land near N model calls; the
  exact counts are reported.

Settings that keep DSPy's runs inside the hour and alive on a 135M model, all stated
in the results: the task LM answers in at most ``TASK_TOKENS`` tokens and stops at
``[[ ## completed ## ]]`` (a well-formed answer needs about 16), the prompt LM writes up
to ``PROMPT_TOKENS``; the ChatAdapter's JSON fallback, which doubles every failed call
and almost never rescues one on SmolLM2, is off; ``max_errors`` is raised so that
failed examples count as wrong instead of halting an optimizer. Scoring the finished
programs on dev and test reuses identical requests (zero-shot and a compiled program
often share them); search calls and seconds are counted without that memo.

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
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.evaluate.stats import bootstrap
from autoprompt.models.client import Client
from autoprompt.models.local import LocalBackend, bundled_smollm2, plain_weight_buffers
from autoprompt.prompts.compose import compose
from autoprompt.records.example import Example
from autoprompt.search.starts import start_candidate
from autoprompt.search.task import Task, prepare_task
from autoprompt.spec import RunSpec

TASK_TOKENS = 24
PROMPT_TOKENS = 256
DSPY_STOP = ("[[ ## completed ## ]]",)


class ChatModel:
    """The embedded SmolLM2 as llama-cpp-python's OpenAI-compatible server would serve it to
    DSPy: ``create_chat_completion`` with the model's own chat template and every message
    kept (system, and demos as user/assistant turns). Counts requests; with ``replay`` on,
    identical requests are answered from earlier replies."""

    def __init__(self) -> None:
        self.llm: Any = None
        self.calls = 0
        self.replay = False
        self.replies: dict[str, tuple[str, dict[str, int]]] = {}

    def complete(self, messages: list[dict[str, Any]], max_tokens: int, temperature: float,
                 seed: int) -> tuple[str, dict[str, int]]:
        key = json.dumps([messages, max_tokens, temperature, seed], sort_keys=True, default=str)
        if self.replay and key in self.replies:
            return self.replies[key]
        if self.llm is None:
            from llama_cpp import Llama

            with plain_weight_buffers():  # as autoprompt loads it (an AMX CPU a VM does not enable)
                self.llm = Llama(model_path=str(bundled_smollm2()), n_ctx=4096, n_threads=2, n_threads_batch=2,
                                 seed=0, verbose=False)
        self.calls += 1
        out = self.llm.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=temperature,
                                              seed=seed, stop=list(DSPY_STOP))
        self.replies[key] = (out["choices"][0]["message"]["content"] or "", dict(out["usage"]))
        return self.replies[key]


def dspy_lm(model: ChatModel, max_tokens: int) -> Any:
    """A ``dspy.BaseLM`` on ``model``, honouring DSPy's ``n`` and ``temperature`` (COPRO samples several)."""
    import dspy

    class BenchLM(dspy.BaseLM):
        def __init__(self) -> None:
            super().__init__(model="local/SmolLM2-135M-Instruct", model_type="chat", temperature=0.0,
                             max_tokens=max_tokens, cache=False)

        def forward(self, prompt: str | None = None, messages: list[dict[str, Any]] | None = None,
                    **kwargs: Any) -> dict[str, Any]:
            messages = messages or [{"role": "user", "content": prompt or ""}]
            temperature = float(kwargs.get("temperature", self.kwargs.get("temperature", 0.0)) or 0.0)
            limit = int(kwargs.get("max_tokens") or self.kwargs.get("max_tokens") or max_tokens)
            replies = [model.complete(messages, limit, temperature, seed) for seed in range(int(kwargs.get("n", 1)))]
            usage = {k: sum(u.get(k, 0) for _, u in replies) for k in ("prompt_tokens", "completion_tokens",
                                                                       "total_tokens")}
            return {"model": self.model, "usage": usage,
                    "choices": [{"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": t}}
                                for i, (t, _) in enumerate(replies)]}

    return BenchLM()


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


def run_autoprompt(name: str, task: Task, budget: int, seed: int, label: str = "") -> dict[str, Any]:
    started = time.monotonic()
    result = autoprompt.optimize(_frame(task), inputs=list(task.setup.input_names), target=task.setup.target_name,
                                 model="local", budget=budget, seed=seed,
                                 search=autoprompt.Search(dev=_frame(task, "dev"), test=_frame(task, "test")))
    assert result.test is not None
    return row(name, label or f"autoprompt seed {seed}", dev=result.best.dev_score, test=result.test.winner_score,
               test_ci=[result.test.winner.low, result.test.winner.high], calls=result.calls,
               seconds=time.monotonic() - started, failed_share=sum(p.failed for p in result.test.winner_predictions)
               / result.test.n, winner=result.best.candidate.describe())


def at_matched_calls(name: str, task: Task, calls: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """autoprompt with the call count of the costliest DSPy optimizer that produced a program.
    Below one pass over dev (+3), ``optimize`` refuses to start, so what a user keeps is the
    starting prompt: that row's figures, at 0 calls."""
    label = f"autoprompt at DSPy's {calls} calls"
    if calls >= len(task.data.dev) + 3:
        return run_autoprompt(name, task, calls, 0, label=label)
    start = next(r for r in rows if r["task"] == name and r["method"] == "start")
    return {**start, "method": label, "calls": 0,
            "error": f"{calls} calls cannot score one prompt on the {len(task.data.dev)} dev examples: "
                     "the starting prompt is kept"}


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
    """Each DSPy optimizer as ``compile(program, train, dev, prompt_lm)``."""
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
        return dspy.MIPROv2(metric=metric, prompt_model=lm, auto="light", num_threads=1,
                            seed=0).compile(program, trainset=train, valset=dev)

    return {"dspy BootstrapFewShot": bootstrap_fewshot, "dspy COPRO": copro, "dspy MIPROv2 light": mipro}


def run_dspy(name: str, task: Task, method: str, compile_: Callable[..., Any] | None,
             counting: ChatModel) -> dict[str, Any]:
    import dspy

    task_lm, prompt_lm = dspy_lm(counting, TASK_TOKENS), dspy_lm(counting, PROMPT_TOKENS)
    dspy.configure(lm=task_lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False), max_errors=10**9)
    train, dev = dspy_examples(task, task.data.train.examples), dspy_examples(task, task.data.dev.examples)
    test = dspy_examples(task, task.data.test.examples)
    counting.calls, counting.replay = 0, False
    started = time.monotonic()
    try:
        program = compile_(dspy_program(task), train, dev, prompt_lm) if compile_ else dspy_program(task)
    except Exception as exc:
        return row(name, method, calls=counting.calls, seconds=time.monotonic() - started,
                   error=f"{type(exc).__name__}: {exc}"[:300], trace=traceback.format_exc(limit=3)[-600:])
    calls, seconds = counting.calls, time.monotonic() - started
    counting.replay = True
    dev_scores, _ = dspy_score(program, dev, task.setup.labels)
    test_scores, failed = dspy_score(program, test, task.setup.labels)
    interval = bootstrap(test_scores)
    return row(name, method, dev=sum(dev_scores) / len(dev_scores), test=interval.estimate,
               test_ci=[interval.low, interval.high], calls=calls, seconds=seconds,
               failed_share=failed / len(test_scores))


def write(rows: list[dict[str, Any]], budget: int, seconds: float) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quality.json").write_text(json.dumps(
        {"machine": machine(), "budget": budget, "seconds": seconds, "rows": rows,
         "dspy": {"task_tokens": TASK_TOKENS, "prompt_tokens": PROMPT_TOKENS, "json_fallback": False}},
        indent=2, default=str) + "\n")
    lines = ["# Quality: autoprompt vs DSPy optimizers, SmolLM2-135M-Instruct as the only model", "",
             f"Machine: {machine()}. autoprompt budget: {budget} model calls. Whole run: {seconds / 60:.1f} min.", "",
             f"DSPy: ChatAdapter without JSON fallback, task LM answers in at most {TASK_TOKENS} tokens, prompt LM "
             f"writes up to {PROMPT_TOKENS}; failed examples count as wrong (max_errors raised).", "",
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
    parser.add_argument("--methods", default="start,dspy,autoprompt")
    args = parser.parse_args()
    began = time.monotonic()
    methods = args.methods.split(",")
    rows: list[dict[str, Any]] = []
    for name in args.tasks.split(","):
        task = prepare_task(RunSpec(data=name, inputs=args.input, target=args.target, seed=0))
        for method in methods:
            if method == "start":
                rows.append(score_start(name, task))
            elif method == "autoprompt":
                rows += [run_autoprompt(name, task, args.budget, int(seed)) for seed in args.seeds.split(",")]
                matched = max((r["calls"] for r in rows if r["task"] == name and r["method"].startswith("dspy")
                               and r["test"] is not None), default=0)
                if 0 < matched < args.budget:
                    rows.append(at_matched_calls(name, task, matched, rows))
            elif method == "dspy":
                counting, programs = ChatModel(), {"dspy zero-shot": None, **compilers(args.budget)}
                rows += [run_dspy(name, task, label, fn, counting) for label, fn in programs.items()]
            else:
                parser.error(f"unknown method {method!r}; choose from start, autoprompt, dspy")
            write(rows, args.budget, time.monotonic() - began)


if __name__ == "__main__":
    main()
