"""The 16-shot suite: does the winner beat the prompt a person writes in a minute?

Usage:

    python bench/fewshot.py                                  # every task, split and mode (make bench-suite)
    python bench/fewshot.py --splits seed13 --modes none     # the tuning split only

For each task of ``../shared/data/fewshot16/`` (cr, subj, sst5, yahoo; 16 examples per class for
train and dev, five split seeds, one 500-row test file), on the same test rows:

- **hand**: the two plain prompts of that folder's README (read from it, as given, label words as
  given), scored through autoprompt's evaluator as a user's ``--template`` is, and the better of
  the two on test: the bar;
- subj's ``dev.csv`` repeats its ``train.csv`` row for row in every split, so there the command
  leaves ``--dev`` out (autoprompt then splits the 32 training rows into demonstrations and selection
  rows), as a user whose dev file is refused would;
- **majority**: always answering the test set's most common label;
- for each split and each mode, exactly the command a user runs:
  ``autoprompt optimize --data train.csv --dev dev.csv --test test.csv --input text --target label
  --model local --budget 2000 --seed 0 --out DIR``, with no template (mode ``none``) or with
  ``--template`` set to the better hand-written prompt (mode ``hand``). From what the run exported:
  the tool's own start (``none``: the start its search chose, the prompt a user gets for free;
  ``hand``: the user's prompt), the winner, the **step part** (winner minus its own start, paired,
  95% bootstrap CI), the winner minus the bar, and the dev-to-test gap (the held-out rows' score
  against test).

Tuning discipline, fixed before any run: split ``seed13`` is the tuning split (looked at while
developing); ``seed21``, ``seed42``, ``seed87`` and ``seed100`` are run once the method is frozen.
Figures go to ``bench/results/fewshot.md`` and ``fewshot.json``. Model work runs one process at
a time: the optimizer runs while this process waits.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from suite import run_cli  # noqa: E402  (bench/suite.py: the user's command as a subprocess)

from autoprompt.evaluate.evaluator import Evaluator  # noqa: E402
from autoprompt.evaluate.registry import get_metric  # noqa: E402
from autoprompt.evaluate.stats import bootstrap, paired_difference, stratified_bootstrap  # noqa: E402
from autoprompt.models.cache import SQLiteCache  # noqa: E402
from autoprompt.models.client import Client  # noqa: E402
from autoprompt.prompts.compose import CUSTOM_TASK, compose  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402
from autoprompt.search.task import prepare_task  # noqa: E402
from autoprompt.spec import RunSpec, Search, Start  # noqa: E402

SUITE = ROOT.parent / "shared" / "data" / "fewshot16"
TASKS = ("cr", "subj", "sst5", "yahoo")
SPLITS = ("seed13", "seed21", "seed42", "seed87", "seed100")
TUNING = ("seed13",)
COMMIT = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                        cwd=ROOT).stdout.strip() or "unknown"


def hand_prompts() -> dict[str, list[str]]:
    """The README's plain prompts per task, as Jinja templates (``{x}`` is the text)."""
    prompts: dict[str, list[str]] = {}
    for line in (SUITE / "README.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| (\w+) \| `(.+)` \| \**[0-9.]+\** \|$", line)
        if match and match.group(1) in TASKS:
            prompts.setdefault(match.group(1), []).append(
                match.group(2).replace("\\n", "\n").replace("{x}", "{{ text }}"))
    missing = [t for t in TASKS if len(prompts.get(t, [])) != 2]
    if missing:
        raise SystemExit(f"{SUITE / 'README.md'}: no two plain prompts found for {', '.join(missing)}")
    return prompts


def paths(task: str, split: str) -> dict[str, Path]:
    """The split's files; without ``dev`` when its dev file repeats its training file row for row (subj's
    do), as a user would then leave ``--dev`` out and let autoprompt split the training rows."""
    files = {"train": SUITE / task / split / "train.csv", "dev": SUITE / task / split / "dev.csv",
             "test": SUITE / task / "test.csv"}
    if files["dev"].read_bytes() == files["train"].read_bytes():
        del files["dev"]
    return files


def data_flags(files: dict[str, Path]) -> list[str]:
    return ["--data", str(files["train"]), *(["--dev", str(files["dev"])] if "dev" in files else []),
            "--test", str(files["test"])]


def test_rows(task: str) -> list[dict[str, str]]:
    with (SUITE / task / "test.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def baselines(task: str, prompts: list[str], backend: Any, cache: Path) -> dict[str, Any]:
    """The hand-written prompts and the majority class on the test rows, with per-row scores."""
    files = paths(task, SPLITS[0])
    evaluator = None
    out: dict[str, Any] = {"hand": []}
    for template in prompts:
        prepared = prepare_task(RunSpec(data=str(files["train"]), inputs="text", target="label",
                                        search=Search(dev=str(files["dev"]) if "dev" in files else None,
                                                      test=str(files["test"])),
                                        start=Start(template=template)))
        if evaluator is None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            evaluator = Evaluator(Client(backend, cache=SQLiteCache(cache)), get_metric("accuracy"),
                                  prepared.setup.kind)
        prompt = compose(Candidate(CUSTOM_TASK), prepared.setup, prepared.custom)
        rows = [p.score for p in evaluator.evaluate(prompt, prepared.data.test.examples)]
        out["hand"].append({"prompt": template, "test": _mean(rows), "rows": rows})
    targets = [r["label"].strip() for r in test_rows(task)]
    label, count = Counter(targets).most_common(1)[0]
    out["majority"] = {"label": label, "test": count / len(targets)}
    out["bar"] = max(range(len(prompts)), key=lambda i: out["hand"][i]["test"])
    return out


def run_search(task: str, split: str, mode: str, template: str, budget: int, out: Path) -> dict[str, Any]:
    """The user's command, as a subprocess; what it exported, with per-row test scores."""
    files = paths(task, split)
    command = [str(Path(sys.executable).parent / "autoprompt"), "optimize", *data_flags(files),
               "--input", "text", "--target", "label", "--model", "local", "--budget", str(budget), "--seed", "0",
               "--out", str(out),
               "--cache", str(out.parent.parent / "cache.sqlite")]
    command += ["--template", template] if mode == "hand" else []
    if out.exists():  # this script's own folder of an earlier run: the shared cache keeps its answers
        shutil.rmtree(out)
    seconds, error = run_cli(command)
    if error:
        return {"error": error, "seconds": seconds}
    winner = json.loads((out / "winner.json").read_text(encoding="utf-8"))
    meta = winner.get("metadata", winner)
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    trials = {t["number"]: t for t in map(json.loads, (out / "trials.jsonl").read_text(encoding="utf-8").splitlines())}
    selection = meta.get("selection") or {}
    winner_rows = [float(r["winner"] == r["target"]) for r in rows]
    return {"seconds": round(seconds), "start_rows": [float(r["start"] == r["target"]) for r in rows],
            "winner_rows": winner_rows, "winner_balanced": balanced([r["target"] for r in rows], winner_rows),
            "dev": meta["scores"]["dev"]["score"], "holdout": meta["scores"]["dev"].get("holdout"),
            "dev_n": meta["scores"]["dev"]["n"], "holdout_n": selection.get("holdout_rows", 0),
            "start": trials.get(selection.get("base"), {}).get("label", ""),
            "winner": trials.get(meta.get("trial"), {}).get("label", ""), "how": selection.get("how", ""),
            "calls": meta["model_calls"]["search"], "commit": COMMIT}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def balanced(targets: list[str], scores: list[float]) -> float:
    """The mean over labels of each label's mean score: what the test score would be if its labels were
    as evenly mixed as the 16-shot rows the run selects and checks on (16 per label)."""
    by_label: dict[str, list[float]] = {}
    for target, score in zip(targets, scores, strict=True):
        by_label.setdefault(target, []).append(score)
    return _mean([_mean(v) for v in by_label.values()])


def summarize(run: dict[str, Any], bar_rows: list[float]) -> None:
    """The run's test figures from its per-row scores, paired with the start and with the bar."""
    start, win = run.pop("start_rows"), run.pop("winner_rows")
    run["start_test"], run["winner_test"] = _mean(start), _mean(win)
    run["step"] = paired_difference(start, win).__dict__
    run["vs_bar"] = paired_difference(bar_rows, win).__dict__
    run["winner_ci"] = bootstrap(win).__dict__
    run["start_bits"], run["winner_bits"] = _bits(start), _bits(win)


def _bits(rows: list[float]) -> str:
    """Per-row accuracies (0 or 1) as one string, so the results file can pair runs over the test rows."""
    return "".join("1" if score else "0" for score in rows)


def _rows(bits: str) -> list[float]:
    return [float(bit == "1") for bit in bits]


def mean_difference(pairs: list[tuple[list[list[float]], list[list[float]]]]) -> dict[str, float] | None:
    """The mean over tasks of each task's mean over runs of ``b - a``, with a 95% bootstrap interval that
    resamples each task's test rows (its runs share them) apart: ``pairs`` holds, per task, the runs' per-row
    scores ``a`` and ``b``. None when a run lacks its rows (recorded before they were kept)."""
    import numpy as np

    if not pairs or any(not a or any(not row for row in a + b) for a, b in pairs):
        return None
    per_row = [np.mean(np.asarray(b) - np.asarray(a), axis=0).tolist() for a, b in pairs]
    interval = stratified_bootstrap(per_row)
    return {"estimate": interval.estimate, "low": interval.low, "high": interval.high}


def _gap(runs: list[dict[str, Any]], estimate: str, test: str = "winner_test") -> float | None:
    """The mean absolute difference between a run's ``estimate`` ("holdout" or "dev") and its winner's
    ``test`` score (accuracy, or "winner_balanced"), over the runs that have both (None when none has:
    subj has no held-out rows)."""
    gaps = [abs(r[estimate] - r[test]) for r in runs if r.get(estimate) is not None and r.get(test) is not None]
    return _mean(gaps) if gaps else None


def expected_error(p: float, n: int) -> float:
    """The mean absolute error of an accuracy measured on ``n`` rows when the true accuracy is ``p``:
    E|X/n - p| for X ~ Binomial(n, p). What an unbiased estimate on that many rows misses by, on average,
    from sampling alone (the test set's own noise would add to it)."""
    return sum(math.comb(n, k) * p ** k * (1 - p) ** (n - k) * abs(k / n - p) for k in range(n + 1))


def _floor(runs: list[dict[str, Any]], rows: str) -> float | None:
    """The sampling floor of ``_gap``: the mean over runs of ``expected_error`` at the winner's test score
    and the run's ``rows`` count ("holdout_n" or "dev_n"), over runs that have such rows."""
    floors = [expected_error(r["winner_test"], r[rows]) for r in runs if r.get(rows)]
    return _mean(floors) if floors else None


def _signed(value: float, interval: dict[str, float] | None) -> str:
    """A mean difference, with its interval when every run kept its per-row scores."""
    if interval is None:
        return f"{value:+.3f}"
    return f"{interval['estimate']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"


def _shown(value: float | None, floor: float | None = None) -> str:
    shown = "-" if value is None else f"{value:.3f}"
    return shown if floor is None else f"{shown} ({floor:.3f})"


def markdown(results: dict[str, Any], budget: int, minutes: float) -> str:
    lines = ["# 16-shot suite: the winner against the prompt a person writes in a minute", "",
             f"SmolLM2-135M-Instruct (embedded), `autoprompt optimize --data train.csv --dev dev.csv --test test.csv "
             f"--input text --target label --model local --budget {budget} --seed 0` on each split of "
             "`../shared/data/fewshot16/` (500 test rows per task); mode *none* has no template, mode *hand* passes "
             f"the better hand-written prompt as `--template`. Tuning split: {', '.join(TUNING)}; the others were "
             f"run once with each method (the code each run used is in the last list). Wall time of the last "
             f"invocation {minutes:.0f} min.", "",
             "hand = the README's plain prompts scored through autoprompt (the better one is the bar); "
             "start = the tool's own start (mode none: the start its search chose, what a user gets for free); "
             "step = winner minus its own start (paired, 95% CI); vs bar = winner minus the better hand-written "
             "prompt (paired); gap = held-out rows minus test (subj has no held-out rows: its dev file repeats "
             "train); dev gap = the score the run reports on its search rows (its `dev` line) minus test. In the means "
             "table each mean absolute gap is followed, in parentheses, by its sampling floor: what an unbiased "
             "estimate on that many rows would miss test by on average, from sampling alone (E|X/n - p|, X ~ "
             "Binomial(n, p), p = the winner's test score, n = the run's held-out or search rows). The held-out "
             "and search rows hold each label equally often and the test sets do not (sst5's most common label "
             "is 31% of test against 20% of the rows a run sees): *gap to balanced test* compares the held-out "
             "score with the winner's test accuracy averaged per label, the part of the gap that is not that "
             "difference of label mix. In the means table, step and vs bar are means over the splits with a 95% "
             "bootstrap interval over the test rows, which every split of a task shares (the **all** row resamples "
             "each task's rows apart); runs recorded before per-row scores were kept show the mean alone.", "",
             "| task | split | mode | hand (test) | majority | start | winner [95% CI] | step | vs bar | gap | "
             "winner | calls | s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for task, result in results["tasks"].items():
        hand = " / ".join(f"{h['test']:.3f}" for h in result["hand"])
        for key, run in result["runs"].items():
            split, mode = key.split("/")
            if "error" in run:
                lines.append(f"| {task} | {split} | {mode} | {hand} | | | error: {run['error']} | | | | | | |")
                continue
            ci, step, bar = run["winner_ci"], run["step"], run["vs_bar"]
            gap = f"{run['holdout'] - run['winner_test']:+.3f}" if run.get("holdout") is not None else "-"
            lines.append(
                f"| {task} | {split} | {mode} | {hand} | {result['majority']['test']:.3f} | {run['start_test']:.3f} "
                f"| {run['winner_test']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}] | {step['estimate']:+.3f} "
                f"[{step['low']:+.3f}, {step['high']:+.3f}] | {bar['estimate']:+.3f} | {gap} | `{run['winner']}` "
                f"| {run['calls']} | {run['seconds']} |")
    lines += means_table(results)
    lines += ["", "How each winner was chosen:"]
    for task, result in results["tasks"].items():
        for key, run in result["runs"].items():
            if run.get("how"):
                lines.append(f"- {task} {key} (code {run['commit']}; start `{run['start']}`): {run['how']}")
    return "\n".join(lines) + "\n"


def _task_means(result: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One task's means over its runs of one mode, with the per-row scores that pair them (start and
    winner, the bar and the winner) for the intervals."""
    bar = result["hand"][result["bar"]]["test"]
    wins = [_rows(r.get("winner_bits", "")) for r in runs]
    return {"bar": bar, "start": _mean([r["start_test"] for r in runs]),
            "winner": _mean([r["winner_test"] for r in runs]), "step": _mean([r["step"]["estimate"] for r in runs]),
            "pairs_step": ([_rows(r.get("start_bits", "")) for r in runs], wins),
            "pairs_bar": ([_rows(result.get("bar_bits", ""))] * len(runs), wins),
            "gap": _gap(runs, "holdout"), "dev_gap": _gap(runs, "dev"),
            "balanced_gap": _gap(runs, "holdout", "winner_balanced"),
            "gap_floor": _floor(runs, "holdout_n"), "dev_floor": _floor(runs, "dev_n"),
            "lost": sum(r["step"]["estimate"] < 0 for r in runs)}


def _means_line(mode: str, task: str, splits: str, rows: list[dict[str, Any]], *, overall: bool = False) -> str:
    """A line of the means table: one task's means (``rows`` of one) or, ``overall``, the mean over tasks
    (the winner's mean in bold)."""
    mean = {k: _mean([r[k] for r in rows]) for k in ("bar", "start", "winner", "step")}
    gaps = {k: _mean(known) if (known := [r[k] for r in rows if r[k] is not None]) else None
            for k in ("gap", "balanced_gap", "dev_gap", "gap_floor", "dev_floor")}
    step = _signed(mean["step"], mean_difference([r["pairs_step"] for r in rows]))
    vs_bar = _signed(mean["winner"] - mean["bar"], mean_difference([r["pairs_bar"] for r in rows]))
    winner = f"**{mean['winner']:.3f}**" if overall else f"{mean['winner']:.3f}"
    return (f"| {mode} | {task} | {splits} | {mean['bar']:.3f} | {mean['start']:.3f} | {winner} | {step} | {vs_bar} | "
            f"{_shown(gaps['gap'], gaps['gap_floor'])} | {_shown(gaps['balanced_gap'])} | "
            f"{_shown(gaps['dev_gap'], gaps['dev_floor'])} | {sum(r['lost'] for r in rows)} |")


def means_table(results: dict[str, Any]) -> list[str]:
    """Means over the splits run, per task and mode, then over the tasks."""
    lines = ["", "Means over the splits run (per task, then over tasks):", "",
             "| mode | task | splits | bar | start | winner | step [95% CI] | vs bar [95% CI] | "
             "mean abs gap (floor) | mean abs gap to balanced test | mean abs dev gap (floor) | steps lost on test |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode in ("none", "hand"):
        per_task = []
        for task, result in results["tasks"].items():
            runs = [r for k, r in result["runs"].items() if k.endswith("/" + mode) and "error" not in r]
            if runs:
                per_task.append(_task_means(result, runs))
                lines.append(_means_line(mode, task, str(len(runs)), per_task[-1:]))
        if per_task:
            lines.append(_means_line(mode, "**all**", "", per_task, overall=True))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--splits", default=",".join(SPLITS))
    parser.add_argument("--modes", default="none,hand")
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "fewshot")
    parser.add_argument("--name", default="fewshot", help="results file stem")
    parser.add_argument("--keep", action="store_true", help="keep the results file's other runs")
    args = parser.parse_args()
    tasks, splits, modes = args.tasks.split(","), args.splits.split(","), args.modes.split(",")
    unknown = sorted({*tasks} - {*TASKS}) + sorted({*splits} - {*SPLITS}) + sorted({*modes} - {"none", "hand"})
    if unknown:
        raise SystemExit(f"unknown task, split or mode {', '.join(unknown)}; tasks {', '.join(TASKS)}, splits "
                         f"{', '.join(SPLITS)}, modes none,hand")
    from autoprompt.models.registry import get_backend

    backend = get_backend("local")
    prompts = hand_prompts()
    target = HERE / "results" / f"{args.name}.json"
    results: dict[str, Any] = {"budget": args.budget, "tasks": {}}
    if args.keep and target.exists():
        results = json.loads(target.read_text(encoding="utf-8"))
    started = time.monotonic()
    bars: dict[str, list[float]] = {}
    for task in tasks:
        print(f"{task}: hand-written prompts", flush=True)
        base = baselines(task, prompts[task], backend, args.runs / task / "cache.sqlite")
        bars[task] = base["hand"][base["bar"]]["rows"]
        kept = results["tasks"].get(task, {}).get("runs", {})
        results["tasks"][task] = {"hand": [{k: v for k, v in h.items() if k != "rows"} for h in base["hand"]],
                                  "majority": base["majority"], "bar": base["bar"], "bar_bits": _bits(bars[task]),
                                  "runs": kept}
    for split in splits:  # split by split, so a cut-short run still covers every task
        for task in tasks:
            for mode in modes:
                bar = results["tasks"][task]["hand"][results["tasks"][task]["bar"]]["prompt"]
                run = run_search(task, split, mode, bar, args.budget, args.runs / task / split / mode)
                if "error" not in run:
                    summarize(run, bars[task])
                results["tasks"][task]["runs"][f"{split}/{mode}"] = run
                print(f"  {task} {split} {mode}: {json.dumps(run)}", flush=True)
                write(args.name, results, args.budget, (time.monotonic() - started) / 60)
    print(write(args.name, results, args.budget, (time.monotonic() - started) / 60))


def write(stem: str, results: dict[str, Any], budget: int, minutes: float) -> str:
    out = HERE / "results"
    (out / f"{stem}.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    text = markdown(results, budget, minutes)
    (out / f"{stem}.md").write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
