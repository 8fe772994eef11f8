"""The unseen-task suite: does the winner beat the prompt a user gets for free, on tasks nobody tuned on?

Usage:

    python bench/suite.py --half confirmation            # make bench-suite runs both halves
    python bench/suite.py --half tuning --seeds 0 --tasks sports_plausibility

For every task of ``bench/suite/tasks.json`` in the chosen half (16-shot train and dev, 300
test rows; see ``bench/suite/README.md``):

- the baselines, scored here on the same test rows: the best constant label (the test's
  majority class), the old default start (an instruction line), every bare skeleton of the
  template library (no instruction, clarifiers or demonstrations; the labels as words), and
  the **best bare skeleton chosen on dev**, the prompt a user gets for free;
- for each seed, exactly the command a user runs:
  ``autoprompt optimize --data train.csv --dev dev.csv --test test.csv --input ... --target ...
  --model local --budget 2000 --seed S --out DIR`` (no benchmark-only setting; the seeds of a
  task share one ``--cache`` file, which only saves time: the cache is keyed on the whole
  request, so the results are those of separate caches), then the
  winner's test score, its paired difference with the best bare skeleton (95% bootstrap CI)
  and its dev-to-test gap, read from what the run exported.

Figures go to ``bench/results/suite.md`` and ``suite.json`` (``suite-<half>.*`` for one half).
Model work runs one process at a time: the optimizer runs while this process waits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from autoprompt.data.dataset import load_data  # noqa: E402
from autoprompt.evaluate.evaluator import Evaluator  # noqa: E402
from autoprompt.evaluate.registry import get_metric  # noqa: E402
from autoprompt.evaluate.stats import bootstrap, paired_difference  # noqa: E402
from autoprompt.models.cache import SQLiteCache  # noqa: E402
from autoprompt.models.client import Client  # noqa: E402
from autoprompt.prompts.compose import compose  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402
from autoprompt.records.example import Example  # noqa: E402
from autoprompt.records.task_kind import TaskKind  # noqa: E402
from autoprompt.search.task import Task, prepare_task  # noqa: E402
from autoprompt.spec import Answers, RunSpec, Search  # noqa: E402

TASKS = HERE / "suite" / "tasks"
COMMIT = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                        cwd=ROOT).stdout.strip() or "unknown"


def manifest(half: str, names: list[str] | None) -> list[dict[str, Any]]:
    tasks = json.loads((HERE / "suite" / "tasks.json").read_text(encoding="utf-8"))
    chosen = [t for t in tasks if half == "all" or t["half"] == half]
    return [t for t in chosen if not names or t["name"] in names]


def files(task: dict[str, Any]) -> dict[str, Path]:
    return {part: TASKS / task["name"] / f"{part}.csv" for part in ("train", "dev", "test")}


def prepared_task(task: dict[str, Any]) -> Task:
    """The task's files prepared as the user's command prepares them."""
    paths = files(task)
    return prepare_task(RunSpec(data=str(paths["train"]), inputs=task["inputs"], target=task["target"],
                                search=Search(dev=str(paths["dev"]), test=str(paths["test"])),
                                answers=Answers(kind=task["kind"])))


def baselines(task: dict[str, Any], backend: Any, cache: Path) -> dict[str, Any]:
    """Every prompt a user gets for free, on dev and on test; per-row test scores for pairing."""
    paths = files(task)
    prepared = prepared_task(task)
    kind = prepared.setup.kind
    metric = get_metric("accuracy" if kind is TaskKind.CLASSIFICATION else "exact_match")
    cache.parent.mkdir(parents=True, exist_ok=True)
    evaluator = Evaluator(Client(backend, cache=SQLiteCache(cache)), metric, kind)
    skeletons = [name for name in sorted(prepared.setup.library.tasks)
                 if not prepared.setup.uses_instruction(name)]
    start = "instruction" if kind is TaskKind.CLASSIFICATION else "task_instruction"
    dev = list(load_data(str(paths["dev"]), inputs=task["inputs"], target=task["target"], kind=task["kind"]).examples)
    test = list(prepared.data.test.examples)
    out: dict[str, Any] = {"prompts": {}}
    for name in [start, *skeletons]:
        prompt = evaluator.prepare(compose(Candidate(name), prepared.setup))
        dev_scores = [p.score for p in evaluator.evaluate(prompt, dev)]
        test_scores = [p.score for p in evaluator.evaluate(prompt, test)]
        out["prompts"][name] = {"dev": _mean(dev_scores), "test": _mean(test_scores), "test_rows": test_scores,
                                "bare": name in skeletons}
    best = max(skeletons, key=lambda n: (out["prompts"][n]["dev"], -skeletons.index(n)))
    out["best_bare"] = best
    out["start"] = start
    if kind is TaskKind.CLASSIFICATION:
        label, count = Counter(ex.target for ex in test).most_common(1)[0]
        out["majority"] = {"label": label, "test": count / len(test)}
    return out


def run_search(task: dict[str, Any], seed: int, budget: int, out: Path) -> dict[str, Any]:
    """The user's command, as a subprocess; what it exported."""
    paths = files(task)
    command = [str(Path(sys.executable).parent / "autoprompt"), "optimize", "--data", str(paths["train"]),
               "--dev", str(paths["dev"]), "--test", str(paths["test"]), "--input", ",".join(task["inputs"]),
               "--target", task["target"], "--model", "local", "--budget", str(budget), "--seed", str(seed),
               "--out", str(out), "--cache", str(out.parent / "cache.sqlite")]
    seconds, error = run_cli(command)
    if error:
        return {"error": error, "seconds": seconds}
    winner = json.loads((out / "winner.json").read_text(encoding="utf-8"))
    scores = winner["metadata"]["scores"] if "metadata" in winner else winner["scores"]
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    return {"seconds": seconds, "dev": scores["dev"]["score"], "holdout": scores["dev"].get("holdout"),
            "test": scores["test"]["winner"], "outputs": [r["winner"] for r in rows],
            "winner": winner_description(winner), "how": scores["dev"].get("how", "")}


def run_cli(command: list[str]) -> tuple[float, str]:
    """Run a user's command with the code of this checkout (first on ``PYTHONPATH``, whichever checkout
    the environment installed); its seconds, and its last error line ("" when it succeeded)."""
    started = time.monotonic()
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    finished = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": path})
    seconds = time.monotonic() - started
    if finished.returncode != 0:
        return seconds, (finished.stderr.strip().splitlines() or [f"exit {finished.returncode}"])[-1]
    return seconds, ""


def winner_description(winner: dict[str, Any]) -> str:
    record = winner.get("metadata", winner)
    return str(record.get("candidate", {}))


def row_scores(task: dict[str, Any], outputs: list[str]) -> list[float]:
    import csv

    with files(task)["test"].open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    metric = get_metric("accuracy" if task["kind"] == "classification" else "exact_match")
    examples = [Example(str(i), {c: r[c] for c in task["inputs"]}, r[task["target"]].strip())
                for i, r in enumerate(rows)]
    return [metric.grade(ex, out).score for ex, out in zip(examples, outputs)]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def task_baselines(task: dict[str, Any], runs: Path, backend: Any) -> dict[str, Any]:
    base = baselines(task, backend, runs / task["name"] / "cache.sqlite")
    return {"task": task["name"], "half": task["half"], "kind": task["kind"],
            "baselines": {k: {kk: vv for kk, vv in v.items() if kk != "test_rows"} for k, v in base["prompts"].items()},
            "best_bare": base["best_bare"], "majority": base.get("majority"), "seeds": {},
            "free_rows": base["prompts"][base["best_bare"]]["test_rows"]}


def add_seed(result: dict[str, Any], task: dict[str, Any], seed: int, budget: int, runs: Path) -> None:
    """One search with one seed, compared with the best bare skeleton on the same test rows."""
    run = run_search(task, seed, budget, runs / task["name"] / f"seed{seed}")
    if "outputs" in run:
        scores = row_scores(task, run.pop("outputs"))
        run["test_check"] = _mean(scores)
        run["vs_free"] = paired_difference(result["free_rows"], scores, seed=seed).__dict__
        run["test_ci"] = bootstrap(scores, seed=seed).__dict__
    run["commit"] = COMMIT
    result["seeds"][str(seed)] = run
    print(f"  {task['name']} seed {seed}: {json.dumps({k: v for k, v in run.items() if k != 'winner'})}", flush=True)
    summarize(result)


def summarize(result: dict[str, Any]) -> None:
    """Mean, spread and gaps over the seeds that finished."""
    done = [r for r in result["seeds"].values() if "test" in r]
    if done:
        gains = [r["vs_free"]["estimate"] for r in done]
        result["summary"] = {"winner_test": _mean([r["test"] for r in done]),
                             "winner_spread": (max(r["test"] for r in done) - min(r["test"] for r in done)),
                             "gain": _mean(gains), "gain_sd": statistics.pstdev(gains) if len(gains) > 1 else 0.0,
                             "gap": _mean([r["dev"] - r["test"] for r in done]),
                             "holdout_gap": _mean([r["holdout"] - r["test"] for r in done
                                                   if r.get("holdout") is not None]),
                             "free_test": result["baselines"][result["best_bare"]]["test"]}


def keep_earlier(results: list[dict[str, Any]], path: Path, seeds: list[int]) -> None:
    """Seeds measured by an earlier run (``--keep``) join this run's tables; seeds asked again are re-measured,
    and the earlier file's other tasks are carried over as they are. The baselines must be the same
    figures, or the earlier file belongs to other data."""
    earlier = {t["task"]: t for t in json.loads(path.read_text(encoding="utf-8"))["tasks"]}
    running = {r["task"] for r in results}
    results += [t for name, t in earlier.items() if name not in running]
    for result in results:
        old = earlier.get(result["task"])
        if old is None:
            continue
        if old["baselines"] != result["baselines"]:
            raise SystemExit(f"{path}: the baselines of {result['task']} differ from this run's; "
                             "it was measured on other data or another model, so its seeds cannot be joined")
        for seed, run in old["seeds"].items():
            if int(seed) not in seeds:
                result["seeds"][seed] = run
        summarize(result)


def markdown(results: list[dict[str, Any]], budget: int, seeds: list[int], minutes: float) -> str:
    lines = [
        "# Unseen-task suite",
        "",
        f"SmolLM2-135M-Instruct (embedded), `autoprompt optimize ... --model local --budget {budget} --seed S`, "
        f"seeds asked {', '.join(map(str, seeds))}, run {', '.join(_seeds_run(results)) or 'none'}; 300 test rows "
        f"per task; wall time {minutes:.0f} min.",
        "Test scores (accuracy; exact match for free text). *free* is the best bare skeleton chosen on dev, "
        "the prompt a user gets for free; gains are paired differences against it on the same test rows.",
        "",
        "| task | half | majority | old start | bare skeletons (test) | free: best bare on dev | winner test, mean "
        "(per seed) | gain vs free, mean (per seed, 95% CI) | dev → test gap | held-out → test gap |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        b = r["baselines"]
        bare = ", ".join(f"{k} {v['test']:.3f}" for k, v in b.items() if v["bare"])
        start = next(v for v in b.values() if not v["bare"])
        majority = f"{r['majority']['test']:.3f}" if r.get("majority") else "-"
        seeds_done = [(s, x) for s, x in r["seeds"].items() if "test" in x]
        failed = [f"seed {s}: {x['error']}" for s, x in r["seeds"].items() if "error" in x]
        if seeds_done:
            s = r["summary"]
            per = ", ".join(f"{x['test']:.3f}" for _, x in seeds_done)
            per_gain = ", ".join(f"{x['vs_free']['estimate']:+.3f} [{x['vs_free']['low']:+.3f}, "
                                 f"{x['vs_free']['high']:+.3f}]" for _, x in seeds_done)
            cells = f"{s['winner_test']:.3f} ({per}) | {s['gain']:+.3f} ({per_gain}) | {s['gap']:+.3f} | " \
                    f"{s['holdout_gap']:+.3f}"
        else:
            cells = " | ".join(["; ".join(failed) or "not run", "", "", ""])
        lines.append(f"| {r['task']} | {r['half']} | {majority} | {start['test']:.3f} | {bare} | "
                     f"{r['best_bare']} {b[r['best_bare']]['test']:.3f} | {cells} |")
    for half in ("tuning", "confirmation"):
        rows = [r for r in results if r["half"] == half and "summary" in r]
        if rows:
            gains = [r["summary"]["gain"] for r in rows]
            gaps = [r["summary"]["gap"] for r in rows]
            held = [r["summary"]["holdout_gap"] for r in rows]
            lines += ["", f"**{half} half** ({len(rows)} tasks): mean gain over the best bare skeleton "
                      f"{_mean(gains):+.3f}; worst task {min(gains):+.3f} ({rows[gains.index(min(gains))]['task']}); "
                      f"tasks more than 1 point below it: {sum(g < -0.01 for g in gains)}; "
                      f"mean dev-to-test gap {_mean(gaps):+.3f} (held-out rows to test: {_mean(held):+.3f})."]
    lines += ["", "How each winner was chosen:"]
    for r in results:
        for seed, run in r["seeds"].items():
            if run.get("how"):
                lines.append(f"- {r['task']}, seed {seed} (code {run.get('commit', 'unrecorded')}): {run['how']}")
    return "\n".join(lines) + "\n"


def _seeds_run(results: list[dict[str, Any]]) -> list[str]:
    """Seeds that have a result on every task."""
    runs = [set(r["seeds"]) for r in results]
    return sorted(set.intersection(*runs), key=int) if runs else []


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--half", choices=("tuning", "confirmation", "all"), default="all")
    parser.add_argument("--tasks", help="comma-separated task names (default: every task of the half)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "suite")
    parser.add_argument("--name", help="results file stem (default: suite, or suite-HALF for one half)")
    parser.add_argument("--keep", type=Path, help="an earlier results .json whose other seeds join the tables")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    tasks = manifest(args.half, args.tasks.split(",") if args.tasks else None)
    if not tasks:
        raise SystemExit(f"no task matches --half {args.half} --tasks {args.tasks}; see bench/suite/tasks.json")
    from autoprompt.models.registry import get_backend

    backend = get_backend("local")
    started = time.monotonic()
    stem = args.name or ("suite" if args.half == "all" else f"suite-{args.half}")
    results = []
    for task in tasks:  # the free baselines first, then seed by seed, so a cut-short run still covers every task
        print(f"{task['name']} ({task['half']}): baselines", flush=True)
        results.append(task_baselines(task, args.runs, backend))
    if args.keep:
        keep_earlier(results, args.keep, seeds)
    listed = sorted({*seeds, *(int(s) for r in results for s in r["seeds"])})  # with the kept ones
    for seed in seeds:
        for task, result in zip(tasks, results):
            add_seed(result, task, seed, args.budget, args.runs)
            write(stem, results, args.budget, listed, (time.monotonic() - started) / 60)
    print(write(stem, results, args.budget, listed, (time.monotonic() - started) / 60))


def write(stem: str, results: list[dict[str, Any]], budget: int, seeds: list[int], minutes: float) -> str:
    out = HERE / "results"
    public = [{k: v for k, v in r.items() if k != "free_rows"} for r in results]
    (out / f"{stem}.json").write_text(json.dumps({"budget": budget, "seeds": seeds, "minutes": minutes,
                                                  "tasks": public}, indent=1) + "\n", encoding="utf-8")
    text = markdown(results, budget, seeds, minutes)
    (out / f"{stem}.md").write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
