"""How far the unseen-task suite's search seeds move a task's mean: can a three-seed record hold a
1-point line?

    python bench/suite.py --tasks negation --seeds 3,4,5,6,7 --name negation-new   # today's code
    python bench/suite_seeds.py     # the record against today's reruns (suite-rerun7/8, negation-/plural-demo4)

Each search seed of a BIG-bench task finds its own winner, and their test scores spread widely (negation's
record: 0.840, 0.567, 0.863). Issue 24 asks that no task's mean over three seeds fall more than 1 point
below the record's. For each task of ``--record`` this writes:

- the **seed spread** ``s``: the standard deviation of the per-seed test scores within one results file
  (one method, several seeds), pooled over every file named (``--record``, ``--old``, ``--new`` and
  ``--spread``, earlier reruns) that ran the task with two seeds or more, each file's own mean taken out;
- the chance that a method **exactly as good as the record's**, run on as many seeds as the record, ends
  more than ``--line`` below it from which seeds ran alone: ``Φ(−line / (s·√(2/k)))`` for a k-seed record
  (a normal approximation to the difference of two k-seed means); and the chance that **no** task does,
  the product over tasks (seeds of different tasks are independent draws);
- where ``--old`` and ``--new`` (each a list of results files, merged by seed) both ran a task: the mean
  over new's seeds minus the mean over old's, with a 95% bootstrap interval that resamples each side's
  seeds apart (a seed number does not pair two methods: each draws its own random stream).

Writes ``bench/results/suite-seeds.md`` and ``.json`` (``--name``). Reads results files only: no model.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from autoprompt.evaluate.stats import stratified_bootstrap  # noqa: E402

RESULTS = HERE / "results"

Scores = dict[str, dict[str, float]]  # task -> seed -> the winner's test score


def seed_scores(stems: list[str]) -> Scores:
    """Each task's per-seed test scores from the results files named, merged by seed (a later file's seed
    replaces an earlier one's)."""
    merged: Scores = {}
    for stem in stems:
        path = RESULTS / f"{stem}.json"
        if not path.is_file():
            raise SystemExit(f"{path} does not exist; name a results file of bench/results (its stem, no .json)")
        for task in json.loads(path.read_text(encoding="utf-8"))["tasks"]:
            seeds = {s: float(r["test"]) for s, r in task["seeds"].items() if r.get("test") is not None}
            merged.setdefault(task["task"], {}).update(seeds)
    return merged


def pooled_spread(runs: list[list[float]]) -> float | None:
    """The pooled within-run standard deviation: each run's squared deviations from its own mean, over the
    runs' degrees of freedom; runs of one score add nothing; None when no run has two."""
    kept = [r for r in runs if len(r) >= 2]
    freedom = sum(len(r) - 1 for r in kept)
    if not freedom:
        return None
    squares = sum(sum((x - sum(r) / len(r)) ** 2 for x in r) for r in kept)
    return math.sqrt(squares / freedom)


def drop_chance(spread: float, seeds: int, line: float) -> float:
    """The chance that a k-seed mean ends more than ``line`` below another k-seed mean of the same method,
    each seed's score spread by ``spread``: Φ(−line / (spread·√(2/k))); 0 when nothing spreads."""
    if spread <= 0.0:
        return 0.0
    return 0.5 * math.erfc(line / (spread * math.sqrt(2.0 / seeds)) / math.sqrt(2.0))


def difference(old: dict[str, float], new: dict[str, float]) -> dict[str, Any] | None:
    """The mean over new's seeds minus the mean over old's, with a bootstrap interval resampling each side's
    seeds apart: twice the equal-weight mean of new's scores and old's negated ones; None unless both ran."""
    if not old or not new:
        return None
    half = stratified_bootstrap([list(new.values()), [-x for x in old.values()]])
    return {"old": old, "new": new,
            "mean": {"estimate": 2 * half.estimate, "low": 2 * half.low, "high": 2 * half.high}}


def analyse(record: Scores, files: dict[str, Scores], old: Scores, new: Scores, line: float) -> dict[str, Any]:
    """Every task of the record: its spread, the chance of a drop past ``line`` by seeds alone, and the
    difference of new from old where both ran it; then the chance that no task drops."""
    tasks = []
    for name, seeds in record.items():
        spread = pooled_spread([list(f[name].values()) for f in files.values() if name in f])
        chance = drop_chance(spread, len(seeds), line) if spread is not None else None
        tasks.append({"task": name, "record": seeds, "spread": spread, "seeds": len(seeds), "drop_chance": chance,
                      "difference": difference(old.get(name, {}), new.get(name, {}))})
    chances = [t["drop_chance"] for t in tasks if t["drop_chance"] is not None]
    return {"line": line, "tasks": tasks, "none_drops": math.prod(1.0 - c for c in chances),
            "files": sorted(files)}


def markdown(result: dict[str, Any], old: list[str], new: list[str]) -> str:
    line = result["line"]
    lines = [f"# Seed spread of the unseen-task suite: can a {line * 100:g}-point line hold?", "",
             f"spread = the standard deviation of one results file's per-seed test scores, pooled over "
             f"{', '.join(f'`{f}`' for f in result['files'])}; drop chance = the chance that a method exactly as good "
             f"as the record's, on as many fresh seeds, ends more than {line * 100:g} point(s) below the record's mean "
             "from which seeds ran alone (normal approximation); new − old = the mean over "
             f"`{', '.join(new)}`'s seeds minus the mean over `{', '.join(old)}`'s, 95% bootstrap CI resampling each "
             "side's seeds apart.",
             "", "| task | record, per seed | spread | drop chance | old, per seed | new, per seed | new − old "
             "[95% CI] |", "|---|---|---|---|---|---|---|"]
    for t in result["tasks"]:
        record = ", ".join(f"{v:.3f}" for v in t["record"].values())
        spread = "-" if t["spread"] is None else f"{t['spread']:.3f}"
        chance = "-" if t["drop_chance"] is None else f"{t['drop_chance']:.2f}"
        diff = t["difference"]
        if diff is None:
            cells = "- | - | -"
        else:
            m = diff["mean"]
            cells = (f"{_per_seed(diff['old'])} | {_per_seed(diff['new'])} | "
                     f"{m['estimate']:+.3f} [{m['low']:+.3f}, {m['high']:+.3f}]")
        lines.append(f"| {t['task']} | {record} | {spread} | {chance} | {cells} |")
    lines += ["", f"Chance that no task's mean drops more than {line * 100:g} point(s) below the record from seeds "
              f"alone, with a method exactly as good: **{result['none_drops']:.3f}**."]
    return "\n".join(lines) + "\n"


def _per_seed(scores: dict[str, float]) -> str:
    return ", ".join(f"{seed}: {scores[seed]:.3f}" for seed in sorted(scores, key=int))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--record", default="suite", help="the recorded results file's stem")
    parser.add_argument("--old", default="suite", help="comma-separated stems, merged by seed: the earlier method")
    parser.add_argument("--new", default="suite-rerun7,suite-rerun8,negation-demo4,plural-demo4",
                        help="comma-separated stems, merged by seed: today's method")
    parser.add_argument("--spread", default="suite-rerun,suite-rerun2,suite-rerun3,suite-rerun4,suite-rerun5,"
                        "suite-rerun6,negation-new,negation-graded,plural-graded",
                        help="comma-separated stems of further reruns that only add to the spread")
    parser.add_argument("--line", type=float, default=0.01, help="the drop that counts (0.01 = 1 point)")
    parser.add_argument("--name", default="suite-seeds", help="results file stem")
    args = parser.parse_args()
    if not 0.0 < args.line < 1.0:
        raise SystemExit(f"--line {args.line} is not a share between 0 and 1; pass e.g. --line 0.01 for 1 point")
    old, new = args.old.split(","), args.new.split(",")
    stems = list(dict.fromkeys([args.record, *old, *new, *filter(None, args.spread.split(","))]))
    files = {stem: seed_scores([stem]) for stem in stems}
    result = analyse(files[args.record], files, seed_scores(old), seed_scores(new), args.line)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    text = markdown(result, old, new)
    (RESULTS / f"{args.name}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
