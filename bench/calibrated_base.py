"""Replay a rule on finished runs: should a calibrated start join the base, past the held-out check?

Usage:

    python bench/calibrated_base.py RUN_DIR [RUN_DIR ...]

The question (from BIG-bench question_type, seed 1: the search accepted the start's calibrated copy and
then a demonstration step, the held-out check of that step against the raw start failed at p = 0.064,
and the raw start, 0.420 on test, was returned where the calibrated start scored 0.547 and the step
0.603). The rule replayed: calibrated copies of the starts that the search accepted before any other
step count as part of the start (the base), as the starts themselves do, so the final check tests only
what came after them. The search itself is unchanged by such a rule (the calibrated starts are accepted
either way), so each finished run replays exactly: the new base, the final check (``sign_flip_p`` at
``LEVEL`` on the run's held-out rows, as ``selection.choose`` does) of the last accepted step against it,
and the test accuracy of what the run returned and of what the rule would have returned. Every prompt
goes through the run's own evaluator and cache (``bench/rescore.py``); only prompts never scored on
those rows are model calls. Figures go to ``bench/results/calibrated-base.md`` and ``.json``. Model
work runs one process at a time: run it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from rescore import open_run  # noqa: E402  (bench/rescore.py: a finished run through its own cache)

from autoprompt.evaluate.stats import sign_flip_p  # noqa: E402
from autoprompt.search.selection import LEVEL  # noqa: E402


def folded(base: int, accepted: list[int], operators: dict[int, str]) -> tuple[int, list[int]]:
    """The base with the calibrated starts accepted right after it folded in, and the steps after them."""
    chain = accepted[accepted.index(base) + 1:]
    while chain and operators[chain[0]] == "move.calibrate":
        base = chain.pop(0)
    return base, chain


def replay(run: Path) -> dict[str, Any]:
    winner = json.loads((run / "winner.json").read_text(encoding="utf-8"))
    selection = winner["selection"]
    finished = open_run(run)
    base, chain = folded(selection["base"], winner["accepted"],
                         {n: t["operator"] for n, t in finished.trials.items()})
    out: dict[str, Any] = {"run": str(run), "base": selection["base"], "returned": selection["winner"],
                           "new_base": base, "p": None}
    if base == selection["base"]:
        return {**out, "rule": selection["winner"]}
    held = finished.optimizer.selection_rows()[1]

    def values(number: int, rows: list[Any], *, signal: bool) -> list[float]:
        """The trial's per-row selection value (``signal``) or score (accuracy) on ``rows``."""
        return [p.value if signal else p.score for p in finished.evaluator.evaluate(finished.prompt(number), rows)]

    rule = base
    if chain and held:
        out["p"] = sign_flip_p(values(base, held, signal=True), values(chain[-1], held, signal=True), seed=0)
        rule = chain[-1] if out["p"] <= LEVEL else base
    test = list(finished.optimizer.task.data.test.examples)
    accuracy = {n: sum(values(n, test, signal=False)) / len(test) for n in {selection["winner"], rule}}
    return {**out, "rule": rule, "returned_test": accuracy[selection["winner"]], "rule_test": accuracy[rule]}


def markdown(rows: list[dict[str, Any]]) -> str:
    changed = [r for r in rows if r["rule"] != r["returned"]]
    lines = ["# A calibrated start folded into the base: replayed on finished runs", "",
             f"{len(rows)} runs replayed; the rule returns another prompt in {len(changed)}. Test accuracy of what "
             "the run returned and of what the rule returns (`python bench/calibrated_base.py RUN_DIR ...`).", "",
             "| run | base | new base | p (last step vs new base) | returned | rule | returned test | rule test | "
             "difference |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p = "-" if r["p"] is None else f"{r['p']:.3f}"
        test = (f"{r['returned_test']:.3f} | {r['rule_test']:.3f} | {r['rule_test'] - r['returned_test']:+.3f}"
                if r["rule"] != r["returned"] else "| | same")
        lines.append(f"| {r['run']} | {r['base']} | {r['new_base']} | {p} | {r['returned']} | {r['rule']} | {test} |")
    if changed:
        mean = sum(r["rule_test"] - r["returned_test"] for r in changed) / len(rows)
        lines += ["", f"Mean change over all {len(rows)} runs: {mean:+.3f}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders autoprompt wrote (--out DIR)")
    args = parser.parse_args()
    rows = []
    for run in args.runs:
        rows.append(replay(run))
        print(json.dumps(rows[-1]), flush=True)
    out = HERE / "results"
    (out / "calibrated-base.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    text = markdown(rows)
    (out / "calibrated-base.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
