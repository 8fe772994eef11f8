"""Benchmark: a free-text task (bundled past_tense) optimized for a metric, a judge and consistency.

On one seeded split of ``past_tense`` (English verb -> simple past; train 40, dev 80,
test 80), the embedded SmolLM2-135M-Instruct is optimized three times, each with its
own objective:

- ``metric``: exact match against the reference;
- ``judge``: ``geval:correctness``, the correctness rubric graded by a judge model
  (the same SmolLM2, the only model here), as the probability-weighted score;
- ``consistency``: ``exact_match~0.5*consistency``, half exact match and half the
  agreement of 4 answers sampled at temperature 0.7.

Then the start and each winner are scored once on the test set by every yardstick:
exact match (with a 95% bootstrap CI), chrF, the judge's score, and the agreement of 4
samples. A last section measures the judge itself on every test output scored:
how often a correct answer gets a higher judge score than a wrong one (AUC, 0.5 =
chance), and how many replies of the free-form judge (``judge:correctness``, "Score:
N / Reason: ...") on 20 outputs hold a usable score. A 135M judge is weak; the figures
say how weak.

    python bench/generation.py [--budget 1500] [--seed 0]

Writes bench/results/generation.md and generation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from end_to_end import RESULTS, machine

import autoprompt
from autoprompt.evaluate.consistency import Consistency
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.evaluate.stats import bootstrap
from autoprompt.models.client import Client
from autoprompt.models.local import LocalBackend
from autoprompt.prompts.prompt import Prompt
from autoprompt.records.example import Example
from autoprompt.records.task_kind import TaskKind

SAMPLES = Consistency(samples=4, temperature=0.7)
OBJECTIVES = {
    "metric": autoprompt.Answers(metric="exact_match"),
    "judge": autoprompt.Answers(metric="geval:correctness"),
    "consistency": autoprompt.Answers(metric="exact_match", consistency=4, temperature=0.7, consistency_weight=0.5),
}


def auc(scores: Sequence[float], correct: Sequence[bool]) -> float:
    """P(judge score of a correct output > that of a wrong one); ties count half."""
    right = [s for s, c in zip(scores, correct) if c]
    wrong = [s for s, c in zip(scores, correct) if not c]
    if not right or not wrong:
        return float("nan")
    wins = sum((r > w) + 0.5 * (r == w) for r in right for w in wrong)
    return wins / (len(right) * len(wrong))


def yardsticks(model: LocalBackend, prompt: Prompt, test: Sequence[Example]) -> dict[str, Any]:
    """One prompt on the test set, by every yardstick; the predictions keep the judge scores."""
    exact = Evaluator(Client(model), get_metric("exact_match"), TaskKind.GENERATION, consistency=SAMPLES)
    model.reset()
    predictions = exact.evaluate(prompt, test)
    chrf = get_metric("chrf")
    judge = get_metric("geval:correctness").bind(Client(model))
    judged = [judge(ex, p.output) for ex, p in zip(test, predictions)]
    quality = [float(p.quality or 0.0) for p in predictions]
    interval = bootstrap(quality, seed=0)
    return {
        "exact_match": sum(quality) / len(quality), "exact_ci": [interval.low, interval.high],
        "chrf": sum(chrf(ex, p.output) for ex, p in zip(test, predictions)) / len(test),
        "judge": sum(judged) / len(judged),
        "agreement": sum(float(p.agreement or 0.0) for p in predictions) / len(predictions),
        "outputs": [p.output for p in predictions], "judged": judged, "correct": [q == 1.0 for q in quality],
    }


def free_form_parse_rate(model: LocalBackend, test: Sequence[Example], outputs: Sequence[str]) -> dict[str, Any]:
    judge = get_metric("judge:correctness").bind(Client(model))
    grades = [judge.grade(ex, out) for ex, out in zip(test[:20], outputs[:20])]
    usable = [g for g in grades if not g.failed]
    return {"asked": len(grades), "usable": len(usable), "examples": [g.reason for g in grades[:3]]}


def run(budget: int, seed: int) -> dict[str, Any]:
    model = LocalBackend("local", seed=seed)
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in OBJECTIVES.items():
            started = time.monotonic()
            result = autoprompt.optimize("past_tense", model=model, budget=budget, seed=seed, answers=options,
                                         calls=autoprompt.Calls(cache=Path(tmp) / f"{name}.sqlite"),
                                         callbacks=[autoprompt.ProgressBar()])
            rows[name] = {"objective": result.metric, "calls": result.calls, "judge_calls": result.judge_calls,
                          "trials": len(result.trials), "dev_start": result.baseline.dev_score,
                          "dev_winner": result.best.dev_score, "winner": result.best.candidate.describe(),
                          "search_seconds": round(time.monotonic() - started, 1), "prompt": result.best.prompt,
                          "start_prompt": result.baseline.prompt}
            print(f"\n{name}: {result.summary()}", flush=True)
    from autoprompt.search.task import prepare_task
    from autoprompt.spec import RunSpec

    test = prepare_task(RunSpec(data="past_tense", seed=seed)).data.test.examples
    scored = {"start": yardsticks(model, rows["metric"]["start_prompt"], test)}
    for name in OBJECTIVES:
        scored[name] = yardsticks(model, rows[name].pop("prompt"), test)
        rows[name].pop("start_prompt", None)
    judged = [s for v in scored.values() for s in v["judged"]]
    correct = [c for v in scored.values() for c in v["correct"]]
    judge_quality = {"auc": auc(judged, correct), "n": len(judged), "correct": sum(correct),
                     "free_form": free_form_parse_rate(model, test, scored["start"]["outputs"])}
    return {"runs": rows, "test": {k: {m: v for m, v in s.items() if m not in ("outputs", "judged", "correct")}
                                   for k, s in scored.items()}, "judge_quality": judge_quality}


def write(report: dict[str, Any], budget: int, seed: int, seconds: float) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "generation.json").write_text(json.dumps({"machine": machine(), "budget": budget, "seed": seed,
                                                         "seconds": round(seconds, 1), **report}, indent=2) + "\n")
    runs, test, jq = report["runs"], report["test"], report["judge_quality"]
    lines = [
        "# Free text: past_tense with SmolLM2-135M-Instruct, three objectives", "",
        f"Machine: {machine()}. Budget {budget} calls per search (judge and sampled answers included), "
        f"seed {seed}, {seconds / 60:.1f} min in all. Command: `python bench/generation.py --budget {budget}`.", "",
        "## Searches", "",
        "| objective | optimized | calls | judge calls | trials | dev start | dev winner | seconds | winner |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        lines.append(f"| {name} | `{r['objective']}` | {r['calls']} | {r['judge_calls']} | {r['trials']} "
                     f"| {r['dev_start']:.3f} | {r['dev_winner']:.3f} | {r['search_seconds']} | `{r['winner']}` |")
    lines += ["", "## Test set (80 verbs), every prompt by every yardstick", "",
              "| prompt | exact match [95% CI] | chrF | judge (geval, SmolLM2) | agreement of 4 samples at T=0.7 |",
              "|---|---|---|---|---|"]
    for name, t in test.items():
        label = "start" if name == "start" else f"winner of `{name}`"
        lines.append(f"| {label} | {t['exact_match']:.3f} [{t['exact_ci'][0]:.3f}, {t['exact_ci'][1]:.3f}] "
                     f"| {t['chrf']:.3f} | {t['judge']:.3f} | {t['agreement']:.3f} |")
    ff = jq["free_form"]
    lines += ["", "## How good is the judge?", "",
              f"- Over {jq['n']} test outputs ({jq['correct']} exactly right), a right answer gets a higher "
              f"geval score than a wrong one with probability **{jq['auc']:.3f}** (AUC; 0.5 is chance).",
              f"- The free-form judge (`judge:correctness`, asked for `Score: N` and `Reason: ...`) gave a usable "
              f"score in **{ff['usable']} of {ff['asked']}** replies; unusable replies are recorded as failed "
              "grades. First replies: " + "; ".join(f"`{e.split(': ', 1)[-1][:90]}`" for e in ff["examples"]),
              f"- Optimizing against this judge moved its own score from {test['start']['judge']:.3f} to "
              f"{test['judge']['judge']:.3f} while exact match went from {test['start']['exact_match']:.3f} to "
              f"{test['judge']['exact_match']:.3f}: the search found what the grader rewards, not what is right.",
              "- SmolLM2-135M is the judge because it is the only model here. It is a weak judge: read the "
              "`judge` row as what optimizing against a poor grader does, not as what a real judge model "
              "would give. With a hosted judge (`--judge-model openai:...`) the same code path applies."]
    (RESULTS / "generation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rewrite", action="store_true", help="only rewrite generation.md from generation.json")
    args = parser.parse_args()
    if args.rewrite:
        saved = json.loads((RESULTS / "generation.json").read_text())
        write({k: saved[k] for k in ("runs", "test", "judge_quality")}, saved["budget"], saved["seed"],
              saved["seconds"])
        return
    started = time.monotonic()
    report = run(args.budget, args.seed)
    write(report, args.budget, args.seed, time.monotonic() - started)


if __name__ == "__main__":
    main()
