"""Which moves pay on the 16-shot suite: fixed prompts scored on the 500 test rows, no search.

Usage:

    python bench/levers.py                       # the tuning split (seed13), every task
    python bench/levers.py --splits seed13 --tasks subj yahoo

For each task of ``../shared/data/fewshot16/`` and each split asked for, every variant below is
scored on the same test rows with the embedded SmolLM2 (accuracy), against the better hand-written
prompt of the suite's README (the bar):

- ``hand`` / ``hand+cal``: the better hand-written prompt as given, and with contextual calibration;
- ``fields[T]`` / ``+cal``: the ``fields`` skeleton under each answer field name the search proposes;
- under the best of those field names on test: ``k-shot#s`` / ``+cal``, one balanced draw of
  demonstrations (one per label, two for two labels; draws 0 and 1) from the demonstration pool the
  search uses;
- ``knn-k`` / ``+cal``: the ``k`` pool examples most similar to each test input (BM25),
  most similar last, as the search's per-input demonstrations would be;
- under the best answer field name: ``fields[I/T]``, each input field name the search proposes
  (``Review:``, ``Sentence:``, ``Question:``...), and ``instruction[-/T]``, the instruction
  skeleton (which names the labels) under that answer field name, each with ``+cal``.

It decides nothing by itself: it shows, per task, which levers are worth building into the default
search, on the tuning split only (``bench/fewshot.py`` then confirms on the splits run once).
Figures go to ``bench/results/levers.md`` and ``levers.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from fewshot import SUITE, TASKS, TUNING, hand_prompts, paths  # noqa: E402

from autoprompt.evaluate.evaluator import Evaluator  # noqa: E402
from autoprompt.evaluate.registry import get_metric  # noqa: E402
from autoprompt.evaluate.stats import paired_difference  # noqa: E402
from autoprompt.models.cache import SQLiteCache  # noqa: E402
from autoprompt.models.client import Client  # noqa: E402
from autoprompt.prompts.compose import CUSTOM_TASK, compose  # noqa: E402
from autoprompt.prompts.fields import answer_titles, input_titles  # noqa: E402
from autoprompt.propose.demos import Similarity  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402
from autoprompt.search.task import Task, prepare_task  # noqa: E402
from autoprompt.spec import RunSpec, Search, Start  # noqa: E402


def prepared(task: str, split: str, template: str | None) -> Task:
    files = paths(task, split)
    return prepare_task(RunSpec(data=str(files["train"]), inputs="text", target="label",
                                search=Search(dev=str(files["dev"]) if "dev" in files else None,
                                              test=str(files["test"])),
                                start=Start(template=template)))


def fixed_prompt_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a fixed-prompt bench: which splits and tasks, and where the response caches go."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--splits", nargs="+", default=list(TUNING))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--runs", type=Path, default=Path("/tmp/autoprompt-levers"))
    return parser


def cells(args: argparse.Namespace) -> Iterator[tuple[str, str, Evaluator]]:
    """Each (task, split) asked for, with an accuracy evaluator through the embedded model and the
    task's response cache (shared by every fixed-prompt bench: a prompt scored once is free after)."""
    from autoprompt.models.registry import get_backend

    backend = get_backend("local")
    args.runs.mkdir(parents=True, exist_ok=True)
    for task_name in args.tasks:
        cache = SQLiteCache(args.runs / f"{task_name}.sqlite")
        for split in args.splits:
            kind = prepared(task_name, split, None).setup.kind
            yield task_name, split, Evaluator(Client(backend, cache=cache), get_metric("accuracy"), kind)


def score(evaluator: Evaluator, task: Task, candidate: Candidate) -> list[float]:
    prompt = evaluator.prepare(compose(candidate, task.setup, task.custom))
    return [p.score for p in evaluator.evaluate(prompt, task.data.test.examples)]


def score_knn(evaluator: Evaluator, task: Task, candidate: Candidate, k: int) -> list[float]:
    """Each test row under its own demonstrations: the ``k`` most similar pool rows, most similar last.
    Calibration is computed once, on the prompt with no demonstrations' content (the first row's)."""
    similar = Similarity(task.setup.train)
    rows: list[float] = []
    for example in task.data.test.examples:
        ids = tuple(ex.id for ex in reversed(similar.ranked(example)[:k]))
        prompt = evaluator.prepare(compose(replace(candidate, demo_ids=ids), task.setup, task.custom))
        rows += [p.score for p in evaluator.evaluate(prompt, [example])]
    return rows


def titles(task: Task) -> list[tuple[str, Candidate, int]]:
    """The ``fields`` skeleton under each of the first answer field names the search proposes."""
    return [(f"fields[{t}]", Candidate("fields", answer_title=t), 0) for t in answer_titles(task.setup)[:4]]


def demo_variants(name: str, base: Candidate, labels: int) -> list[tuple[str, Candidate, int]]:
    """Demonstrations under one prompt: balanced draws 0 and 1, and per-input nearest neighbours."""
    shots = 2 if labels == 2 else labels
    return [(f"{name} {shots}-shot#0", replace(base, n_demos=shots), 0),
            (f"{name} {shots}-shot#1", replace(base, n_demos=shots, demo_seed=1), 0),
            (f"{name} knn-{shots}", base, shots)]


def wording_variants(task: Task, best: Candidate) -> list[tuple[str, Candidate, int]]:
    """Under the best answer field name: every input field name, and the instruction skeleton."""
    answer = best.answer_title
    inputs = [(f"fields[{i}/{answer}]", replace(best, input_title=i), 0) for i in input_titles(task.setup)[1:]]
    return [*inputs, (f"instruction[-/{answer}]", Candidate("instruction", answer_title=answer), 0)]


def scored(evaluator: Evaluator, task: Task, plan: list[tuple[str, Candidate, int]],
           rows: dict[str, list[float]], where: str) -> None:
    for name, candidate, k in plan:
        for cal in (False, True):
            label = name + ("+cal" if cal else "")
            c = replace(candidate, calibrate=cal)
            rows[label] = score_knn(evaluator, task, c, k) if k else score(evaluator, task, c)
            print(f"{where} {label}: {sum(rows[label]) / len(rows[label]):.3f}", flush=True)


def main() -> None:
    parser = fixed_prompt_parser(__doc__)
    parser.add_argument("--wording-only", action="store_true",
                        help="leave out the demonstration variants (the slow part)")
    parser.add_argument("--out", default="levers", help="result file stem under bench/results/")
    args = parser.parse_args()
    hand = hand_prompts()
    results: dict[str, Any] = {}
    started = time.perf_counter()
    for task_name, split, evaluator in cells(args):
        rows: dict[str, list[float]] = {}
        custom = [prepared(task_name, split, t) for t in hand[task_name]]
        for i, t in enumerate(custom):
            rows[f"hand{i + 1}"] = score(evaluator, t, Candidate(CUSTOM_TASK))
            rows[f"hand{i + 1}+cal"] = score(evaluator, t, Candidate(CUSTOM_TASK, calibrate=True))
        plain = prepared(task_name, split, None)
        scored(evaluator, plain, titles(plain), rows, f"{task_name} {split}")
        best = max(titles(plain), key=lambda v: sum(rows[v[0]]))  # the best plain field name, on test
        if not args.wording_only:
            scored(evaluator, plain, demo_variants(best[0], best[1], len(plain.setup.labels)), rows,
                   f"{task_name} {split}")
        scored(evaluator, plain, wording_variants(plain, best[1]), rows, f"{task_name} {split}")
        bar = max(("hand1", "hand2"), key=lambda h: sum(rows[h]))
        results[f"{task_name}/{split}"] = {
            name: {"test": sum(r) / len(r), "vs_bar": paired_difference(rows[bar], r).__dict__}
            for name, r in rows.items()}
    minutes = (time.perf_counter() - started) / 60
    out = HERE / "results"
    (out / f"{args.out}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    lines = ["# Levers on the 16-shot suite: fixed prompts on the 500 test rows", "",
             f"SmolLM2-135M-Instruct (embedded); `python bench/levers.py {' '.join(sys.argv[1:])}`; "
             f"data `{SUITE.relative_to(ROOT.parent)}`; wall time {minutes:.0f} min. vs bar = paired difference "
             "with the better hand-written prompt (95% CI).", "",
             "| task/split | variant | test | vs bar [95% CI] |", "|---|---|---|---|"]
    for key, table in results.items():
        for name, row in sorted(table.items(), key=lambda kv: -kv[1]["test"]):
            d = row["vs_bar"]
            lines.append(f"| {key} | `{name}` | {row['test']:.3f} | {d['estimate']:+.3f} "
                         f"[{d['low']:+.3f}, {d['high']:+.3f}] |")
    (out / f"{args.out}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
