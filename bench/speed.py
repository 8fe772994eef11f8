"""Benchmark: the local evaluator against a plain llama-cpp-python loop, and how its cost grows.

1. Throughput: the same rendered prompts and label continuations (the same token
   stream) scored by autoprompt's ``LocalBackend`` and by a plain llama-cpp-python loop
   written the obvious way (reset, evaluate the prompt, then each label's tokens).
   The two alternate in blocks within one run, and the figure is the ratio of their
   examples per second (target >= 0.9).
2. Prefix reuse: tokens the backend actually evaluated, divided by the tokens of the
   rendered prompts, for a few-shot prompt over the dev set.
3. Growth: seconds to score one candidate on 3 dev-set sizes, and 1, 2 and 4
   candidates on one dev-set size (fresh backend each time, no response cache).

    python bench/speed.py [--task sentiment] [--examples 48] [--rounds 3]

Writes bench/results/speed.md and speed.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from end_to_end import RESULTS, machine

from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.models.client import Client
from autoprompt.models.local import LocalBackend
from autoprompt.prompts.compose import compose
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.candidate import Candidate
from autoprompt.search.optimizer import prepare_task

THREADS = 2


def plain_scores(llm: Any, text: str, continuations: list[str]) -> list[float]:
    """What a user would write with llama-cpp-python alone: evaluate the prompt, then each label."""
    import numpy as np

    prompt = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    def last_logits() -> Any:
        return np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).copy()

    llm.reset()
    llm.eval(prompt)
    after_prompt = last_logits()
    scores = []
    for continuation in continuations:
        cont = llm.tokenize((text + continuation).encode("utf-8"), add_bos=True, special=False)[len(prompt):]
        llm.n_tokens = len(prompt)
        total = 0.0
        for i, token in enumerate(cont):
            if i:
                llm.eval([cont[i - 1]])
            logits = last_logits() if i else after_prompt
            top = float(np.max(logits))
            total += float(logits[token]) - top - math.log(float(np.sum(np.exp(logits - top))))
        scores.append(total)
    return scores


def throughput(prompt: Prompt, examples: list[Any], rounds: int) -> dict[str, Any]:
    from llama_cpp import Llama

    ours = LocalBackend("local", n_threads=THREADS)
    plain = Llama(model_path=str(ours.path), n_ctx=2048, n_threads=THREADS, n_threads_batch=THREADS, n_batch=512,
                  logits_all=False, verbose=False)
    texts = [prompt.render(ex.inputs) for ex in examples]
    conts = list(prompt.continuations().values())
    seconds = {"autoprompt": 0.0, "plain": 0.0}
    agree = 0
    for _ in range(rounds):
        started = time.perf_counter()
        mine = [ours.score(t, conts) for t in texts]
        seconds["autoprompt"] += time.perf_counter() - started
        started = time.perf_counter()
        theirs = [plain_scores(plain, t, conts) for t in texts]
        seconds["plain"] += time.perf_counter() - started
        agree = sum(a.index(max(a)) == b.index(max(b)) for a, b in zip(mine, theirs))
    n = len(texts) * rounds
    rates = {k: n / v for k, v in seconds.items()}
    return {"examples": len(texts), "rounds": rounds, "autoprompt_ex_per_s": rates["autoprompt"],
            "plain_ex_per_s": rates["plain"], "ratio": rates["autoprompt"] / rates["plain"],
            "same_decisions": agree, "threads": THREADS}


def prefix_reuse(prompt: Prompt, examples: list[Any]) -> dict[str, Any]:
    backend = LocalBackend("local", n_threads=THREADS)
    rendered = 0
    for ex in examples:
        text = prompt.render(ex.inputs)
        rendered += backend.count_tokens(text)
        backend.score(text, list(prompt.continuations().values()))
    return {"rendered_tokens": rendered, "evaluated_tokens": backend.tokens_evaluated,
            "evaluated_share": backend.tokens_evaluated / rendered}


def timed(prompts: list[Prompt], examples: list[Any], kind: Any) -> float:
    evaluator = Evaluator(Client(LocalBackend("local", n_threads=THREADS)), get_metric("accuracy"), kind)
    started = time.perf_counter()
    for prompt in prompts:
        evaluator.evaluate(evaluator.prepare(prompt), examples)
    return time.perf_counter() - started


def growth(task: Any, dev: list[Any]) -> dict[str, Any]:
    clarifiers = ["one_word", "careful", "direct", "expert"]
    prompts = [compose(Candidate("instruction", clarifiers=(c,), n_demos=2), task.setup) for c in clarifiers]
    sizes = [n for n in (16, 32, 64) if n <= len(dev)]
    by_size = {n: timed(prompts[:1], dev[:n], task.setup.kind) for n in sizes}
    by_candidates = {k: timed(prompts[:k], dev[:32], task.setup.kind) for k in (1, 2, 4)}
    return {"seconds_by_dev_size": by_size, "seconds_by_candidates_at_32": by_candidates}


def write(report: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "speed.json").write_text(json.dumps(report, indent=2) + "\n")
    t, p, g = report["throughput"], report["prefix_reuse"], report["growth"]
    lines = [
        "# Local evaluator speed (SmolLM2-135M-Instruct, llama-cpp-python)", "",
        f"Machine: {report['machine']}. Task: {report['task']}, {report['prompt']}.", "",
        "| measure | value |", "|---|---|",
        f"| autoprompt LocalBackend, examples/s | {t['autoprompt_ex_per_s']:.2f} |",
        f"| plain llama-cpp-python loop, examples/s | {t['plain_ex_per_s']:.2f} |",
        f"| throughput ratio (autoprompt / plain; target >= 0.9) | {t['ratio']:.2f} |",
        f"| same label chosen by both | {t['same_decisions']} of {t['examples']} |",
        f"| tokens evaluated / tokens in rendered prompts (prefix reuse) | {p['evaluated_tokens']} / "
        f"{p['rendered_tokens']} = {p['evaluated_share']:.3f} |",
    ]
    lines += [f"| seconds, 1 candidate on {n} dev examples | {s:.2f} |" for n, s in g["seconds_by_dev_size"].items()]
    lines += [f"| seconds, {k} candidate(s) on 32 dev examples | {s:.2f} |"
              for k, s in g["seconds_by_candidates_at_32"].items()]
    (RESULTS / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    task = prepare_task(args.task, inputs=None, target=None, seed=0)
    dev = list(task.data.dev.examples)
    prompt = compose(Candidate("instruction", n_demos=4), task.setup)
    report = {"machine": machine(), "task": args.task, "prompt": "instruction skeleton with 4 demonstrations",
              "throughput": throughput(prompt, dev[: args.examples], args.rounds),
              "prefix_reuse": prefix_reuse(prompt, dev), "growth": growth(task, dev)}
    write(report)


if __name__ == "__main__":
    main()
