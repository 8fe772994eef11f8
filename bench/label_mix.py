"""Calibration under a task's own label mix: does a calibrated prompt keep the mix of the user's rows?

Usage:

    python bench/label_mix.py                      # every task below, seed 0
    python bench/label_mix.py --tasks social_support --keep
    python bench/label_mix.py --tasks sst5 --fewshot16 --keep   # a 16-shot suite task, cut the same way
    python bench/label_mix.py --skew 0.5 --fewshot16 --tasks cr subj yahoo --keep   # evenly mixed ones, skewed

The 16-shot suites hold 16 rows of each label, so nothing there can show how the search does when the
user's labelled rows are unevenly mixed, as most real data is. Here each BIG-bench task of
``bench/suite/tasks.json`` whose 300 test rows (their natural label mix) are uneven (the commonest
label's share at least 0.1 above an even share) gives a user's data set of that mix: the test rows
shuffled (seed 0), the first 48 as ``train.csv``, the next 48 as ``dev.csv``, the other 204 as
``test.csv`` (less any row whose label the first 96 never show, as the tool asks a user to drop them).
With ``--fewshot16`` the uneven tasks of ``../shared/data/fewshot16/`` (sst5: its 500 test rows) are cut
the same way, their README's two plain prompts standing for **hand** (the better on these test rows).
With ``--skew R`` the *evenly* mixed tasks are taken instead and made uneven before the cut: one label,
drawn at random (seed 0), keeps all its rows and every other label keeps R times as many (its first,
in file order); each is named ``<task>-skewed`` and its figures go to ``label_mix_skewed.md``/``.json``:
tasks for confirming a change chosen on the naturally uneven ones.
On those test rows, with the embedded SmolLM2:

- **hand**: one plain prompt per task, written before any run (``HAND`` below), scored as a user's
  ``--template`` is; and **majority**, always answering the test rows' commonest label;
- the user's command, ``autoprompt optimize --data train.csv --dev dev.csv --test test.csv --input ...
  --target ... --model local --budget 2000 --seed 0``, run by the code of the checkout this file sits
  in: the tool's start, the winner and the step part (paired, 95% CI), and how often the winner answers
  the commonest label against its share.

Results are kept per commit (``--keep``), so running this file at two commits compares them on the
same rows: the last table pairs the winners of the first two commits recorded. Figures go to
``bench/results/label_mix.md`` and ``label_mix.json``; the runs to ``runs/label_mix/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from suite import COMMIT, _mean, manifest, run_cli  # noqa: E402

from autoprompt.evaluate.evaluator import Evaluator  # noqa: E402
from autoprompt.evaluate.registry import get_metric  # noqa: E402
from autoprompt.evaluate.stats import bootstrap, paired_difference  # noqa: E402
from autoprompt.models.cache import SQLiteCache  # noqa: E402
from autoprompt.models.client import Client  # noqa: E402
from autoprompt.prompts.compose import CUSTOM_TASK, compose  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402
from autoprompt.search.task import Task, prepare_task  # noqa: E402
from autoprompt.spec import RunSpec, Search, Start  # noqa: E402

HAND = {  # written before any run: the prompt a person writes in a minute
    "medicine_sentiment": "Sentence: {{ text }}\nSentiment (positive, negative, neutral or ambivalent):",
    "social_support": "Reply: {{ reply }}\nIs this reply supportive, unsupportive or neutral?\nAnswer:",
    "question_type": "Question: {{ question }}\nAnswer: {{ answer }}\nThe answer is a (date, entity, event, humans, "
                     "location, money, organization, other or quantity):",
    "presupposition_nli": "Premise: {{ premise }}\nHypothesis: {{ hypothesis }}\nRelation (entailment, neutral or "
                          "contradiction):",
    "epistemic_nli": "Premise: {{ premise }}\nHypothesis: {{ hypothesis }}\nDoes the premise entail the hypothesis? "
                     "(entailment or non-entailment):",
    "parentheses": "Sequence: {{ sequence }}\nAre the brackets balanced? (valid or invalid):",
    "metaphor_paraphrase": "Sentence: {{ sentence }}\nParaphrase: {{ paraphrase }}\nIs the paraphrase correct? "
                           "(true or false):",
    # the evenly mixed ones (``--skew``), written before any run of them here
    "fever": "Claim: {{ claim }}\nIs this claim true or false?\nAnswer:",
    "implicatures": "Question: {{ question }}\nReply: {{ reply }}\nDoes the reply mean yes or no?\nAnswer:",
    "sports_plausibility": "Statement: {{ statement }}\nIs this sports statement plausible or implausible?\nAnswer:",
}
ROWS = (48, 48)  # train, dev; the rest is test
UNEVEN = 0.1  # the commonest label's share above an even share, from which a task is taken
RUNS = ROOT / "runs" / "label_mix"


def uneven_tasks(names: list[str] | None, fewshot16: bool = False, skew: float | None = None) -> list[dict[str, Any]]:
    """The classification tasks whose rows are unevenly mixed; with ``skew``, the evenly mixed ones, skewed."""
    chosen = []
    for task in [*manifest("all", names), *(_fewshot16_tasks(names) if fewshot16 else [])]:
        if task["kind"] != "classification":
            continue
        labels = Counter(r[task["target"]] for r in _rows(task))
        if (max(labels.values()) / sum(labels.values()) - 1 / len(labels) >= UNEVEN) == (skew is None):
            chosen.append(task if skew is None else {**task, "name": f"{task['name']}-skewed", "skew": skew,
                                                     "base_name": task["name"]})
    return chosen


def _fewshot16_tasks(names: list[str] | None) -> list[dict[str, Any]]:
    """The tasks of ``../shared/data/fewshot16/``, their 500-row test file (its natural mix) as the rows
    to cut, and the README's two plain prompts as the hand-written ones."""
    from fewshot import SUITE, TASKS, hand_prompts

    hand = hand_prompts()
    return [{"name": name, "kind": "classification", "inputs": ["text"], "target": "label",
             "rows_file": str(SUITE / name / "test.csv"), "hand": hand[name]}
            for name in TASKS if not names or name in names]


def _rows(task: dict[str, Any]) -> list[dict[str, str]]:
    """The task's rows (a skewed task's: all rows of one label drawn at random, seed 0, and every other
    label's first ``skew`` times as many)."""
    path = Path(task.get("rows_file") or HERE / "suite" / "tasks" / task.get("base_name", task["name"]) / "test.csv")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if "skew" not in task:
        return rows
    labels = sorted({r[task["target"]] for r in rows})
    commonest = random.Random(0).choice(labels)
    keep = round(task["skew"] * sum(r[task["target"]] == commonest for r in rows))
    kept: Counter[str] = Counter()
    chosen = []
    for row in rows:
        label = row[task["target"]]
        if label == commonest or kept[label] < keep:
            kept[label] += 1
            chosen.append(row)
    return chosen


def user_files(task: dict[str, Any]) -> dict[str, Path]:
    """The task's natural-mix rows, shuffled (seed 0) and cut into a user's train, dev and test files
    (test rows of a label that train and dev never show left out)."""
    rows = _rows(task)
    random.Random(0).shuffle(rows)
    folder = RUNS / task["name"] / "data"
    folder.mkdir(parents=True, exist_ok=True)
    seen = {r[task["target"]] for r in rows[:sum(ROWS)]}
    cuts = {"train": rows[:ROWS[0]], "dev": rows[ROWS[0]:sum(ROWS)],
            "test": [r for r in rows[sum(ROWS):] if r[task["target"]] in seen]}
    paths = {}
    for part, part_rows in cuts.items():
        paths[part] = folder / f"{part}.csv"
        with paths[part].open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(part_rows)
    return paths


def hand_templates(task: dict[str, Any]) -> list[str]:
    """The task's hand-written prompts: the 16-shot README's two, or the one written here (``HAND``)."""
    return task.get("hand") or [HAND[task.get("base_name", task["name"])]]


def prepared_task(task: dict[str, Any], paths: dict[str, Path], template: str) -> Task:
    """The user's files prepared as the tool prepares them, ``template`` as the user's own prompt."""
    return prepare_task(RunSpec(data=str(paths["train"]), inputs=task["inputs"], target=task["target"],
                                search=Search(dev=str(paths["dev"]), test=str(paths["test"])),
                                start=Start(template=template)))


def baselines(task: dict[str, Any], paths: dict[str, Path], backend: Any) -> dict[str, Any]:
    """The hand-written prompt's test rows (of two, as the 16-shot README gives, the better on these
    rows) and the commonest test label's share."""
    scored = []
    for template in hand_templates(task):
        prepared = prepared_task(task, paths, template)
        evaluator = Evaluator(Client(backend, cache=SQLiteCache(RUNS / task["name"] / "cache.sqlite")),
                              get_metric("accuracy"), prepared.setup.kind)
        prompt = compose(Candidate(CUSTOM_TASK), prepared.setup, prepared.custom)
        scored.append([p.score for p in evaluator.evaluate(prompt, prepared.data.test.examples)])
    hand = max(scored, key=sum)
    targets = [ex.target for ex in prepared.data.test.examples]
    label, count = Counter(targets).most_common(1)[0]
    return {"hand": sum(hand) / len(hand), "hand_rows": hand, "majority_label": label,
            "majority": count / len(targets), "test_rows": len(targets)}


def run_search(task: dict[str, Any], paths: dict[str, Path], budget: int) -> dict[str, Any]:
    out = RUNS / task["name"] / COMMIT
    command = [str(Path(sys.executable).parent / "autoprompt"), "optimize", "--data", str(paths["train"]),
               "--dev", str(paths["dev"]), "--test", str(paths["test"]), "--input", ",".join(task["inputs"]),
               "--target", task["target"], "--model", "local", "--budget", str(budget), "--seed", "0",
               "--out", str(out), "--cache", str(RUNS / task["name"] / "cache.sqlite")]
    seconds, error = run_cli(command)
    if error:
        return {"error": error, "seconds": round(seconds)}
    winner = json.loads((out / "winner.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    trials = {t["number"]: t for t in map(json.loads, (out / "trials.jsonl").read_text(encoding="utf-8").splitlines())}
    return {"seconds": round(seconds), "start_rows": [float(r["start"] == r["target"]) for r in rows],
            "winner_rows": [float(r["winner"] == r["target"]) for r in rows],
            "answers": dict(Counter(r["winner"] for r in rows)),
            "winner": trials.get(winner["trial"], {}).get("label", ""),
            "calibration": winner.get("calibration"), "how": winner["selection"]["how"]}


def markdown(results: dict[str, Any], budget: int, minutes: float) -> str:
    skew = results.get("skew")
    tasks = ("BIG-bench tasks whose test rows are unevenly mixed" if skew is None else
             f"evenly mixed tasks made uneven (one label drawn at random keeps all its rows, the others {skew:g} times "
             "as many)")
    lines = ["# Calibration under a task's own label mix" + ("" if skew is None else ": evenly mixed tasks, skewed"),
             "", f"SmolLM2-135M-Instruct (embedded); {tasks}, cut into a "
             f"user's natural-mix files (48 train, 48 dev, the rest test; `bench/label_mix.py`); the user's command "
             f"with `--budget {budget} --seed 0`, run by each commit's code on the same rows. Wall time of the last "
             f"invocation {minutes:.0f} min. hand = a plain prompt written before any run; majority = always the "
             "commonest test label; start = the tool's own start; step = winner minus start (paired, 95% CI); "
             "commonest answered = the share of test rows the winner answers with the commonest label.", "",
             "| task | test rows | commonest label (share) | hand | commit | start | winner [95% CI] | step | "
             "vs hand | commonest answered | winner |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    pairs = []
    for name, task in results["tasks"].items():
        base = task["baselines"]
        for commit, run in task["runs"].items():
            if "error" in run:
                lines.append(f"| {name} | | | | {commit} | | error: {run['error']} | | | | |")
                continue
            win, start = run["winner_rows"], run["start_rows"]
            ci, step, hand = bootstrap(win), paired_difference(start, win), paired_difference(base["hand_rows"], win)
            answered = run["answers"].get(base["majority_label"], 0) / len(win)
            lines.append(f"| {name} | {base['test_rows']} | {base['majority_label']} ({base['majority']:.3f}) | "
                         f"{base['hand']:.3f} | {commit} | {_mean(start):.3f} | {_mean(win):.3f} "
                         f"[{ci.low:.3f}, {ci.high:.3f}] | {step.estimate:+.3f} [{step.low:+.3f}, {step.high:+.3f}] | "
                         f"{hand.estimate:+.3f} | {answered:.3f} | `{run['winner']}` |")
        done = [c for c, r in task["runs"].items() if "error" not in r]
        for first, second in pairwise(done):
            a, b = (task["runs"][c]["winner_rows"] for c in (first, second))
            pairs.append((name, first, second, _mean(a), _mean(b), paired_difference(a, b)))
    for first, second in dict.fromkeys((p[1], p[2]) for p in pairs):
        chosen = [p for p in pairs if (p[1], p[2]) == (first, second)]
        lines += ["", f"Commit {second} against the one recorded before it, {first}: winner against winner on the "
                  "same test rows (paired, 95% CI):",
                  "", "| task | first | second | first winner | second winner | second minus first |",
                  "|---|---|---|---|---|---|"]
        for name, _, _, a, b, d in chosen:
            lines.append(f"| {name} | {first} | {second} | {a:.3f} | {b:.3f} | {d.estimate:+.3f} "
                         f"[{d.low:+.3f}, {d.high:+.3f}] |")
        lines.append(f"| **mean** | | | {_mean([p[3] for p in chosen]):.3f} | {_mean([p[4] for p in chosen]):.3f} | "
                     f"{_mean([p[5].estimate for p in chosen]):+.3f} |")
    lines += ["", "How each winner was chosen:"]
    for name, task in results["tasks"].items():
        for commit, run in task["runs"].items():
            if run.get("how"):
                lines.append(f"- {name} (code {commit}): {run['how']}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=None, help="task names (default: every uneven one)")
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the results of other commits and tasks")
    parser.add_argument("--fewshot16", action="store_true",
                        help="also the uneven tasks of ../shared/data/fewshot16/ (their test file's natural mix)")
    parser.add_argument("--skew", type=float, default=None,
                        help="take the evenly mixed tasks instead, each other label kept at SKEW times the rows of one")
    args = parser.parse_args()
    stem = "label_mix" if args.skew is None else "label_mix_skewed"
    from autoprompt.models.registry import get_backend

    backend = get_backend("local")
    target = HERE / "results" / f"{stem}.json"
    results: dict[str, Any] = {"budget": args.budget, "tasks": {}, **({} if args.skew is None else {"skew": args.skew})}
    if args.keep and target.exists():
        results = json.loads(target.read_text(encoding="utf-8"))
    started = time.monotonic()
    for task in uneven_tasks(args.tasks, args.fewshot16, args.skew):
        paths = user_files(task)
        entry = results["tasks"].setdefault(task["name"], {"runs": {}})
        entry["baselines"] = baselines(task, paths, backend)
        entry["runs"][COMMIT] = run_search(task, paths, args.budget)
        print(f"{task['name']} {COMMIT}: {json.dumps(entry['runs'][COMMIT])[:300]}", flush=True)
        target.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        text = markdown(results, args.budget, (time.monotonic() - started) / 60)
        (HERE / "results" / f"{stem}.md").write_text(text, encoding="utf-8")
    print(markdown(results, args.budget, (time.monotonic() - started) / 60))


if __name__ == "__main__":
    main()
