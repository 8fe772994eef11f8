"""How often the final check passes a step that is truly better, with 0/1 exact match against the closeness
signal, on a real run's two prompts.

    python bench/signal_power.py --task negation --seed 1 --trials 3,48 --rows 24

The final check tests the search's step against its start on a few held-out rows (negation: 19 to 25).
Free text scored by exact match gives each row one bit; the closeness signal (the score averaged with the
answer's character closeness to the target, ``autoprompt.evaluate.evaluator.CLOSENESS``) also sees a near
miss. This takes two trials of a suite run (``runs/suite/TASK/seedS``: the start and a step), opens the
run as ``bench/rescore.py`` does (its own split, demonstrations, evaluator and cache), scores both on the
task's test rows (from the run's cache where it has them, else with the embedded model), and then draws
``--draws`` random sets of ``--rows`` test rows: on each, the one-sided paired sign-flip test at level
0.05, once on exact match and once on the signal. On the whole test the two prompts' difference is the
truth the check estimates; the share of draws that pass is its power when that difference is positive
(its false-step rate when it is not). Writes ``bench/results/signal-power-TASK-seedS.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from rescore import open_run  # noqa: E402  (bench/rescore.py: a finished run's prompts, evaluator and cache)
from suite import manifest  # noqa: E402  (bench/suite.py: the task manifest)

from autoprompt.evaluate.stats import sign_flip_p  # noqa: E402

RESULTS = HERE / "results"
LEVEL = 0.05


def pass_rates(before: list[tuple[float, float]], after: list[tuple[float, float]], rows: int, draws: int,
               seed: int = 0) -> dict[str, float]:
    """The share of ``draws`` random sets of ``rows`` rows (drawn without replacement) on which ``after``
    beats ``before`` at ``LEVEL``: on each row's score (the first of each pair) and on its signal (the
    second)."""
    rng = random.Random(seed)
    passed = {"score": 0, "signal": 0}
    for draw in range(draws):
        chosen = rng.sample(range(len(before)), rows)
        for which, key in ((0, "score"), (1, "signal")):
            p = sign_flip_p([before[i][which] for i in chosen], [after[i][which] for i in chosen], rounds=2000,
                            seed=draw)
            passed[key] += p <= LEVEL
    return {key: count / draws for key, count in passed.items()}


def scored_rows(run: Path, trials: list[int]) -> dict[int, list[tuple[float, float]]]:
    """Each trial's (score, signal) on every test row of ``run``, as the run composed and scored it."""
    finished = open_run(run)
    missing = [n for n in trials if n not in finished.trials]
    if missing:
        raise SystemExit(f"{run} has no trial {missing[0]}; name trials of its trials.jsonl")
    test = list(finished.optimizer.task.data.test.examples)
    return {n: [(p.score, p.value) for p in finished.evaluator.evaluate(finished.prompt(n), test)] for n in trials}


def markdown(result: dict[str, Any]) -> str:
    before, after = result["trials"]
    return "\n".join([
        f"# The final check's pass rate on {result['task']} seed {result['seed']}: trial {after} against "
        f"trial {before}",
        "", f"{result['draws']} random sets of {result['rows']} test rows; one-sided paired sign-flip test at level "
        f"{LEVEL:g} on each row's exact match (0/1) and on its closeness signal.", "",
        "| | trial " + f"{before} (test) | trial {after} (test) | difference on all {result['test_rows']} test rows | "
        "pass rate |", "|---|---|---|---|---|",
        *[f"| {key} | {result['means'][key][0]:.3f} | {result['means'][key][1]:.3f} | "
          f"{result['means'][key][1] - result['means'][key][0]:+.3f} | {result['pass_rate'][key]:.3f} |"
          for key in ("score", "signal")], ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="negation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trials", default="3,48", help="the start's trial number and the step's, comma-separated")
    parser.add_argument("--rows", type=int, default=24, help="rows per draw: the run's held-out rows")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "suite")
    args = parser.parse_args()
    tasks = [t for t in manifest("all", [args.task]) if t["kind"] == "generation"]
    if not tasks:
        raise SystemExit(f"{args.task} is not a free-text task of bench/suite/tasks.json; name one (negation, plural)")
    trials = [int(n) for n in args.trials.split(",")]
    if len(trials) != 2:
        raise SystemExit(f"--trials {args.trials}: name two trials, the start's and the step's, e.g. --trials 3,48")
    rows = scored_rows(args.runs / args.task / f"seed{args.seed}", trials)
    before, after = rows[trials[0]], rows[trials[1]]
    if not 0 < args.rows <= len(before):
        raise SystemExit(f"--rows {args.rows} is not between 1 and the {len(before)} test rows; pass e.g. --rows 24")
    result = {"task": args.task, "seed": args.seed, "trials": trials, "rows": args.rows, "draws": args.draws,
              "test_rows": len(before),
              "means": {key: [sum(r[i] for r in side) / len(side) for side in (before, after)]
                        for i, key in enumerate(("score", "signal"))},
              "pass_rate": pass_rates(before, after, args.rows, args.draws)}
    stem = f"signal-power-{args.task}-seed{args.seed}"
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    text = markdown(result)
    (RESULTS / f"{stem}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
