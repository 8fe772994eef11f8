"""How far a calibrated prompt should trust the model against the label mix, on fixed prompts.

Usage:

    python bench/prior_power.py                       # every uneven BIG-bench task of label_mix.py
    python bench/prior_power.py --tasks epistemic_nli --fewshot16

On the natural-mix files of ``bench/label_mix.py`` (48 train, 48 dev, the rest test), six fixed prompts
per task (the plain prompt written before any run, the ``fields``, ``question`` and ``instruction``
skeletons, and ``fields`` with two and with four demonstrations) are scored once with the embedded
SmolLM2. Each is calibrated as the search calibrates it: each label's mean probability over the first
32 search rows (the dev rows less every third of each label), divided by the label's share of the
training and search rows (uneven here). The question is the power the model's probabilities are raised
to before that prior divides them (``autoprompt.prompts.prompt.prior_power``):

- ``power 1``: the prior correction alone, the calibrated answers in the rows' mix;
- ``fitted``: the power of ``PRIOR_POWERS`` that gives those 32 rows' labels the highest
  likelihood (what the search does now);
- ``by accuracy``: the power with the best accuracy on those rows (ties to the higher power);
- ``1/20``: nearly always the commonest label;

and, beside them, **raw**: the prompt uncalibrated (the label the model finds likeliest), as the
search scores its starts.

Test accuracy of each, per prompt, and the paired differences of ``fitted`` with ``power 1`` and with
``raw`` over all prompts (95% CI) go to ``bench/results/prior_power.md`` and ``prior_power.json``. The test rows are
read only to score; nothing here chooses on them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from label_mix import RUNS, hand_templates, prepared_task, uneven_tasks, user_files  # noqa: E402
from suite import _mean  # noqa: E402

from autoprompt.data.splits import hold_out, label_shares  # noqa: E402
from autoprompt.evaluate.stats import paired_difference  # noqa: E402
from autoprompt.models.cache import SQLiteCache  # noqa: E402
from autoprompt.models.client import Client  # noqa: E402
from autoprompt.prompts.compose import CUSTOM_TASK, compose  # noqa: E402
from autoprompt.prompts.prompt import PRIOR_POWERS, Prompt, calibration_from, decide, prior_power  # noqa: E402
from autoprompt.records.candidate import Candidate  # noqa: E402
from autoprompt.records.example import Example  # noqa: E402
from autoprompt.search.loop import CALIBRATION_ROWS  # noqa: E402

CANDIDATES = (Candidate(CUSTOM_TASK), Candidate("fields"), Candidate("question"), Candidate("instruction"),
              Candidate("fields", n_demos=2), Candidate("fields", n_demos=4, demo_seed=1))
WAYS = ("power 1", "fitted", "by accuracy", "1/20")  # calibrated, each with its power
RAW = "raw"


def _label_scores(client: Client, prompt: Prompt, rows: list[Example]) -> list[dict[str, float]]:
    """Each row's label log-likelihoods under ``prompt`` (one cached scoring call a row)."""
    labels = prompt.continuations()
    return [dict(zip(labels, client.score(prompt.request(ex.inputs), list(labels.values()), chat=prompt.chat),
                     strict=True)) for ex in rows]


def _correct(scored: list[dict[str, float]], rows: list[Example], prior: dict[str, float], power: float) -> list[float]:
    return [float(decide(lp, prior, power) == ex.target) for lp, ex in zip(scored, rows, strict=True)]


def task_rows(task: dict[str, Any], backend: Any) -> dict[str, Any]:
    """Every fixed prompt's test rows under each way of choosing the power."""
    paths = user_files(task)
    prepared = prepared_task(task, paths, hand_templates(task)[0])
    client = Client(backend, cache=SQLiteCache(RUNS / task["name"] / "cache.sqlite"))
    every = hold_out(prepared.data.dev.examples, by_label=True)[0]
    search, test = every[:CALIBRATION_ROWS], list(prepared.data.test.examples)
    shares = label_shares([*prepared.setup.train, *every])  # as the search: all its rows, the prior over the first
    prompts = {}
    for candidate in CANDIDATES:
        prompt = compose(candidate, prepared.setup, prepared.custom)
        on_search, on_test = _label_scores(client, prompt, search), _label_scores(client, prompt, test)
        fitted = prior_power(on_search, [ex.target for ex in search], shares)
        by_accuracy = max(PRIOR_POWERS, key=lambda p: (sum(_correct(on_search, search, calibration_from(
            on_search, shares, p), p)), p))
        powers = dict(zip(WAYS, (1.0, fitted, by_accuracy, PRIOR_POWERS[-1]), strict=True))
        rows = {way: _correct(on_test, test, calibration_from(on_search, shares, p), p) for way, p in powers.items()}
        rows[RAW] = _correct(on_test, test, {}, 1.0)
        prompts[candidate.describe()] = {"powers": powers, "test": rows}
        print(f"{task['name']} {candidate.describe()}: " + ", ".join(
            f"{way} ({p:.2f}) {_mean(rows[way]):.3f}" for way, p in powers.items())
              + f", raw {_mean(rows[RAW]):.3f}", flush=True)
    return prompts


def markdown(results: dict[str, Any], minutes: float) -> str:
    lines = ["# How far a calibrated prompt trusts the model against the label mix", "",
             "SmolLM2-135M-Instruct (embedded); the natural-mix files of `bench/label_mix.py`; six fixed prompts "
             "per task, calibrated over the 32 search rows with the label-mix prior (`python bench/prior_power.py`; "
             f"wall time {minutes:.0f} min). Test accuracy per way of choosing the power the model's probabilities "
             "are raised to (in brackets); fitted = the likelihood fit the search uses; raw = the prompt "
             "uncalibrated.", "",
             "| task | prompt | " + " | ".join(WAYS) + f" | {RAW} | fitted minus power 1 | fitted minus raw |",
             "|---|---|" + "---|" * len(WAYS) + "---|---|---|"]
    pooled: dict[str, list[float]] = {way: [] for way in (*WAYS, RAW)}
    for name, prompts in results["tasks"].items():
        for label, entry in prompts.items():
            test = entry["test"]
            cells = [f"{_mean(test[w]):.3f} ({entry['powers'][w]:.2f})" for w in WAYS]
            cells.append(f"{_mean(test[RAW]):.3f}")
            cells += [f"{d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}]" for d in (
                paired_difference(test[other], test["fitted"]) for other in ("power 1", RAW))]
            lines.append(f"| {name} | `{label}` | " + " | ".join(cells) + " |")
            for way in (*WAYS, RAW):
                pooled[way].append(_mean(test[way]))
    n = len(pooled["fitted"])
    if n:
        lines += ["", f"Over {n} prompts: mean test accuracy " + ", ".join(
            f"{w} {_mean(pooled[w]):.3f}" for w in (*WAYS, RAW)) + "; " + "; ".join(
            _tally(pooled["fitted"], pooled[other], f"fitted minus {other}") for other in ("power 1", RAW)) + "."]
    return "\n".join(lines) + "\n"


def _tally(first: list[float], second: list[float], name: str) -> str:
    gains = [a - b for a, b in zip(first, second, strict=True)]
    return (f"{name} {_mean(gains):+.3f} (better on {sum(g > 0 for g in gains)}, worse on "
            f"{sum(g < 0 for g in gains)}, by at most {max(0.0, -min(gains, default=0.0)):.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=None, help="task names (default: every uneven one)")
    parser.add_argument("--fewshot16", action="store_true", help="also the uneven tasks of the 16-shot suite")
    args = parser.parse_args()
    from autoprompt.models.registry import get_backend

    backend = get_backend("local")
    started = time.monotonic()
    results: dict[str, Any] = {"tasks": {}}
    for task in uneven_tasks(args.tasks, args.fewshot16):
        results["tasks"][task["name"]] = task_rows(task, backend)
    text = markdown(results, (time.monotonic() - started) / 60)
    (HERE / "results" / "prior_power.json").write_text(json.dumps(results) + "\n", encoding="utf-8")
    (HERE / "results" / "prior_power.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
