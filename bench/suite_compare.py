"""Compare a rerun of the unseen-task suite with the recorded one, on the seeds both hold.

    python bench/suite.py --name suite-rerun [--seeds 0]     # the rerun (bench/results/suite-rerun.json)
    python bench/suite_compare.py [--old suite] [--new suite-rerun]

Per task: the winner's test score, mean over the seeds both files ran, before and after, and the
difference; a task whose mean drops by more than one point is marked. Writes
bench/results/<new>-compare.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def scores(path: Path) -> dict[str, dict[str, float]]:
    """Each task's winner test score per seed run."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {t["task"]: {seed: run["test"] for seed, run in t.get("seeds", {}).items()} for t in data["tasks"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--old", default="suite")
    parser.add_argument("--new", default="suite-rerun")
    args = parser.parse_args()
    old, new = scores(RESULTS / f"{args.old}.json"), scores(RESULTS / f"{args.new}.json")
    lines = [f"# `{args.new}` against `{args.old}`: winner test score per task, seeds both ran", "",
             "| task | seeds | before | after | after − before | |", "|---|---|---|---|---|---|"]
    drops = 0
    for task in sorted(old):
        seeds = sorted(set(old[task]) & set(new.get(task, {})))
        if not seeds:
            lines.append(f"| {task} | - | {statistics.mean(old[task].values()):.3f} | not run | | |")
            continue
        before = statistics.mean(old[task][s] for s in seeds)
        after = statistics.mean(new[task][s] for s in seeds)
        drop = after - before < -0.01
        drops += drop
        lines.append(f"| {task} | {','.join(seeds)} | {before:.3f} | {after:.3f} | {after - before:+.3f} | "
                     f"{'**drop > 1 point**' if drop else ''} |")
    lines += ["", f"Tasks more than 1 point below the recorded suite: {drops}."]
    text = "\n".join(lines) + "\n"
    (RESULTS / f"{args.new}-compare.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
