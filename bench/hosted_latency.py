"""Benchmark: is a hosted API kept busy? Requests in flight against a server that answers after a
fixed latency, as a hosted API does when the wait is the network and the provider's queue.

Measures, in one run against ``tests.servers.LatencyServer`` (a tiny OpenAI-compatible server of
ours on 127.0.0.1 that answers every request after ``--latency`` seconds; no model behind it, so the
figures are the client's and the search's, not a model's):

- requests per second of one evaluation (``--examples`` rows) at concurrency 1, 4, 16 and 64,
  against the ideal ``min(concurrency, rows) / latency``;
- a whole search (``autoprompt.optimize`` on the bundled sentiment task, ``--budget`` calls) at
  concurrency 16: the average number of requests in flight (the server's time integral of its
  in-flight count over the search's wall time), the peak, and requests per second;
- the peak resident memory of this process.

    python bench/hosted_latency.py [--latency 0.3] [--examples 64] [--budget 800]

Writes bench/results/hosted_latency.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import autoprompt
from autoprompt.evaluate.evaluator import Evaluator
from autoprompt.evaluate.registry import get_metric
from autoprompt.models.backend import Limits
from autoprompt.models.client import Client
from autoprompt.models.openai_backend import OpenAIBackend
from autoprompt.prompts.compose import compose
from autoprompt.records.candidate import Candidate
from autoprompt.search.task import prepare_task
from autoprompt.spec import RunSpec
from tests.servers import LatencyServer

RESULTS = Path(__file__).resolve().parent / "results"
KEY = "sk-bench-latency"


def evaluation(server: LatencyServer, concurrency: int, rows: int, latency: float) -> dict[str, float]:
    """One evaluation of ``rows`` examples at ``concurrency``: requests/s against the ideal."""
    task = prepare_task(RunSpec(data="sentiment"))
    examples = list(task.data.dev.examples)[:rows]
    backend = OpenAIBackend("bench", base_url=server.url + "/v1", limits=Limits(concurrency=concurrency))
    evaluator = Evaluator(Client(backend), get_metric("accuracy"), task.setup.kind)
    server.reset()
    started = time.monotonic()
    evaluator.evaluate(compose(Candidate("fields"), task.setup), examples)
    seconds = time.monotonic() - started
    ideal = min(concurrency, len(examples)) / latency
    return {"concurrency": concurrency, "rows": len(examples), "seconds": round(seconds, 2),
            "requests_per_second": round(server.requests / seconds, 2), "ideal": round(ideal, 2),
            "of_ideal": round(server.requests / seconds / ideal, 3), "mean_in_flight": round(server.busy / seconds, 2),
            "peak_in_flight": server.peak}


def search(server: LatencyServer, concurrency: int, budget: int) -> dict[str, float]:
    """A whole search at ``concurrency``: the average number of requests in flight."""
    server.reset()
    started = time.monotonic()
    result = autoprompt.optimize("sentiment", model=f"openai:bench@{server.url}/v1", budget=budget, seed=0,
                                 calls=autoprompt.Calls(concurrency=concurrency))
    seconds = time.monotonic() - started
    return {"concurrency": concurrency, "budget": budget, "seconds": round(seconds, 1), "requests": server.requests,
            "requests_per_second": round(server.requests / seconds, 2),
            "mean_in_flight": round(server.busy / seconds, 2), "peak_in_flight": server.peak,
            "trials": len(result.trials), "calls": result.calls + result.test_calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--budget", type=int, default=800)
    args = parser.parse_args()
    os.environ["OPENAI_API_KEY"] = KEY
    with LatencyServer(args.latency) as server:
        rows = [evaluation(server, c, args.examples, args.latency) for c in (1, 4, 16, 64)]
        whole = search(server, 16, args.budget)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "latency_seconds": args.latency, "evaluations": rows, "search": whole,
        "ratio_16_vs_1": round(rows[2]["requests_per_second"] / rows[0]["requests_per_second"], 2),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "command": "python bench/hosted_latency.py " + " ".join(sys.argv[1:]),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hosted_latency.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Hosted APIs kept busy: requests in flight with a fixed latency per request", "",
        f"Machine: {report['machine']}. Server: tests.servers.LatencyServer on 127.0.0.1, "
        f"{args.latency:g} s per request, no model behind it. Command: `{report['command']}`.", "",
        "| evaluation of | concurrency | seconds | requests/s | ideal | of ideal | mean in flight | peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['rows']} rows | {row['concurrency']} | {row['seconds']} | {row['requests_per_second']} | "
                     f"{row['ideal']} | {row['of_ideal']:.0%} | {row['mean_in_flight']} | {row['peak_in_flight']} |")
    lines += ["", f"Requests per second, concurrency 16 vs 1 (same run): {report['ratio_16_vs_1']}x", "",
              f"A whole search (sentiment, budget {whole['budget']}, concurrency {whole['concurrency']}): "
              f"{whole['requests']} requests in {whole['seconds']} s ({whole['requests_per_second']}/s), "
              f"**{whole['mean_in_flight']} requests in flight on average**, peak {whole['peak_in_flight']}, "
              f"{whole['trials']} trials.", "",
              f"Peak resident memory of the process: {report['peak_memory_mb']} MB."]
    (RESULTS / "hosted_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
