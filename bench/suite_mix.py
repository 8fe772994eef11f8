"""The unseen-task suite's drops, on the label mix a run sees: is today's winner worse than the recorded
one, or worse only on a test set whose mix no run sees?

    python bench/suite.py --tasks social_support --name suite-rerun8     # today's winners, in runs/suite
    python bench/suite_mix.py --tasks metaphor_paraphrase,social_support --new suite-rerun7,suite-rerun8

The suite's train and dev files hold 16 rows of each label; its test rows keep the source's mix
(social_support's are 82% ``neutral``, metaphor_paraphrase's 67% ``false``). A prompt that gets better
on the even rows a run sees can score lower on such a test. For each classification task named, on
its test rows:

- the **recorded winners** (each seed of ``--old``, ``bench/results/suite.json``), rebuilt from their
  recorded candidate and scored here; a winner with demonstrations is left out, since its
  demonstrations came from that run's own split of the training rows. The table shows each rebuilt
  winner's accuracy beside the recorded one, so a rebuild that does not reproduce it shows;
- **today's winners**: the predictions each seed's run directory (``--runs``) exported, for the seeds
  of the ``--new`` files; their accuracy is checked against those files;
- always answering the majority label (the recorded *free*, the best bare skeleton chosen on dev, is kept
  in the JSON beside it, as accuracy only).

Each is scored two ways: **accuracy** on the test's own mix, and **balanced accuracy**, the mean over
labels of the share of that label's rows answered right: the accuracy on test rows mixed as the
training files are. Today minus recorded, each a mean over its seeds, gets a 95% bootstrap interval
that resamples the test rows (each label's rows apart for balanced accuracy). Writes
``bench/results/suite-mix.md`` and ``suite-mix.json``. The rebuilt winners need the embedded model.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from suite import manifest, prepared_task  # noqa: E402  (bench/suite.py: the task manifest, its files prepared)

from autoprompt.evaluate.evaluator import Evaluator  # noqa: E402
from autoprompt.evaluate.registry import get_metric  # noqa: E402
from autoprompt.evaluate.stats import stratified_bootstrap  # noqa: E402
from autoprompt.models.cache import SQLiteCache  # noqa: E402
from autoprompt.models.client import Client  # noqa: E402
from autoprompt.prompts.compose import compose  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402

RESULTS = HERE / "results"


def candidate(recorded: str) -> Candidate | None:
    """A recorded winner's candidate (the ``str`` of its fields, as ``suite.json`` keeps it), or None when
    it shows demonstrations, which depend on its run's split. Fields an older record lacks keep their
    defaults; fields it has that no longer exist are dropped (``compose.candidate_from`` refuses them)."""
    fields = ast.literal_eval(recorded)
    known = {f.name for f in dataclasses.fields(Candidate)}
    values: dict[str, Any] = {
        k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
        for k, v in fields.items() if k in known}
    chosen = Candidate(**values)
    return None if chosen.n_demos or chosen.demo_ids else chosen


def balanced(targets: list[str], scores: list[float]) -> list[list[float]]:
    """The rows' scores grouped by gold label, labels in sorted order: the groups whose equal-weight mean is
    balanced accuracy."""
    return [[s for t, s in zip(targets, scores) if t == label] for label in sorted(set(targets))]


def difference(targets: list[str], old: list[list[float]], new: list[list[float]]) -> dict[str, Any]:
    """Today's mean over seeds minus the record's, per row; as accuracy and as balanced accuracy, each with
    its interval."""
    rows = [sum(n) / len(new) - sum(o) / len(old) for o, n in zip(zip(*old), zip(*new))]
    return {"accuracy": stratified_bootstrap([rows]).__dict__,
            "balanced": stratified_bootstrap(balanced(targets, rows)).__dict__}


def scored(targets: list[str], rows: list[float]) -> dict[str, float]:
    return {"accuracy": _mean(rows), "balanced": _mean([_mean(group) for group in balanced(targets, rows)])}


def recorded_rows(task: dict[str, Any], winners: dict[str, str], cache: Path) -> dict[str, list[float]]:
    """Each rebuildable recorded winner's per-row test scores, by seed."""
    from autoprompt.models.registry import get_backend

    prepared = prepared_task(task)
    evaluator = Evaluator(Client(get_backend("local"), cache=SQLiteCache(cache)), get_metric("accuracy"),
                          prepared.setup.kind)
    test = list(prepared.data.test.examples)
    out = {}
    for seed, recorded in winners.items():
        chosen = candidate(recorded)
        if chosen is not None:
            prompt = evaluator.prepare(compose(chosen, prepared.setup))
            out[seed] = [p.score for p in evaluator.evaluate(prompt, test)]
    return out


def exported_rows(run: Path) -> tuple[list[str], list[float]]:
    """A run directory's test predictions: the gold labels and the winner's per-row scores."""
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    return [str(r["target"]) for r in rows], [float(r["winner_score"]) for r in rows]


def compare(task: dict[str, Any], old: dict[str, Any], new: dict[str, dict[str, Any]], runs: Path) -> dict[str, Any]:
    """One task: the recorded and today's winners, free and the majority label, both ways."""
    today: dict[str, list[float]] = {}
    targets: list[str] = []
    for seed, run in new.items():
        folder = runs / task["name"] / f"seed{seed}"
        targets, today[seed] = exported_rows(folder)
        if abs(_mean(today[seed]) - run["test"]) > 1e-9:
            raise SystemExit(f"{folder} does not hold the run its results file records (test "
                             f"{_mean(today[seed]):.3f}, recorded {run['test']:.3f}); rerun bench/suite.py for it")
    winners = {s: r["winner"] for s, r in old["seeds"].items()}
    before = recorded_rows(task, winners, runs / task["name"] / "cache.sqlite")
    majority = old["majority"]["label"]
    result = {"task": task["name"], "majority": scored(targets, [float(t == majority) for t in targets]),
              "free": old["baselines"][old["best_bare"]]["test"], "free_name": old["best_bare"],
              "recorded": {s: {"recorded": old["seeds"][s]["test"], **scored(targets, rows)}
                           for s, rows in before.items()},
              "left_out": sorted(set(old["seeds"]) - set(before)),
              "today": {s: scored(targets, rows) for s, rows in today.items()}}
    if before and today:
        result["difference"] = difference(targets, list(before.values()), list(today.values()))
    return result


def markdown(results: list[dict[str, Any]], old: str, new: list[str]) -> str:
    lines = [f"# The suite's drops on the label mix a run sees: `{old}` against `{', '.join(new)}`", "",
             "accuracy on the test rows' own mix / balanced accuracy (the mean over labels of each label's "
             "share answered right: the accuracy on rows mixed as the training files are). Recorded winners are "
             "rebuilt from their candidate and scored here (*rebuilt* beside *recorded* checks the rebuild); "
             "today's come from their runs' exported predictions. The difference is today's mean over seeds minus "
             "the record's, paired on the test rows, 95% bootstrap CI.", "",
             "| task | majority label | recorded winners: recorded / rebuilt / balanced, per seed | today's "
             "winners: accuracy / balanced, per seed | mean: recorded → today (accuracy) | mean: recorded → today "
             "(balanced) | today − recorded, accuracy | today − recorded, balanced |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        rec, now = r["recorded"], r["today"]
        per_old = "; ".join(f"{s}: {v['recorded']:.3f} / {v['accuracy']:.3f} / {v['balanced']:.3f}"
                            for s, v in rec.items())
        if r["left_out"]:
            per_old += f" (seeds {', '.join(r['left_out'])} show demonstrations: not rebuilt)"
        per_new = "; ".join(f"{s}: {v['accuracy']:.3f} / {v['balanced']:.3f}" for s, v in now.items())
        means = {k: (_mean([v[k] for v in rec.values()]), _mean([v[k] for v in now.values()]))
                 for k in ("accuracy", "balanced")}
        diff = r.get("difference", {})
        lines.append(f"| {r['task']} | {r['majority']['accuracy']:.3f} / {r['majority']['balanced']:.3f} | "
                     f"{per_old} | {per_new} | {means['accuracy'][0]:.3f} → {means['accuracy'][1]:.3f} | "
                     f"{means['balanced'][0]:.3f} → {means['balanced'][1]:.3f} | {_interval(diff.get('accuracy'))} | "
                     f"{_interval(diff.get('balanced'))} |")
    return "\n".join(lines) + "\n"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _interval(interval: dict[str, float] | None) -> str:
    if not interval:
        return "-"
    return f"{interval['estimate']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", default="metaphor_paraphrase,social_support")
    parser.add_argument("--old", default="suite", help="the recorded results file's stem")
    parser.add_argument("--new", default="suite-rerun7,suite-rerun8", help="today's results files' stems")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "suite", help="today's run directories")
    parser.add_argument("--name", default="suite-mix", help="results file stem")
    args = parser.parse_args()
    old = {t["task"]: t for t in json.loads((RESULTS / f"{args.old}.json").read_text(encoding="utf-8"))["tasks"]}
    new: dict[str, dict[str, Any]] = {}
    for stem in args.new.split(","):
        for t in json.loads((RESULTS / f"{stem}.json").read_text(encoding="utf-8"))["tasks"]:
            new.setdefault(t["task"], {}).update({s: r for s, r in t["seeds"].items() if "test" in r})
    names = args.tasks.split(",")
    tasks = [t for t in manifest("all", names)
             if t["kind"] == "classification" and t["name"] in old and t["name"] in new]
    if len(tasks) != len(names):
        unfit = sorted(set(names) - {t["name"] for t in tasks})
        raise SystemExit(f"{', '.join(unfit)}: not a classification task that both --old and --new ran; name "
                         "classification tasks of bench/suite/tasks.json that both results files hold")
    results = [compare(t, old[t["name"]], new[t["name"]], args.runs) for t in tasks]
    (RESULTS / f"{args.name}.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    text = markdown(results, args.old, args.new.split(","))
    (RESULTS / f"{args.name}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
